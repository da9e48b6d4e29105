"""Issue 22, case 11: quiet gaps in what verify, bench and the runtime check of an export folder.
Zero artifacts is no pass; the raw reference files and the baseline's sidecar are held to the
hashes the manifest records; a manifest claiming another input size than the artifact's is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import one_line

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.runtime import Model


def _edit(folder: Path, change) -> Path:
    m = artifacts.read_manifest(folder)
    change(m)
    artifacts.write_manifest(folder, m)
    return folder


def test_verify_refuses_a_manifest_with_zero_artifacts(tmp_path, cli):
    folder = _edit(fresh_copy(tmp_path), lambda m: m.update(artifacts=[]))
    code, out, err = cli("verify", folder)
    assert code == 2 and out == ""
    one_line(err, str(folder), "no artifacts")


@pytest.fixture
def with_raw(tmp_path) -> Path:
    """A copy whose manifest names the raw reference files (as an export writes them)."""
    from seedge.export.reference import write_raw_reference

    folder = fresh_copy(tmp_path)
    with np.load(folder / artifacts.REFERENCE) as z:
        raw = write_raw_reference(folder, {k: z[k] for k in z.files})
    return _edit(folder, lambda m: m.update(reference={"file": artifacts.REFERENCE, "raw": raw}))


@pytest.mark.parametrize("name", ["input.f32", "logits.f32"])
def test_verify_checks_the_raw_reference_files(with_raw, name, cli):
    code, _, err = cli("verify", with_raw, "--artifact", "onnx-fp32")
    assert code == 0, err
    path = with_raw / "reference" / name
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    code, out, err = cli("verify", with_raw, "--artifact", "onnx-fp32")
    assert code == 2 and out == ""
    one_line(err, f"reference/{name}", "sha256")


def test_verify_refuses_a_raw_reference_file_that_leaves_the_folder(with_raw, tmp_path, cli):
    outside = tmp_path / "elsewhere.f32"
    outside.write_bytes((with_raw / "reference" / "input.f32").read_bytes())
    (with_raw / "reference" / "input.f32").unlink()
    (with_raw / "reference" / "input.f32").symlink_to(outside)
    code, _, err = cli("verify", with_raw, "--artifact", "onnx-fp32")
    assert code == 2
    one_line(err, "reference/input.f32")


@pytest.fixture
def hashed_sidecar(tmp_path) -> Path:
    folder = fresh_copy(tmp_path)
    sha = artifacts.sha256_file(folder / "model.json")
    return _edit(folder, lambda m: m["baseline"].update(sidecar_sha256=sha))


@pytest.mark.parametrize("command", [["verify"], ["bench", "--batch", "1", "--iters", "2", "--warmup", "1",
                                                  "--rounds", "1", "--backend", "onnxruntime"]])
def test_a_changed_baseline_sidecar_is_refused(hashed_sidecar, command, cli):
    sidecar = hashed_sidecar / "model.json"
    sidecar.write_text(sidecar.read_text().replace('"0"', '"zero"', 1))
    code, out, err = cli(command[0], hashed_sidecar, *command[1:])
    assert code == 2 and out == ""
    one_line(err, "model.json", "sha256")


def test_export_records_the_sidecar_hash(tiny_checkpoint, tmp_path, cli):
    code, _, err = cli("export", tiny_checkpoint, "--formats", "onnx", "--precisions", "fp32",
                       "--out", tmp_path / "out", "--name", "t")
    assert code == 0, err
    folder = tmp_path / "out" / "t"
    baseline = artifacts.read_manifest(folder)["baseline"]
    assert baseline["sidecar_sha256"] == artifacts.sha256_file(folder / baseline["sidecar"])


@pytest.fixture
def claims_64(tmp_path) -> Path:
    """The 32x32 export whose manifest (and reference inputs) claim 64x64 images."""
    folder = fresh_copy(tmp_path)
    x = np.random.default_rng(0).standard_normal((4, 3, 64, 64)).astype(np.float32)
    np.savez(folder / artifacts.REFERENCE, input=x, logits=np.zeros((4, 10), np.float32))

    def claim(m):
        m["input"]["shape"] = ["batch", 3, 64, 64]
        m["preprocessing"]["input_size"] = [3, 64, 64]
    return _edit(folder, claim)


@pytest.mark.parametrize("art", ["onnx-fp32", "openvino-fp32"])
def test_the_runtime_refuses_a_manifest_input_size_the_artifact_lacks(claims_64, art):
    with pytest.raises(SeedgeError) as e:
        Model.open(claims_64, artifact=art, threads=1)
    text = str(e.value)
    assert "[3, 32, 32]" in text and "[3, 64, 64]" in text and art in text and "\n" not in text


@pytest.mark.parametrize("art", ["onnx-fp32", "openvino-fp32"])
def test_verify_refuses_a_manifest_input_size_the_artifact_lacks(claims_64, art, cli):
    code, out, err = cli("verify", claims_64, "--artifact", art)
    assert code == 2 and out == ""
    one_line(err, art, "[3, 32, 32]", "[3, 64, 64]")


def test_bench_refuses_a_manifest_input_size_the_artifact_lacks(claims_64, cli):
    code, out, err = cli("bench", claims_64, "--backend", "openvino", "--batch", "1", "--iters", "2",
                         "--warmup", "1", "--rounds", "1")
    assert code == 2 and out == ""
    one_line(err, "[3, 32, 32]", "[3, 64, 64]")
