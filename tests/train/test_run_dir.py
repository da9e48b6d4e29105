"""Runs are never overwritten silently: runs/X, then runs/X-2, ...; --exist-ok replaces."""

from __future__ import annotations

import json

import pytest

from seedge.cli import main
from seedge.train.loop import next_run_dir


def test_next_run_dir_skips_taken_folders(tmp_path):
    base = tmp_path / "runs" / "se"
    assert next_run_dir(base) == base and not base.exists()  # created when the first epoch is saved
    base.mkdir(parents=True)
    assert next_run_dir(base) == base  # empty: nothing to overwrite
    (base / "model.json").write_text("{}")
    (tmp_path / "runs" / "se-2").mkdir()
    (tmp_path / "runs" / "se-2" / "x").write_text("")
    third = next_run_dir(base)
    assert third == tmp_path / "runs" / "se-3" and third.is_dir()  # claimed at once
    assert next_run_dir(base) == third  # still empty: taken again
    assert next_run_dir(base, claim=False) == third


@pytest.mark.slow  # three trainings
def test_second_run_goes_to_a_numbered_folder_and_exist_ok_replaces(tmp_path, capsys):
    argv = ["train", "--model", "se_resnet10_cifar_tiny", "--data", "shapes:16x16,n=20,classes=2", "--epochs", "1",
            "--batch-size", "8", "--out", str(tmp_path / "run"), "--json"]
    dirs = []
    for extra in ([], [], ["--exist-ok"]):
        with pytest.raises(SystemExit) as ex:
            main(argv + extra)
        out, err = capsys.readouterr()
        assert ex.value.code == 0, err
        dirs.append(json.loads(out)["run_dir"])
        if len(dirs) == 2:
            assert f"run: {tmp_path / 'run'} holds an earlier run; this one goes to {tmp_path / 'run-2'}" in err
    assert dirs == [str(tmp_path / "run"), str(tmp_path / "run-2"), str(tmp_path / "run")]
