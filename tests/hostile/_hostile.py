"""Shared helpers of the hostile-input tests.

Every case asserts an exact outcome: the exit code (or the typed error), one stderr line naming
the file and the fault, no traceback, previously published files byte-identical, no stray files.
"""

from __future__ import annotations

import hashlib
import os
import signal
from contextlib import contextmanager
from pathlib import Path


def one_line(err: str, *fragments: str) -> str:
    """The single stderr line; fails on a traceback, several lines, or a missing fragment."""
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 (or link target / kind) of everything under `folder`."""
    out = {}
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif not p.is_dir():
                out[rel] = "special"
    return out


def names(folder: Path) -> set[str]:
    return {p.name for p in Path(folder).iterdir()}


@contextmanager
def no_hang(seconds: int = 60):
    """Fail instead of hanging (a FIFO or device opened by mistake blocks forever)."""
    def alarm(_sig, _frame):
        raise TimeoutError(f"still running after {seconds} s: something blocked")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def unwritable_dir(tmp_path: Path) -> Path:
    """A folder nobody can write in: a read-only mode where that binds, else (as root, for whom
    mode bits mean nothing) a place on sysfs, which is read-only to everyone."""
    if os.geteuid() != 0:
        d = tmp_path / "readonly"
        d.mkdir()
        d.chmod(0o555)
        return d
    return Path("/sys/seedge-hostile-test")
