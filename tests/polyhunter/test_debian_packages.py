"""`make test` installs the Debian packages the tests need, or says in one line what to run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / ".ci" / "ensure-debian-packages"


def run(list_file: Path, *, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), str(list_file)], capture_output=True, text=True, env={"PATH": path}, check=False
    )


def test_the_list_names_chromium_for_the_browser_tests() -> None:
    lines = (SCRIPT.parent / "debian-packages").read_text().splitlines()
    entries = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    assert ["chromium", "/usr/bin/chromium"] in entries


def test_nothing_happens_when_every_listed_file_exists(tmp_path: Path) -> None:
    present = tmp_path / "tool"
    present.write_text("")
    listing = tmp_path / "packages"
    listing.write_text(f"# comment\n\nsomepackage {present}\n")
    done = run(listing, path="/usr/bin:/bin")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_without_root_or_sudo_it_says_in_one_line_what_to_run_and_stops(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")  # not root, and no sudo on this PATH
    fake_id.chmod(0o755)
    listing = tmp_path / "packages"
    listing.write_text(f"chromium {tmp_path / 'missing-chromium'}\nprometheus {tmp_path / 'missing-promtool'}\n")
    done = run(listing, path=str(bin_dir))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "sudo apt-get install -y chromium prometheus" in done.stderr
