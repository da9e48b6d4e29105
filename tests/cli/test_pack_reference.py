"""`seedge pack` keeps a small reference set (issue 23 item 10): a few images by default,
`--reference-samples N` for more; reference.npz, the raw files and the manifest's sha256s agree,
and the packed folder still self-tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy

from seedge import artifacts
from seedge.cli import main
from seedge.export.reference import write_raw_reference
from seedge.fileio import sha256_file
from seedge.runtime import Model
from seedge.runtime.pack import DEFAULT_REFERENCE_SAMPLES


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    folder = fresh_copy(tmp_path_factory.mktemp("pack-ref-src"))
    manifest = artifacts.read_manifest(folder)
    ref = artifacts.read_reference(folder, manifest)
    ref["labels"] = np.arange(len(ref["input"]), dtype=np.int64) % 2  # every raw kind, labels too
    np.savez(folder / artifacts.REFERENCE, **ref)
    manifest["reference"] = {**manifest.get("reference", {}), "file": artifacts.REFERENCE,
                             "raw": write_raw_reference(folder, ref)}
    artifacts.write_manifest(folder, manifest)
    return folder


def _check_consistent(out: Path, n: int, source: dict) -> None:
    manifest = artifacts.read_manifest(out)
    ref = artifacts.read_reference(out, manifest)
    for name, a in ref.items():
        assert len(a) == n, name
        np.testing.assert_array_equal(a, source[name][:n])  # the first n rows, unchanged
    for name, entry in manifest["reference"]["raw"].items():
        assert entry["shape"][0] == n and entry["sha256"] == sha256_file(out / entry["file"])
        raw = np.fromfile(out / entry["file"], dtype=ref[name].dtype).reshape(entry["shape"])
        np.testing.assert_array_equal(raw, ref[name])
    if "samples" in manifest["reference"]:
        assert manifest["reference"]["samples"] == n


def test_pack_keeps_a_few_reference_images_by_default(export, tmp_path, capsys):
    source = artifacts.read_reference(export, artifacts.read_manifest(export))
    assert len(source["input"]) > DEFAULT_REFERENCE_SAMPLES  # the export has more than pack keeps
    out = tmp_path / "device"
    code, stdout, stderr = run(["pack", export, "onnx-fp32", "--out", out, "--json"], capsys)
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["reference_samples"] == DEFAULT_REFERENCE_SAMPLES
    _check_consistent(out, DEFAULT_REFERENCE_SAMPLES, source)
    with Model.open(out, threads=1) as m:
        assert m.self_test()["passed"]


def test_reference_samples_option_keeps_more_and_never_more_than_there_are(export, tmp_path, capsys):
    source = artifacts.read_reference(export, artifacts.read_manifest(export))
    total = len(source["input"])
    code, _, stderr = run(["pack", export, "onnx-fp32", "--out", tmp_path / "a", "--reference-samples", 6], capsys)
    assert code == 0, stderr
    _check_consistent(tmp_path / "a", 6, source)
    code, _, stderr = run(["pack", export, "onnx-fp32", "--out", tmp_path / "b",
                           "--reference-samples", total + 50], capsys)
    assert code == 0, stderr
    _check_consistent(tmp_path / "b", total, source)


def test_reference_samples_below_one_is_refused(export, tmp_path, capsys):
    code, _, stderr = run(["pack", export, "onnx-fp32", "--out", tmp_path / "c", "--reference-samples", 0], capsys)
    assert code == 2 and "--reference-samples" in stderr and not (tmp_path / "c").exists()
