"""One loaded Model serves many threads: 8 threads x 200 requests give the single-thread answers.

Per CPU backend of the device runtime (ONNX Runtime, OpenVINO), on the shared export's real
artifacts. Requests are mostly one image, every seventh two images, so threads also meet a
batch size being compiled for the first time (the OpenVINO runner compiles a static copy per
batch size). Throughput of the 8 threads and of one thread is printed (`pytest -s` shows it)
and recorded as a test property; it is a report, never asserted (2 shared cores here).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _export_fixtures import export_folder

from seedge.runtime import Model

pytestmark = pytest.mark.slow  # 2 x 3,200 requests plus two model loads: ~25 s each on two shared cores

THREADS, REQUESTS = 8, 200


def requests(x: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        rows = 2 if i % 7 == 6 else 1
        out.append(x[rng.integers(0, len(x), rows)])
    return out


@pytest.mark.parametrize("artifact", ["onnx-fp32", "openvino-fp32"])
def test_eight_threads_give_the_single_thread_answers(artifact, record_property):
    folder = export_folder()
    x = np.load(folder / "reference.npz")["input"]
    work = [requests(x, REQUESTS, seed) for seed in range(THREADS)]

    with Model.open(folder, artifact=artifact, threads=1) as m:
        t0 = time.perf_counter()
        want = [[m.predict(r) for r in reqs] for reqs in work]  # one thread, one request at a time
        single_s = time.perf_counter() - t0

    with Model.open(folder, artifact=artifact, threads=1) as m:  # a fresh model: nothing compiled yet
        got: list[list[np.ndarray] | None] = [None] * THREADS
        errors: list[BaseException] = []
        start = threading.Barrier(THREADS)

        def serve(i: int) -> None:
            try:
                start.wait()
                got[i] = [m.predict(r) for r in work[i]]
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        pool = [threading.Thread(target=serve, args=(i,)) for i in range(THREADS)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        threaded_s = time.perf_counter() - t0

    assert errors == []
    for i in range(THREADS):
        for j, (g, w) in enumerate(zip(got[i], want[i])):
            assert g.shape == w.shape, (i, j)
            # Same artifact, same inputs: the same logits, whichever thread asked.
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-6, err_msg=f"thread {i}, request {j}")

    total = THREADS * REQUESTS
    report = {"artifact": artifact, "requests": total, "threads": THREADS,
              "threaded_rps": round(total / threaded_s, 1), "single_thread_rps": round(total / single_s, 1)}
    record_property("throughput", report)
    print(f"\n{artifact}: {report['threaded_rps']} requests/s from {THREADS} threads, "
          f"{report['single_thread_rps']} from one (one Model, threads=1)")
