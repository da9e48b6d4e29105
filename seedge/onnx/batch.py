"""Any batch, proven: an exported graph whose batch dimension is symbolic must give the model's
logits at batch 1 and at a larger batch, and a model that fixes its batch is refused in one line
that names the line of its code doing so.

Why a run and not torch's word: torch.export gives every traced size a range from 2 up (its 0/1
specialization), so `if x.shape[0] == 1:` in a forward is decided "False" without a guard and the
program claims batch 1..N while only the batch >= 2 path is in it. The run at batch 1 shows it; the
line comes from running the eager forward at batch 1 and 2 under a line tracer and finding where the
two paths part. torch's own failures (a hard-coded `view(1, -1)`, a branch on a tensor value) carry
`File "...", line N` in their message; `export_failure` keeps that and drops the rest (ANSI colour
codes, "This is step 1/3", the hints on torch's debug flags).
"""

from __future__ import annotations

import re
import sys
import sysconfig
import traceback
from pathlib import Path

import numpy as np

from seedge.errors import SeedgeError

# Batch sizes an exported graph is run at besides the reference set's (verify runs that): 1, where
# torch's 0/1 specialization hides a branch, and 3, unlike the batch-2 example it was traced with.
PROBE_BATCHES = (1, 3)
# Logits of a graph and of its eager model agree to float32 rounding; a batch-dependent path moves
# them by far more than this fraction of the logit scale.
REL_TOL = 1e-3

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(\S[^\n]*)')
# Lines of torch's export messages that are advice about torch itself, not about the user's model.
_NOISE = re.compile(
    r"^(Failed to export the model with torch\.export|- |## |\(Refer to|The error above occurred|"
    r"For more information|For extended logs|If you suspect|For more debugging|For C\+\+ stack|"
    r"consider using data-dependent|Caused by: \(|The following call raised|Suggested fixes|<class )"
)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def export_failure(e: BaseException, model=None, example=None) -> str:
    """One line for a torch.export / torch.onnx failure: what failed and, where torch names it, the
    user's line (`at FILE:N: code`); where torch names none, the line where the eager `model` at
    batch 1 and 2 parts or raises. torch.onnx wraps torch.export's error as its __cause__."""
    texts = [strip_ansi(str(x)) for x in (e.__cause__, e) if x is not None]
    lines = next((found for t in texts if (found := list(_lines(t)))), [type(e).__name__])
    # "The following inconsistencies were found:" says nothing without the line after it.
    what = _clip(lines[0] if not lines[0].endswith(":") or len(lines) == 1 else f"{lines[0]} {lines[1]}")
    where = next((m for t in texts for m in _FRAME.finditer(t) if not _library_file(m.group(1))), None)
    if where is not None:
        return what + f" (at {where.group(1)}:{where.group(2)}: {where.group(4).strip()})"
    return what + (where_batch_matters(model, example) if model is not None and example is not None else "")


def _clip(text: str, limit: int = 300) -> str:
    """At most `limit` characters, cut between words and marked, never mid-word."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _lines(text: str):
    for line in text.splitlines():
        line = line.strip()
        if line and not _NOISE.match(line) and not line.startswith("File "):
            yield line


def _library_file(filename: str) -> bool:
    """Frames of torch, seedge or the standard library: never the line that fixes a user's batch."""
    import torch

    path = Path(filename)
    seedge_root = Path(__file__).resolve().parents[1]
    if filename.startswith("<") or any(path.is_relative_to(r) for r in (Path(torch.__file__).parent, seedge_root)):
        return True
    # The standard library, not the packages installed under it (a timm model is the user's code here).
    in_packages = {"site-packages", "dist-packages"} & set(path.parts)
    return path.is_relative_to(sysconfig.get_paths()["stdlib"]) and not in_packages


