"""Peers: what a PyTorch user would run instead of an exported artifact, timed beside it.

The eager FP32 model is the baseline of every `seedge bench` run. A peer is the same eager model
with one thing a PyTorch user would try first (issue 16):

    fp16                 torch.autocast(float16)           CUDA only
    bf16                 torch.autocast(bfloat16)          CPU and CUDA
    channels-last        weights and input in channels-last memory format
    compile              torch.compile(mode="max-autotune") (on CUDA this mode also captures CUDA graphs)
    compile-cudagraphs   torch.compile(mode="reduce-overhead"): CUDA graphs, the small-batch mode; CUDA only

Each peer opens its own copy of the folder's eager model (channels-last and compile change the
module) and runs on a torch tensor made once per batch size and kept on the device, so no
host-to-device copy is timed (seedge.bench.run times those separately when asked). The first call
per batch size (torch.compile's compilation, autocast's weight casts) is made and timed before the
interleaved rounds, never inside them. Each peer's logits on the timed input are compared with the
eager model's by seedge.verify.parity, with the thresholds of the peer's precision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from seedge.errors import SeedgeError, message_line, unknown


@dataclass(frozen=True)
class PeerSpec:
    name: str
    artifact: str  # the row's "artifact" id
    format: str  # the row's "format": eager or torch.compile
    precision: str  # parity thresholds and the row's "precision"
    what: str  # one phrase for help and reports
    not_on: dict = field(default_factory=dict)  # device family -> why this peer is not run there
    autocast: str | None = None  # torch dtype name
    channels_last: bool = False
    compile_mode: str | None = None


PEERS: dict[str, PeerSpec] = {
    p.name: p
    for p in (
        PeerSpec(
            "fp16",
            "eager-fp16",
            "eager",
            "fp16",
            "eager under torch.autocast(float16)",
            not_on={
                "cpu": "float16 autocast on a CPU is emulated (x86 has no FP16 arithmetic), not what CPU "
                "users run; the bf16 peer is the CPU's low-precision autocast"
            },
            autocast="float16",
        ),
        PeerSpec("bf16", "eager-bf16", "eager", "bf16", "eager under torch.autocast(bfloat16)", autocast="bfloat16"),
        PeerSpec(
            "channels-last",
            "eager-channels-last",
            "eager",
            "fp32",
            "eager in channels-last memory format",
            channels_last=True,
        ),
        PeerSpec(
            "compile",
            "compile-max-autotune",
            "torch.compile",
            "fp32",
            "torch.compile(mode='max-autotune')",
            compile_mode="max-autotune",
        ),
        PeerSpec(
            "compile-cudagraphs",
            "compile-reduce-overhead",
            "torch.compile",
            "fp32",
            "torch.compile(mode='reduce-overhead'): CUDA graphs",
            not_on={"cpu": "CUDA graphs exist only on CUDA; the compile peer is torch.compile on the CPU"},
            compile_mode="reduce-overhead",
        ),
    )
}
ALL = "all"


def parse_peers(peers, device: str) -> tuple[list[PeerSpec], list[dict]]:
    """The peers to run on `device` and the ones left out with why.

    `peers`: None/empty (none), a comma list ("compile,channels-last"), a sequence of names, or
    "all" (every peer that runs on `device`). An unknown name is a SeedgeError.
    """
    if not peers:
        return [], []
    names = [p.strip() for p in peers.split(",")] if isinstance(peers, str) else [str(p).strip() for p in peers]
    names = [n for n in names if n]
    if ALL in names:
        names = list(PEERS)
    for n in names:
        if n not in PEERS:
            raise unknown("peer", n, [*PEERS, ALL])
    family = "cpu" if str(device) == "cpu" else "cuda"
    chosen, skipped = [], []
    for n in dict.fromkeys(names):
        spec = PEERS[n]
        if family in spec.not_on:
            skipped.append({"artifact": spec.artifact, "backend": "torch", "peer": n, "reason": spec.not_on[family]})
        else:
            chosen.append(spec)
    return chosen, skipped


def resident_input(x: np.ndarray, device: str, channels_last: bool = False):
    """`x` as a float32 torch tensor on `device`, made once and reused by every timed call."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


def module_call(module, x, autocast: str | None = None):
    """A no-argument callable running `module(x)` in inference mode (under autocast if asked).
    It returns the device tensor: the timing loop synchronizes CUDA itself."""
    import torch

    device_type = x.device.type
    dtype = getattr(torch, autocast) if autocast else None

    def call():
        with torch.inference_mode():
            if dtype is None:
                return module(x)
            with torch.autocast(device_type=device_type, dtype=dtype):
                return module(x)

    return call


def logits(out) -> np.ndarray:
    """The first output of a torch call as float32 numpy (a copy: CUDA graphs reuse their outputs)."""
    first = out[0] if isinstance(out, (tuple, list)) else out
    return first.detach().float().cpu().numpy().copy()


class Peer:
    """One peer on an opened eager runner (seedge.backends.torch_eager) of its own.

    `prepare(x)` makes the resident input for one batch size, runs the untimed first call
    (compilation) and returns the callable to time; `parity(ref)` compares that batch's logits
    with the eager model's."""

    def __init__(self, spec: PeerSpec, runner, device: str):
        import torch

        self.spec, self.runner, self.device = spec, runner, device
        module = runner.module
        if spec.channels_last:
            module = module.to(memory_format=torch.channels_last)
        if spec.compile_mode:
            # dynamic=False: one specialized graph per batch size, what a deployment with a fixed
            # batch gets; each batch size compiles once, in prepare().
            module = torch.compile(module, mode=spec.compile_mode, dynamic=False)
        self.module = module
        self.first_call_seconds: dict[int, float] = {}
        self._outputs: dict[int, np.ndarray] = {}

    def prepare(self, x: np.ndarray):
        batch = int(x.shape[0])
        xt = resident_input(x, self.device, self.spec.channels_last)
        call = module_call(self.module, xt, self.spec.autocast)
        t0 = time.perf_counter()
        try:
            out = call()
            if self.device != "cpu":
                import torch

                torch.cuda.synchronize()
        except Exception as e:  # noqa: BLE001 - torch.compile raises many types (no compiler, no Triton)
            raise SeedgeError(
                f"peer '{self.spec.name}' ({self.spec.what}) failed at batch {batch} on "
                f"{self.device}: {message_line(e)[:300]}"
            ) from None
        self.first_call_seconds[batch] = round(time.perf_counter() - t0, 3)
        self._outputs[batch] = logits(out)
        return call

    def parity(self, batch: int, ref_logits: np.ndarray) -> dict:
        """seedge.verify.parity's metrics and verdict for this batch's logits against the eager ones."""
        from seedge.verify.parity import compare, passed

        m = compare(ref_logits, self._outputs[batch])
        ok, why = passed(m, self.spec.precision)
        return {
            "top1_agreement": m["top1_agreement"],
            "max_abs_diff": m["max_abs_diff"],
            "cosine": m["cosine"],
            "samples": m["samples"],
            "thresholds": self.spec.precision,
            "passed": ok,
            "reason": why,
        }

    def describe(self) -> dict:
        d = dict(self.runner.describe())
        d.update(
            {
                "peer": self.spec.name,
                "what": self.spec.what,
                "input": "resident on the device",
                "first_call_seconds": dict(self.first_call_seconds),
            }
        )
        if self.spec.compile_mode:
            d["compile_mode"] = self.spec.compile_mode
            d["cuda_graphs"] = self.device != "cpu"  # both modes capture CUDA graphs on CUDA
        return d
