"""A PNG bar chart of a `run_bench` result: p50 latency per artifact and batch size.

Uses matplotlib's object API with the Agg canvas directly (no pyplot, no global backend
switch), so it works headless and does not disturb a caller's own matplotlib setup.
"""

from __future__ import annotations

from pathlib import Path


def plot_results(bench: dict, path: str | Path, title: str | None = None) -> Path:
    """Write a bar chart (one group per batch size, one bar per artifact) with speedup labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    results = bench["results"]
    if not results:
        raise ValueError("nothing to plot: the benchmark has no results")
    batches = sorted({r["batch"] for r in results})
    labels = list(dict.fromkeys(_label(r) for r in results))
    by_key = {(_label(r), r["batch"]): r for r in results}

    width = 0.8 / len(labels)
    fig = Figure(figsize=(max(6.0, 1.2 + 0.55 * len(labels) * len(batches)), 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colors = [f"C{i % 10}" for i in range(len(labels))]
    for i, label in enumerate(labels):
        xs, ys, spd = [], [], []
        for j, b in enumerate(batches):
            r = by_key.get((label, b))
            if r is None:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(r["p50_ms"])
            spd.append(r["speedup_vs_eager"])
        bars = ax.bar(xs, ys, width=width * 0.95, label=label, color=colors[i])
        for bar, s in zip(bars, spd, strict=True):
            ax.annotate(
                f"{s:.2f}x",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(batches)))
    ax.set_xticklabels([f"batch {b}" for b in batches])
    ax.set_ylabel("p50 latency (ms), lower is better")
    env, settings = bench.get("environment", {}), bench.get("settings", {})
    ax.set_title(
        title
        or f"{settings.get('model', 'model')} on {env.get('device', '?')}, "
        f"{settings.get('threads', '?')} threads (labels: speedup vs eager)",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=2)
    ax.margins(y=0.15)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path), format="png")
    return path


def _label(r: dict) -> str:
    if r["artifact"] == "eager":
        label = "eager torch"
    else:  # ids are "<format>-<precision>"; name the backend too when it is not the format's own
        label = r["artifact"] if r.get("format") == r["backend"] else f"{r['artifact']} ({r['backend']})"
    # several folders in one run: say whose bar it is
    return f"{Path(r['folder']).name}: {label}" if r.get("folder") else label
