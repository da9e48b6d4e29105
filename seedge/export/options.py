"""`ExportOptions`: every choice of one export, written once.

Each field carries its default, help text, CLI spelling and choices (seedge.options.option);
`seedge export`'s options are generated from these fields, `seedge.export(...)` takes them as
keywords, and `export_model(source, options)` reads them. The choices are their owners' tables
(builders, quantizers, cpu_features, the backend table), never copied here. Values are
normalized and checked when the options are made, so bad input stops before any model loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from seedge.backends.cpu_features import INT8_CPU_CHOICES
from seedge.backends.table import DEVICES
from seedge.errors import SeedgeError, unknown
from seedge.export.builders import FORMATS, PRECISIONS
from seedge.onnx.convert import DEFAULT_OPSET
from seedge.options import check_choice, flag_of, option
from seedge.preprocess.pixels import COLOR_ORDERS
from seedge.quantize.calibration import DEFAULT_METHOD, METHODS
from seedge.quantize.policy import DEFAULT_POLICY, POLICIES, POLICY_MEANINGS

if TYPE_CHECKING:
    from seedge.data import SourceOptions

# The source options of seedge.cli.data_options fill `data_options`.
_SOURCE_FLAGS = "--path-column, --label-column, --split-column, --split-fractions"


@dataclass(frozen=True)
class ExportOptions:
    """Everything the user chose for one export (CLI, seedge.export keywords, export_model)."""

    arch: str | None = option(
        None,
        "Architecture of a bare state dict (see `seedge models`); seedge checkpoints carry theirs. "
        "With --random-weights and no SOURCE: the zoo model to export untrained.",
        flag="--model",
        metavar="ARCH",
    )
    random_weights: bool = option(
        False,
        "Export --model ARCH with random weights (seed 0), no SOURCE: for latency and export checks; "
        "recorded in the manifest; fp16/int8 parity gated on cosine (random top-1 is meaningless).",
    )
    num_classes: int | None = option(None, "Classifier outputs (default: the checkpoint's classifier size).", type=int)
    formats: tuple[str, ...] = option(
        ("torchscript", "onnx", "openvino"),
        f"Comma list of {', '.join(FORMATS)}.",
        choices=FORMATS,
        listed=True,
        what="format",
    )
    precisions: tuple[str, ...] = option(
        ("fp32",), f"Comma list of {', '.join(PRECISIONS)}.", choices=PRECISIONS, listed=True, what="precision"
    )
    calib: str | None = option(
        None,
        "INT8 calibration (and reference) images: any folder of images (labels optional: flat, or class folders "
        "of any names), a CSV, 'digits' or 'animals'. "
        "Default: the data the checkpoint was trained on, when it records it.",
        metavar="SRC",
    )
    calib_samples: int = option(256, "Calibration images to use.", type=int)
    calib_method: str = option(
        DEFAULT_METHOD,
        "How INT8 ranges are read from the calibration images.",
        choices=METHODS,
        what="calibration method",
    )
    int8_policy: str = option(
        DEFAULT_POLICY,
        "SE gate handling in INT8: " + "; ".join(f"{k}: {v}" for k, v in POLICY_MEANINGS.items()) + ".",
        choices=POLICIES,
        what="INT8 policy",
    )
    # INT8 CPU target (seedge.backends.cpu_features): "auto" until the pipeline resolves it to
    # "portable" (7-bit weights, right on every x86 CPU) or "vnni" (8-bit, VNNI/AMX CPUs only)
    int8_cpu: str = option(
        "auto",
        "CPUs the onnx/openvino INT8 artifacts are for: portable (7-bit weights, right on every "
        "x86 CPU), vnni (8-bit weights, more accurate; refused at run time on CPUs without "
        "VNNI/AMX, whose INT8 kernels saturate with them), auto (vnni where this CPU has "
        "VNNI/AMX, else portable).",
        choices=INT8_CPU_CHOICES,
    )
    exclude: tuple[str, ...] = option(
        (),
        "PyTorch module kept in float in INT8 (repeatable), e.g. --exclude layer4.1.se.",
        multiple=True,
        metavar="MODULE",
    )
    max_drop: float | None = option(
        None,
        "INT8: measure each block's sensitivity and keep the fewest blocks in float that bring the "
        "accuracy drop within P points of FP32 on the labelled validation images (the test split "
        "of --calib); the search is recorded in manifest.json (int8_search). Needs labelled data.",
        type=float,
        metavar="P",
    )
    out: str | Path = option("exported", "Output root; the export goes to OUT/NAME.")
    name: str | None = option(None, "Folder name under --out (default: 'demo' or the architecture).")
    # None: seedge.passes.DEFAULT_PASSES; (): none (the CLI's --no-passes)
    passes: tuple[str, ...] | None = option(
        None, "Comma list of graph passes to apply (default: all default passes; see --no-passes).", metavar="LIST"
    )
    count_nodes: bool = option(
        False,
        "Also record ONNX node counts before/after each pass (an extra ONNX export per pass: "
        "about 45 s on SE-ResNet-50). The exported graph's own node counts are always in its "
        "build facts.",
        flag="--count-nodes/--no-count-nodes",
        show_default=True,
    )
    img_size: tuple[int, int] | None = option(
        None, "Input size to export at (default: the checkpoint's).", metavar="S|HxW"
    )
    pt2: bool = option(True, "Also save a torch.export program (model.pt2) beside model.ts.", flag="--pt2/--no-pt2")
    device: str = option(
        "cpu",
        "Device the artifacts are verified on; AOTInductor packages (--formats inductor) are compiled for it.",
        choices=DEVICES,
    )
    allow_pickle: bool = option(
        False, "Allow full unpickling of a checkpoint that needs it. Only for files you trust.", flag="--unsafe-pickle"
    )
    # --embed-preprocess: also a sibling of each ONNX/OpenVINO/TensorRT artifact that takes uint8
    # NHWC pixels in this channel order ("RGB"/"BGR" once checked); None: none (seedge.export.embedded)
    embed_preprocess: str | None = option(
        None,
        "Also write, beside each ONNX/OpenVINO/TensorRT artifact, one that takes the device's raw "
        "image: uint8 NHWC at the input size in this channel order, with scale, mean/std and the "
        "layout change inside (ids <format>-<precision>-raw); verified from the same images.",
        choices=tuple(o.lower() for o in COLOR_ORDERS),
    )
    embed_softmax: bool = option(
        False, "With --embed-preprocess: those artifacts also end in a softmax (they output probabilities)."
    )
    tensorrt_batch: tuple[int, int, int] | None = option(
        None,
        "Batch sizes the TensorRT engines are built for: min,opt,max (e.g. 1,8,64), or the sizes you "
        "will run (1,8,64,256: smallest, upper middle, largest); default 1,8,32.",
        flag="--batch",
        metavar="LIST",
    )
    simplify: bool = option(True, "Simplify the FP32 ONNX graph with onnxslim.", flag="--simplify/--no-simplify")
    opset: int = option(DEFAULT_OPSET, "ONNX opset of the exported graphs.", type=int)
    reference_samples: int = option(
        16, "Inputs (and eager outputs) saved in reference.npz for device self-tests.", type=int
    )
    verify_samples: int = option(
        256, "Labelled images of the data source that verification checks (0: none).", type=int
    )
    seed: int = option(0, "Seed of the reference inputs, calibration sampling and pass checks.", type=int)
    # The training data a checkpoint records is read with the options its run recorded, under these.
    data_options: SourceOptions | None = option(
        None,
        "seedge.data.SourceOptions for --calib (CSV columns, split fractions).",
        cli=False,
        elsewhere=_SOURCE_FLAGS,
    )
    # Per-precision parity overrides, e.g. {"fp32": {"max_abs_diff": 1e-2}}.
    thresholds: dict | None = option(
        None,
        "Parity gates per precision over the defaults, e.g. {'fp32': {'max_abs_diff': 1e-2}}.",
        cli=False,
        elsewhere="Python only: a nested mapping; on the CLI --max-drop and --random-weights set the gates",
    )

    def __post_init__(self):
        # Made from CLI strings or Python values alike; normalizing twice changes nothing, so
        # dataclasses.replace (which runs this again) keeps resolved values.
        fix = {f.name: f for f in fields(self)}

        def set_(name, value):  # frozen: each value is normalized once, here
            object.__setattr__(self, name, value)

        set_("formats", parse_list(self.formats, FORMATS, "format"))
        set_("precisions", parse_list(self.precisions, PRECISIONS, "precision"))
        for name in ("calib_method", "int8_policy", "int8_cpu"):
            check_choice(fix[name], getattr(self, name))
        for name in ("calib_samples", "reference_samples", "verify_samples", "seed", "opset"):
            set_(name, _integer(getattr(self, name), fix[name]))
        if self.calib_samples < 1 or self.reference_samples < 1 or self.verify_samples < 0:
            raise SeedgeError("--calib-samples and the reference sample count must be at least 1")
        if self.num_classes is not None:
            from seedge.checkpoint.class_names import check_num_classes  # torch-free

            set_("num_classes", check_num_classes(_integer(self.num_classes, fix["num_classes"])))
        if self.max_drop is not None:
            set_("max_drop", float(self.max_drop))
        set_("exclude", (self.exclude,) if isinstance(self.exclude, str) else tuple(self.exclude))
        if isinstance(self.passes, str):
            # "" is the CLI's --passes given empty: the default passes, as before
            set_("passes", tuple(p.strip() for p in self.passes.split(",") if p.strip()) or None)
        elif self.passes is not None:
            set_("passes", tuple(self.passes))
        set_("img_size", parse_img_size(self.img_size))
        for name in ("random_weights", "count_nodes", "pt2", "allow_pickle", "embed_softmax", "simplify"):
            set_(name, bool(getattr(self, name)))
        if self.tensorrt_batch is not None:
            from seedge.export.tensorrt_export import batch_profile_option

            set_("tensorrt_batch", batch_profile_option(self.tensorrt_batch, self.formats))


def _integer(value, f) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SeedgeError(f"{flag_of(f)} {value!r}: give a whole number") from None


def parse_list(text: str | Iterable[str] | None, allowed: Iterable[str], what: str) -> tuple[str, ...]:
    """'onnx,openvino' -> ('onnx', 'openvino'); an unknown name is a SeedgeError listing the choices."""
    if text is None:
        return ()
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t and t.strip()]
    allowed = tuple(allowed)
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise unknown(what, ", ".join(bad) or text, allowed)
    return tuple(dict.fromkeys(items))  # keep order, drop repeats


def parse_img_size(value) -> tuple[int, int] | None:
    """224, "224", "256x320", (256, 320) -> (H, W)."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            parts = [int(p) for p in re.split(r"[x,]", value.lower())]
        elif isinstance(value, int):
            parts = [value]
        else:
            parts = [int(p) for p in value]
    except (TypeError, ValueError):
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise SeedgeError(f"--img-size {value!r}: give one size (224) or HxW (256x320)")
    return parts[0], parts[1]
