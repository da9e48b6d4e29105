"""`seedge train`: train (or fine-tune) an SE classifier and save a seedge checkpoint.

The run directory gets model.safetensors + model.json (the best epoch by the monitored
validation metric, with class names and the preprocessing spec) and history.json (one
entry per epoch, the recipe, test-split metrics of the best weights). Progress goes to
stderr: a rich progress bar while an epoch runs and one line per epoch.

Reproducible: `seed` fixes the initial weights, shuffling and augmentation (CPU
kernels are deterministic; thread count can still change float rounding).
Distributed: run the same command under torchrun (see seedge.train.distributed).
"""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seedge.errors import CheckFailed, SeedgeError
from seedge.train.options import TrainOptions
from seedge.train.progress_log import TrainLog

if TYPE_CHECKING:  # torch and the data stack load when a run starts
    import torch

    from seedge.data.source import Samples, Source
    from seedge.preprocess import PreprocessSpec
    from seedge.train.distributed import DistInfo
    from seedge.train.recipes import EarlyStopping, LRSchedule


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _validate(o: TrainOptions) -> None:
    if not o.data:
        raise SeedgeError("--data is required: digits, an ImageFolder directory or a CSV of path,label rows")
    for name, value, low in (
        ("epochs", o.epochs, 1),
        ("batch-size", o.batch_size, 1),
        ("patience", o.patience, 0),
        ("workers", o.workers, 0),
    ):
        if value < low:
            raise SeedgeError(f"--{name} must be at least {low}, got {value}")
    if not o.lr > 0:
        raise SeedgeError(f"--lr must be positive, got {o.lr}")
    if not o.weight_decay >= 0:
        raise SeedgeError(f"--weight-decay must be 0 or more, got {o.weight_decay}")
    if o.step_size < 0:
        raise SeedgeError(f"--step-size must be 0 (no decay) or more, got {o.step_size}")
    if not 0 < o.gamma <= 1:
        raise SeedgeError(f"--gamma must be in (0, 1], got {o.gamma}")
    if not 0 <= o.warmup_epochs < o.epochs:
        raise SeedgeError(
            f"--warmup-epochs must be 0 or more and less than --epochs ({o.epochs}), got {o.warmup_epochs}"
        )
    from seedge.train.recipes import resolve_scheduler

    resolve_scheduler(o.scheduler, o.optimizer)
    if o.init_class_names is not None and not o.init:
        raise SeedgeError(
            "--class-names names the classes of the --init checkpoint; without --init give the "
            "classes to train with --classes"
        )
    if o.limit is not None and o.limit < 2:
        raise SeedgeError(f"--limit must be at least 2, got {o.limit}")


def check_run_dir(run_dir: Path) -> None:
    """Training writes model.safetensors, model.json and history.json into `run_dir`: it must be
    writable, never an export folder (its sha256-checked baseline would be overwritten), and
    either new, empty, or an earlier seedge training run. Checked before any data is read."""
    from seedge.checkpoint import CHECKPOINT_FORMAT, read_sidecar
    from seedge.publishing import check_output_location, is_seedge_export

    check_output_location(run_dir, "--out")
    if not run_dir.is_dir():
        return
    if is_seedge_export(run_dir):
        raise SeedgeError(
            f"--out {run_dir}: is a seedge export folder; training would overwrite its baseline "
            f"model and break its sha256 check; choose another --out"
        )
    if not any(run_dir.iterdir()):
        return
    try:
        meta = read_sidecar(run_dir / "model.safetensors") if (run_dir / "model.json").is_file() else None
    except SeedgeError:  # a model.json that is not seedge's
        meta = None
    if (meta or {}).get("format") != CHECKPOINT_FORMAT or "training" not in (meta or {}):
        raise SeedgeError(
            f"--out {run_dir}: is not empty and not a seedge training run (no model.json written "
            f"by `seedge train`); training writes model.safetensors/model.json/history.json there, "
            f"so choose a new or empty --out"
        )


