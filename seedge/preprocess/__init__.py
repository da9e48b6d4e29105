"""The one preprocessing: a spec stored with every model and its torch-free pipeline.

`spec.PreprocessSpec` says how an image becomes the network input; the steps apply it with
numpy + Pillow only: `decode` (any image -> RGB), `geometry` (resize to the base size, "L" for
1 channel, center crop), `normalize` (scale, color order, (x - mean) / std, CHW, and the
inverse for display); `pipeline` chains them. Training's evaluation transform, export's
reference and calibration data, verify, Grad-CAM's inverse and the device runtime all call
these functions; training adds augmentation (seedge.data.transforms) on top.
"""

from seedge.preprocess.decode import decode, to_rgb  # noqa: F401
from seedge.preprocess.geometry import base_size, center_crop, resize_to_base  # noqa: F401
from seedge.preprocess.normalize import denormalize, to_array  # noqa: F401
from seedge.preprocess.pipeline import (  # noqa: F401
    is_image_like,
    preprocess_batch,
    preprocess_image,
    to_input_pixels,
)
from seedge.preprocess.spec import PreprocessSpec, spec_dict  # noqa: F401
