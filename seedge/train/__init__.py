"""Training: the loop (`loop`), optimizer/scheduler recipes (`recipes`), torchrun/DDP
(`distributed`), the options (`options`) and the embedded demo model (`demo`). Imports torch."""

from seedge.train.loop import evaluate_arrays, seed_everything, train  # noqa: F401
from seedge.train.options import TrainOptions  # noqa: F401
