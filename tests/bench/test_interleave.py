"""seedge.bench.interleave: the one timing loop (call order, rounds, errors), no timed assertions."""

from __future__ import annotations

import gc

import pytest

from seedge.bench.interleave import Step, interleaved, rotation
from seedge.errors import SeedgeError


def _recording(names):
    """name -> callable that logs (name, whether the garbage collector was on) per call."""
    log = []

    def make(name):
        return lambda: log.append((name, gc.isenabled()))

    return {n: make(n) for n in names}, log


def test_calls_warm_up_then_rotate_each_round_with_one_rewarm_and_gc_off_while_timed():
    calls, log = _recording("abc")
    steps = []
    assert gc.isenabled()
    out = interleaved(calls, warmup=2, per_round=[2, 1, 3], progress=steps.append)

    def slot(name, n):  # one untimed re-warm call (collector on), then n timed calls (collector off)
        return [(name, True)] + [(name, False)] * n

    expected = [("a", True)] * 2 + [("b", True)] * 2 + [("c", True)] * 2
    expected += slot("a", 2) + slot("b", 2) + slot("c", 2)  # round 1: a b c
    expected += slot("b", 1) + slot("c", 1) + slot("a", 1)  # round 2: rotated by one
    expected += slot("c", 3) + slot("a", 3) + slot("b", 3)  # round 3: rotated by two
    assert log == expected
    assert gc.isenabled()
    assert list(out) == ["a", "b", "c"]
    for s in out.values():
        assert s["iters"] == 6 and len(s["round_p50_ms"]) == 3
        assert all(x >= 0 for x in s["round_p50_ms"])
        assert s["min_ms"] <= s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"]
    assert [s.label for s in steps[:3]] == ["warm-up a", "warm-up b", "warm-up c"]
    assert [(s.name, s.round) for s in steps[3:6]] == [("a", 1), ("b", 1), ("c", 1)]
    assert [(s.name, s.round) for s in steps[6:9]] == [("b", 2), ("c", 2), ("a", 2)]
    assert steps[-1] == Step("b", 3, 3, out["b"]["round_p50_ms"][-1]) and steps[-1].label == "round 3/3 b"


def test_same_count_every_round_gives_one_median_per_round():
    calls, log = _recording(["x", "y"])
    out = interleaved(calls, batch=4, warmup=0, per_round=3, rounds=4)
    assert len(log) == 2 * 4 * (1 + 3)
    for s in out.values():
        assert s["iters"] == 12 and len(s["round_p50_ms"]) == 4 and s["throughput_ips"] > 0


def test_rotation():
    assert rotation(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert rotation(["a", "b", "c"], 4) == ["b", "c", "a"]


def test_a_failing_callable_propagates_and_the_collector_is_back_on():
    calls_made = []

    def flaky():
        calls_made.append(1)
        if len(calls_made) == 4:  # warm-up 2, re-warm 1, then the first timed call fails
            raise RuntimeError("inference failed")

    with pytest.raises(RuntimeError, match="inference failed"):
        interleaved({"ok": lambda: None, "flaky": flaky}, warmup=2, per_round=2, rounds=2)
    assert gc.isenabled() and len(calls_made) == 4


@pytest.mark.parametrize("kwargs, words", [
    ({"per_round": 0}, "at least 1 timed call"),
    ({"per_round": 2, "rounds": 0}, "rounds"),
    ({"per_round": [2, 2], "rounds": 3}, "does not match"),
    ({"per_round": []}, "at least one round"),
    ({"warmup": -1}, "warmup"),
])
def test_bad_settings_are_seedge_errors(kwargs, words):
    with pytest.raises(SeedgeError, match=words):
        interleaved({"a": lambda: None}, **kwargs)


def test_nothing_to_time():
    with pytest.raises(SeedgeError, match="nothing to time"):
        interleaved({})
