"""TorchScript export (`torch.jit.trace` -> model.ts), plus a `torch.export` program (.pt2) beside it.

TorchScript is what C++/mobile deployments load today, so it is the artifact seedge
verifies and benchmarks. `torch.jit` is deprecated in favour of `torch.export`; the
.pt2 program is written as an extra file where export works (dynamic batch), and the
build facts say whether it did, so users can move over when their runtime can.
"""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import redirect_stdout
from pathlib import Path

from seedge.errors import SeedgeError

TORCHSCRIPT_FILE = "model.ts"
PT2_FILE = "model.pt2"


def export_torchscript(
    model, path: str | Path, input_shape: tuple[int, int, int], pt2: bool = True, pt2_path: str | Path | None = None
) -> dict:
    """Trace `model` (eval mode) to `path`; optionally also save a torch.export program.

    Returns build facts: {"method": "torch.jit.trace", "pt2": {...}}.
    """
    import torch

    path = Path(path)
    # Batch 2, not 1: a batch of one lets torch.export specialize the batch dim to a constant.
    example = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice, tracer warnings
        try:
            traced = torch.jit.trace(model, example, check_trace=False)
            traced = torch.jit.freeze(traced)
        except Exception as e:  # noqa: BLE001 - tracing raises many types; report one line
            raise SeedgeError(
                f"TorchScript trace of {getattr(model, 'seedge_arch', 'model')} failed: {_first_line(e)}"
            ) from None
        # One check against eager at another batch size catches shapes the tracer baked in.
        probe = torch.randn(3, *input_shape, generator=torch.Generator().manual_seed(1))
        diff = float((traced(probe) - model(probe)).abs().max())
    traced.save(str(path))
    facts = {"method": "torch.jit.trace", "frozen": True, "trace_max_abs_diff": diff}
    if pt2:
        facts["pt2"] = export_pt2(model, Path(pt2_path) if pt2_path else path.with_name(PT2_FILE), example)
    return facts


def export_pt2(model, path: Path, example) -> dict:
    """`torch.export.export` with a dynamic batch, saved by `torch.export.save`; never raises."""
    import torch

    from seedge.fileio import sha256_file

    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch._dynamo").setLevel(logging.ERROR)
        try:
            program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
            torch.export.save(program, str(path))
        except Exception as e:  # noqa: BLE001 - an optional extra: record why, keep going
            path.unlink(missing_ok=True)
            return {"ok": False, "error": _first_line(e)}
    return {"ok": True, "file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size}


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return (lines[0] if lines else type(e).__name__)[:300]