def next_run_dir(base: Path, claim: bool = True) -> Path:
    """`base` when it is new or empty, else the first of base-2, base-3, ... that is: runs are never
    overwritten silently. `claim` creates a numbered folder at once, so two runs started together
    cannot pick the same one (under torchrun every rank computes the same name instead)."""
    n = 1
    while True:
        cand = base if n == 1 else base.with_name(f"{base.name}-{n}")
        n += 1
        if cand.is_dir() and not any(cand.iterdir()):
            return cand
        if cand.exists():
            continue
        if not claim or cand == base:  # a new base is created when the first epoch is saved
            return cand
        try:
            cand.mkdir(parents=True)
        except FileExistsError:  # another run took it a moment ago
            continue
        return cand


@dataclass
class _Run:
    """One training run once it is set up: what every epoch and the end of the run read."""

    o: TrainOptions
    dist: DistInfo
    log: TrainLog
    arch: str
    run_dir: Path
    source: Source
    splits: tuple[Samples, Samples, Samples | None]  # train, val, test after --limit
    model: torch.nn.Module
    spec: PreprocessSpec
    init_info: dict | None
    train_ds: Any  # seedge.data.torch_data.ImageDataset
    val: tuple[np.ndarray, np.ndarray]  # (x, labels) decoded once
    loader: Any  # torch DataLoader
    net: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    criterion: torch.nn.Module
    stopper: EarlyStopping
    recipe: dict
    board: Any = None  # TensorBoard SummaryWriter or None
    history: list[dict] = field(default_factory=list)
    best_state: dict | None = None
    step_no: int = 0


def train(o: TrainOptions, console=None) -> dict:
    """Run training; returns a summary dict (run_dir, checkpoint, best epoch, val/test metrics)."""
    from seedge.train import distributed as train_dist

    _validate(o)
    t_start = time.perf_counter()
    dist = train_dist.setup(o.device, o.threads)
    run = None
    try:
        run = _setup(o, dist, TrainLog(console, enabled=dist.is_main and o.progress))
        for epoch in range(1, o.epochs + 1):
            if _epoch(run, epoch):
                break
        return _finish(run, t_start)
    finally:
        if run is not None and run.board is not None:  # closed however the run ends
            run.board.close()
        train_dist.teardown(dist)


def _open_data(o: TrainOptions, dist, log: TrainLog):
    """(arch, run dir, source, (train, val, test) splits): checked before any image is decoded."""
    from seedge.data import open_source
    from seedge.train.recipes import init_arch

    arch = o.model or (init_arch(o.init) if o.init else None)
    if not arch:
        raise SeedgeError("--model is required (or --init with a seedge checkpoint that records its arch)")
    asked = Path(o.out or f"runs/{arch}")
    check_run_dir(asked)
    run_dir = asked if o.exist_ok else next_run_dir(asked, claim=not dist.enabled)
    source = open_source(o.data, root=o.data_root, class_names=o.classes, options=o.data_options)
    new_head = False
    if o.init and o.classes is None:  # labels matched to the checkpoint's classes by name
        from seedge.train.init_classes import init_classes, train_classes

        known = init_classes(o.init, o.init_class_names, o.allow_pickle)
        names = train_classes(known, source.class_names)
        if names is not None:
            source = open_source(o.data, root=o.data_root, class_names=names, options=o.data_options)
        new_head = known.names is not None and names is None
    notes = source.notes_line(o.data)  # None when there is nothing to say
    if notes:  # the first line: which columns and split the run is about to use
        log.line(notes)
    if run_dir != asked:
        log.line(f"run: {asked} holds an earlier run; this one goes to {run_dir} (--exist-ok replaces it)")
    train_s, val_s = source.split("train").limit(o.limit, o.seed), source.split("val").limit(o.limit, o.seed)
    test_s = source.splits.get("test")
    test_s = test_s.limit(o.limit, o.seed) if test_s is not None else None
    if len(val_s) == 0:
        raise SeedgeError(
            f"{o.data}: the validation split is empty; add images (at least ~10 per class) or provide a val split"
        )
    return arch, run_dir, source, (train_s, val_s, test_s), new_head


