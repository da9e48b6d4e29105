"""Preprocessed numpy arrays of one split: what export, calibration and verify feed models."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from seedge.data.images import read_image
from seedge.preprocess import preprocess_image, spec_dict


def load_split_arrays(samples, spec, progress: bool = False) -> np.ndarray:
    """Decode and preprocess every item of a Samples split -> float32 NCHW."""
    spec = spec_dict(spec)  # a PreprocessSpec or a manifest's dict form; checked here, before any decoding
    c, h, w = spec["input_size"]
    x = np.empty((len(samples), c, h, w), dtype=np.float32)
    it: Iterable[int] = range(len(samples))
    console = _stderr() if progress and len(samples) > 256 else None
    if console is not None and console.is_terminal:  # a bar only where someone watches; logs stay clean
        from rich.progress import track

        it = track(it, description="loading images", transient=True, console=console)
    for i in it:
        x[i] = preprocess_image(read_image(samples.items[i], samples.origins[i]), spec)
    return x


def load_arrays(
    src: str,
    preprocess,
    split: str = "test",
    limit: int | None = None,
    seed: int = 0,
    *,
    class_names: list[str] | None = None,
    root=None,
    progress: bool = False,
    options=None,
    say=None,
):
    """(x float32 NCHW, y int64, class_names) for `split` of SRC, preprocessed by `preprocess`.

    `limit` keeps that many samples, chosen with `seed` (kept in source order).
    `class_names` (e.g. a checkpoint's) fixes the label encoding; labels outside it raise.
    The split itself never depends on `seed` (see seedge.data.splits.SPLIT_SEED).
    `options` (seedge.data.SourceOptions): CSV columns and split fractions.
    `say(line)` gets Source.notes_line (which CSV columns are used) before any image is read.
    """
    from seedge.data import open_source

    source = open_source(src, root=root, class_names=class_names, options=options)
    if say is not None and source.notes:
        say(source.notes_line(src))
    samples = source.split(split).limit(limit, seed)
    x = load_split_arrays(samples, preprocess, progress=progress)
    return x, samples.labels.copy(), list(source.class_names)


def _stderr():
    from rich.console import Console

    return Console(stderr=True)
