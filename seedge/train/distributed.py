"""Distributed training plumbing: torchrun env -> process group, and cross-rank checks.

`seedge train` runs unchanged under `torchrun --nproc_per_node N`: WORLD_SIZE/RANK/
LOCAL_RANK select DistributedDataParallel with gloo (CPU) or nccl (GPU). Only rank 0
writes files. At the end every rank hashes its weights and the hashes are gathered:
ranks that disagree are a bug, reported as a failed check.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from seedge.hostcpu import available_cpus

HASH_DIR_ENV = "SEEDGE_RANK_HASH_DIR"  # when set, each rank writes rank<N>.sha256 there (tests use it)


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"
    prev_threads: int = 0  # restored by teardown: training must not change the caller's thread count

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto", threads: int | None = None) -> DistInfo:
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            from seedge.errors import SeedgeError

            raise SeedgeError("--device cuda: no CUDA device is available; use --device cpu")
        if world > 1 or device == "cuda":
            device = f"cuda:{local_rank}" if world > 1 else "cuda"
        torch.cuda.set_device(torch.device(device))
    prev_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    elif world > 1 and device == "cpu":
        # N processes on one machine: split the cores instead of oversubscribing them.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        torch.set_num_threads(max(1, available_cpus() // local_world))
    info = DistInfo(rank, world, local_rank, device, prev_threads)
    if info.enabled and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return info


def teardown(info: DistInfo) -> None:
    import torch

    if info.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if info.prev_threads and torch.get_num_threads() != info.prev_threads:
        torch.set_num_threads(info.prev_threads)


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    import torch

    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    torch.distributed.all_reduce(t)
    return t.tolist()


def sync_buffers(model, info: DistInfo) -> None:
    """BatchNorm running stats are per rank under DDP; make rank 0's the model's everywhere."""
    import torch

    if info.enabled:
        for b in model.buffers():
            torch.distributed.broadcast(b.data, src=0)


def broadcast_flag(flag: bool, info: DistInfo) -> bool:
    return bool(all_reduce_sum([1.0 if flag else 0.0], info)[0] > 0) if info.enabled else flag


def state_hash(model) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_ranks_agree(model, info: DistInfo) -> dict:
    """Gather every rank's weight hash; returns {"world_size", "hashes", "ranks_agree"}."""
    import torch

    digest = state_hash(model)
    out_dir = os.environ.get(HASH_DIR_ENV)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        Path(out_dir, f"rank{info.rank}.sha256").write_text(digest + "\n")
    hashes: list[str | None] = [digest]
    if info.enabled:
        hashes = [None] * info.world
        torch.distributed.all_gather_object(hashes, digest)
    return {"world_size": info.world, "hashes": hashes, "ranks_agree": len(set(hashes)) == 1}
