"""The training recipe pieces: optimizer, LR schedule, early stopping, fine-tuning init, and the
seed projects' recipes as named presets (`seedge train --recipe seed002`).

Schedules are per epoch: an optional linear warm-up, then `none`, `step` (StepLR), `cosine`
or `plateau` (ReduceLROnPlateau). `auto` picks what suits the optimizer: StepLR for SGD (the
seeds' SGD recipe), a constant rate for Adam (the seeds' Adam recipes run without one, and
a step decay every 7 epochs would leave a 200-epoch Adam run at about zero after ~21 epochs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from seedge.errors import SeedgeError, unknown

OPTIMIZERS = ("adam", "sgd")  # torch.optim.Adam (coupled L2 weight decay) / SGD with momentum
MONITORS = ("val_loss", "val_acc")  # the validation metric that picks the best epoch and stops early
SCHEDULER_MEANINGS = {
    "auto": "step for sgd, none for adam",
    "none": "constant learning rate",
    "step": "multiply by --gamma every --step-size epochs (StepLR; --step-size 0: never)",
    "cosine": "cosine decay towards 0 over the epochs after warm-up",
    "plateau": "multiply by --gamma when the monitored metric has not improved for max(1, --patience/2) "
    "epochs, 5 without early stopping (ReduceLROnPlateau)",
}
SCHEDULERS = tuple(SCHEDULER_MEANINGS)
AUTO_SCHEDULER = {"sgd": "step", "adam": "none"}


@dataclass(frozen=True)
class Recipe:
    """A seed project's training recipe: TrainOptions field values, and where they come from."""

    options: dict
    about: str
    # The seed's own zoo model: a user model (--model-file) trained with the recipe takes its input
    # size and normalization (seed 000 trained its net at 245x457 on ToTensor() only).
    model: str | None = None


# The seeds' recipes as the seed documents state them; values they leave open keep seedge's
# defaults (and `about` says which were chosen here). Flags given next to --recipe win.
RECIPES = {
    "seed000": Recipe(
        {
            "optimizer": "adam",
            "lr": 1e-3,
            "weight_decay": 1e-4,
            "batch_size": 64,
            "epochs": 200,
            "patience": 20,
            "scheduler": "none",
            "augment": "full",
        },
        "Res-SE net (res_se_net, 245x457, ToTensor only; a --model-file net too): Adam lr 1e-3, weight "
        "decay 1e-4, batch 64, 200 epochs, early stopping 20, flips/rotation/jitter/affine augmentation",
        model="res_se_net",
    ),
    "seed001": Recipe(
        {
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "weight_decay": 1e-4,
            "batch_size": 256,
            "epochs": 100,
            "scheduler": "step",
            "step_size": 30,
            "gamma": 0.1,
            "patience": 0,
        },
        "SE-ResNet paper schedule (its seed states no recipe): SGD momentum 0.9, lr 0.1 at batch 256 "
        "(the paper: 0.6 at 1024), weight decay 1e-4, x0.1 every 30 epochs, 100 epochs",
    ),
    "seed002": Recipe(
        {
            "optimizer": "sgd",
            "lr": 1e-3,
            "momentum": 0.9,
            "scheduler": "step",
            "step_size": 7,
            "gamma": 0.1,
            "patience": 5,
            "epochs": 25,
            "split_fractions": (0.64, 0.16, 0.2),
        },
        "SENet ultrasound (CSV Image_path,Plane): SGD lr 1e-3 momentum 0.9, StepLR(7, 0.1), early "
        "stopping 5, split 64/16/20 (25 epochs chosen here: the seed leaves it open)",
    ),
    "seed003": Recipe(
        {"optimizer": "adam", "lr": 1e-3, "scheduler": "none", "patience": 10, "epochs": 50, "monitor": "val_acc"},
        "SE-ResNet18 vs ResNet18 brain MRI (four-class ImageFolder): Adam, no schedule, early "
        "stopping and best checkpoint on validation accuracy (patience 10, 50 epochs chosen here)",
    ),
    "seed004": Recipe(
        {
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "batch_size": 128,
            "epochs": 20,
            "scheduler": "cosine",
            "augment": "cifar",
            "patience": 0,
        },
        "SE-ResNet18 on CIFAR-10 (se_resnet18_cifar, 32x32, CIFAR mean/std; a --model-file net too): "
        "random crop + flip, 20 epochs; SGD 0.1 momentum 0.9, weight decay 5e-4, cosine: the usual "
        "CIFAR recipe (the seed names none)",
        model="se_resnet18_cifar",
    ),
}


