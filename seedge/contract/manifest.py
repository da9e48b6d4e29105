"""manifest.json, the contract between `seedge export` and every reader (verify, bench, the
Python and C++ runtimes): each field either runtime reads, what it means, what it must be."""

from __future__ import annotations

from seedge.contract.rules import MISSING, Document, Rule

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
# A manifest is a few KB; 16 MiB leaves room for thousands of artifacts and still refuses a
# disguised multi-GB file.
MAX_MANIFEST_BYTES = 16 << 20
FIX = "re-run `seedge export`"
# The parity gates an artifact is judged by (seedge.verify.parity holds each precision's defaults
# and the rule that applies them): name -> meaning. A gate set to null is not checked.
THRESHOLDS = {
    "min_agreement": "top-1 agreement with the eager model, a fraction, at least",
    "max_abs_diff": "max abs logit difference, in logit units, at most",
    "max_rel_diff": "max abs logit difference over the largest reference logit, at most",
    "max_accuracy_drop": "accuracy drop against the labels, in percentage points, at most",
    "min_cosine": "mean per-row cosine of the logits, at least",
}
THRESHOLD_KEYS = tuple(THRESHOLDS)

# Sizes a manifest may state: what a classifier takes is far below these, and every product of
# them (C x H x W floats, a fixed batch of images, a resize's pixels) stays far from overflowing
# 64-bit sizes, so a hostile manifest cannot make either runtime hang, allocate without end or
# overflow (issue 22: ["batch", 4194304, 2097152, 2097152] crashed the C++ runtime).
MAX_SIDE = 16384  # C, H, W, a fixed batch, a resize's H and W
MAX_INPUT_VALUES = 1 << 28  # C x H x W of one image (1 GiB of float32)
MAX_RAW_VALUES = 1 << 34  # items of one raw reference array

R = Rule
_CHW = f"must be [batch, C, H, W] with C, H, W (and a fixed batch) integers in 1 .. {MAX_SIDE}"
_RAW = (
    ("input", "float32", "the reference inputs (float32 NCHW)"),
    ("logits", "float32", "the eager FP32 model's logits for them"),
    ("labels", "int64", "their labels, where the data had labels"),
    ("pixels", "uint8", "the uint8 NHWC RGB images the inputs were made from"),
)


def _threshold_rules(path: str, meaning: str, complete: bool) -> tuple[Rule, ...]:
    """`path`: an object of parity thresholds (THRESHOLD_KEYS), every one present where `complete`."""
    known = ", ".join(THRESHOLD_KEYS)
    out = [
        R(path, "object", meaning, null_ok=False, problem=f"must be an object of parity thresholds ({known})"),
        R(
            path,
            "known_keys",
            "only parity thresholds",
            one_of=THRESHOLD_KEYS,
            problem=f"holds '{{key}}', not a parity threshold (known: {known})",
        ),
    ]
    if complete:
        out.append(
            R(
                path,
                "all_keys",
                "every threshold named",
                one_of=THRESHOLD_KEYS,
                problem="lacks '{key}' (the recorded gates name every threshold, null where unchecked)",
            )
        )
    out.append(
        R(f"{path}.*", "number", "a gate (THRESHOLDS); null: not checked", problem="must be a finite number or null")
    )
    return tuple(out)


def _raw_rules() -> tuple[Rule, ...]:
    """reference.raw.<name>: a raw little-endian array for runtimes without numpy (the C++ one)."""
    out = []
    for name, dtype, meaning in _RAW:
        p = f"reference.raw.{name}"
        out += [
            R(p, "object", meaning),
            R(f"{p}.file", "text", "its file, relative to the folder", required=True),
            R(f"{p}.dtype", "text", "its element type", required=True),
            R(
                f"{p}.dtype",
                "text",
                f"{dtype}: the type the runtimes read",
                one_of=(dtype,),
                problem=f"is '{{text}}', this runtime reads '{dtype}'",
            ),
            R(f"{p}.sha256", "text", "sha256 of the file"),
            R(
                f"{p}.byte_order",
                "text",
                "little: the byte order both runtimes read",
                one_of=("little",),
                problem='is {value}, the runtimes read "little"',
            ),
            R(
                f"{p}.shape",
                "list",
                "its shape",
                required=True,
                items="positive_int",
                min_len=1,
                max_product=MAX_RAW_VALUES,
                problem=f"must be a list of positive sizes, at most {MAX_RAW_VALUES} values in all",
            ),
        ]
    return tuple(out)


