"""Shared helpers for the experiment scripts in this folder (not part of the seedge package).

- `build_model` / `plain_onnx`: the model with random weights (seed 0; latency does not
  depend on weight values) or the weights of an exported folder, and a *plain*
  `torch.onnx.export` of it: no seedge passes, torch's default exporter settings.
- `interleaved`: seedge's own timing loop (seedge.bench.interleave, the one `seedge bench`
  and the quantizers use), printing one line per round, so ratios between the callables
  hold on a shared, noisy machine; `ratio_median` takes those ratios round by round.
- `exported_folder`, `CACHE`, ...: cached exports, shared with the pytest suite
  (benchmarks/_exports.py).

Scripts put this folder on sys.path and `from _common import ...`; this module puts
benchmarks/ there for `_exports`.
"""

from __future__ import annotations

import io
import logging
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _exports import (  # noqa: E402,F401  (re-exported for the scripts)
    BACKEND_FORMAT,
    CACHE,
    RANDOM_WEIGHT_THRESHOLDS,
    exported_folder,
    random_checkpoint,
)

from seedge.bench.interleave import interleaved as _seedge_interleaved  # noqa: E402


def build_model(name: str | None = None, folder: str | Path | None = None):
    """(model, (C, H, W)): from an exported folder's baseline, else `name` with random weights."""
    import torch

    if folder is not None:
        from seedge.checkpoint import load_model

        model, info = load_model(str(Path(folder) / "model.safetensors"))
        return model.eval(), tuple(info["preprocess"].input_size)
    from seedge.models import create_model

    torch.manual_seed(0)
    model = create_model(name).eval()
    return model, tuple(model.seedge_cfg.input_size)


def plain_onnx(model, input_size, path: str | Path, batch: int = 1) -> Path:
    """`torch.onnx.export(model, (x,), path)` with the exporter's defaults (static shape)."""
    import torch

    path = Path(path)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.randn(batch, *input_size)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"])
    return path


def random_input(batch: int, input_size, seed: int = 0) -> np.ndarray:
    return np.ascontiguousarray(np.random.default_rng(seed).standard_normal((batch, *input_size), dtype=np.float32))


def interleaved(fns: dict[str, Callable[[], object]], batch: int, warmup: int = 5, rounds: int = 5,
                iters: int = 10, progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """seedge.bench.interleave.interleaved with `iters` calls per round for `rounds` rounds.

    Returns name -> summary with "round_p50_ms"; `progress` gets one line per finished round.
    """
    done: dict[str, float] = {}

    def per_round(step) -> None:
        if step.round is None:
            return
        done[step.name] = step.round_p50_ms
        if len(done) == len(fns):  # every callable has had its turn in this round
            progress(f"round {step.round}/{step.rounds}: " + ", ".join(f"{n} {done[n]:.2f} ms" for n in fns))
            done.clear()

    return _seedge_interleaved(fns, batch=batch, warmup=warmup, rounds=rounds, per_round=iters,
                               progress=per_round if progress else None)


def ratio_median(a: dict, b: dict) -> float:
    """Median over rounds of a's round p50 / b's round p50 (how many times slower a is)."""
    return float(np.median([x / y for x, y in zip(a["round_p50_ms"], b["round_p50_ms"])]))
