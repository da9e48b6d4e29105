"""Markdown of the speed-at-parity runs (peers.py --json) for benchmarks/README.md.

    python benchmarks/experiments/parity_tables.py mobilenet_v3_large regnet_y_400mf ...

Reads results/peers_<arch>_b1.json and _b8.json (peers.py --folder <export> --batch 1|8) and prints,
per family, one table per batch (every runner sorted by p50, its ratio to eager, its parity on
seedge's rule) and the headline verdict: the fastest seedge artifact at parity against the fastest
peer at parity, as the median of per-round ratios. Nothing is measured here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _parity(row: dict) -> str:
    p = row.get("parity") or {}
    if not p:
        return ""
    verdict = "pass" if p.get("passed") else "**FAIL**"
    return f"{verdict} {p.get('top1_agreement', 0) * 100:.2f} %"


def batch_table(doc: dict) -> list[str]:
    env = doc.get("environment") or {}
    load = env.get("load_average")
    out = [f"batch {doc['batch']}, {doc['threads']} threads, {doc['rounds']} rounds x {doc['iters_per_round']} calls, "
           f"load average {load}" + (" (contended)" if env.get("contended") else ""), "",
           "| runner | precision | p50 ms | vs eager | parity (top-1 agreement) |", "|---|---|---:|---:|---|"]
    for r in sorted(doc["rows"], key=lambda r: r["p50_ms"]):
        name = f"**{r['name']}**" if any(r["name"] in (v.get("seedge"), v.get("peer")) for v in doc["verdicts"]
                                         if v.get("headline")) else r["name"]
        out.append(f"| {name} | {r['precision']} | {r['p50_ms']:.2f} | {r['speedup_vs_eager']:.2f}x | {_parity(r)} |")
    head = next((v for v in doc["verdicts"] if v.get("headline")), None)
    out.append("")
    out.append(f"Headline: {head['check']}: **{head['value']:.2f}x** ({'met' if head['ok'] else 'MISSED'})"
               if head else "Headline: no seedge artifact or no peer passed parity")
    return out


def family(arch: str) -> str:
    lines = [f"#### {arch}", ""]
    for b in (1, 8):
        path = RESULTS / f"peers_{arch}_b{b}.json"
        if not path.is_file():
            lines += [f"batch {b}: not measured ({path.name} missing)", ""]
            continue
        lines += batch_table(json.loads(path.read_text())) + [""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("archs", nargs="+")
    args = ap.parse_args(argv)
    print("\n".join(family(a) for a in args.archs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
