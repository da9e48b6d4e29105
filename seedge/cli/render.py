"""Reports: JSON documents (every `--json` command prints through to_json) and rich tables for
verify results and the export summary."""

from __future__ import annotations

import json
import math


def to_json(doc) -> str:
    """One JSON document; NaN/Inf (not JSON) become null, numpy values become Python ones."""
    return json.dumps(_clean(doc), indent=2, allow_nan=False)


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if hasattr(o, "tolist") and not isinstance(o, (str, bytes)):  # numpy scalars and arrays
        return _clean(o.tolist())
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return str(o)


def _pct(v) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"


def _num(v, fmt: str = ".2e") -> str:
    return "-" if v is None else format(v, fmt)


def _sqnr(v) -> str:
    """SQNR in dB; the ceiling (noise at float32 resolution or below) reads as such."""
    from seedge.verify.parity import SQNR_CEILING_DB

    if v is None:
        return "-"
    return f">={SQNR_CEILING_DB:.0f}" if v >= SQNR_CEILING_DB else f"{v:.1f}"


# After max |diff| and SQNR of an artifact with a softmax inside (--embed-softmax): they were
# measured on its probabilities against the eager model's softmax, not on logits.
PROBABILITY_MARK = " (p)"
PROBABILITY_NOTE = (
    f"{PROBABILITY_MARK.strip()}: max |diff| and SQNR measured on probabilities (a softmax inside the artifact), "
    "not logits"
)


def _on_probabilities(on_probabilities: bool, cell: str) -> str:
    return cell + PROBABILITY_MARK if on_probabilities and cell != "-" else cell


def verify_table(result: dict):
    """A rich Table: one row per artifact, the baseline's accuracy in the caption."""
    from rich.table import Table

    base = result["baseline"]
    samples = result.get("samples") or {}
    title = f"seedge verify: {result.get('name') or result.get('folder')}"
    caption = (
        f"baseline: torch eager FP32 on {base['device']}; {samples.get('reference', 0)} reference inputs"
        + (f" + {samples['data']} labelled images" if samples.get("data") else "")
        + (f"; baseline accuracy {_pct(base['accuracy'])}" if base.get("accuracy") is not None else "")
    )
    caption += "; SQNR: logit signal-to-noise over all logits, KL(eager || artifact) softmax, mean per image"
    if any(r.get("compared_on") == "probabilities" for r in result["artifacts"]):
        caption += "; " + PROBABILITY_NOTE
    table = Table(title=title, caption=caption)
    table.add_column("artifact", no_wrap=True)
    table.add_column("runs on", no_wrap=True)
    for col in ("top-1 agree", "max |diff|", "cosine", "SQNR dB", "KL nats", "accuracy"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("note")
    for r in result["artifacts"]:
        acc = _pct(r.get("accuracy"))
        if r.get("accuracy_drop_points") is not None:
            acc += f" ({0.0 - r['accuracy_drop_points'] + 0.0:+.2f})"  # + 0.0: no "-0.00"
        note = r.get("note") or ""
        probs = r.get("compared_on") == "probabilities"
        table.add_row(
            r["id"],
            f"{r['backend']}/{r['device']}",
            _pct(r.get("top1_agreement")),
            _on_probabilities(probs, _num(r.get("max_abs_diff"))),
            _num(r.get("cosine"), ".6f"),
            _on_probabilities(probs, _sqnr(r.get("sqnr_db"))),
            _num(r.get("kl_divergence")),
            acc,
            "[green]pass[/]" if r["passed"] else "[red]FAIL[/]",
            f"[yellow]{note}[/]" if note else "",
        )
    return table


def print_verify(result: dict, console=None) -> None:
    """The table, then one line per failed artifact saying why."""
    from rich.console import Console

    console = console or Console()
    console.print(verify_table(result))
    # Gates not recorded with the artifact (an older export) or overridden: said, not silent.
    sources: dict[str, list[str]] = {}
    for r in result["artifacts"]:
        if r.get("thresholds_source", "recorded") != "recorded":
            sources.setdefault(r["thresholds_source"], []).append(r["id"])
    for source, ids in sources.items():
        console.print(f"thresholds: {source} for {', '.join(ids)}", highlight=False)
    for r in result["artifacts"]:
        if not r["passed"]:
            console.print(f"[red]FAIL[/] {r['id']}: {r['reason']}", highlight=False)


def export_summary_table(manifest: dict, folder):
    """One row per artifact of a finished export: file, size, build time and its parity record."""
    from rich.table import Table

    from seedge.preprocess.pixels import gives_probabilities

    any_probs = any(gives_probabilities(a) for a in manifest["artifacts"])
    table = Table(
        title=f"{manifest['name']}: {manifest['model']['arch']} -> {folder}",
        caption=PROBABILITY_NOTE if any_probs else None,
    )
    for col in (
        "artifact",
        "file",
        "size",
        "build s",
        "top-1 agree",
        "max |diff|",
        "SQNR dB",
        "KL nats",
        "accuracy",
        "parity",
    ):
        table.add_column(col, justify="left" if col in ("artifact", "file", "parity") else "right")
    for a in manifest["artifacts"]:
        p = a.get("parity") or {}
        acc = _pct(p.get("accuracy"))
        if p.get("accuracy_drop_points") is not None:
            acc += f" ({0.0 - p['accuracy_drop_points'] + 0.0:+.2f})"  # + 0.0: no "-0.00"
        table.add_row(
            a["id"],
            a["file"],
            _size(a["bytes"]),
            f"{a['build'].get('seconds', 0):.1f}",
            _pct(p.get("top1_agreement")),
            _on_probabilities(gives_probabilities(a), _num(p.get("max_abs_diff"))),
            _on_probabilities(gives_probabilities(a), _sqnr(p.get("sqnr_db"))),
            _num(p.get("kl_divergence")),
            acc,
            "pass" if p.get("passed") else "FAIL",
        )
    return table


def max_drop_summary(search: dict) -> str:
    """What `export --max-drop` chose, in one line (the manifest's int8_search record)."""
    final = search["final"]
    return (
        f"--max-drop {search['max_drop_points']:g}: kept {', '.join(search['exclude']) or 'nothing'} in "
        f"float; INT8 accuracy drop {final['drop_points']:.2f} points, agreement "
        f"{_pct(final['top1_agreement'])} on {search['eval_samples']} validation images "
        f"({len(search['steps'])} search steps in manifest.json int8_search)" + _mostly_float(search)
    )


def _mostly_float(search: dict) -> str:
    kept, blocks = search.get("float_blocks") or (0, 0)
    if not blocks or kept * 2 < blocks:
        return ""
    return (
        f"; WARNING: {kept} of {blocks} blocks stay in float, so this INT8 artifact is mostly float and "
        f"runs near FP32 speed: compare with fp16, or allow a larger --max-drop"
    )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
