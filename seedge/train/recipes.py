"""The training recipe pieces: optimizer, LR schedule, early stopping, fine-tuning init.

Defaults follow the seed projects: Adam (lr 1e-3, weight decay 1e-4) or SGD (momentum
0.9), StepLR (step 7, gamma 0.1), early stopping on the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seedge.errors import SeedgeError

OPTIMIZERS = ("adam", "sgd")       # torch.optim.Adam (coupled L2 weight decay) / SGD with momentum
MONITORS = ("val_loss", "val_acc")  # the validation metric that picks the best epoch and stops early


def make_optimizer(params, name: str, lr: float, weight_decay: float, momentum: float = 0.9):
    import torch

    if name == "adam":
        # Adam's coupled L2 weight decay, as the seed recipes use (torch.optim.Adam weight_decay).
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise SeedgeError(f"unknown optimizer '{name}'; choose from {', '.join(OPTIMIZERS)}")


def make_scheduler(optimizer, step_size: int, gamma: float):
    import torch

    if step_size < 1:
        raise SeedgeError(f"--step-size must be at least 1, got {step_size}")
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


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
            raise SeedgeError(f"unknown --monitor '{self.monitor}'; choose from {', '.join(MONITORS)}")

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


def load_init_weights(model, source, allow_pickle: bool = False) -> dict:
    """Fine-tuning: load a checkpoint's weights into `model`, replacing the classifier when the
    class count differs. Returns {"source", "head_replaced", "classifier"}."""
    from seedge.checkpoint import read_state_dict, remap_to_model, resolve_source

    path = resolve_source(source)
    target = model.state_dict()
    sd = remap_to_model(read_state_dict(path, allow_pickle=allow_pickle), target)
    head = model.seedge_cfg.classifier
    head_keys = [k for k in sd if k.startswith(head + ".")]
    replaced = any(k in target and sd[k].shape != target[k].shape for k in head_keys)
    if replaced:
        sd = {k: v for k, v in sd.items() if k not in head_keys}
    mismatched = [k for k in sd if k in target and sd[k].shape != target[k].shape]
    unexpected = [k for k in sd if k not in target]
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")
               and not (replaced and k.startswith(head + "."))]
    if mismatched or unexpected or missing:
        what = (f"shape mismatch for '{mismatched[0]}'" if mismatched else
                f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})" if unexpected else
                f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        raise SeedgeError(f"{path}: --init weights do not fit {model.seedge_arch}: {what}; is --model right?")
    model.load_state_dict(sd, strict=False)
    return {"source": str(path), "head_replaced": replaced, "classifier": head}


def init_arch(source) -> str | None:
    """The architecture a seedge checkpoint records (None for a bare state dict)."""
    from seedge.checkpoint import read_sidecar, resolve_source

    meta = read_sidecar(resolve_source(source)) or {}
    return meta.get("arch")
