"""Canaries for files that carry code (issue 22 items 1, 2, 7, 10; the rule is seedge.trust).

Each hostile file holds a payload that, if anything unpickled it, creates a marker file: every test
asserts the marker never appears and the refusal is one line naming the file and the part (or the
opt-in). A .pt2 is read weights-only from end to end; a native artifact (AOTInductor package,
TensorRT plan) runs only when this machine built it or with --trust-native.
"""

from __future__ import annotations

import builtins
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from _hostile import one_line

from seedge import artifacts
from seedge.checkpoint import load_program_module
from seedge.errors import SeedgeError
from seedge.fileio import sha256_file


class _Payload:
    """Unpickled with weights_only=False, `open(marker, "w")` runs: the marker file appears."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


class _Net(torch.nn.Module):
    """A conv, a linear (weights), a buffer and a plain tensor attribute (a lifted constant)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 5)
        self.register_buffer("scale", torch.ones(1))
        self.offset = torch.zeros(5)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)) * self.scale) + self.offset


def _program(path: Path, dynamic: bool = True) -> Path:
    torch.manual_seed(0)
    net = _Net().eval()
    x = torch.randn(2 if dynamic else 1, 3, 8, 8)
    shapes = ({0: torch.export.Dim("batch", min=1, max=64)},) if dynamic else None
    torch.export.save(torch.export.export(net, (x,), dynamic_shapes=shapes), str(path))
    return path