def _make_model(o: TrainOptions, arch: str, num_classes: int, new_head: bool, dist):
    """(model on its device, preprocessing spec, --init facts or None), seeded."""
    from seedge.models import create_model
    from seedge.models.input_check import check_input_size
    from seedge.train.recipes import load_init_weights, run_preprocess

    seed_everything(o.seed)
    model = create_model(arch, num_classes=num_classes)
    spec = run_preprocess(o, model.seedge_cfg)  # the model's, the recipe's for a user model, the stated
    check_input_size(model, tuple(spec.input_size))  # too small for the network: one line, before decoding
    init_info = load_init_weights(model, o.init, o.allow_pickle, new_head=new_head) if o.init else None
    model.to(dist.device)
    return model, spec, init_info


def _decode(o: TrainOptions, spec: PreprocessSpec, train_s: Samples, val_s: Samples, log: TrainLog):
    """(augment name, training dataset decoded into memory, (val images, val labels))."""
    from seedge.data.arrays import load_split_arrays
    from seedge.data.torch_data import ImageDataset
    from seedge.data.transforms import resolve_augment, train_augment

    augment = resolve_augment(o.augment, spec)
    train_ds = ImageDataset(train_s, spec, train_augment(augment, spec))
    log.run_with_bar("decoding images", len(train_ds), train_ds.preload)
    x_val, y_val = load_split_arrays(val_s, spec), val_s.labels
    return augment, train_ds, (x_val, y_val)


def _log_init(log: TrainLog, init_info: dict | None, num_classes: int) -> None:
    """One line on the --init weights (and a replaced head), when there are any."""
    if init_info:
        log.line(
            f"init: weights from {init_info['source']}"
            + (
                f", new '{init_info['classifier']}' head for {num_classes} classes"
                if init_info["head_replaced"]
                else ""
            )
        )


def _train_loader(o: TrainOptions, dist, train_ds):
    """The shuffling training DataLoader of this rank, its augmentation stream seeded."""
    import torch

    from seedge.data.torch_data import make_loader

    torch.manual_seed(o.seed + dist.rank)  # augmentation stream: per rank, reproducible
    per_rank = -(-len(train_ds) // dist.world)
    if per_rank < 2:
        raise SeedgeError(
            f"{o.data}: {len(train_ds)} training images for {dist.world} process(es); "
            f"BatchNorm needs at least 2 per process"
        )
    # BatchNorm cannot train on a last batch of one image: drop that one image per epoch.
    return make_loader(
        train_ds,
        o.batch_size,
        shuffle=True,
        seed=o.seed,
        rank=dist.rank,
        world=dist.world,
        workers=o.workers,
        drop_last=per_rank % o.batch_size == 1,
    )


def _optimization(o: TrainOptions, dist, model):
    """(net: the model or its DDP wrapper, optimizer, LR schedule, loss, early stopping)."""
    import torch

    from seedge.train.recipes import EarlyStopping, LRSchedule, make_optimizer, resolve_scheduler

    net = model
    if dist.enabled:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[dist.local_rank] if dist.device.startswith("cuda") else None
        )
    optimizer = make_optimizer(net.parameters(), o.optimizer, o.lr, o.weight_decay, o.momentum)
    schedule = LRSchedule(
        optimizer,
        resolve_scheduler(o.scheduler, o.optimizer),
        o.epochs,
        o.step_size,
        o.gamma,
        o.warmup_epochs,
        plateau_patience=max(1, o.patience // 2) if o.patience else 5,
        monitor=o.monitor,
    )
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=o.label_smoothing)
    stopper = EarlyStopping(o.monitor, o.patience)
    return net, optimizer, schedule, criterion, stopper


