"""`seedge.export(model_or_source, ...)`: the Python API of `seedge export`.

    import seedge
    folder = seedge.export(my_module, input_size=(3, 224, 224), class_names=["cat", "dog"],
                           formats=["onnx", "openvino"], precisions=["fp32", "int8"], calib="digits")

The same pipeline as the CLI (passes, builders, parity rules, manifest): `model_or_source` is a
live torch.nn.Module -- the manifest then records its module and class, and the folder keeps
its eager baseline as a torch.export program, so verify, bench and the runtime need no Python
code of the user's -- or anything `seedge export` takes as SOURCE (a checkpoint, a training
run, a .pt2 program; None for the demo model).
"""

from __future__ import annotations

from pathlib import Path


def export(model_or_source=None, *, input_size=None, example_input=None, class_names=None, preprocessing=None,
           formats=("torchscript", "onnx", "openvino"), precisions=("fp32",), calib=None, out="exported",
           name=None, arch=None, model_file=None, model_args=None, key_map=(), **options) -> Path:
    """Export, verify and publish; returns the published folder (OUT/NAME).

    input_size: (C, H, W) the model is fed (a live module needs it, or `example_input`, a tensor
    of shape (N, C, H, W) or (C, H, W)). class_names: list, "a,b,c" or a file, in output order.
    preprocessing: a seedge.preprocess.PreprocessSpec or its dict (mean/std, resize ...; default
    ImageNet normalization at input_size). formats / precisions: lists or comma strings.
    `options` are the pipeline's other keywords (num_classes, passes, calib_samples, int8_policy,
    exclude, img_size, thresholds, progress ...; see seedge.export.pipeline.export_model).
    """
    import os

    from seedge.errors import SeedgeError
    from seedge.export.pipeline import export_model
    from seedge.export.source import ModelSource, is_live

    if not (model_or_source is None or is_live(model_or_source) or isinstance(model_or_source, (str, os.PathLike))):
        raise SeedgeError(f"seedge.export takes a torch.nn.Module or a checkpoint path, not a "
                          f"{type(model_or_source).__name__}")
    if example_input is not None:
        shape = tuple(int(d) for d in getattr(example_input, "shape", ()))
        size = shape[1:] if len(shape) == 4 else shape
        if len(size) != 3:
            raise SeedgeError(f"example_input has shape {shape}; give an (N, C, H, W) or (C, H, W) tensor")
        if input_size is not None and tuple(input_size) != size:
            raise SeedgeError(f"input_size {tuple(input_size)} and example_input {size} disagree; give one")
        input_size = size
    spec = ModelSource(model_file=model_file, model_args=model_args, key_map=tuple(key_map), class_names=class_names,
                       input_size=tuple(input_size) if input_size is not None else None, preprocessing=preprocessing)
    return export_model(model_or_source, arch=arch, formats=_listed(formats), precisions=_listed(precisions),
                        calib=calib, out=out, name=name, model_source=spec, **options)


def _listed(value):
    return tuple(v.strip() for v in value.split(",")) if isinstance(value, str) else tuple(value)
