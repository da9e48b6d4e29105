"""Parity metrics and thresholds on hand-made logits (seedge.verify.parity) and JSON cleaning."""

import json
import math

import numpy as np
import pytest

from seedge.errors import SeedgeError
from seedge.verify.parity import compare, passed, thresholds_for
from seedge.cli.render import to_json

REF = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [0.0, 5.0, 1.0], [2.0, 0.0, 1.0]], dtype=np.float32)


def test_identical_logits_pass_every_precision():
    m = compare(REF, REF.copy())
    assert m["top1_agreement"] == 1.0 and m["max_abs_diff"] == 0.0 and m["cosine"] == pytest.approx(1.0)
    assert m["finite"] and m["samples"] == 4 and m["accuracy"] is None
    for precision in ("fp32", "fp16", "int8"):
        assert passed(m, precision) == (True, "ok")


def test_fp32_max_abs_diff_threshold_and_override():
    small = REF + np.float32(5e-4)
    big = REF.copy()
    big[0, 0] += 2e-3
    assert passed(compare(REF, small), "fp32")[0]
    m = compare(REF, big)
    assert m["max_abs_diff"] == pytest.approx(2e-3, rel=1e-3)
    assert m["max_rel_diff"] == pytest.approx(2e-3 / 5.0, rel=1e-3)  # relative to the largest |logit|
    ok, reason = passed(m, "fp32")
    assert not ok and "max abs diff" in reason
    assert passed(m, "fp32", {"max_abs_diff": 1e-2})[0]
    # Relative-aware alternative: drop the absolute bound, bound the diff relative to the logit scale.
    assert passed(m, "fp32", {"max_abs_diff": None, "max_rel_diff": 1e-3})[0]
    assert not passed(m, "fp32", {"max_abs_diff": None, "max_rel_diff": 1e-4})[0]
    # fp16 has no absolute bound: the same diff passes there.
    assert passed(m, "fp16")[0]


def test_top1_agreement_and_cosine_by_hand():
    out = REF.copy()
    out[1] = [1.0, 2.0, 3.0]  # row 1 now picks class 2 instead of 0
    m = compare(REF, out)
    assert m["top1_agreement"] == 0.75
    # Row 1: [3,2,1].[1,2,3] / 14 = 10/14; the other rows are identical (cosine 1).
    assert m["cosine"] == pytest.approx((3 + 10 / 14) / 4)
    ok, reason = passed(m, "fp16")
    assert not ok and "agreement 75.00% < 99.50%" in reason
    assert compare([[1.0, 0.0]], [[0.0, 1.0]])["cosine"] == pytest.approx(0.0)
    assert compare([[1.0, 1.0]], [[1.0, 0.0]])["cosine"] == pytest.approx(1 / math.sqrt(2))
    assert compare([[0.0, 0.0]], [[0.0, 0.0]])["cosine"] == 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_outputs_fail(bad):
    out = REF.copy()
    out[2, 1] = bad
    m = compare(REF, out)
    assert m["finite"] is False
    assert m["max_abs_diff"] is None and m["cosine"] is None
    ok, reason = passed(m, "int8", {"min_agreement": 0.0})
    assert not ok and "non-finite" in reason
    assert json.loads(to_json(m))["max_abs_diff"] is None


def test_nan_row_counts_as_disagreement():
    out = REF.copy()
    out[0] = np.nan  # np.argmax would call the NaN position the answer (index 0); it is no answer
    out[1, 0] = np.nan
    assert compare(REF, out)["top1_agreement"] == 0.5


def test_accuracy_and_int8_accuracy_drop():
    # Eager answers 2, 0, 1, 0 ; labels make eager 3/4 right; -1 marks an unlabelled row.
    y = np.array([2, 0, 1, 1])
    out = REF.copy()
    out[0] = [3.0, 2.0, 1.0]  # the artifact now gets row 0 wrong
    m = compare(REF, out, y)
    assert m["baseline_accuracy"] == 0.75 and m["accuracy"] == 0.5
    assert m["accuracy_drop_points"] == pytest.approx(25.0) and m["labelled"] == 4
    ok, reason = passed(m, "int8", {"min_agreement": 0.5})
    assert not ok and "accuracy drop 25.00 points > 1.00" in reason
    partly = compare(REF, REF, np.array([-1, -1, 1, 1]))
    assert partly["labelled"] == 2 and partly["accuracy"] == 0.5 and partly["accuracy_drop_points"] == 0.0