def _recipe(o: TrainOptions, arch: str, augment: str, dist, spec: PreprocessSpec, schedule: LRSchedule) -> dict:
    """The options as recorded in history.json, with what the run resolved them to."""
    recipe = {k: v for k, v in asdict(o).items() if k not in ("progress", "extra", "data_options")}
    recipe.update(
        arch=arch,
        augment=augment,
        world_size=dist.world,
        device=dist.device,
        img_size=list(spec.input_size[1:]),
        scheduler=schedule.kind,
        data_options=o.data_options.to_dict() if o.data_options else {},
    )
    return recipe


def _setup(o: TrainOptions, dist, log: TrainLog) -> _Run:
    """Data, model, decoded images, loader, optimizer and schedule; bad input fails here, in one line."""
    arch, run_dir, source, (train_s, val_s, test_s), new_head = _open_data(o, dist, log)
    classes = source.class_names
    model, spec, init_info = _make_model(o, arch, len(classes), new_head, dist)
    # Decode everything before the first line of output: bad input fails with its one-line error.
    augment, train_ds, (x_val, y_val) = _decode(o, spec, train_s, val_s, log)
    _log_init(log, init_info, len(classes))
    loader = _train_loader(o, dist, train_ds)
    net, optimizer, schedule, criterion, stopper = _optimization(o, dist, model)
    recipe = _recipe(o, arch, augment, dist, spec, schedule)
    log.line(
        f"train: {arch} on {o.data} ({len(classes)} classes, {len(train_s)} train / {len(val_s)} val"
        f"{f' / {len(test_s)} test' if test_s is not None else ''}), {spec.height}x{spec.width}, "
        f"{o.optimizer} lr {o.lr:g} ({schedule.describe()}), weight decay {o.weight_decay:g}, "
        f"{f'early stopping {o.patience}' if o.patience else 'no early stopping'}, augment {augment}"
        f"{f', {dist.world} processes' if dist.enabled else ''}"
        f"{f', recipe {o.recipe}' if o.recipe else ''}"
    )
    return _Run(
        o,
        dist,
        log,
        arch,
        run_dir,
        source,
        (train_s, val_s, test_s),
        model,
        spec,
        init_info,
        train_ds,
        (x_val, y_val),
        loader,
        net,
        optimizer,
        schedule,
        criterion,
        stopper,
        recipe,
        board=_open_tensorboard(o.tensorboard, log) if dist.is_main else None,
    )


def _fit_one_epoch(run: _Run, epoch: int) -> list[float]:
    """One pass over this rank's training batches; [loss * n, correct, n] summed over them."""
    if run.dist.enabled:
        run.loader.sampler.set_epoch(epoch)
    run.net.train()
    device = run.dist.device
    sums = [0.0, 0.0, 0.0]  # loss * n, correct, n
    with run.log.bar(f"epoch {epoch}/{run.o.epochs}", len(run.loader)) as advance:
        for xb, yb in run.loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            run.optimizer.zero_grad(set_to_none=True)
            logits = run.net(xb)
            loss = run.criterion(logits, yb)
            loss.backward()
            run.optimizer.step()
            n = yb.numel()
            sums[0] += float(loss.detach()) * n
            sums[1] += float((logits.detach().argmax(1) == yb).sum())
            sums[2] += n
            advance(loss=float(loss.detach()))
            run.step_no += 1
            if run.board is not None:
                run.board.add_scalar("train/batch_loss", float(loss.detach()), run.step_no)
    return sums


