"""`seedge train` under torchrun: 2 CPU processes (gloo) train one model and agree on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from seedge.checkpoint import load_model
from seedge.train.distributed import HASH_DIR_ENV, state_hash

# torchrun starts two Python processes that each import torch and train: ~30 s here.
pytestmark = pytest.mark.slow


def test_torchrun_two_processes_agree(tmp_path):
    hashes = tmp_path / "hashes"
    out = tmp_path / "run"
    env = {**os.environ, HASH_DIR_ENV: str(hashes), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "seedge", "train", "--model", "se_resnet10_cifar_tiny", "--data", "digits", "--limit", "96",
           "--img-size", "16", "--epochs", "1", "--batch-size", "16", "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=280, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "2 processes" in proc.stderr
    rank0, rank1 = (hashes / "rank0.sha256").read_text().strip(), (hashes / "rank1.sha256").read_text().strip()
    assert len(rank0) == 64 and rank0 == rank1  # both ranks ended with bit-identical weights and BN stats
    history = json.loads((out / "history.json").read_text())
    assert history["world_size"] == 2 and history["ranks_agree"] is True and history["hashes"] == [rank0, rank1]
    # the hashes are of the real weights: one epoch, so the saved best checkpoint is the final state
    model, _ = load_model(out)
    assert state_hash(model) == rank0
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.json", "model.safetensors"]
