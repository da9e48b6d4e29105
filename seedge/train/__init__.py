"""Training: the loop (`loop`), optimizer/scheduler recipes (`recipes`), torchrun/DDP
(`distributed`) and the embedded demo model (`demo`). Imports torch."""

from seedge.train.loop import TrainOptions, evaluate_arrays, seed_everything, train  # noqa: F401