def _pickled(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy the zip `src` to `dst`, `edit(parts)` changing the {name without the archive prefix: bytes}."""
    with zipfile.ZipFile(src) as z:
        first = z.namelist()[0]
        prefix = first.split("/", 1)[0] + "/"
        parts = {n[len(prefix):]: z.read(n) for n in z.namelist()}
    edit(parts)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for name, data in parts.items():
            z.writestr(prefix + name, data)
    return dst


def _mark_pickled(parts: dict, config: str, folder: str, fqn: str, payload: bytes) -> None:
    """Mark the payload entry `fqn` of `config` use_pickle and put `payload` in its file."""
    doc = json.loads(parts[config])
    meta = doc["config"][fqn]
    meta["use_pickle"], meta["tensor_meta"] = True, None
    parts[config] = json.dumps(doc).encode()
    parts[folder + meta["path_name"]] = payload


def _hostile(tmp_path: Path, part: str, marker: Path) -> Path:
    """A program whose `part` (sample_inputs, weights, constants, opaque) runs the payload."""
    good = _program(tmp_path / "good.pt2")
    payload = _pickled(_Payload(marker))

    def edit(parts):
        if part == "sample_inputs":
            parts["data/sample_inputs/model.pt"] = _pickled(((_Payload(marker),), {}))
        elif part == "weights":
            _mark_pickled(parts, "data/weights/model_weights_config.json", "data/weights/", "fc.weight", payload)
        elif part == "constants":
            config = "data/constants/model_constants_config.json"
            _mark_pickled(parts, config, "data/constants/", next(iter(json.loads(parts[config])["config"])), payload)
        elif part == "opaque":
            config = "data/constants/model_constants_config.json"
            doc = json.loads(parts[config])
            fqn = next(iter(doc["config"]))
            doc["config"][fqn] = {"path_name": "opaque_obj_0", "is_param": False, "use_pickle": True,
                                  "tensor_meta": None}
            parts[config] = json.dumps(doc).encode()
            parts["data/constants/opaque_obj_0"] = __import__("pickle").dumps(_Payload(marker))

    return _rewrite(good, tmp_path / f"{part}.pt2", edit)


PARTS = {
    "sample_inputs": "data/sample_inputs/model.pt",
    "weights": "data/weights/",
    "constants": "data/constants/",
    "opaque": "data/constants/opaque_obj_0",
}


@pytest.mark.parametrize("part", list(PARTS))
def test_pt2_pickled_parts_never_run(part, tmp_path):
    marker = tmp_path / "PWNED"
    path = _hostile(tmp_path, part, marker)
    with pytest.raises(SeedgeError) as e:
        load_program_module(path)
    msg = str(e.value)
    assert not marker.exists(), "a payload in the .pt2 ran"
    assert len(msg.splitlines()) == 1 and str(path) in msg and f"part {PARTS[part]}" in msg, msg


@pytest.mark.parametrize("part", ["sample_inputs", "weights"])
def test_pt2_payload_through_the_cli_is_one_line(part, tmp_path, cli):
    marker = tmp_path / "PWNED"
    path = _hostile(tmp_path, part, marker)
    for argv in (("inspect", path), ("export", path, "--formats", "onnx", "--out", tmp_path / "out")):
        code, out, err = cli(*argv)
        assert code == 2 and not marker.exists(), err
        one_line(err, str(path), f"part {PARTS[part]}", "weights-only")
    assert not (tmp_path / "out").exists()


def test_pt2_symbolic_expression_is_not_evaluated(tmp_path):
    """torch hands the graph's shape expressions to sympy.sympify, which evaluates Python."""
    marker = tmp_path / "PWNED"
    good = _program(tmp_path / "good.pt2")

    def edit(parts):
        text = parts["models/model.json"].decode()
        assert "Symbol(" in text
        evil = f"__import__('builtins').open('{marker}', 'w')"
        parts["models/model.json"] = text.replace('"expr_str": "Symbol(', '"expr_str": "' + evil + ' or Symbol(',
                                                  1).encode()

    path = _rewrite(good, tmp_path / "expr.pt2", edit)
    with pytest.raises(SeedgeError, match="part models/model.json .* not plain arithmetic"):
        load_program_module(path)
    assert not marker.exists()


def _run_program(path: Path) -> None:
    """What verify does with a program: load it, then call its module."""
    _, module = load_program_module(path)
    module(torch.randn(2, 3, 8, 8))


def test_pt2_guard_code_is_not_executed(tmp_path):
    """torch.export writes guards as Python source that program.module() exec()s."""
    marker = tmp_path / "PWNED"

    def edit(parts):
        doc = json.loads(parts["models/model.json"])
        doc["guards_code"] = [f"__import__('builtins').open('{marker}', 'w') is not None"]
        parts["models/model.json"] = json.dumps(doc).encode()

    path = _rewrite(_program(tmp_path / "good.pt2"), tmp_path / "guard.pt2", edit)
    with pytest.raises(SeedgeError, match="part models/model.json .* guard that is not a comparison"):
        _run_program(path)
    assert not marker.exists()


def test_pt2_node_calling_python_is_refused(tmp_path):
    """A node's target is resolved by getattr from `torch` and called: `torch.os.system` exists."""
    marker = tmp_path / "PWNED"

    def edit(parts):
        doc = json.loads(parts["models/model.json"])
        nodes = doc["graph_module"]["graph"]["nodes"]
        nodes.insert(0, {"target": "torch.os.system", "name": "pwn", "metadata": {}, "outputs": [],
                         "is_hop_single_tensor_return": None,
                         "inputs": [{"name": "command", "arg": {"as_string": f"touch {marker}"}, "kind": 1}]})
        parts["models/model.json"] = json.dumps(doc).encode()

    path = _rewrite(_program(tmp_path / "good.pt2"), tmp_path / "node.pt2", edit)
    with pytest.raises(SeedgeError, match="part models/model.json .* calls 'torch.os.system', which is not a torch"):
        _run_program(path)
    assert not marker.exists()


def test_pt2_legacy_pickled_weights_are_refused(tmp_path):
    """torch reads data/weights/model.pt (the older format) as pickled bytes and unpickles them with a
    weights_only=False fallback."""
    marker = tmp_path / "PWNED"
    path = _rewrite(_program(tmp_path / "good.pt2"), tmp_path / "legacy.pt2",
                    lambda parts: parts.update({"data/weights/model.pt": _pickled(_Payload(marker))}))
    with pytest.raises(SeedgeError, match="part data/weights/model.pt .* legacy pickled format"):
        load_program_module(path)
    assert not marker.exists()


def test_pt2_with_a_native_package_inside_is_refused(tmp_path):
    """load_pt2 would dlopen an AOTInductor library found in data/aotinductor/."""
    path = _rewrite(_program(tmp_path / "good.pt2"), tmp_path / "aoti.pt2",
                    lambda parts: parts.update({"data/aotinductor/model/model.wrapper.so": b"\x7fELF"}))
    with pytest.raises(SeedgeError, match="part data/aotinductor/model/model.wrapper.so .* native code"):
        load_program_module(path)


def test_pt2_refusal_is_seedges_line_not_torchs_log(tmp_path, cli):
    """An unreadable .pt2: one line, none of torch's logger traceback before it (item 10)."""
    path = tmp_path / "damaged.pt2"
    data = _program(tmp_path / "good.pt2").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    code, _, err = cli("inspect", path)
    assert code == 2
    one_line(err, str(path), "torch.export")


def test_pt2_fifo_or_device_is_refused_not_read_forever(tmp_path, cli):
    import os

    from _hostile import no_hang

    fifo = tmp_path / "fifo.pt2"
    os.mkfifo(fifo)
    device = tmp_path / "zero.pt2"
    device.symlink_to("/dev/zero")
    for path in (fifo, device):
        with no_hang(30):
            code, _, err = cli("inspect", path)
        assert code == 2
        one_line(err, str(path), "not a regular file")


def test_static_batch_program_is_one_line_saying_how_to_export_it(tmp_path, cli):
    """Item 7: a program exported at batch 1 (no dynamic_shapes) cannot take other batches."""
    path = _program(tmp_path / "static.pt2", dynamic=False)
    for argv in (("inspect", path), ("export", path, "--formats", "onnx", "--out", tmp_path / "out")):
        code, _, err = cli(*argv)
        assert code == 2, err
        one_line(err, str(path), "batch 1 only", 'dynamic_shapes={"x": {0: torch.export.Dim("batch")}}')


def test_good_pt2_still_loads_and_runs(tmp_path):
    program, module = load_program_module(_program(tmp_path / "good.pt2"))
    torch.manual_seed(0)
    net = _Net().eval()
    x = torch.randn(3, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(module(x), net(x), atol=1e-6)


# --- a stranger's user-model export: baseline.pt2 replaced, manifest sha256 updated --------------------

@pytest.fixture
def pt2_export(tmp_path, cli) -> Path:
    code, _, err = cli("export", _program(tmp_path / "net.pt2"), "--formats", "onnx", "--no-count-nodes",
                       "--preprocessing", "imagenet", "--out", tmp_path / "out")
    assert code == 0, err
    return tmp_path / "out" / "net"


@pytest.mark.parametrize("part", ["sample_inputs", "weights"])
def test_strangers_baseline_pt2_is_refused_by_verify_and_bench(part, pt2_export, tmp_path, cli):
    marker = tmp_path / "PWNED"
    baseline = pt2_export / "baseline.pt2"
    shutil.copyfile(_hostile(tmp_path, part, marker), baseline)
    manifest = json.loads((pt2_export / artifacts.MANIFEST).read_text())
    manifest["baseline"]["sha256"] = sha256_file(baseline)
    (pt2_export / artifacts.MANIFEST).write_text(json.dumps(manifest))
    for argv in (("verify", pt2_export), ("bench", pt2_export, "--iters", 2, "--warmup", 1, "--rounds", 1)):
        code, out, err = cli(*argv)
        assert not marker.exists(), f"{argv[0]} ran the payload"
        assert code == 2, (out, err)
        one_line(err, "baseline.pt2", f"part {PARTS[part]}")


# --- native artifacts: run when this machine built them, or with --trust-native -------------------------

def test_registry_proves_only_what_this_user_recorded(tmp_path, monkeypatch):
    from seedge import trust

    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path / "cache"))
    sha = "ab" * 32
    art = {"format": "inductor", "sha256": sha}
    with pytest.raises(trust.NotTrusted, match="model.inductor.pt2: an AOTInductor package .* --trust-native"):
        trust.check_native("model.inductor.pt2", art, trust_native=False)
    trust.check_native("model.inductor.pt2", art, trust_native=True)
    trust.record_built(sha)
    assert trust.built_here(sha) and not trust.built_here("cd" * 32)
    trust.check_native("model.inductor.pt2", art, trust_native=False)
    trust.registry().chmod(0o777)  # a registry others can write to proves nothing
    assert not trust.built_here(sha)
    trust.check_native("model.onnx", {"format": "onnx", "sha256": "0"}, trust_native=False)  # data: always read


