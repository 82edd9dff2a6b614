#!/usr/bin/env python3
"""Set up and run tinct with nothing but python3.

    python3 run.py demo    # .venv + tinct, colorize the bundled sample photos, write demo-output/index.html
    python3 run.py test    # .venv + dev extras, run the test suite

The virtual environment is created once and reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def sh(*cmd: str | Path) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


def ensure_venv(extras: str) -> None:
    """Create .venv and install tinct (editable) with ``extras``, unless already done."""
    if not PY.exists():
        if sh(sys.executable, "-m", "venv", VENV):
            sys.exit("error: could not create .venv (is the python3 venv module installed?)")
    stamp = VENV / f".tinct-installed-{extras or 'base'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    spec = f".[{extras}]" if extras else "."
    # torch is pinned to the CPU wheel (torch==2.13.0) in pyproject.toml.
    if sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip") or \
            sh(PY, "-m", "pip", "install", "--quiet", "-e", spec):
        sys.exit(f"error: pip could not install tinct{spec[1:]}")
    stamp.write_text(want)


def demo() -> int:
    ensure_venv("")
    return sh(BIN / "tinct", "demo", "-o", ROOT / "demo-output")


def test(args: list[str]) -> int:
    ensure_venv("dev")
    code = sh(PY, "-m", "pytest", *(args or ["-q"]))
    if code == 5:  # pytest collected nothing: that is a failure for us, say it loudly
        print("error: pytest collected no tests", file=sys.stderr)
        return 1
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    return demo() if argv[0] == "demo" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
