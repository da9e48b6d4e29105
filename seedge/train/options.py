"""`TrainOptions`: every choice of one training run, written once.

Each field carries its default, help, CLI spelling and choices (seedge.options.option);
`seedge train`'s options are generated from these fields in this order, and `--recipe` presets
fill the ones the user did not give (seedge.train.recipes.apply_recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from seedge.data.shapes import parse_size
from seedge.data.transforms import AUGMENT_MEANINGS, AUGMENTS
from seedge.options import option
from seedge.train.recipes import MONITORS, OPTIMIZERS, RECIPES, SCHEDULER_MEANINGS, SCHEDULERS

if TYPE_CHECKING:
    from seedge.data import SourceOptions

_SIZE = (parse_size, "use S or HxW, e.g. 224 or 245x457")


@dataclass
class TrainOptions:
    """Everything the user chose for one training run (CLI, seedge.train.train)."""

    model: str | None = option(None, "Architecture (see `seedge models`); may come from --init.", metavar="ARCH")
    data: str = option(
        None,
        "digits, animals[,n=K], shapes[:HxW], an ImageFolder directory or a CSV of path,label rows.",
        metavar="SRC",
        required=True,
    )
    epochs: int = option(10, "Epochs to train (fewer when early stopping ends the run).", type=int)
    img_size: tuple[int, int] | None = option(
        None, "Network input size [default: the model's].", metavar="S|HxW", parse=_SIZE
    )
    resize: tuple[int, int] | None = option(
        None, "Resize to this, then crop to --img-size.", metavar="S|HxW", parse=_SIZE
    )
    out: str = option(
        "",
        "Run directory [default: runs/<arch>]; when it holds an earlier run, the run goes to "
        "DIR-2, DIR-3, ... (said on stderr).",
        metavar="DIR",
        show_default=False,
    )
    exist_ok: bool = option(False, "Replace the earlier run in --out instead of numbering a new one.")
    batch_size: int = option(64, "Images per training step (per process under torchrun).", type=int)
    lr: float = option(1e-3, "Learning rate (after warm-up; the schedule changes it from there).", type=float)
    # The preset the values came from (recorded only; seedge.train.recipes.apply_recipe applies it).
    recipe: str | None = option(
        None, "A seed project's training recipe (listed below); options given next to it win.", choices=tuple(RECIPES)
    )
    optimizer: str = option(
        "adam", "adam: torch.optim.Adam (coupled L2 weight decay); sgd: SGD with momentum.", choices=OPTIMIZERS
    )
    weight_decay: float = option(1e-4, "L2 weight decay.", type=float)
    momentum: float = option(0.9, "SGD momentum.", type=float)
    # auto: step for sgd, none for adam (seedge.train.recipes.SCHEDULERS)
    scheduler: str = option(
        "auto",
        "Learning-rate schedule: " + "; ".join(f"{k}: {v}" for k, v in SCHEDULER_MEANINGS.items()) + ".",
        choices=SCHEDULERS,
    )
    step_size: int = option(7, "StepLR period in epochs (0: no decay).", type=int)
    gamma: float = option(0.1, "Decay factor of step and plateau.", type=float)
    warmup_epochs: int = option(0, "Linear learning-rate warm-up over this many first epochs.", type=int)
    patience: int = option(5, "Early stopping: epochs without improvement (0: never stop early).", type=int)
    monitor: str = option("val_loss", "Validation metric for early stopping and the best checkpoint.", choices=MONITORS)
    augment: str = option(
        "auto",
        "Training augmentation: " + "; ".join(f"{k}: {v}" for k, v in AUGMENT_MEANINGS.items()) + ".",
        choices=AUGMENTS,
    )
    label_smoothing: float = option(0.0, "Label smoothing of the cross-entropy loss (0: none).", type=float)
    seed: int = option(0, "Seed of the initial weights, shuffling and augmentation.", type=int)
    init: str | None = option(
        None, "Fine-tune from this checkpoint (new classifier head when the class count differs).", metavar="CKPT"
    )
    allow_pickle: bool = option(False, "Allow --init pickles that need arbitrary code.", flag="--unsafe-pickle")
    # --class-names: the --init checkpoint's classes (list, a,b,c or a file)
    init_class_names: object = option(
        None,
        "The --init checkpoint's classes in output order.",
        cli=False,
        elsewhere="--class-names (seedge.cli.model_options, shared by commands)",
    )
    # --preprocessing/--mean/--std: the normalization stated (seedge.preprocess.stated keys)
    preprocessing: dict | None = option(
        None,
        "The normalization stated over the model's (preset, mean, std, resize, color_order).",
        cli=False,
        elsewhere="--preprocessing, --mean, --std (seedge.cli.model_options, shared by commands)",
    )
    classes: list[str] | None = option(
        None, "Class names in output order (labels must be among them).", metavar="A,B,..."
    )
    data_root: str | None = option(None, "Folder CSV paths are relative to [default: the CSV's].", metavar="DIR")
    data_options: SourceOptions | None = option(
        None,
        "seedge.data.SourceOptions: CSV columns, split fractions.",
        cli=False,
        elsewhere="--path-column, --label-column, --split-column, --split",
    )
    limit: int | None = option(None, "Use at most N images per split (quick runs).", type=int)
    device: str = option("auto", "auto, cpu, cuda or cuda:N.")
    workers: int = option(0, "DataLoader worker processes.", type=int)
    threads: int | None = option(None, "torch CPU threads [default: torch's; under torchrun: cores/ranks].", type=int)
    tensorboard: str | None = option(
        None,
        "Log losses, accuracies and the learning rate for TensorBoard in DIR (needs the tensorboard package).",
        metavar="DIR",
    )
    progress: bool = option(
        True,
        "Progress on stderr.",
        cli=False,
        elsewhere="Python only: the CLI always shows progress (seedge.train.demo turns it off)",
    )
    extra: dict = option(
        dict,
        "Merged into model.json (e.g. the demo recipe hash).",
        factory=True,
        cli=False,
        elsewhere="Python only: seedge.train.demo records its recipe hash with it",
    )