def apply_recipe(name: str | None, given: dict) -> dict:
    """TrainOptions values: recipe `name`'s, overridden by `given` (the options the user set)."""
    if not name:
        return dict(given)
    if name not in RECIPES:
        raise unknown("recipe", name, RECIPES)
    return {**RECIPES[name].options, **given, "recipe": name}


def run_preprocess(o, cfg):
    """The preprocessing a run trains with (recorded in model.json): the model's input size and
    normalization (a user model under --recipe: the recipe's model's, --img-size still wins),
    --resize, and the stated --preprocessing/--mean/--std over them. A user model with neither
    gets seedge's default (ImageNet mean/std), recorded as such, and every later step reads it."""
    from dataclasses import replace

    from seedge.preprocess import PreprocessSpec
    from seedge.preprocess.stated import apply_statement

    spec = PreprocessSpec.from_model_cfg(cfg, img_size=o.img_size)
    recipe = RECIPES.get(o.recipe or "")
    if spec.source is None and recipe is not None and recipe.model:
        from seedge.models import get_config

        seeds = PreprocessSpec.from_model_cfg(get_config(recipe.model), img_size=o.img_size)
        spec = replace(seeds, input_size=(spec.input_size[0], *seeds.input_size[1:]), source=f"recipe {o.recipe}")
    if spec.source is None:
        spec = replace(spec, source="seedge default imagenet")
    if o.resize:
        spec = replace(spec, resize=tuple(o.resize))
    return apply_statement(spec, o.preprocessing, str(o.model))


def make_optimizer(params, name: str, lr: float, weight_decay: float, momentum: float = 0.9):
    import torch

    if name == "adam":
        # Adam's coupled L2 weight decay, as the seed recipes use (torch.optim.Adam weight_decay).
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise unknown("optimizer", name, OPTIMIZERS)


def resolve_scheduler(name: str, optimizer: str) -> str:
    if name not in SCHEDULERS:
        raise unknown("scheduler", name, SCHEDULERS)
    return AUTO_SCHEDULER.get(optimizer, "none") if name == "auto" else name


class LRSchedule:
    """The learning rate per epoch: `warmup_epochs` of linear warm-up (base * e / (warmup + 1) in
    epoch e), then `kind`. Call `step(val_loss, val_acc)` once after every epoch."""

    def __init__(
        self,
        optimizer,
        kind: str,
        epochs: int,
        step_size: int = 7,
        gamma: float = 0.1,
        warmup_epochs: int = 0,
        plateau_patience: int = 2,
        monitor: str = "val_loss",
    ):
        import torch

        if step_size < 0:
            raise SeedgeError(f"--step-size must be 0 (no decay) or more, got {step_size}")
        if not 0 < gamma <= 1:
            raise SeedgeError(f"--gamma must be in (0, 1], got {gamma}")
        if not 0 <= warmup_epochs < epochs:
            raise SeedgeError(
                f"--warmup-epochs must be 0 or more and less than --epochs ({epochs}), got {warmup_epochs}"
            )
        self.kind, self.epochs, self.warmup = kind, epochs, warmup_epochs
        self.step_size, self.gamma = step_size, gamma
        self.optimizer = optimizer
        self.plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
        if kind == "plateau":
            mode: Literal["min", "max"] = "min" if monitor == "val_loss" else "max"
            self._make_plateau = lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=mode, factor=gamma, patience=plateau_patience
            )
            # warm-up by hand; ReduceLROnPlateau takes over at the full rate
            self.lambda_lr = torch.optim.lr_scheduler.LambdaLR(optimizer, self._warmup_factor)
        else:
            self.lambda_lr = torch.optim.lr_scheduler.LambdaLR(optimizer, self._factor)

    def _warmup_factor(self, done: int) -> float:
        """`done` epochs finished -> factor for the next one (LambdaLR's convention)."""
        return (done + 1) / (self.warmup + 1) if done < self.warmup else 1.0

    def _factor(self, done: int) -> float:
        if done < self.warmup:
            return self._warmup_factor(done)
        k = done - self.warmup  # epochs finished after warm-up
        if self.kind == "step":
            return self.gamma ** (k // self.step_size) if self.step_size else 1.0
        if self.kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * k / max(1, self.epochs - self.warmup)))
        return 1.0

    def step(self, val_loss: float, val_acc: float) -> None:
        if self.kind == "plateau" and self.lambda_lr.last_epoch >= self.warmup:  # warm-up done
            if self.plateau is None:
                self.plateau = self._make_plateau()
            self.plateau.step(val_loss if self.plateau.mode == "min" else val_acc)
            return
        self.lambda_lr.step()

    def describe(self) -> str:
        what = {
            "none": "constant lr",
            "step": f"StepLR({self.step_size}, {self.gamma:g})" if self.step_size else "constant lr (--step-size 0)",
            "cosine": "cosine decay",
            "plateau": f"ReduceLROnPlateau(x{self.gamma:g})",
        }[self.kind]
        return what + (f" after {self.warmup} warm-up epochs" if self.warmup else "")


