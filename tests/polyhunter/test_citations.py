"""Issue #18, finding 7: the docs and the code cite only what is in the repository.

They cited a reference set that is not part of it (``reference/polymarket.md §4.4``, ``style C4``,
``peers §4.11``): a reader of a clean checkout could not follow them. A citation names a file of
the repository (``docs/…``), or nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# The shared reference set and its section marks, however written.
OUTSIDE = re.compile(
    r"reference/|\breference\s+(?:[\w.-]+\.md\s*)?§|\b(?:peers|style|reliability|polymarket|polymarket-client)"
    r"(?:\.md)?\s*§|\bstyle\s+C\d+|(?<!docs/)\b(?:peers|style|reliability|polymarket|polymarket-client)\.md\b"
)
MARKDOWN_PATH = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.md)\b")
TEXT = (".py", ".md", ".html", ".txt", ".toml", ".cfg", ".example")


def cited_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    names = [name for name in listed if name.endswith(TEXT) or name in ("Makefile", ".ci/run", "Procfile")]
    # Recorded payloads and their provenance notes are data, not our prose; this file cites on purpose.
    skip = ("tests/fixtures/", "tests/polyhunter/test_citations.py")
    return [ROOT / name for name in names if not name.startswith(skip) and (ROOT / name).exists()]


def bad_citations(path: Path, text: str) -> list[str]:
    found = [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in OUTSIDE.finditer(text)]
    for match in MARKDOWN_PATH.finditer(text):
        name = match.group(1)
        if not any((base / name).exists() for base in (ROOT, ROOT / "docs", path.parent)):
            found.append(f"{path.relative_to(ROOT)}: {name!r} is not in the repository")
    return found


def test_finding_7_every_citation_names_a_file_of_the_repository() -> None:
    """Failed before the fix: dozens of citations of reference/…, style C4, peers §4.11."""
    problems = [problem for path in cited_files() for problem in bad_citations(path, path.read_text())]
    assert problems == []


def test_the_citation_check_finds_an_outside_citation() -> None:
    """A positive control for the check above."""
    here = ROOT / "docs" / "pages.md"
    assert bad_citations(here, "see reference polymarket.md §2.5 and style C4 (reliability §2.3)")
    assert bad_citations(here, "details in `docs/nowhere.md`")
    assert not bad_citations(here, "details in `docs/detection.md` and `README.md`")
