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

from seedge.errors import api_boundary


@api_boundary("seedge.export")
def export(
    model_or_source=None,
    *,
    input_size=None,
    example_input=None,
    class_names=None,
    preprocessing=None,
    model_file=None,
    model_args=None,
    key_map=(),
    progress=None,
    **options,
) -> Path:
    """Export, verify and publish; returns the published folder (OUT/NAME).

    input_size: (C, H, W) the model is fed (a live module needs it, or `example_input`, a tensor
    of shape (N, C, H, W) or (C, H, W)). class_names: list, "a,b,c" or a file, in output order.
    preprocessing: the normalization the model's images get, a dict whose keys are each optional:
    preset ("imagenet", "unit": ToTensor only, "half": Normalize(0.5, 0.5)), mean, std (one number
    or one per channel; over the preset), resize (H, W), color_order, input_size (or a whole
    seedge.preprocess.PreprocessSpec). A model from your code (a live module, model_file, a .pt2)
    needs mean/std or a preset: seedge never assumes them. model_file / model_args / key_map: as --model-file,
    --model-args, --key-map. progress: progress(label, phase), see export_model.
    `options` are the fields of seedge.export.options.ExportOptions, with its defaults: formats,
    precisions (lists or comma strings), calib, out, name, arch, num_classes, passes, int8_policy,
    exclude, img_size, thresholds ...; an unknown keyword is refused with the known ones.
    """
    from seedge.export.pipeline import export_model
    from seedge.export.source import ModelSource

    opts = export_options(model_or_source, **options)
    if example_input is not None:
        input_size = _example_size(example_input, input_size)
    spec = ModelSource(
        model_file=model_file,
        model_args=model_args,
        key_map=tuple(key_map),
        class_names=class_names,
        input_size=tuple(input_size) if input_size is not None else None,
        preprocessing=preprocessing,
    )
    return export_model(model_or_source, opts, model_source=spec, progress=progress)


def export_options(model_or_source=None, **options):
    """The ExportOptions `seedge.export(model_or_source, **options)` runs with; bad input is one
    SeedgeError line (an unknown keyword lists the known ones)."""
    import os

    from seedge.errors import SeedgeError
    from seedge.export.options import ExportOptions
    from seedge.export.source import is_live
    from seedge.options import checked_keywords

    if not (model_or_source is None or is_live(model_or_source) or isinstance(model_or_source, (str, os.PathLike))):
        raise SeedgeError(
            f"seedge.export takes a torch.nn.Module or a checkpoint path, not a {type(model_or_source).__name__}"
        )
    return ExportOptions(**checked_keywords(ExportOptions, options, "seedge.export"))


def _example_size(example_input, input_size) -> tuple:
    """(C, H, W) of an example tensor, which must agree with `input_size` when both are given."""
    from seedge.errors import SeedgeError

    shape = tuple(int(d) for d in getattr(example_input, "shape", ()))
    size = shape[1:] if len(shape) == 4 else shape
    if len(size) != 3:
        raise SeedgeError(f"example_input has shape {shape}; give an (N, C, H, W) or (C, H, W) tensor")
    if input_size is not None and tuple(input_size) != size:
        raise SeedgeError(f"input_size {tuple(input_size)} and example_input {size} disagree; give one")
    return size
