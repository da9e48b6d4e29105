"""Export-time choices that are timed (openvino-fp16's bf16-vs-f32, openvino-int8's route) run at
the thread count the device runtime will use (seedge.hostcpu.default_threads), and the artifact's
build facts say which (`timed_threads`): a choice timed at another count may not hold there."""

from __future__ import annotations

import pytest
from _quantize_fixtures import tiny

from seedge.artifacts import read_manifest
from seedge.hostcpu import default_threads

pytest.importorskip("openvino")
pytest.importorskip("nncf")


@pytest.mark.slow  # a real export: OpenVINO FP16 and INT8 (NNCF) with their timed candidates, ~1 min here
def test_timed_choices_record_the_devices_thread_count(tmp_path):
    import seedge

    t = tiny()
    folder = seedge.export(t.model, input_size=t.spec.input_size, preprocessing=t.spec, formats="openvino",
                           precisions="fp16,int8", calib="digits", calib_samples=32, verify_samples=64,
                           reference_samples=8, out=tmp_path, name="timed", count_nodes=False, pt2=False,
                           # the tiny model's INT8 is far from the default gate; the timing is what is checked
                           thresholds={"int8": {"min_agreement": 0.8, "max_accuracy_drop": 10.0}})
    build = {a["id"]: a["build"] for a in read_manifest(folder)["artifacts"]}
    assert build["openvino-int8"]["timed_threads"] == default_threads()
    choice = build["openvino-fp16"]["execution_choice"]
    if "candidates" in choice:  # timed only where the CPU offers 16-bit float execution
        assert build["openvino-fp16"]["timed_threads"] == choice["timed_threads"] == default_threads()
    else:
        assert "timed_threads" not in build["openvino-fp16"]
