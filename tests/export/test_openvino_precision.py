"""openvino-fp16's execution precision: a 16-bit precision is kept only when it passes parity
(with a margin) on real images and is faster than f32; otherwise f32, with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from _export_fixtures import export_folder

from seedge.export.openvino_precision import MARGIN, choose_fp16_execution, cpu_sixteen_bit_precisions

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def folder():
    return export_folder()


@pytest.fixture(scope="module")
def reference(folder):
    with np.load(folder / "reference.npz") as ref:
        return ref["input"], ref["logits"]


def test_no_images_or_no_16bit_cpu_keeps_f32(folder, reference):
    xml = folder / "openvino" / "model.xml"
    x, logits = reference
    no_data = choose_fp16_execution(xml, None, None, candidates=["bf16"])
    assert no_data["inference_precision"] == "f32" and "no labelled verification images" in no_data["why"]
    no_cpu = choose_fp16_execution(xml, logits, x, candidates=[])
    assert no_cpu["inference_precision"] == "f32" and "offers no 16-bit" in no_cpu["why"]


def test_candidates_are_measured_and_a_failing_one_is_never_kept(folder, reference):
    xml = folder / "openvino" / "model.xml"
    x, logits = reference
    sixteen = cpu_sixteen_bit_precisions() or ["bf16"]  # without hardware support the plugin runs f32
    facts = choose_fp16_execution(xml, logits, x, threads=1, candidates=sixteen)
    rows = {r["inference_precision"]: r for r in facts["candidates"]}
    assert list(rows) == ["f32", *sixteen]
    assert facts["timed_threads"] == 1  # the count asked for, recorded with the choice
    assert rows["f32"]["parity"] == "pass" and rows["f32"]["top1_agreement"] == 1.0
    assert all(r["p50_ms_batch1"] > 0 for r in rows.values())
    chosen = rows[facts["inference_precision"]]
    assert chosen["parity"] == "pass"
    if facts["inference_precision"] != "f32":
        assert chosen["top1_agreement"] >= 1 - (1 - 0.995) * MARGIN
        assert chosen["p50_ms_batch1"] < rows["f32"]["p50_ms_batch1"]

    # Logits the model does not produce: no 16-bit candidate may pass, f32 is what stays.
    wrong = np.roll(logits, 1, axis=1)
    bad = choose_fp16_execution(xml, wrong, x, threads=1, candidates=sixteen)
    assert bad["inference_precision"] == "f32"
    assert all(r["parity"] != "pass" for r in bad["candidates"])
