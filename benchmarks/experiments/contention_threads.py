"""What makes eager PyTorch collapse when another process competes for the CPU, and which
thread setting is fair to every backend (benchmarks/README.md, "Timing under load").

For each configuration a fresh child process (OMP_WAIT_POLICY is read once, when torch's
OpenMP runtime starts, so it must be set before `import torch`) opens the folder's eager
baseline and its onnx-fp32 / openvino-fp32 / onnx-int8 artifacts through seedge's runners
with a given thread count, times them in seedge's interleaved loop, and measures with
seedge.bench.load what other processes used meanwhile. The parent starts `--competitors`
busy-loop processes (python `while True: pass`, each with a bounded lifetime, always
killed) before the child and stops them after it.

    python benchmarks/experiments/contention_threads.py --folder exported/demo \
        --competitors 0,1,2 --threads 1,2 --policies default,PASSIVE,ACTIVE --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BUSY = "import time\nend = time.monotonic() + {life}\nwhile time.monotonic() < end:\n    pass\n"

CHILD = r"""
import json, sys
import numpy as np
from contextlib import ExitStack
from seedge.artifacts import read_manifest
from seedge.backends import open_artifact, open_baseline
from seedge.bench.interleave import interleaved
from seedge.bench.load import LoadMonitor
folder, threads, batch, iters, rounds, ids = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6].split(",")
m = read_manifest(folder)
mon = LoadMonitor()
mon.before(0.5)
x = np.random.default_rng(0).standard_normal((batch, *m["input"]["shape"][1:]), dtype=np.float32)
with ExitStack() as st:
    rs = {"eager": st.enter_context(open_baseline(folder, m, threads=threads))}
    for a in m["artifacts"]:
        if a["id"] in ids:
            rs[a["id"]] = st.enter_context(open_artifact(folder, m, a, threads=threads))
    feed = {m["input"].get("name", "input"): x}
    calls = {k: (lambda r=r: r.infer(feed)) for k, r in rs.items()}
    mon.mark()
    t = interleaved(calls, batch=batch, warmup=5, per_round=max(1, iters // rounds), rounds=rounds,
                    progress=lambda s: mon.mark(s.round))
import torch
print(json.dumps({"p50_ms": {k: v["p50_ms"] for k, v in t.items()},
                  "round_p50_ms": {k: v["round_p50_ms"] for k, v in t.items()},
                  "torch_threads": torch.get_num_threads(), "load": mon.report()}))
"""


def run_config(folder: str, threads: int, policy: str, competitors: int, batch: int, iters: int, rounds: int,
               ids: str, timeout: float) -> dict:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    busy = [subprocess.Popen([sys.executable, "-c", BUSY.format(life=timeout)]) for _ in range(competitors)]
    try:
        time.sleep(0.3 if busy else 0)  # let the competitors reach the scheduler
        out = subprocess.run([sys.executable, "-c", CHILD, folder, str(threads), str(batch), str(iters), str(rounds),
                              ids], check=False, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", default="exported/demo")
    ap.add_argument("--competitors", default="0,1,2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--policies", default="default,PASSIVE,ACTIVE")
    ap.add_argument("--artifacts", default="onnx-fp32,openvino-fp32,onnx-int8")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = []
    for comp in (int(c) for c in args.competitors.split(",")):
        for policy in args.policies.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                r = run_config(args.folder, threads, policy, comp, args.batch, args.iters, args.rounds,
                               args.artifacts, args.timeout)
                during = r["load"]["during"] or {}
                before = r["load"]["before"] or {}
                row = {"competitors": comp, "policy": policy, "threads": threads,
                       "other_cores_before": before.get("other_cores"), "other_cores_during": during.get("other_cores"),
                       **{f"{k}_p50_ms": round(v, 3) for k, v in r["p50_ms"].items()},
                       "round_p50_ms": r["round_p50_ms"]}
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "round_p50_ms"}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
