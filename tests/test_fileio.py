"""seedge.fileio: atomic writes leave the old file or the new one, bounded reads refuse what is too
big or not a regular file (a FIFO without blocking), the cache root follows the environment, and
the lock lets one holder in at a time and names it to the next."""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from seedge import fileio
from seedge.errors import IntegrityError, SeedgeError


def test_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "record.json"
    fileio.atomic_write(path, "old")
    fileio.atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "record.json"
    fileio.atomic_write(path, "old")
    real = fileio.write_bytes

    def half_then_full(target, data):  # half the bytes reach the temp file, then the disk is full
        real(target, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(fileio, "write_bytes", half_then_full)
    with pytest.raises(OSError):
        fileio.atomic_write(path, "new and longer")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_atomic_target_renames_only_when_the_writer_finishes(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with fileio.atomic_target(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the writer died")
    assert path.read_text() == "old" and len(list(tmp_path.iterdir())) == 1
    with fileio.atomic_target(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_read_bounded_reads_up_to_the_limit_and_refuses_more(tmp_path):
    path = tmp_path / "bench.json"
    path.write_bytes(b"x" * 100)
    assert fileio.read_bounded(path, 100, "bench record") == b"x" * 100
    with pytest.raises(SeedgeError, match="bench record is larger than 99 bytes"):
        fileio.read_bounded(path, 99, "bench record")
    with pytest.raises(SeedgeError, match="cannot read the bench record"):
        fileio.read_bounded(tmp_path / "missing.json", 100, "bench record")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_read_bounded_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "manifest.json"
    os.mkfifo(fifo)
    result: list[BaseException | bytes] = []
    reader = threading.Thread(target=lambda: _catch(result, fileio.read_bounded, fifo, 1 << 20, "manifest"),
                              daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the stuck reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("read_bounded blocked on a FIFO")
    assert isinstance(result[0], IntegrityError) and "not a regular file" in str(result[0])


def _catch(out: list, fn, *args):
    try:
        out.append(fn(*args))
    except BaseException as e:  # noqa: BLE001 - handed to the test thread
        out.append(e)


def test_sha256_file_is_hashlibs(tmp_path):
    data = os.urandom(3 << 20)  # more than one read chunk
    (tmp_path / "w.bin").write_bytes(data)
    assert fileio.sha256_file(tmp_path / "w.bin") == hashlib.sha256(data).hexdigest()


def test_cache_root_follows_seedge_cache_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fileio.cache_root("calib") == tmp_path / "mine" / "calib"
    monkeypatch.delenv("SEEDGE_CACHE")
    assert fileio.cache_root() == tmp_path / "xdg" / "seedge"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")  # the XDG spec: only absolute paths count
    assert fileio.cache_root("demo") == Path.home() / ".cache" / "seedge" / "demo"


def _hold(path: str, ready, release) -> None:
    with fileio.exclusive_lock(path, 0, SeedgeError):
        ready.set()
        release.wait(30)


@pytest.mark.skipif(os.name != "posix", reason="fcntl locks")
def test_the_lock_admits_one_holder_and_names_it_to_the_next(tmp_path):
    path = tmp_path / ".tiny.lock"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(SeedgeError, match=rf"pid {holder.pid} since "):
            with fileio.exclusive_lock(path, 0.2, lambda who: SeedgeError(f"busy: {who}")):
                pass
    finally:
        release.set()
        holder.join(30)
    with fileio.exclusive_lock(path, 0, SeedgeError) as held:  # released: the next one gets it
        assert held == path and path.read_text().startswith(f"pid {os.getpid()} ")
    assert not path.exists()  # removed on release
