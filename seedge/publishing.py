"""Where exports are written: which folders are seedge's, whether an output location can be
written, the staging folder, the per-name lock and the atomic publish.

An export (or `seedge pack`) fills OUT/.staging-NAME-xxxxxxxx, marks it as seedge's, and swaps it
into OUT/NAME only when everything in it is verified; a folder that is not seedge's is never
replaced, and training never writes into an export. What goes inside the folder (manifest,
hashes, containment) is seedge.artifacts. Torch-free: `seedge pack` runs on devices.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from seedge.artifacts import MANIFEST, REFERENCE, artifact_files, read_manifest
from seedge.errors import SeedgeError
from seedge.fileio import atomic_write, exclusive_lock, os_error_text

# Written into the staging folder first thing: a folder holding it was made by `seedge export`,
# so a later export into the same name may replace it. A bare manifest.json proves nothing
# (browser extensions, npm packages and many other tools write one).
EXPORT_MARKER = ".seedge-export"
# How long a second export into the same folder waits for the first one's lock
# (SEEDGE_LOCK_WAIT overrides, in seconds).
LOCK_WAIT_S = 60.0
# Known files in an export folder that the manifest does not list: the torch.export program, and
# the record `seedge bench` leaves of slow artifacts (seedge.bench_record; written after export).
_UNLISTED_EXPORT_FILES = ("model.pt2", "bench.json")


# --- which folders are seedge's -------------------------------------------------------------------


def is_seedge_export(folder: str | os.PathLike) -> bool:
    """True when `folder` was written by `seedge export`: the one test of whether a folder may be
    replaced by an export or must never be written by training.

    The marker (.seedge-export, written into every staging folder) decides. Folders published
    before the marker existed count only when their manifest is a valid seedge manifest and
    every file in them is one the manifest lists: a stranger's folder that merely holds a
    manifest.json never qualifies."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return False
    marker = folder / EXPORT_MARKER
    if marker.is_file() and not marker.is_symlink():
        return True
    try:
        manifest = read_manifest(folder)
        listed = _listed_files(folder, manifest)
    except SeedgeError:
        return False
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            if (Path(dirpath) / name).relative_to(folder).as_posix() not in listed:
                return False
    return True


def _listed_files(folder: Path, manifest: dict) -> set[str]:
    listed = {MANIFEST, REFERENCE, *_UNLISTED_EXPORT_FILES}
    baseline = manifest["baseline"]
    listed |= {baseline["file"], baseline.get("sidecar") or Path(baseline["file"]).with_suffix(".json").as_posix()}
    listed.add((manifest.get("reference") or {}).get("file") or REFERENCE)
    for i, a in enumerate(manifest["artifacts"]):
        listed |= {p.relative_to(folder).as_posix() for p in artifact_files(folder, a["file"], f"artifacts[{i}]")}
    return listed


def check_replaceable(target: Path) -> None:
    """Publishing replaces `target` whole: refuse unless it is absent or a seedge export."""
    if target.is_symlink():
        raise SeedgeError(
            f"{target}: is a symbolic link; an export never replaces a link (it would replace "
            f"what it points to); choose another --out or --name"
        )
    if target.exists() and not target.is_dir():
        raise SeedgeError(f"{target}: exists and is a file, not an export folder; choose another --out or --name")
    if target.exists() and not is_seedge_export(target):
        raise SeedgeError(
            f"{target}: exists and is not a seedge export (no {EXPORT_MARKER} marker and files "
            f"its manifest does not list); it would be replaced, so choose another --out or --name"
        )


# --- output locations: checked before minutes of work ---------------------------------------------


