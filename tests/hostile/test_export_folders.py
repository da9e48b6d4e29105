"""Export folders: only a seedge export is ever replaced, training never writes into one, and
publishing is atomic and locked (two publishes into one name never race).

These run at the staging/publish level with real files (seconds); whole exports that are
killed, run out of disk or race each other are in test_faults.py.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from _export_fixtures import fresh_copy
from _hostile import names, one_line, snapshot

from seedge import artifacts
from seedge.artifacts import MANIFEST
from seedge.publishing import EXPORT_MARKER, check_replaceable, is_seedge_export, output_lock, publish, staging
from seedge.errors import SeedgeError


def _stranger(folder: Path) -> Path:
    """A browser extension: its own manifest.json and sources, nothing of seedge's."""
    (folder / "src").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"manifest_version": 3, "name": "my extension"}))
    (folder / "src" / "background.js").write_text("chrome.runtime.onInstalled.addListener(() => {});\n")
    return folder


def _fill(stage: Path, tag: str) -> None:
    (stage / "payload.txt").write_text(tag)
    artifacts.write_manifest(stage, {"schema_version": 1, "name": tag})


# --- which folders are seedge exports -----------------------------------------------------------

def test_a_folder_with_the_marker_is_an_export(tmp_path):
    with staging(tmp_path, "m") as stage:
        _fill(stage, "m")
        folder = publish(stage, tmp_path, "m")
    assert (folder / EXPORT_MARKER).is_file() and is_seedge_export(folder)


def test_an_export_from_before_the_marker_counts_when_its_manifest_lists_every_file(tmp_path):
    folder = fresh_copy(tmp_path)  # written with write_manifest alone: no marker
    assert not (folder / EXPORT_MARKER).exists()
    assert is_seedge_export(folder)
    (folder / "notes.txt").write_text("mine")  # a file the manifest does not list: not provably seedge's
    assert not is_seedge_export(folder)


@pytest.mark.parametrize("case", ["stranger manifest", "empty", "file", "symlink to an export"])
def test_other_folders_are_not_exports(case, tmp_path):
    target = tmp_path / "t"
    if case == "stranger manifest":
        _stranger(target)
    elif case == "empty":
        target.mkdir()
    elif case == "file":
        target.write_text("x")
    else:
        target.symlink_to(fresh_copy(tmp_path / "real"))
    assert not is_seedge_export(target)


def test_publish_never_replaces_a_folder_that_is_not_an_export(tmp_path):
    target = _stranger(tmp_path / "ext")
    before = snapshot(target)
    with pytest.raises(SeedgeError, match="is not a seedge export"):
        with staging(tmp_path, "ext") as stage:
            _fill(stage, "new")
            publish(stage, tmp_path, "ext")
    assert snapshot(target) == before
    assert names(tmp_path) == {"ext"}  # staging and lock file gone


def test_publish_never_replaces_a_symlink(tmp_path):
    real = fresh_copy(tmp_path / "real")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tiny").symlink_to(real)
    with pytest.raises(SeedgeError, match="symbolic link"):
        check_replaceable(tmp_path / "out" / "tiny")


def test_export_into_a_stranger_folder_exits_2_before_any_work(tiny_checkpoint, tmp_path, cli):
    out = tmp_path / "out"
    target = _stranger(out / "ext")
    before = snapshot(out)
    code, stdout, err = cli("export", tiny_checkpoint, "--formats", "onnx", "--out", out, "--name", "ext")
    assert code == 2 and stdout == ""
    one_line(err, str(target), "is not a seedge export")
    assert snapshot(out) == before


def test_export_replaces_a_legacy_export_it_can_prove_is_seedge(tmp_path):
    """The publish rule accepts a pre-marker export (every file listed): re-exporting works."""
    folder = fresh_copy(tmp_path / "out")
    with staging(tmp_path / "out", "tiny") as stage:
        _fill(stage, "new")
        publish(stage, tmp_path / "out", "tiny")
    assert (folder / "payload.txt").read_text() == "new" and names(tmp_path / "out") == {"tiny"}


# --- train --out never writes into an export or a stranger's folder -------------------------------

def test_train_into_an_export_exits_2_and_leaves_it_byte_identical(tmp_path, cli):
    folder = fresh_copy(tmp_path / "exported")
    before = snapshot(folder)
    code, _, err = cli("train", "--model", "se_resnet10_cifar_tiny", "--data", "digits", "--epochs", "1",
                       "--out", folder)
    assert code == 2
    one_line(err, str(folder), "is a seedge export folder")
    assert snapshot(folder) == before


def test_train_into_a_non_empty_folder_that_is_not_a_run_exits_2(tmp_path, cli):
    target = _stranger(tmp_path / "ext")
    before = snapshot(target)
    code, _, err = cli("train", "--model", "se_resnet10_cifar_tiny", "--data", "digits", "--epochs", "1",
                       "--out", target)
    assert code == 2
    one_line(err, str(target), "not empty and not a seedge training run")
    assert snapshot(target) == before


