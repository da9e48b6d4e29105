"""Hostile export folders: a manifest can name any path, be any JSON, and sit beside any file.

Every `file` a manifest names must resolve inside the folder to a regular file (the sha256 in
the same manifest cannot protect against a path that points elsewhere); a malformed manifest
or reference.npz is one line naming the file and the field; nothing ever blocks on a FIFO.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import fresh_copy
from _hostile import no_hang, one_line, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seedge import artifacts
from seedge.artifacts import (
    IntegrityError,
    check_manifest,
    contained_file,
    read_manifest,
)
from seedge.errors import SeedgeError


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _write(folder: Path, manifest) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _point_onnx_at(folder: Path, rel: str, target: Path) -> None:
    """Make the onnx-fp32 entry name `rel` with the sha256 of `target`: only containment can stop it."""
    m = _manifest(folder)
    entry = next(a for a in m["artifacts"] if a["id"] == "onnx-fp32")
    entry["file"] = rel
    entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    _write(folder, m)


@pytest.fixture
def folder(tmp_path) -> Path:
    return fresh_copy(tmp_path / "exported")


@pytest.fixture
def other(tmp_path) -> Path:
    """Another export folder, whose model.onnx a hostile manifest borrows."""
    return fresh_copy(tmp_path / "elsewhere", "other")


# --- files outside the folder -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "nested-dotdot"])
def test_an_artifact_file_outside_the_folder_is_refused_by_verify(how, folder, other, cli):
    target = other / "model.onnx"
    if how == "absolute":
        rel = str(target)
    elif how == "dotdot":
        rel = os.path.relpath(target, folder)
    elif how == "nested-dotdot":
        rel = "openvino/../" + os.path.relpath(target, folder)
    else:
        (folder / "borrowed.onnx").symlink_to(target)
        rel = "borrowed.onnx"
    _point_onnx_at(folder, rel, target)
    before = snapshot(folder)

    code, out, err = cli("verify", folder, "--artifact", "onnx-fp32")

    assert code == 2 and out == ""
    line = one_line(err, "outside the export folder")
    assert "onnx-fp32" in line
    assert snapshot(folder) == before


def test_an_artifact_file_outside_the_folder_is_refused_by_the_runtime(folder, other):
    from seedge.runtime import Model

    _point_onnx_at(folder, str(other / "model.onnx"), other / "model.onnx")
    with pytest.raises(IntegrityError, match="points outside the export folder"):
        Model.open(folder, artifact="onnx-fp32")


def test_any_file_on_disk_is_never_read_as_a_model(folder, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours\n")
    _point_onnx_at(folder, str(secret), secret)
    m = read_manifest(folder)
    entry = artifacts.find_artifact(m, "onnx-fp32")
    with pytest.raises(IntegrityError, match="outside the export folder"):
        artifacts.check_integrity(folder, entry)


@pytest.mark.parametrize("field", ["baseline", "reference"])
def test_baseline_and_reference_outside_the_folder_are_refused(field, folder, other, cli):
    m = _manifest(folder)
    if field == "baseline":
        m["baseline"]["file"] = str(other / "model.safetensors")
        m["baseline"]["sha256"] = hashlib.sha256((other / "model.safetensors").read_bytes()).hexdigest()
    else:
        m["reference"] = {"file": "../other/reference.npz"}
    _write(folder, m)

    code, _, err = cli("verify", folder)

    assert code == 2
    one_line(err, "outside the export folder", f"{field}.file")


def test_a_sidecar_linked_out_of_the_folder_is_refused(folder, other, cli):
    (folder / "model.json").unlink()
    (folder / "model.json").symlink_to(other / "model.json")
    code, _, err = cli("verify", folder)
    assert code == 2
    one_line(err, "model.json", "outside the export folder")


# --- files that are not regular: never opened, nothing blocks -------------------------------------

@pytest.mark.parametrize("what", ["artifact", "baseline", "reference", "manifest"])
def test_a_fifo_named_by_the_manifest_is_refused_without_blocking(what, folder, cli):
    m = _manifest(folder)
    if what == "artifact":
        os.mkfifo(folder / "fifo.onnx")
        m["artifacts"][1]["file"] = "fifo.onnx"
    elif what == "baseline":
        (folder / "model.safetensors").unlink()
        os.mkfifo(folder / "model.safetensors")
    elif what == "reference":
        (folder / "reference.npz").unlink()
        os.mkfifo(folder / "reference.npz")
    _write(folder, m)
    if what == "manifest":
        (folder / "manifest.json").unlink()
        os.mkfifo(folder / "manifest.json")

    with no_hang(60):
        code, _, err = cli("verify", folder)

    assert code == 2
    one_line(err, "is a FIFO, not a regular file")


def test_a_link_to_a_device_file_is_refused_by_model_open(folder):
    from seedge.runtime import Model

    (folder / "model.onnx").unlink()
    (folder / "model.onnx").symlink_to("/dev/zero")
    with no_hang(60), pytest.raises(IntegrityError, match="outside the export folder"):
        Model.open(folder, artifact="onnx-fp32")


def test_an_artifact_folder_holding_a_fifo_is_refused(folder):
    os.mkfifo(folder / "openvino" / "pipe.bin")
    m = read_manifest(folder)
    m["artifacts"][2]["file"] = "openvino"
    with no_hang(60), pytest.raises(IntegrityError, match="is a FIFO"):
        artifacts.check_integrity(folder, m["artifacts"][2])


def test_a_symlink_loop_is_refused(folder):
    (folder / "loop.onnx").symlink_to(folder / "loop.onnx")
    with pytest.raises(IntegrityError, match="loop.onnx"):
        contained_file(folder, "loop.onnx", "the file of artifact 'x'")


# --- malformed manifests: one line naming manifest.json and the field ----------------------------

def _drop(path):
    def change(m):
        *parents, last = path
        for p in parents:
            m = m[p]
        del m[last]
    return change


def _set(path, value):
    def change(m):
        *parents, last = path
        for p in parents:
            m = m[p]
        m[last] = value
    return change


MALFORMED = {
    "not an object (array)": (lambda m: [m], "not an object"),
    "not an object (string)": (lambda m: "manifest", "not an object"),
    "not an object (null)": (lambda m: None, "not an object"),
    "no schema version": (_drop(["schema_version"]), "schema version"),
    "artifact without file": (_drop(["artifacts", 0, "file"]), "'artifacts[0].file' is missing"),
    "artifact without sha256": (_drop(["artifacts", 1, "sha256"]), "'artifacts[1].sha256' is missing"),
    "artifact without backend": (_drop(["artifacts", 1, "backend"]), "'artifacts[1].backend' is missing"),
    "artifact without format": (_drop(["artifacts", 2, "format"]), "'artifacts[2].format' is missing"),
    "artifact without precision": (_drop(["artifacts", 0, "precision"]), "'artifacts[0].precision' is missing"),
    "artifact without id": (_drop(["artifacts", 0, "id"]), "'artifacts[0].id' is missing"),
    "artifact file a number": (_set(["artifacts", 0, "file"], 7), "'artifacts[0].file' must be a non-empty string"),
    "artifact not an object": (_set(["artifacts", 0], "model.onnx"), "'artifacts[0]' must be an object"),
    "artifacts not a list": (_set(["artifacts"], {"a": 1}), "'artifacts' must be a list"),
    "duplicate artifact id": (_set(["artifacts", 1, "id"], "torchscript-fp32"), "appears twice"),
    "missing preprocessing": (_drop(["preprocessing"]), "'preprocessing' is missing"),
    "preprocessing not an object": (_set(["preprocessing"], [1, 2]), "'preprocessing' must be an object"),
    "preprocessing std zero": (_set(["preprocessing", "std"], [0, 1, 1]), "'preprocessing.std' holds a zero"),
    "preprocessing mean strings": (_set(["preprocessing", "mean"], ["a", "b", "c"]), "'preprocessing.mean'"),
    "missing input": (_drop(["input"]), "'input' is missing"),
    "input shape wrong": (_set(["input", "shape"], ["batch", 3, 32]), "'input.shape'"),
    "input shape negative": (_set(["input", "shape"], ["batch", 3, -32, 32]), "'input.shape'"),
    "input size mismatch": (_set(["preprocessing", "input_size"], [3, 64, 64]), "differs from input.shape"),
    "missing model": (_drop(["model"]), "'model' is missing"),
    "num_classes a string": (_set(["model", "num_classes"], "10"), "'model.num_classes'"),
    "class names too few": (_set(["model", "class_names"], ["a", "b"]), "has 2 names for 10 classes"),
    "missing baseline": (_drop(["baseline"]), "'baseline' is missing"),
    "baseline file empty": (_set(["baseline", "file"], ""), "'baseline.file'"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_manifest_is_one_line_naming_the_field(case, folder, cli):
    change, words = MALFORMED[case]
    m = _manifest(folder)
    result = change(m)  # the changed manifest, or None where it changed `m` in place
    _write(folder, result if case.startswith("not an object") else m)
    before = snapshot(folder)

    code, out, err = cli("verify", folder)

    assert code == 2 and out == ""
    one_line(err, "manifest.json", words)
    assert snapshot(folder) == before


@pytest.mark.parametrize("data, words", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe garbage", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    (b'{"schema_version": 1e999999}', "schema version"),
    (b'{"schema_version": 1' + b"0" * 5000 + b"}", "not JSON"),
])
def test_a_manifest_that_is_not_json_is_one_line(data, words, folder, cli):
    (folder / "manifest.json").write_bytes(data)
    code, _, err = cli("verify", folder)
    assert code == 2
    one_line(err, "manifest.json", words)


def test_a_huge_manifest_is_refused_by_its_size(folder, monkeypatch, cli):
    monkeypatch.setattr(artifacts, "MAX_MANIFEST_BYTES", 1000)
    code, _, err = cli("verify", folder)
    assert code == 2
    one_line(err, "manifest.json", "larger than")


def test_runtime_and_bench_read_manifests_through_the_same_check(folder, cli):
    from seedge.runtime import Model

    m = _manifest(folder)
    del m["artifacts"][0]["sha256"]
    _write(folder, m)
    with pytest.raises(SeedgeError, match=r"'artifacts\[0\].sha256' is missing"):
        Model.open(folder)
    code, _, err = cli("bench", folder, "--iters", "1", "--warmup", "0", "--rounds", "1")
    assert code == 2
    one_line(err, "manifest.json", "artifacts[0].sha256")


# --- reference.npz ----------------------------------------------------------------------------------

def _reference(folder: Path, **arrays) -> None:
    with open(folder / "reference.npz", "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("case, words", [
    ("pickled", "holds pickled objects, which are never loaded"),
    ("garbage", "unreadable reference data"),
    ("truncated", "unreadable reference data"),
    ("no input", "no 'input' array"),
    ("int input", "not float NCHW images"),
    ("logits mismatch", "'logits'"),
])
def test_a_broken_reference_npz_is_one_line(case, words, folder, cli):
    ref = dict(np.load(folder / "reference.npz"))
    if case == "pickled":
        _reference(folder, input=np.array([{"a": 1}], dtype=object), logits=ref["logits"])
    elif case == "garbage":
        (folder / "reference.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    elif case == "truncated":
        data = (folder / "reference.npz").read_bytes()
        (folder / "reference.npz").write_bytes(data[: len(data) // 2])
    elif case == "no input":
        _reference(folder, logits=ref["logits"])
    elif case == "int input":
        _reference(folder, input=ref["input"].astype(np.int64), logits=ref["logits"])
    else:
        _reference(folder, input=ref["input"], logits=ref["logits"][:2])

    code, _, err = cli("verify", folder)

    assert code == 2
    one_line(err, "reference.npz", words)


def test_a_pickled_reference_never_runs_code(folder, tmp_path):
    """np.load with allow_pickle would call the pickle's reducer; seedge never allows it."""
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    with open(folder / "reference.npz", "wb") as f:
        np.savez(f, input=arr)
    assert pickle.dumps(arr)  # the payload is real
    m = read_manifest(folder)
    with pytest.raises(SeedgeError, match="pickled objects"):
        artifacts.read_reference(folder, m)
    assert not marker.exists()


