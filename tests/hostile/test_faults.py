"""Faults during an export: signals at several stages, a full disk, unwritable or invalid output
locations, two exports into one folder at once.

Each case ends the same way: the exit code or typed error, one line naming the place and the
fault, no traceback, the export published before byte-identical, no staging/lock files left.
Exports here are of the tiny SE-ResNet with random weights, ONNX FP32 only, no passes; one
still spends ~10-20 s in torch.onnx on the shared machine, so those cases are marked slow.
"""

from __future__ import annotations

import errno
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import names, one_line, snapshot, unwritable_dir

from seedge import artifacts, fileio, publishing
from seedge.errors import SeedgeError
from seedge.export.options import ExportOptions
from seedge.export.pipeline import export_model

FAST_EXPORT = ["--formats", "onnx", "--precisions", "fp32", "--no-passes", "--no-count-nodes", "--no-pt2"]


class ExportProcess:
    """`seedge export` in a subprocess whose stderr progress lines are read as they come."""

    def __init__(self, checkpoint: Path, out: Path, name: str = "tiny", lock_wait: float = 60):
        env = {**os.environ, "SEEDGE_LOCK_WAIT": str(lock_wait), "OMP_NUM_THREADS": "2"}
        self.proc = subprocess.Popen([sys.executable, "-m", "seedge", "export", str(checkpoint), *FAST_EXPORT,
                                      "--out", str(out), "--name", name],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, words: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"export ended before '{words}':\n" + "\n".join(self.lines))
            self.lines.append(line)
            if words in line:
                return
        raise AssertionError(f"no '{words}' within {timeout} s:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        while (line := self._q.get(timeout=10)) is not None:
            self.lines.append(line)
        return code, "\n".join(self.lines)


def _no_traceback_and_last_line(err: str, words: str) -> None:
    assert "Traceback" not in err, err
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert words in last, err


# --- signals ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("sig, stage", [
    (signal.SIGTERM, "writing reference.npz"),
    (signal.SIGTERM, "building onnx-fp32"),
    (signal.SIGTERM, "verifying onnx-fp32"),
    (signal.SIGINT, "building onnx-fp32"),
    (signal.SIGINT, "verifying baseline"),
])
def test_a_signal_during_an_export_removes_its_staging_and_keeps_the_published_folder(
        sig, stage, tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    published = fresh_copy(out)  # what users already ship: must stay exactly as it is
    before = snapshot(published)

    p = ExportProcess(tiny_checkpoint, out)
    p.wait_for(stage)
    p.proc.send_signal(sig)
    code, err = p.finish()

    if sig == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM
        _no_traceback_and_last_line(err, "seedge: terminated (SIGTERM)")
    else:
        assert code == 130
        _no_traceback_and_last_line(err, "seedge: aborted")
    assert snapshot(published) == before
    assert names(out) == {"tiny"}  # no .staging-*, .old-*, .tiny.lock


@pytest.mark.slow
def test_staging_of_a_killed_export_is_cleaned_by_the_next_one(tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    published = fresh_copy(out)
    before = snapshot(published)
    p = ExportProcess(tiny_checkpoint, out)
    p.wait_for("building onnx-fp32")
    p.proc.kill()  # SIGKILL: no handler, no finally
    p.finish()
    left = names(out) - {"tiny"}
    assert any(n.startswith(".staging-tiny-") for n in left), left  # what a killed run leaves
    assert snapshot(published) == before

    with publishing.staging(out, "tiny"):  # the next export into the name
        pass
    assert names(out) == {"tiny"}


# --- a full disk -----------------------------------------------------------------------------------

def _disk_full_at(monkeypatch, which: str) -> None:
    """Make seedge's file-write layer (fileio.write_bytes), or numpy's savez under it for
    reference.npz, raise ENOSPC."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]))

    if which == "reference":
        monkeypatch.setattr(np, "savez", full)
        return
    real = fileio.write_bytes

    def write_bytes(path, data):
        if which in Path(path).name:
            full(path)
        real(path, data)

    monkeypatch.setattr(fileio, "write_bytes", write_bytes)


@pytest.mark.parametrize("which", [
    "seedge-export",  # the first byte of the staging folder (its marker)
    "reference",      # reference.npz, written by numpy
    pytest.param("manifest", marks=pytest.mark.slow),  # the last file, after every artifact is built
])
def test_no_space_left_is_one_error_and_nothing_changes(which, tiny_checkpoint, tmp_path, monkeypatch):
    out = tmp_path / "out"
    published = fresh_copy(out)
    before = snapshot(published)
    _disk_full_at(monkeypatch, which)

    with pytest.raises(SeedgeError) as e:
        export_model(tiny_checkpoint, ExportOptions(formats=["onnx"], out=out, name="tiny", passes=[],
                                                    count_nodes=False, pt2=False, verify_samples=0))

    msg = str(e.value)
    assert "no space left on device" in msg and "nothing was published" in msg and "\n" not in msg
    assert snapshot(published) == before
    assert names(out) == {"tiny"}


def test_no_space_left_ends_the_cli_with_exit_2(tiny_checkpoint, tmp_path, monkeypatch, cli):
    out = tmp_path / "out"
    _disk_full_at(monkeypatch, "seedge-export")
    code, stdout, err = cli("export", tiny_checkpoint, *FAST_EXPORT, "--out", out, "--name", "tiny")
    assert code == 2 and stdout == ""
    one_line(err, "no space left on device", "nothing was published")
    assert not out.exists()  # the --out it made for the export is gone with it


# --- unwritable and invalid output locations: exit 2 before any work ----------------------------

def _locations(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return {
        "read-only": (unwritable_dir(tmp_path) / "out", "cannot write in"),
        "under a file": (a_file / "out", "is a file, not a folder"),
        "a file": (a_file, "exists and is a file"),
        "name too long": (tmp_path / ("n" * 300), "bytes, over the"),
    }


@pytest.mark.parametrize("case", ["read-only", "under a file", "a file", "name too long"])
def test_export_to_a_bad_location_exits_2_before_loading_anything(case, tiny_checkpoint, tmp_path, cli):
    where, words = _locations(tmp_path)[case]
    before = snapshot(tmp_path)
    code, stdout, err = cli("export", tiny_checkpoint, *FAST_EXPORT, "--out", where, "--name", "tiny")
    assert code == 2 and stdout == ""
    one_line(err, "--out", words)
    assert snapshot(tmp_path) == before


def test_export_name_too_long_for_its_staging_folder_exits_2(tiny_checkpoint, tmp_path, cli):
    name = "n" * 240  # fits a file name, but not `.staging-NAME-xxxxxxxx`
    code, _, err = cli("export", tiny_checkpoint, *FAST_EXPORT, "--out", tmp_path / "out", "--name", name)
    assert code == 2
    one_line(err, "--out/--name", "choose a shorter one")
    assert not (tmp_path / "out").exists()


def test_an_invalid_path_is_a_seedge_error(tiny_checkpoint):
    with pytest.raises(SeedgeError, match="not a valid path"):
        export_model(tiny_checkpoint, ExportOptions(formats=["onnx"], out="bad\x00path", name="tiny"))


@pytest.mark.parametrize("case", ["read-only", "under a file", "name too long"])
def test_evaluate_out_is_checked_before_the_model_loads(case, tiny_checkpoint, tmp_path, cli):
    where, words = _locations(tmp_path)[case]
    code, stdout, err = cli("evaluate", tiny_checkpoint, "--data", "digits", "--out", where)
    assert code == 2 and stdout == ""
    one_line(err, "--out", words)


@pytest.mark.parametrize("case", ["read-only", "under a file", "name too long"])
def test_train_out_is_checked_before_the_data_loads(case, tmp_path, cli):
    where, words = _locations(tmp_path)[case]
    code, _, err = cli("train", "--model", "se_resnet10_cifar_tiny", "--data", "digits", "--out", where)
    assert code == 2
    one_line(err, "--out", words)


@pytest.mark.parametrize("case", ["read-only", "under a file", "name too long"])
def test_bench_plot_is_checked_before_timing(case, tmp_path, cli):
    where, words = _locations(tmp_path)[case]
    folder = fresh_copy(tmp_path / "exported")
    code, stdout, err = cli("bench", folder, "--plot", Path(str(where) + ".png"))
    assert code == 2 and stdout == ""
    one_line(err, "--plot", words)


# --- two exports into one folder at once ----------------------------------------------------------

@pytest.mark.slow
def test_a_second_export_into_the_same_folder_waits_then_fails_and_the_first_publishes(
        tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    first = ExportProcess(tiny_checkpoint, out)
    first.wait_for("saving the eager FP32 baseline")  # the first now holds out/tiny's lock
    second = ExportProcess(tiny_checkpoint, out, lock_wait=1)
    code2, err2 = second.finish()
    code1, err1 = first.finish()

    assert code2 == 2
    _no_traceback_and_last_line(err2, "another seedge export is writing it")
    assert code1 == 0, err1
    assert publishing.is_seedge_export(out / "tiny") and (out / "tiny" / publishing.EXPORT_MARKER).is_file()
    artifacts.read_manifest(out / "tiny")
    assert names(out) == {"tiny"}


# --- exceptions nobody planned for ----------------------------------------------------------------

def _raising(exc):
    def raise_it(*_args, **_kwargs):
        raise exc
    return raise_it


def test_an_os_error_on_a_user_path_is_exit_2_with_the_file(tmp_path, monkeypatch, cli):
    import seedge.artifacts

    where = str(tmp_path / "exported" / "tiny")
    monkeypatch.setattr(seedge.artifacts, "read_manifest",
                        _raising(PermissionError(errno.EACCES, "Permission denied", where)))
    code, stdout, err = cli("verify", where)
    assert code == 2 and stdout == ""
    one_line(err, f"{where}: Permission denied", "check the path")


def test_a_bug_is_one_internal_error_line_and_seedge_debug_shows_the_traceback(tmp_path, monkeypatch, cli):
    import seedge.artifacts

    monkeypatch.setattr(seedge.artifacts, "read_manifest", _raising(TypeError("'NoneType' object is not subscriptable")))
    code, _, err = cli("verify", tmp_path)
    assert code == 1
    one_line(err, "seedge: internal error: TypeError: 'NoneType' object is not subscriptable", "SEEDGE_DEBUG=1")

    monkeypatch.setenv("SEEDGE_DEBUG", "1")
    from seedge.cli import main

    with pytest.raises(TypeError, match="NoneType"):  # the traceback the user asked for
        main(["verify", str(tmp_path)])


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed exit, on purpose
def test_a_sigterm_swallowed_by_a_finalizer_still_stops_the_publish(tmp_path):
    # Python drops an exception raised while a finalizer runs ("Exception ignored in ..."), so the
    # SystemExit of the SIGTERM handler can be lost when the signal lands inside a __del__; the
    # export then went on and published with exit 0 (CI, under load). publish must refuse.
    class KillsWhileFinalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(SystemExit) as stopped:
        with publishing.staging(tmp_path / "out", "m") as stage:
            (stage / artifacts.MANIFEST).write_text("{}")
            obj = KillsWhileFinalized()
            del obj  # the handler's SystemExit is raised inside __del__ and swallowed there
            publishing.publish(stage, tmp_path / "out", "m")
    assert stopped.value.code == 128 + signal.SIGTERM
    assert not (tmp_path / "out" / "m").exists()
