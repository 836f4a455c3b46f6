#!/usr/bin/env python
"""Django's command-line utility, with configuration errors reported as plain messages."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polyhunter.settings")
    from django.core.management import execute_from_command_line

    from polyhunter.config import ConfigurationError

    try:
        execute_from_command_line(sys.argv)
    except ConfigurationError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