def check_output_location(path: str | os.PathLike, what: str, kind: str = "dir", extra_name_bytes: int = 0) -> Path:
    """Raise SeedgeError now if `path` (a folder, or with kind="file" a file) cannot be written:
    an invalid or too-long name, a file in the way, a folder that is not writable. Checked by
    writing (and removing) a probe file in the nearest existing folder, which is what counts:
    permission bits say nothing to root or on a read-only mount. `extra_name_bytes`: how much
    longer than the last name the names derived from it are (an export's `.staging-NAME-xxxxxxxx`)."""
    p = Path(path)
    text = str(path)
    if not text or "\x00" in text:
        raise SeedgeError(f"{what} {text!r}: not a valid path")
    try:
        name_max = os.pathconf(_existing_ancestor(p.absolute()), "PC_NAME_MAX")
        path_max = os.pathconf(_existing_ancestor(p.absolute()), "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    for i, part in enumerate(p.parts):
        limit = name_max - (extra_name_bytes if i == len(p.parts) - 1 else 0)
        if len(os.fsencode(part)) > limit:
            raise SeedgeError(
                f"{what} {_short(text)}: the name '{_short(part, 40)}' is {len(os.fsencode(part))} "
                f"bytes, over the {limit} allowed here; choose a shorter one"
            )
    if len(os.fsencode(str(p.absolute()))) + extra_name_bytes >= path_max:
        raise SeedgeError(f"{what} {_short(text)}: the path is longer than {path_max} bytes; choose a shorter one")
    if kind == "dir" and p.exists() and not p.is_dir():
        raise SeedgeError(f"{what} {text}: exists and is a file, not a folder; choose another {what}")
    if kind == "file" and p.is_dir():
        raise SeedgeError(f"{what} {text}: is a folder; give a file name")
    base = _existing_ancestor(p if kind == "dir" else p.parent)
    if not base.is_dir():
        raise SeedgeError(f"{what} {text}: cannot be created: {base} is a file, not a folder; choose another {what}")
    try:
        fd, probe = _mkstemp(base)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise SeedgeError(
            f"{what} {text}: cannot write in {base} ({os_error_text(e)}); choose another {what}"
        ) from None
    return p


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _existing_ancestor(p: Path) -> Path:
    p = Path(p)
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p if os.path.lexists(p) else Path(".")


def _mkstemp(folder: Path):
    import tempfile

    return tempfile.mkstemp(prefix=".seedge-probe-", dir=folder)


def write_error(e: OSError, where: str | os.PathLike) -> SeedgeError | None:
    """A SeedgeError line for an OSError that says the disk or the location is at fault (full,
    read-only, not permitted, name too long), or None for any other OSError."""
    if e.errno not in _LOCATION_ERRNOS:
        return None
    name = e.filename or where
    hint = "free some space" if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else "choose another --out"
    return SeedgeError(
        f"{name}: {os_error_text(e).lower()} while writing the export; nothing was published "
        f"and {where} is as it was; {hint} and re-run"
    )


_LOCATION_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
    errno.EIO,
}


# --- staging, lock, publish ---------------------------------------------------------------------

# Staging folders created by `staging` in this process, whose lock the block holds: `publish`
# takes the folder's lock itself only for stages made elsewhere. Keyed by the unique stage path.
_LOCKED_STAGES: set[Path] = set()


@contextmanager
def staging(out_root: str | os.PathLike, name: str, lock_wait: float | None = None):
    """Yield an empty staging folder beside `out_root/name`, holding `out_root/name`'s lock.

    The caller fills it (artifacts first, manifest last) and calls `publish(stage, ...)`;
    if the block raises (SIGTERM included: it raises SystemExit while the block runs), or
    publish is never called, the staging folder is removed and whatever was published under
    `name` before stays exactly as it was. Staging folders of a run that was killed outright
    (SIGKILL, power loss) are removed by the next export into `name`: while it holds the lock,
    no live export of that name can own one. A full disk or an unwritable location while
    staging is one SeedgeError line.
    """
    out_root = Path(out_root)
    target = out_root / name
    created = not os.path.lexists(out_root)
    with _terminate_raises():
        try:
            out_root.mkdir(parents=True, exist_ok=True)
            with output_lock(out_root, name, lock_wait):
                _remove_stale(out_root, name)
                stage = out_root / f".staging-{name}-{uuid.uuid4().hex[:8]}"
                stage.mkdir()
                _LOCKED_STAGES.add(stage)
                try:
                    atomic_write(
                        stage / EXPORT_MARKER,
                        "written by `seedge export`: the next export into this name replaces this whole folder\n",
                    )
                    yield stage
                finally:
                    _LOCKED_STAGES.discard(stage)
                    if stage.exists():
                        shutil.rmtree(stage, ignore_errors=True)
        except BaseException as e:
            if created and out_root.is_dir() and not any(out_root.iterdir()):
                out_root.rmdir()  # a failed first export leaves no empty --out behind
            located = write_error(e, target) if isinstance(e, OSError) else None
            if located is None:
                raise
            raise located from None


