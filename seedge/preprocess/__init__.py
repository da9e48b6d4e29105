"""The one preprocessing: a spec stored with every model and its torch-free pipeline.

`spec.PreprocessSpec` says how an image becomes the network input; `pipeline` applies it with
numpy + Pillow only. Training's evaluation transform, export's reference and calibration data,
verify, Grad-CAM's inverse and the device runtime all call these functions; training adds
augmentation on top.
"""

from seedge.preprocess.pipeline import (  # noqa: F401
    is_image_like,
    preprocess_batch,
    preprocess_image,
    spec_dict,
    to_rgb,
)
from seedge.preprocess.spec import PreprocessSpec  # noqa: F401