@dataclass
class EarlyStopping:
    """Tracks the best epoch by `monitor`; `patience` epochs without improvement stop (0: never).

    val_acc ties are broken by the lower val_loss, so a saturated accuracy still improves.
    """

    monitor: str = "val_loss"
    patience: int = 5
    best_epoch: int = 0
    best_score: tuple | None = None
    bad_epochs: int = 0
    history: list = field(default_factory=list)

    def __post_init__(self):
        if self.monitor not in MONITORS:
            raise unknown("--monitor", self.monitor, MONITORS)

    def score(self, val_loss: float, val_acc: float) -> tuple:
        return (-val_loss,) if self.monitor == "val_loss" else (val_acc, -val_loss)

    def update(self, epoch: int, val_loss: float, val_acc: float) -> bool:
        """Record an epoch; True when it is the new best."""
        s = self.score(val_loss, val_acc)
        if self.best_score is None or s > self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = s, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad_epochs >= self.patience


def load_init_weights(model, source, allow_pickle: bool = False, new_head: bool = False) -> dict:
    """Fine-tuning: load a checkpoint's weights into `model`, replacing the classifier when the
    class count differs or `new_head` (the data's classes are not the checkpoint's). Returns
    {"source", "head_replaced", "classifier"}."""
    from seedge.checkpoint import read_state_dict, remap_to_model, resolve_source

    path = resolve_source(source)
    target = model.state_dict()
    sd = remap_to_model(read_state_dict(path, allow_pickle=allow_pickle), target)
    head = model.seedge_cfg.classifier
    head_keys = [k for k in sd if k.startswith(head + ".")]
    replaced = (new_head and bool(head_keys)) or any(k in target and sd[k].shape != target[k].shape for k in head_keys)
    if replaced:
        sd = {k: v for k, v in sd.items() if k not in head_keys}
    mismatched = [k for k in sd if k in target and sd[k].shape != target[k].shape]
    unexpected = [k for k in sd if k not in target]
    missing = [
        k
        for k in target
        if k not in sd and not k.endswith("num_batches_tracked") and not (replaced and k.startswith(head + "."))
    ]
    if mismatched or unexpected or missing:
        what = (
            f"shape mismatch for '{mismatched[0]}'"
            if mismatched
            else f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})"
            if unexpected
            else f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})"
        )
        raise SeedgeError(f"{path}: --init weights do not fit {model.seedge_arch}: {what}; is --model right?")
    model.load_state_dict(sd, strict=False)
    return {"source": str(path), "head_replaced": replaced, "classifier": head}


def init_arch(source) -> str | None:
    """The architecture a seedge checkpoint records (None for a bare state dict)."""
    from seedge.checkpoint import read_sidecar, resolve_source

    meta = read_sidecar(resolve_source(source)) or {}
    return meta.get("arch")