RULES: tuple[Rule, ...] = (
    R(
        "",
        "object",
        "the manifest",
        required=True,
        message="{file}: the manifest is a JSON {kind}, not an object; " + FIX,
    ),
    R(
        "schema_version",
        "int",
        "the layout version of this file",
        required=True,
        one_of=(SCHEMA_VERSION,),
        message="{file}: manifest schema version {value} is not "
        + str(SCHEMA_VERSION)
        + "; "
        + FIX
        + " with this seedge",
    ),
    R("name", "text", "the export's name (its folder under exported/)", required=True),
    R("model", "object", "the model exported", required=True),
    R("model.num_classes", "positive_int", "outputs per image", required=True),
    R(
        "model.class_names",
        "list",
        "a name per class, index order",
        items="string",
        problem="must be a list of strings",
    ),
    R(
        "model.class_names",
        "count_of",
        "one name per class",
        other="model.num_classes",
        problem="has {count} names for {other} classes",
    ),
    R("input", "object", "the float input every artifact without preprocessing inside takes", required=True),
    R("input.name", "text", "the input tensor's name", null_ok=False),
    R("input.layout", "string", "its layout (NCHW)"),
    R(
        "input.shape",
        "list",
        "[batch, C, H, W]; batch a name where dynamic",
        required=True,
        items="positive_int",
        first="batch_dim",
        min_len=4,
        max_len=4,
        at_most=MAX_SIDE,
        problem=_CHW,
    ),
    R("preprocessing", "object", "how an image becomes the input (seedge.preprocess)", required=True),
    R(
        "preprocessing.input_size",
        "list",
        "[C, H, W] after preprocessing",
        required=True,
        items="positive_int",
        min_len=3,
        max_len=3,
        at_most=MAX_SIDE,
        max_product=MAX_INPUT_VALUES,
        problem=f"must be [C, H, W] integers in 1 .. {MAX_SIDE}, C x H x W at most {MAX_INPUT_VALUES}",
    ),
    R(
        "preprocessing.input_size",
        "equals_tail",
        "the input's C, H, W",
        other="input.shape",
        problem="{value} differs from input.shape {other}",
    ),
    R(
        "preprocessing.mean",
        "per_channel",
        "per-channel mean subtracted",
        required=True,
        other="preprocessing.input_size",
        problem="must be a list of at least {other} numbers",
    ),
    R(
        "preprocessing.std",
        "per_channel",
        "per-channel std divided by",
        required=True,
        other="preprocessing.input_size",
        problem="must be a list of at least {other} numbers",
    ),
    R("preprocessing.std", "no_zero", "a division by it must be defined", problem="holds a zero"),
    R(
        "preprocessing.resize",
        "list",
        "[H, W] resized to before the crop; null: none",
        items="positive_int",
        min_len=2,
        max_len=2,
        at_most=MAX_SIDE,
        problem=f"must be null or [H, W] integers in 1 .. {MAX_SIDE}",
    ),
    R(
        "preprocessing.resize",
        "covers",
        "the center crop to the input H, W fits in it",
        other="preprocessing.input_size",
        problem="{value} is smaller than the input H, W {other} it is cropped to",
    ),
    R("preprocessing.color_order", "string", "channel order the model takes (RGB, BGR, L)"),
    R("preprocessing.layout", "string", "the tensor layout (NCHW)"),
    R("preprocessing.scale", "number", "pixel scale before mean/std (1/255)"),
    R("preprocessing.extra", "object", "free-form facts of the preprocessing"),
    R(
        "preprocessing.source",
        "text",
        "where mean/std came from: model config (the zoo), training run, checkpoint, stated "
        "(--mean/--std), preset NAME (--preprocessing), recipe NAME, or these joined by ', '",
    ),
    R("output", "object", "the output tensor: name, shape"),
    R("baseline", "object", "the eager FP32 model verify and bench compare with", required=True),
    R("baseline.file", "text", "its weights file", required=True),
    R("baseline.sha256", "text", "their sha256"),
    R("baseline.sidecar", "text", "its architecture sidecar (model.json)"),
    R("baseline.sidecar_sha256", "text", "the sidecar's sha256 (verify and bench check it)"),
    R("reference", "object", "fixed inputs and eager outputs for self-tests"),
    R("reference.file", "text", "reference.npz"),
    R("reference.raw", "object", "the same arrays as raw files, for runtimes without numpy"),
    *_raw_rules(),
    R("artifacts", "list", "one entry per exported artifact", required=True, problem="must be a list"),
    R("artifacts[]", "object", "an artifact", required=True, problem="must be an object"),
    R("artifacts[].id", "text", "its id (format-precision), unique", required=True),
    R("artifacts[].format", "text", "what file it is (onnx, openvino, tensorrt, ...)", required=True),
    R("artifacts[].precision", "text", "fp32, fp16, int8", required=True),
    R("artifacts[].file", "text", "its file or folder, relative to the export folder", required=True),
    R("artifacts[].sha256", "text", "its digest (seedge.artifacts.artifact_sha256)", required=True),
    R("artifacts[].backend", "text", "the backend it was built for", required=True),
    R("artifacts[].id", "unique", "one entry per id", problem="'{text}' appears twice"),
    R("artifacts[].build", "object", "build facts", problem="must be an object"),
    R("artifacts[].build.inference_precision", "string", "OpenVINO execution precision ('' = plugin default)"),
    R("artifacts[].build.max_batch", "positive_int", "a TensorRT profile's largest batch"),
    R("artifacts[].build.int8_cpu", "string", "INT8 CPU target: portable, or vnni (needs VNNI/AMX)"),
    R("artifacts[].build.route", "string", "the INT8 route taken (nncf, qdq)"),
    R("artifacts[].build.nncf", "object", "NNCF's facts (legacy builds: overflow_fix)"),
    R("artifacts[].build.nncf.overflow_fix", "string", "'disabled (CPU has VNNI)': 8-bit weights (legacy)"),
    R("artifacts[].build.device", "string", "the device family it was compiled for, where it has one"),
    R("artifacts[].build.tensorrt_version", "string", "the TensorRT that built the engine (its plan runs there)"),
    R("artifacts[].build.gpu", "string", "the GPU the engine was built on"),
    R("artifacts[].build.compute_capability", "string", "its compute capability, 'major.minor' (a plan runs there)"),
    R("artifacts[].parity", "object", "its parity against the eager model at export", problem="must be an object"),
    R("artifacts[].parity.passed", "bool", "false: never chosen by a runtime on its own", null_ok=False),
    *_threshold_rules(
        "artifacts[].parity.thresholds",
        "the complete gates it was judged by (verify and both runtimes re-judge by these)",
        complete=True,
    ),
    R(
        "artifacts[].input",
        "object",
        "where it takes other input than `input`: uint8 pixels",
        problem="must be an object",
    ),
    R("artifacts[].input.dtype", "string", "uint8: NHWC pixels, the preprocessing inside"),
    R("artifacts[].input.color_order", "text", "the pixels' channel order", required=True, when=("dtype", "uint8")),
    R(
        "artifacts[].input.color_order",
        "text",
        "RGB, BGR or L",
        one_of=("RGB", "BGR", "L"),
        when=("dtype", "uint8"),
        problem="must be RGB, BGR or L",
    ),
    R(
        "artifacts[].input.layout",
        "text",
        "NHWC",
        required=True,
        one_of=("NHWC",),
        when=("dtype", "uint8"),
        problem="must be NHWC for uint8 pixels",
    ),
    R("artifacts[].output", "object", "where its output differs: a softmax inside"),
    R("artifacts[].output.softmax", "bool", "true: outputs are probabilities"),
    R("verification", "object", "what export verified"),
    R(
        "verification.thresholds",
        "object",
        "older exports: gates per precision, over the defaults",
        problem="must be an object of precisions",
    ),
    *_threshold_rules(
        "verification.thresholds.*",
        "one precision's gates over its defaults (older exports; a missing one: the default)",
        complete=False,
    ),
    R("passes", "list", "one entry per graph pass applied"),
    R("skipped", "list", "what was not exported, and why"),
)

DOCUMENT = Document(
    name=MANIFEST,
    what="manifest",
    max_bytes=MAX_MANIFEST_BYTES,
    line="{file}: field '{field}' {problem}; {fix}",
    fix=FIX,
    missing=MISSING,
    rules=RULES,
)
