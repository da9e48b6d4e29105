"""AOTInductor (`--formats inductor`): exported, verified and benched end to end on the CPU, and a
package that this torch, this device or this CPU cannot run is refused in one line before loading."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from seedge import artifacts
from seedge.backends.inductor import InductorRunner, missing_cpu_features
from seedge.backends.table import BACKENDS, RUNTIME_PREFERENCE
from seedge.errors import SeedgeError
from seedge.export.builders import BUILDERS
from seedge.export.options import ExportOptions
from seedge.export.inductor_export import INDUCTOR_FILE
from seedge.export.pipeline import plan_builders


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _cli(capsys, *argv) -> tuple[int, str, str]:
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def _refused(runner: InductorRunner, *words: str, names_file: bool = True) -> str:
    with pytest.raises(SeedgeError) as e, runner:
        pass
    msg = str(e.value)
    assert len(msg.splitlines()) == 1 and (str(runner.path) in msg or not names_file), msg
    for w in words:
        assert w in msg, msg
    return msg


@pytest.mark.slow
def test_export_verify_bench_and_refusals_on_the_demo_model(tmp_path, capsys):
    import torch

    # seedge export: the demo model (no SOURCE), fp16 asked too: inductor is FP32 only, said as skipped.
    code, out, err = _cli(capsys, "export", "--formats", "inductor", "--precisions", "fp32,fp16",
                          "--out", tmp_path, "--name", "demo", "--json")
    assert code == 0, err
    doc = json.loads(out)
    folder = tmp_path / "demo"
    (art,) = doc["artifacts"]
    assert (art["id"], art["file"], art["backend"]) == ("inductor-fp32", INDUCTOR_FILE, "inductor")
    assert doc["skipped"] == [{"id": "inductor-fp16", "reason": "no fp16 builder for inductor"}]
    # The package does not clash with the torch.export program; the build facts say where it runs.
    assert not (folder / "model.pt2").exists() and (folder / INDUCTOR_FILE).is_file()
    build = art["build"]
    assert build["torch"] == torch.__version__ and build["device"] == "cpu" and build["cpu_isa"]
    assert build["inductor_configs"] == {"cpp.dynamic_threads": True} and build["compile_max_abs_diff"] < 1e-4
    assert art["parity"]["passed"] and art["parity"]["top1_agreement"] == 1.0

    # seedge verify: from the folder alone (a new process would have no model code either).
    code, out, err = _cli(capsys, "verify", folder, "--json")
    assert code == 0, err
    (row,) = json.loads(out)["artifacts"]
    assert row["id"] == "inductor-fp32" and row["passed"] and row["max_abs_diff"] <= 1e-3

    # seedge bench: the package against eager in one interleaved run, at two batch sizes.
    code, out, err = _cli(capsys, "bench", folder, "--backend", "inductor", "--batch", "1,3", "--threads", 1,
                          "--warmup", 1, "--iters", 4, "--rounds", 2, "--json")
    assert code == 0, err
    rows = [r for r in json.loads(out)["results"] if r["backend"] == "inductor"]
    assert [r["batch"] for r in rows] == [1, 3]
    assert all(r["p50_ms"] > 0 and r["speedup_vs_eager"] > 0 for r in rows)
    assert rows[0]["runner"]["threads"] == 1 and rows[0]["runner"]["cpu_isa"] == build["cpu_isa"]

    # The runner pins torch's (and so the kernels' OpenMP) threads while open and restores them.
    path = folder / INDUCTOR_FILE
    with np.load(folder / artifacts.REFERENCE) as ref:
        x, logits = ref["input"], ref["logits"]
    before = torch.get_num_threads()
    with InductorRunner(path, threads=1, build=build) as r:
        assert torch.get_num_threads() == 1
        np.testing.assert_allclose(r.infer({"input": x})[0], logits, atol=1e-4)
        np.testing.assert_allclose(r.infer({"input": x[:2]})[0], logits[:2], atol=1e-4)
    assert torch.get_num_threads() == before

    # Packages this torch / device / CPU cannot run: one line each, before anything is loaded.
    _refused(InductorRunner(path, build={**build, "torch": "2.0.0+cpu"}), "torch 2.0.0+cpu", torch.__version__)
    _refused(InductorRunner(path, build={**build, "device": "cuda"}), "compiled for cuda", "--device cuda")
    _refused(InductorRunner(path, build={**build, "machine": "aarch64"}), "aarch64")
    absent = [k for k, v in torch.cpu.get_capabilities().items() if v is False]
    if absent:  # a feature this CPU lacks, e.g. avx512_vnni on an AVX2 machine
        _refused(InductorRunner(path, build={**build, "cpu_isa": f"AVX2 {absent[0].upper()}"}), absent[0])
    if not _cuda():
        _refused(InductorRunner(path, device="cuda", build=build), "no CUDA device", names_file=False)
    broken = tmp_path / "broken.pt2"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _refused(InductorRunner(broken, build=build), "not a loadable AOTInductor package")
    assert capsys.readouterr().err == ""  # the one line is the exception's; torch's loader says nothing

    # The device runtime never picks it (it needs torch); `seedge predict` says which artifacts there are.
    code, _, err = _cli(capsys, "predict", folder, str(tmp_path / "none.png"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no artifact for the runtime's backends" in err and "inductor-fp32 (inductor)" in err


def test_the_backend_and_builder_facts():
    facts = BACKENDS["inductor"]
    assert facts.devices == ("cpu", "cuda") and facts.reads == ("inductor",) and not facts.torch_free
    assert facts.extra is None  # torch is a core dependency of the exporting side
    # The torch-free device runtime never chooses it.
    assert all(b != "inductor" for prefs in RUNTIME_PREFERENCE.values() for b, _ in prefs)
    assert [k for k in BUILDERS if k[0] == "inductor"] == [("inductor", "fp32")]
    builders, skipped = plan_builders(ExportOptions(formats=("inductor",), precisions=("fp32", "int8")))
    assert [b.id for b in builders] == ["inductor-fp32"] and skipped[0]["id"] == "inductor-int8"
    with pytest.raises(SeedgeError, match="nothing to build: no builder for inductor-fp16"):
        plan_builders(ExportOptions(formats=("inductor",), precisions=("fp16",)))


def test_cpu_features_a_package_needs():
    import torch

    caps = torch.cpu.get_capabilities()
    assert missing_cpu_features("NEON") == []  # not an x86 feature torch reports: the machine check covers it
    have = [k for k, v in caps.items() if v is True and k.startswith("avx")]
    if have:
        assert missing_cpu_features(have[0].upper()) == []
    avx512 = ("avx512_f", "avx512_dq", "avx512_vl", "avx512_bw")
    assert missing_cpu_features("AVX512") == [f for f in avx512 if caps.get(f) is False]


def test_cuda_export_without_a_gpu_is_one_line(tmp_path):
    if _cuda():
        pytest.skip("this machine has a CUDA GPU")
    from seedge.export.options import ExportOptions
    from seedge.export.pipeline import export_model

    with pytest.raises(SeedgeError, match=r"^--device cuda: no CUDA GPU is visible to PyTorch here"):
        export_model(None, ExportOptions(formats=("inductor",), out=tmp_path, device="cuda"))
    assert not any(tmp_path.iterdir())


def test_missing_compiler_is_one_line(tmp_path):
    """No C++ compiler on PATH: the CPU build says so before torch tries (and fails deep inside)."""
    import torch._inductor.config as inductor_config

    from _export_fixtures import INPUT_SHAPE, _model

    from seedge.export.inductor_export import export_inductor

    assert shutil.which("no-such-cxx-compiler") is None
    with inductor_config.patch({"cpp.cxx": (None, "no-such-cxx-compiler")}), \
            pytest.raises(SeedgeError, match="needs a C\\+\\+ compiler.*'no-such-cxx-compiler'"):
        export_inductor(_model(), tmp_path / INDUCTOR_FILE, INPUT_SHAPE)
    assert not (tmp_path / INDUCTOR_FILE).exists()