def _epoch(run: _Run, epoch: int) -> bool:
    """Train one epoch, validate, log, keep the best weights; True when early stopping ends the run."""
    from seedge.train import distributed as train_dist
    from seedge.train.accuracy_gap import accuracy_gap_warning
    from seedge.train.bn_recalibration import recalibrate_batchnorm

    o, dist, log = run.o, run.dist, run.log
    t0 = time.perf_counter()
    lr = run.optimizer.param_groups[0]["lr"]
    sums = _fit_one_epoch(run, epoch)
    # BatchNorm statistics for the weights as they are now, before validating and saving
    # them (seedge.train.bn_recalibration: momentum 0.01 layers lag far behind otherwise)
    bn_images = recalibrate_batchnorm(run.model, run.train_ds, o.batch_size, dist.device, seed=o.seed + epoch)
    train_dist.sync_buffers(run.model, dist)
    tl, tc, tn = train_dist.all_reduce_sum(sums, dist)
    vl, va = evaluate_arrays(run.model, *run.val, run.criterion, dist, o.batch_size)
    run.schedule.step(vl, va)
    is_best = run.stopper.update(epoch, vl, va)
    row = {
        "epoch": epoch,
        "lr": lr,
        "train_loss": tl / tn,
        "train_acc": tc / tn,
        "val_loss": vl,
        "val_acc": va,
        "seconds": round(time.perf_counter() - t0, 3),
        "best": is_best,
        "bn_recalibration_images": bn_images,
    }
    gap = accuracy_gap_warning(row["train_acc"], va, len(run.source.class_names))
    if gap:
        row["warning"] = gap
    run.history.append(row)
    _log_epoch(run, row, gap)
    if is_best:
        run.best_state = copy.deepcopy(run.model.state_dict())
        if dist.is_main:
            _save(run, None)
    if run.stopper.should_stop:
        log.line(
            f"early stop: no {o.monitor} improvement for {o.patience} epochs (best epoch {run.stopper.best_epoch})"
        )
        return True
    return False


def _log_epoch(run: _Run, row: dict, gap: str | None) -> None:
    """The epoch's line on stderr (a train/val gap warning said once) and its TensorBoard scalars."""
    if run.board is not None:
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            run.board.add_scalar(key.replace("_", "/", 1) if "_" in key else key, row[key], row["epoch"])
        run.board.flush()
    run.log.line(
        f"epoch {row['epoch']:>3}/{run.o.epochs}  loss {row['train_loss']:.4f}  "
        f"acc {row['train_acc']:.4f}  val_loss {row['val_loss']:.4f}  val_acc {row['val_acc']:.4f}  "
        f"lr {row['lr']:.1e}  {row['seconds']:.1f}s{'  *best' if row['best'] else ''}"
    )
    if gap and not any("warning" in h for h in run.history[:-1]):  # said once; every row records it
        run.log.line(gap)


def _finish(run: _Run, t_start: float) -> dict:
    """Best weights back, test-split metrics, the final checkpoint and history.json; the summary."""
    from seedge.data.arrays import load_split_arrays
    from seedge.train import distributed as train_dist

    o, dist, stopper, history = run.o, run.dist, run.stopper, run.history
    agreement = train_dist.check_ranks_agree(run.model, dist)
    # _validate requires --epochs > --warmup-epochs >= 0, and the first epoch is always the best so far.
    assert run.best_state is not None
    run.model.load_state_dict(run.best_state)
    test, test_s, classes = None, run.splits[2], run.source.class_names
    if test_s is not None and len(test_s):
        x_test = load_split_arrays(test_s, run.spec)
        tl_, ta_ = evaluate_arrays(run.model, x_test, test_s.labels, run.criterion, dist, o.batch_size)
        test = {"loss": tl_, "accuracy": ta_, "samples": len(test_s)}
    seconds = round(time.perf_counter() - t_start, 2)
    summary = {
        "run_dir": str(run.run_dir),
        "checkpoint": str(run.run_dir / "model.safetensors"),
        "arch": run.arch,
        "num_classes": len(classes),
        "class_names": classes,
        "epochs_run": len(history),
        "best_epoch": stopper.best_epoch,
        "best": history[stopper.best_epoch - 1],
        "test": test,
        "stopped_early": len(history) < o.epochs,
        "seconds": seconds,
        **agreement,
    }
    if dist.is_main:
        _save(run, test, seconds=seconds, world_size=dist.world, ranks_agree=agreement["ranks_agree"])
        _write_json(
            run.run_dir / "history.json",
            {**summary, "recipe": run.recipe, "data": run.source.describe(), "epochs": history},
        )
        if test is not None:
            run.log.line(
                f"test: accuracy {test['accuracy']:.4f} on {test['samples']} images (best epoch {stopper.best_epoch})"
            )
        run.log.line(f"saved {run.run_dir / 'model.safetensors'} in {seconds:.1f}s")
    if not agreement["ranks_agree"]:
        raise CheckFailed(f"distributed ranks ended with different weights: {agreement['hashes']}")
    return summary


