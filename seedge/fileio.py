"""How seedge reads and writes its own files: the one place for each of these habits.

- atomic_write / atomic_target: a reader sees the old file or the new one, never half (a temp
  file beside the target, renamed over it; removed when writing fails).
- write_bytes: the lowest write, so tests make a full disk by making it raise ENOSPC.
- read_bounded: a regular file of at most N bytes, refused (never opened blocking) when it is a
  FIFO or device: opening a FIFO waits for a writer, reading a device may never end.
- sha256_file: a file's digest, read in chunks.
- cache_root: where seedge caches what it can rebuild ($SEEDGE_CACHE, else the XDG cache folder).
- exclusive_lock: an advisory lock file held by one process at a time, naming its holder.

Containment (a manifest's file names stay inside their folder) is seedge.artifacts.contained_file:
its rules and messages are the export folder's.

Hand-written on the standard library, not filelock/platformdirs: this module is torch-free and
runs on devices installed with `pip install --no-deps`, where a new dependency would be one more
wheel to carry; the lock also writes its holder's pid and time into the file, so a second export
says who holds it (filelock does not), and the cache rule is two environment variables.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from seedge.errors import IntegrityError, SeedgeError

CACHE_ENV = "SEEDGE_CACHE"


def os_error_text(e: BaseException) -> str:
    """The OS's words for an error ("No space left on device"), for a one-line message."""
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def path_kind(path: str | os.PathLike) -> str:
    """What `path` is, in words for a message: "a regular file", "not found", "a symlink loop",
    "a symlink that points to nothing", "a folder", "a FIFO", "a character device", ... (never
    opened, so a FIFO or device cannot block): a user told "not found" about /dev/zero or a
    symlink loop looks for a typo that is not there."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symlink loop"
        if e.errno == errno.ENOENT:
            return "a symlink that points to nothing" if os.path.islink(path) else "not found"
        return f"unreadable ({os_error_text(e)})"
    except ValueError:  # a NUL byte in the name
        return "not a usable path (it holds a NUL byte)"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def now_iso() -> str:
    """UTC now, to the second: the time stamp seedge writes into its files."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --- writing --------------------------------------------------------------------------------------


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path`. seedge's own files (manifest, marker, records) are written here, so
    a full disk is simulated in tests by making this raise OSError(ENOSPC)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()


@contextmanager
def atomic_target(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path` for a writer that wants a file name (onnx.save, a torch
    save); when the block ends without an error the temp file replaces `path` in one rename,
    and it is removed in every case."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write through a temp file and rename: a reader sees the old file or the new, never half."""
    with atomic_target(path) as tmp:
        write_bytes(tmp, data.encode() if isinstance(data, str) else data)
    return Path(path)


# --- reading --------------------------------------------------------------------------------------


def read_bounded(path: str | os.PathLike, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (checked before and while reading).
    Opened non-blocking and checked with fstat before any read, so a FIFO or device planted
    under the name is refused at once instead of hanging the reader."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise SeedgeError(f"{path}: cannot read the {what} ({os_error_text(e)})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IntegrityError(f"{path}: the {what} is not a regular file")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise SeedgeError(f"{path}: cannot read the {what} ({os_error_text(e)})") from None
    if len(data) > limit:
        raise SeedgeError(f"{path}: the {what} is larger than {_size(limit)}; not a seedge {what}")
    return data


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n} bytes"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- the cache ------------------------------------------------------------------------------------


def cache_root(*parts: str) -> Path:
    """seedge's cache folder (joined with `parts`): $SEEDGE_CACHE, else $XDG_CACHE_HOME/seedge,
    else ~/.cache/seedge. Only what seedge can rebuild goes there (calibration arrays, the demo
    model, random-weight checkpoints); it is not created here."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = str(Path(xdg) / "seedge") if xdg and Path(xdg).is_absolute() else str(Path.home() / ".cache" / "seedge")
    return Path(root).joinpath(*parts)


# --- the lock -------------------------------------------------------------------------------------


@contextmanager
def exclusive_lock(path: str | os.PathLike, wait: float, busy: Callable[[str], BaseException]) -> Iterator[Path]:
    """Hold an exclusive lock on the file `path` (fcntl.flock) for the block.

    A second holder retries for up to `wait` seconds, then raises busy(holder), where holder is
    what the first one wrote into the file ("pid N since TIME"). The file is removed on release;
    the kernel drops a killed holder's lock, so a stale file never blocks anyone."""
    import fcntl

    path = Path(path)
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                raise busy(holder) from None
            time.sleep(0.05)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _still_at(path, fd):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {now_iso()}\n".encode())
        yield path
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        os.close(fd)


def _still_at(path: Path, fd: int) -> bool:
    """A releasing holder unlinks the file while still holding it: the lock is ours only if the
    file we locked is still the one at the path."""
    try:
        st, mine = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (st.st_ino, st.st_dev) == (mine.st_ino, mine.st_dev)


def _lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "a process that holds its lock"
