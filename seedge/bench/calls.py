"""The timed calls of one batch size: one pre-allocated input per input shape, one callable per entry.

Artifacts get the numpy feed (or, with the preprocessing inside, uint8 pixels); on CUDA the eager
baseline and the peers run on a tensor already on the GPU, so their rows time the model and not
PCIe (the copies are timed on their own entry, --include-copy). A peer's first call (compilation)
happens here, before the rounds, never inside them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seedge.bench.peers import module_call, resident_input
from seedge.bench.plan import Entry, eager_key
from seedge.errors import SeedgeError
from seedge.preprocess.pixels import random_pixels, takes_pixels
from seedge.verify.run import model_class_names
from seedge.verify.shapes import check_width


def batch_inputs(shapes: list[tuple], batch: int, seed: int) -> dict:
    """{input shape: float32 batch}; folders with the same input shape get the same values."""
    rng = np.random.default_rng(seed)
    return {s: np.ascontiguousarray(rng.standard_normal((batch, *s), dtype=np.float32)) for s in dict.fromkeys(shapes)}


def batch_calls(
    entries: list[Entry],
    runners: dict[str, Any],
    manifests: list[dict],
    batch: int,
    seed: int,
    device: str,
    say: Callable[[str], None],
    drop: Callable[[Entry, str], None],
) -> tuple[dict, dict]:
    """({key: timed call}, {key: parity or copy sizes}) for `entries` at `batch`. A peer that
    cannot run (no C++ compiler for torch.compile, say) is dropped with why and removed from
    `entries`."""
    shapes = [tuple(int(d) for d in m["input"]["shape"][1:]) for m in manifests]
    names = [m["input"].get("name", "input") for m in manifests]
    inputs = batch_inputs(shapes, batch, seed)
    calls, extra, eager_out = {}, {}, {}
    for e in list(entries):
        i = e.folder
        r: Any = runners.get(e.key)  # None for a copy entry, which has no runner of its own
        x = inputs[shapes[i]]
        feed = {names[i]: x}
        if e.kind == "eager":
            calls[e.key] = _eager_call(r, feed, x, device)
            if any(p.kind == "peer" for p in entries):  # the peers' parity reference: eager logits on this input
                eager_out[i] = r.infer(feed)[0]
        elif e.kind == "peer":
            say(f"batch {batch}: first call of {e.key} ({r.spec.what}; compiling where it compiles, not timed)")
            try:
                calls[e.key] = r.prepare(x)
            except SeedgeError as err:  # e.g. no C++ compiler or no Triton for torch.compile
                drop(e, str(err))
                entries.remove(e)
                continue
            extra[e.key] = r.parity(batch, eager_out[i])
        elif e.kind == "copy":
            calls[e.key], extra[e.key] = _copy_call(x, eager_out.get(i), runners[eager_key(entries, i)], device)
        elif takes_pixels(e.art):  # preprocessing inside: it takes uint8 NHWC pixels, not the tensor
            pixels = {names[i]: random_pixels(batch, manifests[i]["preprocessing"], seed)}
            calls[e.key] = lambda r=r, f=pixels: r.infer(f)
        else:
            calls[e.key] = lambda r=r, f=feed: r.infer(f)
        if e.kind == "artifact":  # one untimed call: its width against the class list, as verify checks it
            check_width(calls[e.key]()[0], len(model_class_names(manifests[i])), f"artifact '{e.art['id']}'")
    return calls, extra


def _eager_call(runner, feed: dict, x: np.ndarray, device: str):
    """The eager baseline's timed call: on the CPU the runner's own infer (numpy in and out, as
    every artifact); on CUDA the module on an input already on the GPU, like the peers, so the
    baseline is the model's time and not PCIe's (copies are timed on their own, --include-copy)."""
    if device == "cpu":
        return lambda: runner.infer(feed)
    return module_call(runner.module, resident_input(x, device))


def _copy_call(x: np.ndarray, eager_logits: np.ndarray | None, eager_runner, device: str):
    """What an application moving numpy batches pays on top: the input to the GPU and the logits back."""
    import torch

    host = torch.from_numpy(x)
    if eager_logits is None:
        eager_logits = eager_runner.infer({eager_runner.input_name: x})[0]
    out = torch.from_numpy(np.ascontiguousarray(eager_logits, dtype=np.float32)).to(device)

    def call():
        host.to(device)
        return out.cpu()

    return call, {"h2d_bytes": int(x.nbytes), "d2h_bytes": int(eager_logits.nbytes)}
