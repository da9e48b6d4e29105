"""Open the runners of a bench plan, once per run, threads pinned (seedge.backends.open_*).

Every eager and peer entry gets its own eager model (channels-last and torch.compile change the
module); every artifact entry is opened by the backend of its pair, which may be another reader
of the artifact's format than the one recorded with it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from seedge.artifacts import IntegrityError
from seedge.backends import open_artifact, open_baseline
from seedge.bench.peers import PEERS, Peer
from seedge.bench.plan import Entry
from seedge.errors import SeedgeError
from seedge.verify.folder_files import check_baseline_sidecar
from seedge.verify.run import model_class_names
from seedge.verify.shapes import check_declared_shapes


def open_runners(
    stack: ExitStack,
    entries: list[Entry],
    folders: list[Path],
    manifests: list[dict],
    *,
    device: str,
    threads: int,
    runner_options: dict,
    asked: bool,
    say: Callable[[str], None],
    drop: Callable[[Entry, str], None],
) -> dict:
    """{entry key: entered runner} for every entry but copies; each is closed by `stack`.

    A runner that fails to open is the caller's answer when its backend was asked for by name
    (`asked`), or when its file fails its sha256 check or leaves the folder; picked by default
    (e.g. ONNX Runtime without a GPU provider on --device cuda), it is dropped with why."""
    runners = {}
    for e in entries:
        if e.kind == "copy":
            continue
        say(f"opening {e.key}")
        folder, manifest = folders[e.folder], manifests[e.folder]
        if e.kind in ("eager", "peer"):
            check_baseline_sidecar(folder, manifest)  # what the baseline is rebuilt from, as verify checks it
            base = stack.enter_context(open_baseline(folder, manifest, device=device, threads=threads))
            runners[e.key] = base if e.kind == "eager" else Peer(PEERS[e.art["peer"]], base, device)
            continue
        try:
            runners[e.key] = stack.enter_context(
                open_artifact(
                    folder,
                    manifest,
                    e.art,
                    device=device,
                    threads=threads,
                    backend_name=e.backend,
                    **runner_options.get(e.backend, {}),
                )
            )
        except SeedgeError as err:
            if asked or isinstance(err, IntegrityError):
                raise
            drop(e, str(err))
            continue
        # a folder whose parts disagree is refused, not dropped
        check_declared_shapes(runners[e.key], manifest, e.art, len(model_class_names(manifest)))
    return runners


def describe(runner) -> dict:
    """The runner's own facts for the row (JSON-safe values only)."""
    try:
        d = runner.describe()
    except Exception as e:  # noqa: BLE001 - describe is informative only; never fail a run on it
        return {"error": str(e)[:200]}
    return {k: v for k, v in d.items() if isinstance(v, (str, int, float, bool, type(None), list, dict))}
