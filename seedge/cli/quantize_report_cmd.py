"""`seedge quantize-report DIR --data SRC`: which blocks of the model INT8 hurts, in PyTorch names.

With `--max-drop P` it also finds the blocks to keep in float (most sensitive first) so that
INT8 stays within P accuracy points of FP32, and prints the `seedge export` command that
builds that. It does not rewrite DIR: an export folder's INT8 artifacts (onnx-int8, the
OpenVINO IR built from it, TensorRT int8 plans) and their parity records belong together,
and re-exporting with `--exclude` rebuilds and re-verifies all of them at once, where
patching one file in place would leave the others built from the old exclusion list.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from seedge.backends.cpu_features import INT8_CPU_CHOICES
from seedge.data.splits import SPLITS
from seedge.export.options import ExportOptions
from seedge.options import default_of
from seedge.quantize.calibration import METHODS
from seedge.quantize.policy import POLICIES, POLICY_MEANINGS


@click.command("quantize-report")
@click.argument("folder", type=str)
@click.option(
    "--data",
    "data_src",
    required=True,
    metavar="SRC",
    help="Labelled data: 'digits', 'animals[,n=K]', an ImageFolder directory or a CSV of path,label rows.",
)
@click.option(
    "--split", type=click.Choice(SPLITS), default="test", show_default=True, help="Split of --data to evaluate on."
)
@click.option("--limit", type=int, default=None, help="Evaluate on at most this many images.")
@click.option(
    "--calib",
    "calib_src",
    default=None,
    metavar="SRC",
    help="Calibration images: any folder of images (labels optional), a CSV or a built-in source "
    "(default: the train split of --data).",
)
@click.option(
    "--calib-samples",
    type=int,
    default=default_of(ExportOptions, "calib_samples"),
    show_default=True,
    help="Calibration images.",
)
@click.option(
    "--calib-method",
    type=click.Choice(METHODS),
    default=default_of(ExportOptions, "calib_method"),
    show_default=True,
    help="How INT8 ranges are read from the calibration images.",
)
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default=default_of(ExportOptions, "int8_policy"),
    show_default=True,
    help="INT8 policy of the full model that --max-drop starts from: "
    + "; ".join(f"{k}: {v}" for k, v in POLICY_MEANINGS.items())
    + ".",
)
@click.option(
    "--int8-cpu",
    type=click.Choice(INT8_CPU_CHOICES),
    default=default_of(ExportOptions, "int8_cpu"),
    show_default=True,
    help="Weight bits measured, as `seedge export --int8-cpu`: portable (7-bit), vnni (8-bit; needs a "
    "VNNI/AMX CPU here), auto (vnni where this CPU has VNNI/AMX, else portable).",
)
@click.option(
    "--max-drop",
    type=float,
    default=None,
    metavar="P",
    help="Find the blocks to keep in float so INT8 is within P accuracy points of FP32.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
def command(
    folder, data_src, split, limit, calib_src, calib_samples, calib_method, policy, int8_cpu, max_drop, as_json
) -> None:
    """Per-block INT8 sensitivity of the FP32 ONNX model in FOLDER (written by `seedge export`)."""
    from rich.console import Console

    from seedge.artifacts import check_integrity, find_artifact, read_manifest
    from seedge.backends.cpu_features import resolve_int8_cpu
    from seedge.cli.render import to_json
    from seedge.errors import CheckFailed, SeedgeError
    from seedge.quantize.sensitivity import block_sensitivity, require_labels

    err = Console(stderr=True)
    if limit is not None and limit < 1:
        raise SeedgeError(f"--limit {limit}: must be at least 1")
    if max_drop is not None and max_drop < 0:
        raise SeedgeError(f"--max-drop {max_drop}: must be 0 or more accuracy points")
    int8_cpu = resolve_int8_cpu(int8_cpu)  # vnni without VNNI here: one line before any work
    manifest = read_manifest(folder)
    art = next((a for a in manifest["artifacts"] if a["format"] == "onnx" and a["precision"] == "fp32"), None)
    if art is None:
        art = find_artifact(manifest, "onnx-fp32")  # raises with the list of what the folder has
    onnx_path = check_integrity(Path(folder), art)
    _check_onnx(onnx_path)
    x, y = _arrays(manifest, data_src, split, limit)
    xc = _calibration(manifest, calib_src or data_src, calib_samples)
    with err.status("measuring INT8 sensitivity", spinner="dots") as status:
        report = block_sensitivity(
            Path(folder) / art["file"],
            xc,
            x,
            require_labels(y),
            method=calib_method,
            policy=policy,
            max_drop=max_drop,
            progress=status.update,
            calib_source=f"{calib_src or data_src} (train split)",
            int8_cpu=int8_cpu,
        )
    report["folder"] = str(folder)
    report["data"] = {
        "source": data_src,
        "split": split,
        "calibration_source": calib_src or data_src,
        "calibration_split": "train",
    }
    fb = report.get("fallback")
    if fb is not None:
        fb["command"] = _export_command(
            manifest, folder, calib_src or data_src, calib_samples, calib_method, policy, fb["exclude"], int8_cpu
        )
    if as_json:
        click.echo(to_json(report))
    else:
        out = Console()
        _print(report, out if out.is_terminal else Console(width=140))
    if fb is not None and not fb["met"]:
        raise CheckFailed(
            f"INT8 stays {fb['final']['drop_points']:.2f} points below FP32 even with "
            f"{len(fb['exclude'])} blocks in float; --max-drop {max_drop} is not reachable"
        )


def _check_onnx(path: Path) -> None:
    """A file that is not a valid ONNX model is one error line before any calibration work."""
    import onnx

    from seedge.errors import SeedgeError, message_line

    try:
        onnx.checker.check_model(str(path))
    except Exception as e:  # noqa: BLE001 - protobuf and the checker raise several types
        raise SeedgeError(f"{path}: not a valid ONNX model ({message_line(e, 200)}); re-run `seedge export`") from None


def _arrays(manifest: dict, src: str, split: str, limit: int | None):
    """(x, y) of SRC preprocessed exactly as the manifest says the model expects."""
    from seedge.data import load_arrays
    from seedge.preprocess import PreprocessSpec
    from seedge.verify.run import model_class_names

    # Labels by name with the model's classes, as `seedge verify --data` encodes them.
    x, y, _ = load_arrays(
        src,
        PreprocessSpec.from_dict(manifest["preprocessing"]),
        split,
        limit=limit,
        class_names=model_class_names(manifest),
        progress=True,
    )
    return x, y


def _calibration(manifest: dict, src: str, limit: int | None):
    """Calibration images of SRC (labels not needed: a flat folder or any class names will do)."""
    from seedge.data.calibration import calibration_images
    from seedge.preprocess import PreprocessSpec

    return calibration_images(src, PreprocessSpec.from_dict(manifest["preprocessing"]), limit, 0)


def _export_command(
    manifest: dict,
    folder,
    calib_src: str,
    calib_samples: int,
    method: str,
    policy: str,
    exclude: list[str],
    int8_cpu: str = "portable",
) -> str:
    folder = Path(folder)
    source = (manifest.get("model") or {}).get("source")
    formats = list(dict.fromkeys(a["format"] for a in manifest["artifacts"]))
    precisions = list(dict.fromkeys(a["precision"] for a in manifest["artifacts"]))
    if "int8" not in precisions:
        precisions.append("int8")
    parts = ["seedge", "export"]
    if source and source != "demo" and Path(source).exists():
        parts.append(str(source))
    parts += [
        "--formats",
        ",".join(formats),
        "--precisions",
        ",".join(precisions),
        "--calib",
        calib_src,
        "--calib-samples",
        str(calib_samples),
        "--calib-method",
        method,
    ]
    if policy != default_of(ExportOptions, "int8_policy"):  # the re-export's own default
        parts += ["--int8-policy", policy]
    parts += ["--int8-cpu", int8_cpu]  # the weight bits the exclusions were measured with
    for m in exclude:
        parts += ["--exclude", m]
    parts += ["--out", str(folder.parent), "--name", folder.name]
    return " ".join(shlex.quote(p) for p in parts)


def _pct(v) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"


def _print(report: dict, out) -> None:
    from rich.table import Table

    fp32, full = report["fp32"], report["int8"]
    t = Table(
        title=f"INT8 sensitivity per block (only that block quantized), worst first - "
        f"{report['eval_samples']} images, {report['calibration_samples']} calibration images "
        f"({report['method']})"
    )
    for col in ("#", "module", "accuracy", "drop (points)", "agreement", "mean |dlogit|", "max |dlogit|"):
        t.add_column(col, justify="left" if col == "module" else "right")
    for i, r in enumerate(report["blocks"], 1):
        drop = r["accuracy_drop_points"]
        t.add_row(
            str(i),
            r["module"],
            _pct(r["accuracy"]),
            "-" if drop is None else f"{drop:.2f}",
            _pct(r["top1_agreement"]),
            f"{r['mean_abs_diff']:.4f}",
            f"{r['max_abs_diff']:.4f}",
        )
    out.print(t)
    drop = full["accuracy_drop_points"]
    out.print(
        f"FP32 accuracy {_pct(fp32['accuracy'])}; full INT8 ({full['policy']}): accuracy "
        f"{_pct(full['accuracy'])}, drop {'-' if drop is None else f'{drop:.2f}'} points, agreement "
        f"{_pct(full['top1_agreement'])}"
    )
    fb = report.get("fallback")
    if fb is None:
        return
    last = fb["final"]  # the last step may be a block tried back in INT8 and refused
    if not fb["exclude"]:
        out.print(
            f"INT8 is already within {fb['max_drop_points']} points of FP32 "
            f"({last['drop_points']:.2f}): nothing needs to stay in float."
        )
        return
    state = "within" if fb["met"] else "still not within"
    out.print(
        f"Keeping {', '.join(fb['exclude'])} in float: drop {last['drop_points']:.2f} points, {state} "
        f"{fb['max_drop_points']}."
    )
    out.print("Re-export with:", style="bold")
    out.print(fb["command"], markup=False, soft_wrap=True)