def check_any_batch(model, onnx_path: Path, input_shape: tuple[int, int, int], arch: str) -> None:
    """Run the saved graph at PROBE_BATCHES against the eager `model`; SeedgeError naming the batch
    and, where it can be found, the line of the model's code when they differ or the graph fails."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = torch.randn(max(PROBE_BATCHES), *input_shape, generator=torch.Generator().manual_seed(7))
    diffs = {}
    for n in PROBE_BATCHES:
        with torch.no_grad():
            want = model(x[:n]).numpy()
        try:
            got = session.run(None, {name: x[:n].numpy()})[0]
        except Exception as e:  # noqa: BLE001 - ONNX Runtime's errors are many types; one line says which
            raise SeedgeError(
                f"{arch}: the ONNX graph fails at batch {n} ({strip_ansi(str(e)).splitlines()[0][:200]})"
                f"{where_batch_matters(model, x)}; seedge exports one graph for any batch"
            ) from None
        scale = max(float(np.abs(want).max()), 1e-6)
        diffs[n] = (float(np.abs(got - want).max()) if got.shape == want.shape else float("inf"), scale)
    # Batch-dependent: right at one batch size, wrong at another. Wrong at every size is a precision
    # matter, which parity judges by the artifact's gates.
    best = min((d for d, _ in diffs.values() if not np.isnan(d)), default=float("inf"))
    for n, (diff, scale) in diffs.items():
        if not diff <= REL_TOL * scale and best <= REL_TOL * scale and not diff <= 10 * best:
            raise SeedgeError(batch_mismatch(f"{arch}: the exported graph", n, diff, scale, model, x))


def batch_mismatch(what: str, n: int, diff: float, scale: float, model, x) -> str:
    """The one-line refusal of a capture (`what`) that gives other logits than the eager `model` at
    batch `n`, with the line of the model's code where its batch matters when it can be found."""
    return (
        f"{what} gives other logits than the model at batch {n} (max abs diff {diff:.3g}, logit scale "
        f"{scale:.3g}): the forward depends on the batch size{where_batch_matters(model, x)}; make it "
        f"batch-independent, seedge exports one graph for any batch"
    )


def where_batch_matters(model, x) -> str:
    """' at FILE:N (`code`)': the line where the eager forward at batch 1 and at batch 2 part
    (the branch deciding), or the user's line that raises at batch 2; '' when neither shows."""
    import torch

    paths = []
    for n in (1, 2):
        lines: list[tuple[str, int]] = []
        try:
            with torch.no_grad(), _traced_lines(lines):
                model(x[:n])
        except Exception as e:  # noqa: BLE001 - the model's own failure at this batch is the answer
            frames = [f for f in traceback.extract_tb(e.__traceback__) if not _library_file(f.filename)]
            if frames:
                f = frames[-1]
                return f" (at batch {n} it raises at {f.filename}:{f.lineno}: {(f.line or '').strip()})"
            return ""
        paths.append(lines)
    one, two = paths
    split = next((i for i, (a, b) in enumerate(zip(one, two, strict=False)) if a != b), min(len(one), len(two)))
    if split == 0 or (len(one) == len(two) == split):
        return ""
    filename, lineno = one[split - 1]
    code = _source_line(filename, lineno)
    return f" (at {filename}:{lineno}: {code})" if code else f" (at {filename}:{lineno})"


def _source_line(filename: str, lineno: int) -> str:
    import linecache

    return linecache.getline(filename, lineno).strip()


class _traced_lines:  # a context manager, named like one
    """Record (file, line) of every line run in frames outside torch, seedge and the standard library;
    the tracer in place before (a coverage tool's) is put back afterwards."""

    def __init__(self, out: list[tuple[str, int]]):
        self.out, self.saved = out, None
        self.library: dict[str, bool] = {}

    def _local(self, frame, event, arg):
        if event == "line":
            self.out.append((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    def _global(self, frame, event, arg):
        filename = frame.f_code.co_filename
        if filename not in self.library:
            self.library[filename] = _library_file(filename)
        return None if self.library[filename] else self._local

    def __enter__(self):
        self.saved = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(self.saved)
        return False
