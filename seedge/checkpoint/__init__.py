"""Loading checkpoints users bring from elsewhere, safely, and seedge's own format.

One module per job:
  read         a state dict from .safetensors / .pt / .pth / .bin, safely (pickles need --unsafe-pickle)
  remap        automatic renames of other SE layouts (senet.pytorch, timm, pretrainedmodels, torchvision)
  key_map      --key-map REGEX=REPLACEMENT
  layouts      the does-not-fit message: closest known layout and a --key-map that fits
  fit          strict loading into a model (bias-less SE gets zero biases)
  class_names  --class-names, and the classifier's size read from the weights
  own          seedge's own checkpoint (safetensors + JSON sidecar), training run folders
  program      torch.export programs (.pt2) as a source
  load         load_model: any source to (model, info)

The names below are what the rest of seedge uses; import them from here.
"""

from seedge.checkpoint.class_names import parse_class_names, resolve_class_names
from seedge.checkpoint.load import load_model
from seedge.checkpoint.own import CHECKPOINT_FORMAT, read_sidecar, resolve_source, save_checkpoint
from seedge.checkpoint.program import PROGRAM_SUFFIX, load_program_module
from seedge.checkpoint.read import read_state_dict
from seedge.checkpoint.remap import remap_to_model

__all__ = [
    "CHECKPOINT_FORMAT",
    "PROGRAM_SUFFIX",
    "load_model",
    "load_program_module",
    "parse_class_names",
    "read_sidecar",
    "read_state_dict",
    "remap_to_model",
    "resolve_class_names",
    "resolve_source",
    "save_checkpoint",
]