def test_train_may_write_into_a_new_folder_an_empty_one_or_an_earlier_run(tmp_path, tiny_checkpoint):
    from seedge.train.loop import check_run_dir

    check_run_dir(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_run_dir(tmp_path / "empty")
    run = tmp_path / "run"
    run.mkdir()
    meta = json.loads(tiny_checkpoint.with_suffix(".json").read_text())
    (run / "model.json").write_text(json.dumps({**meta, "training": {"data": "digits"}}))
    check_run_dir(run)
    (tmp_path / "almost").mkdir()
    (tmp_path / "almost" / "model.json").write_text(json.dumps(meta))  # a checkpoint, not a training run
    with pytest.raises(SeedgeError, match="not a seedge training run"):
        check_run_dir(tmp_path / "almost")


# --- stale staging, the lock, simultaneous publishes ------------------------------------------------

def test_stale_staging_of_a_killed_run_is_removed_by_the_next_export(tmp_path):
    for stale in (".staging-tiny-0123abcd", ".old-tiny-89abcdef"):
        (tmp_path / stale).mkdir()
        (tmp_path / stale / "model.onnx").write_bytes(b"half-written")
    others = (".staging-tiny-x-0123abcd", ".staging-other-0123abcd", ".staging-tiny-notahex1")
    for keep in others:  # another name's staging, or not a name staging makes: not ours to remove
        (tmp_path / keep).mkdir()
    with staging(tmp_path, "tiny") as stage:
        _fill(stage, "fresh")
        publish(stage, tmp_path, "tiny")
    assert names(tmp_path) == {"tiny", *others}


def test_the_staging_folder_is_removed_when_the_block_fails(tmp_path):
    published = fresh_copy(tmp_path)
    before = snapshot(published)
    with pytest.raises(RuntimeError, match="builder broke"):
        with staging(tmp_path, "tiny") as stage:
            _fill(stage, "half")
            raise RuntimeError("builder broke")
    assert names(tmp_path) == {"tiny"} and snapshot(published) == before


def test_a_second_export_into_a_locked_name_waits_then_fails_clearly(tmp_path):
    held, release = threading.Event(), threading.Event()

    def first():
        with staging(tmp_path, "tiny"):
            held.set()
            release.wait(30)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert held.wait(30)
        with pytest.raises(SeedgeError) as e:
            with staging(tmp_path, "tiny", lock_wait=0.3):
                pass
        msg = str(e.value)
        assert str(tmp_path / "tiny") in msg and "another seedge export is writing it" in msg
        assert f"pid {os.getpid()}" in msg and "\n" not in msg
    finally:
        release.set()
        t.join()
    assert names(tmp_path) == set()  # the lock file goes with its holder


def test_a_waiting_export_goes_on_once_the_first_publishes(tmp_path):
    held, done = threading.Event(), []

    def first():
        with staging(tmp_path, "tiny") as stage:
            held.set()
            _fill(stage, "first")
            threading.Event().wait(0.3)
            publish(stage, tmp_path, "tiny")
            # Recorded before the lock is released: after the `with`, the waiting export may
            # already hold it and look before this thread runs again (seen on a fast CPU).
            done.append("first")

    t = threading.Thread(target=first)
    t.start()
    assert held.wait(30)
    with staging(tmp_path, "tiny", lock_wait=30) as stage:
        assert done == ["first"]  # got the lock only after the first published
        _fill(stage, "second")
        publish(stage, tmp_path, "tiny")
    t.join()
    assert (tmp_path / "tiny" / "payload.txt").read_text() == "second"
    assert names(tmp_path) == {"tiny"}


@pytest.mark.parametrize("via", ["staging", "bare stages"])
def test_simultaneous_publishes_into_one_name_never_race(via, tmp_path, monkeypatch):
    """Each publish succeeds or fails with SeedgeError (lock wait over), never FileNotFoundError;
    the folder ends up one whole publish; nothing is left beside it."""
    monkeypatch.setenv("SEEDGE_LOCK_WAIT", "20")
    n = 24
    outcomes: list[str] = []
    start = threading.Barrier(n)

    def one(i: int):
        try:
            start.wait()
            if via == "staging":
                with staging(tmp_path, "tiny") as stage:
                    _fill(stage, f"p{i}")
                    publish(stage, tmp_path, "tiny")
            else:  # stages made by a caller, published with publish() alone
                stage = tmp_path / f".mine-{i}"
                stage.mkdir()
                (stage / EXPORT_MARKER).write_text("")
                _fill(stage, f"p{i}")
                publish(stage, tmp_path, "tiny")
            outcomes.append("ok")
        except SeedgeError:
            outcomes.append("SeedgeError")
            if via != "staging":  # a caller's own stage is the caller's to remove
                shutil.rmtree(tmp_path / f".mine-{i}", ignore_errors=True)
        except Exception as e:  # noqa: BLE001 - the point: nothing else may escape
            outcomes.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(outcomes) <= {"ok", "SeedgeError"}, outcomes
    assert outcomes.count("ok") >= 1
    final = tmp_path / "tiny"
    assert json.loads((final / MANIFEST).read_text())["name"] == (final / "payload.txt").read_text()
    assert names(tmp_path) == {"tiny"}


def test_the_lock_of_a_killed_holder_is_free(tmp_path):
    """flock dies with its process: a leftover lock file never blocks the next export."""
    (tmp_path / ".tiny.lock").write_text("pid 999999 since long ago\n")
    with output_lock(tmp_path, "tiny", wait=0):
        pass
    assert names(tmp_path) == set()