def test_int8_agreement_bound():
    ref = np.eye(100, 10, dtype=np.float32) * 5 + np.arange(10, dtype=np.float32) * 1e-2
    out = ref.copy()
    out[:3] = ref[:3, ::-1]  # 3 of 100 rows change their answer
    m = compare(ref, out)
    assert m["top1_agreement"] == pytest.approx(0.97)
    assert not passed(m, "int8")[0]
    out[2] = ref[2]
    assert passed(compare(ref, out), "int8")[0]  # 98% is enough


def test_bad_arguments():
    with pytest.raises(SeedgeError, match="precision 'fp8'"):
        thresholds_for("fp8")
    with pytest.raises(SeedgeError, match="unknown parity threshold"):
        thresholds_for("fp32", {"max_diff": 1})
    with pytest.raises(ValueError):
        compare(REF, REF[:2])
    with pytest.raises(ValueError):
        compare(REF, REF, labels=[1, 2])
    assert thresholds_for("fp32") == {"min_agreement": 1.0, "max_abs_diff": 1e-3, "max_rel_diff": None,
                                      "max_accuracy_drop": None, "min_cosine": None}


def test_zero_reference_keeps_metrics_json_safe():
    m = compare(np.zeros((2, 3)), np.full((2, 3), 0.5))
    assert m["max_abs_diff"] == 0.5 and math.isfinite(m["max_rel_diff"]) and m["max_rel_diff"] > 1e6
    assert json.loads(to_json(m))["max_rel_diff"] == m["max_rel_diff"]
    assert not passed(m, "fp32")[0]


def test_sqnr_by_hand_pooled_over_all_logits():
    from seedge.verify.parity import sqnr_db

    # One logit off by 0.05 on a signal of energy 25: 10*log10(25 / 0.0025) = 40 dB.
    assert sqnr_db([[3.0, 4.0]], [[3.0, 4.05]]) == pytest.approx(40.0)
    # Energies are pooled over rows, not averaged per row: 50 / 0.25 -> 10*log10(200).
    m = compare([[3.0, 4.0], [0.0, 5.0]], [[3.5, 4.0], [0.0, 5.0]])
    assert m["sqnr_db"] == pytest.approx(10 * math.log10(200.0))
    # Gaussian noise 1% of a unit-variance signal: 40 dB up to sampling error.
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((500, 10))
    assert compare(ref, ref + 0.01 * rng.standard_normal(ref.shape))["sqnr_db"] == pytest.approx(40.0, abs=0.3)


def test_sqnr_of_identical_and_zero_logits_is_a_finite_json_number():
    from seedge.verify.parity import SQNR_CEILING_DB

    assert SQNR_CEILING_DB == pytest.approx(20 * math.log10(2 ** 24))
    m = compare(REF, REF.copy())
    assert m["sqnr_db"] == SQNR_CEILING_DB and m["kl_divergence"] == 0.0
    doc = json.loads(to_json(m))  # no Infinity, no null that would read as "not measured"
    assert doc["sqnr_db"] == SQNR_CEILING_DB and doc["kl_divergence"] == 0.0
    # Rounding-level noise is as good as none; an all-zero reference with noise is all noise.
    assert compare(REF, REF * (1 + 1e-9))["sqnr_db"] == SQNR_CEILING_DB
    assert compare(np.zeros((2, 3)), np.zeros((2, 3)))["sqnr_db"] == SQNR_CEILING_DB
    assert compare(np.zeros((2, 3)), np.full((2, 3), 0.5))["sqnr_db"] == -SQNR_CEILING_DB
    out = REF.copy()
    out[0, 0] = np.nan
    bad = compare(REF, out)
    assert bad["sqnr_db"] is None and bad["kl_divergence"] is None


def test_kl_divergence_by_hand_direction_base_and_mean():
    # Eager softmax p = [1/2, 1/2]; artifact logits [ln 3, 0] give q = [3/4, 1/4].
    # KL(p || q) = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3) nats; the other direction would be
    # 3/4 ln(3/2) + 1/4 ln(1/2) = 0.1308, and base 2 would be 0.2075: neither is reported.
    m = compare([[0.0, 0.0], [1.0, 2.0]], [[math.log(3.0), 0.0], [1.0, 2.0]])
    assert m["kl_divergence"] == pytest.approx(0.5 * math.log(4 / 3) / 2)  # mean over the two rows
    # Far-apart logits stay finite (log-softmax, no log of an underflowed zero).
    far = compare([[0.0, 1000.0]], [[1000.0, 0.0]])["kl_divergence"]
    assert far == pytest.approx(1000.0) and math.isfinite(far)
    # A constant shift of the logits is the same softmax: no divergence, though SQNR sees the shift.
    shifted = compare(REF, REF + 3.0)
    assert shifted["kl_divergence"] == pytest.approx(0.0, abs=1e-12) and shifted["sqnr_db"] < 20