def _constructor_so(tmp_path: Path, marker: Path) -> bytes:
    """A shared library whose constructor creates `marker` when it is dlopened."""
    src = tmp_path / "payload.c"
    src.write_text(f'#include <stdio.h>\n__attribute__((constructor)) static void run(void) '
                   f'{{ FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    lib = tmp_path / "payload.so"
    import subprocess

    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib.read_bytes()


def _set_sha(folder: Path, art_id: str) -> None:
    """The stranger also updates the manifest's sha256, so integrity alone cannot tell."""
    manifest = json.loads((folder / artifacts.MANIFEST).read_text())
    art = next(a for a in manifest["artifacts"] if a["id"] == art_id)
    art["sha256"] = sha256_file(folder / art["file"])
    (folder / artifacts.MANIFEST).write_text(json.dumps(manifest))


def _aoti_temp_dirs() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("aotinductor_*")}


@pytest.mark.slow
def test_strangers_aotinductor_package_runs_only_with_trust_native(tmp_path, cli, monkeypatch):
    import seedge

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).mean((2, 3)))

    torch.manual_seed(0)
    built = seedge.export(Tiny().eval(), input_size=(3, 16, 16), out=tmp_path / "out", formats="inductor",
                          name="tiny", preprocessing={"preset": "imagenet"})
    code, _, err = cli("verify", built)  # built here: its sha256 is in this user's registry
    assert code == 0, err

    # Another user (or machine): the same folder, copied in, with no proof in their registry.
    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path / "other-user-cache"))
    folder = Path(shutil.copytree(built, tmp_path / "stranger"))
    code, _, err = cli("verify", folder)
    assert code == 2
    one_line(err, str(folder / "model.inductor.pt2"), "did not build", "--trust-native")
    code, _, err = cli("bench", folder, "--backend", "inductor", "--iters", 2, "--warmup", 1, "--rounds", 1,
                       "--batch", 1, "--no-record")
    assert code == 2
    one_line(err, "model.inductor.pt2", "--trust-native")
    code, _, err = cli("bench", folder, "--iters", 2, "--warmup", 1, "--rounds", 1, "--batch", 1, "--no-record")
    assert code == 0 and "inductor" in err and "--trust-native" in err, err  # picked by default: left out, said why
    code, _, err = cli("verify", folder, "--trust-native")
    assert code == 0, err
    code, _, err = cli("bench", folder, "--backend", "inductor", "--iters", 2, "--warmup", 1, "--rounds", 1,
                       "--batch", 1, "--no-record", "--trust-native")
    assert code == 0, err

    # A package whose library runs code when loaded (manifest sha256 updated): refused unread
    # without the opt-in; with it, what fails to load leaves no unpacked folder behind.
    marker = tmp_path / "PWNED"
    so = _constructor_so(tmp_path, marker)

    def swap(parts):
        (name,) = [n for n in parts if n.endswith(".wrapper.so")]
        parts[name] = so

    package = folder / "model.inductor.pt2"
    _rewrite(package, tmp_path / "evil.pt2", swap)
    shutil.copyfile(tmp_path / "evil.pt2", package)
    _set_sha(folder, "inductor-fp32")
    before = _aoti_temp_dirs()
    for argv in (("verify", folder), ("bench", folder, "--backend", "inductor", "--no-record")):
        code, _, err = cli(*argv)
        assert not marker.exists(), f"{argv[0]} loaded a stranger's native code without --trust-native"
        assert code == 2
        one_line(err, "model.inductor.pt2", "--trust-native")
    code, _, err = cli("verify", folder, "--trust-native")
    assert code == 2 and marker.exists()  # the user's word: it ran (and is no model)
    one_line(err, "model.inductor.pt2", "not a loadable AOTInductor package")
    assert _aoti_temp_dirs() == before