# The extra pyproject.toml defines for it (README names it too).
TENSORBOARD_MISSING = (
    "tensorboard: not installed (pip install -e '.[tensorboard]' in the seedge checkout, or "
    "pip install tensorboard); --tensorboard ignored"
)


def _open_tensorboard(logdir: str | None, log: TrainLog):
    """A SummaryWriter on `logdir`, or None (not asked for, or tensorboard not installed: one line says so)."""
    if not logdir:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's writer needs the tensorboard package
        log.line(TENSORBOARD_MISSING)
        return None
    log.line(f"tensorboard: logging to {logdir} (tensorboard --logdir {logdir})")
    return SummaryWriter(log_dir=str(logdir))


def evaluate_arrays(model, x: np.ndarray, y: np.ndarray, criterion, dist, batch_size: int = 256):
    """(mean loss, accuracy) of `model` on arrays; under DDP each rank takes a shard and sums merge."""
    import torch

    from seedge.train import distributed as train_dist

    idx = np.arange(dist.rank, len(x), dist.world)
    model.eval()
    loss_sum = correct = 0.0
    with torch.no_grad():
        for s in range(0, len(idx), batch_size):
            b = idx[s : s + batch_size]
            xb = torch.from_numpy(x[b]).to(dist.device)
            yb = torch.from_numpy(np.asarray(y[b], dtype=np.int64)).to(dist.device)
            logits = model(xb)
            loss_sum += float(criterion(logits, yb)) * len(b)
            correct += float((logits.argmax(1) == yb).sum())
    loss_sum, correct, n = train_dist.all_reduce_sum([loss_sum, correct, float(len(idx))], dist)
    return loss_sum / max(n, 1), correct / max(n, 1)


def _meta(o, recipe, source, stopper, history, test, init_info) -> dict:
    best = history[stopper.best_epoch - 1]
    return {
        **o.extra,
        "training": {
            "data": o.data,
            "data_kind": source.kind,
            "data_notes": source.notes,
            "data_options": o.data_options.to_dict() if o.data_options else {},
            "best_epoch": stopper.best_epoch,
            "epochs_run": len(history),
            "val_loss": best["val_loss"],
            "val_acc": best["val_acc"],
            "test_accuracy": test["accuracy"] if test else None,
            "init": init_info,
            "recipe": recipe,
        },
    }


def _save(run: _Run, test: dict | None, **training) -> None:
    """model.safetensors + model.json of the weights the model holds now, with the run's facts
    (`training`: more of them for model.json's "training", at the end of the run)."""
    from seedge.checkpoint import save_checkpoint

    meta = _meta(run.o, run.recipe, run.source, run.stopper, run.history, test, run.init_info)
    meta["training"].update(training)
    save_checkpoint(
        run.model, run.run_dir / "model", class_names=run.source.class_names, preprocess=run.spec, extra=meta
    )


def _write_json(path: Path, obj) -> None:
    from seedge.fileio import atomic_write

    atomic_write(path, json.dumps(obj, indent=2, default=str))