def test_a_reference_bigger_than_the_bound_is_refused_before_inflating(folder, monkeypatch):
    monkeypatch.setattr(artifacts, "MAX_REFERENCE_BYTES", 1000)
    with pytest.raises(SeedgeError, match=r"over the 1000-byte bound"):
        artifacts.read_reference(folder, read_manifest(folder))


def test_the_runtime_self_test_reads_reference_through_the_same_reader(folder):
    from seedge.runtime import Model

    ref = dict(np.load(folder / "reference.npz"))
    _reference(folder, input=np.array([{"a": 1}], dtype=object), logits=ref["logits"])
    with Model.open(folder, artifact="onnx-fp32") as m, pytest.raises(SeedgeError, match="pickled objects"):
        m.self_test()


# --- property-based: any JSON ends in a manifest or a SeedgeError -----------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None, database=None)
@given(value=JSON)
def test_any_json_value_is_a_manifest_or_a_seedge_error(value):
    try:
        check_manifest(value, "manifest.json")
    except SeedgeError as e:
        assert "\n" not in str(e) and "manifest.json" in str(e)


def _valid_manifest() -> dict:
    from _export_fixtures import export_folder

    return read_manifest(export_folder())


def _paths(obj, prefix=()):
    """Every (path) to a value inside a JSON object."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_valid_manifest_with_any_field_replaced_is_checked_or_refused(data):
    """Replace or delete one field anywhere in a real manifest: check_manifest either accepts it
    and the readers' assumptions hold (the fields they index have their types), or raises a
    one-line SeedgeError; nothing else."""
    m = json.loads(json.dumps(_valid_manifest()))
    paths = [p for p in _paths(m) if p]
    path = data.draw(st.sampled_from(paths))
    parent = m
    for p in path[:-1]:
        parent = parent[p]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(JSON)
    try:
        check_manifest(m, "manifest.json")
    except SeedgeError as e:
        assert "\n" not in str(e)
        return
    # Accepted: what verify, bench and the runtime index without guards is there and typed.
    assert isinstance(m["input"]["shape"], list) and all(type(d) is int for d in m["input"]["shape"][1:])
    assert all(isinstance(a[k], str) for a in m["artifacts"] for k in ("id", "file", "sha256", "backend"))
    assert isinstance(m["baseline"]["file"], str)
    assert len(m["preprocessing"]["mean"]) >= m["preprocessing"]["input_size"][0]


@settings(max_examples=300, deadline=None, database=None)
@given(rel=st.text(max_size=40) | st.sampled_from(["..", "../x", "/etc/passwd", "a/../../b", "C:\\x", "", "."]))
def test_any_file_name_resolves_inside_the_folder_or_is_refused(rel, tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "contain"
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "sub" / "f.bin").write_bytes(b"x")
    try:
        path = contained_file(folder, rel, "the file of artifact 'x'")
    except SeedgeError as e:
        assert "\n" not in str(e)
        return
    real = path.resolve()
    assert real.is_file() and folder.resolve() in real.parents