def publish(stage: Path, out_root: str | os.PathLike, name: str) -> Path:
    """Swap the staging folder into `out_root/name` by rename, under the folder's lock (taken
    here unless `staging` holds it); the old folder is removed after. Only a seedge export is
    ever replaced (check_replaceable)."""
    stage, out_root = Path(stage), Path(out_root)
    if not (stage / MANIFEST).is_file():
        raise RuntimeError("publish called before the manifest was written")
    if _TERMINATED:  # a SIGTERM whose SystemExit was swallowed (raised inside a finalizer) still stops it
        raise SystemExit(_TERMINATED[0])
    if stage in _LOCKED_STAGES:
        return _swap(stage, out_root, name)
    with output_lock(out_root, name):
        return _swap(stage, out_root, name)


def _swap(stage: Path, out_root: Path, name: str) -> Path:
    target = out_root / name
    check_replaceable(target)
    old = None
    if os.path.lexists(target):
        old = out_root / f".old-{name}-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
    try:
        os.replace(stage, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _remove_stale(out_root: Path, name: str) -> None:
    """Staging and replaced folders of `name` left by a killed export (called under the lock)."""
    pattern = re.compile(rf"^\.(staging|old)-{re.escape(name)}-[0-9a-f]{{8}}$")
    for entry in out_root.iterdir():
        if pattern.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def output_lock(out_root: str | os.PathLike, name: str, wait: float | None = None):
    """Hold an exclusive lock on `out_root/name` (seedge.fileio.exclusive_lock on
    `out_root/.NAME.lock`), as a context manager.

    A second holder waits up to `wait` seconds (default LOCK_WAIT_S, or $SEEDGE_LOCK_WAIT),
    then fails with a SeedgeError naming the folder and the process that holds it."""
    out_root = Path(out_root)
    if wait is None:
        try:
            wait = float(os.environ.get("SEEDGE_LOCK_WAIT", LOCK_WAIT_S))
        except ValueError:
            wait = LOCK_WAIT_S

    def busy(holder: str) -> SeedgeError:
        return SeedgeError(
            f"{out_root / name}: another seedge export is writing it ({holder}); waited "
            f"{wait:g} s; wait for it to finish or choose another --name"
        )

    return exclusive_lock(out_root / f".{name}.lock", wait, busy)


# The exit code of a SIGTERM received while a staging block ran (empty: none), see _terminate_raises.
_TERMINATED: list[int] = []


@contextmanager
def _terminate_raises():
    """While the block runs, SIGTERM raises SystemExit(143) in the main thread, so `finally`
    clauses (staging removal, lock release) run as they do for Ctrl-C; the previous handler is
    restored after. A second SIGTERM during the clean-up is ignored, so the clean-up finishes.
    The signal is also remembered (_TERMINATED), and publish refuses to publish after it: Python
    swallows an exception raised while a finalizer (__del__, a weakref callback) runs, so the
    SystemExit alone can be lost and the export would publish and exit 0 (seen once under load)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False
    _TERMINATED.clear()

    def handler(signum, _frame):
        nonlocal fired
        if fired:
            return
        fired = True
        _TERMINATED.append(128 + signum)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        fired = True
        signal.signal(signal.SIGTERM, previous)
