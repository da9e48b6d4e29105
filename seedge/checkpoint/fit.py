"""Loading a state dict into a model strictly: every key fits, or one line says what does not."""

from __future__ import annotations

from pathlib import Path

from seedge.checkpoint.layouts import DoesNotFit, layout_advice
from seedge.checkpoint.remap import remap_to_model
from seedge.errors import SeedgeError


def load_into(model, sd: dict, path: Path | str = "<checkpoint>") -> None:
    """Strict load: report missing/unexpected keys and shape mismatches in one line."""
    target = model.state_dict()
    sd = remap_to_model(sd, target)
    classifier = getattr(getattr(model, "seedge_cfg", None), "classifier", None)
    _check_classifier_weight(sd, target, classifier, path)
    mismatched = [k for k in sd if k in target and sd[k].shape != target[k].shape]
    if mismatched:
        k = mismatched[0]
        # Only a classifier that differs in its output count alone is a --num-classes matter; one whose
        # input width differs too (fc.weight (10, 7) for 64 features) belongs to another architecture.
        if classifier and k.startswith(classifier + ".") and sd[k].shape[1:] == target[k].shape[1:]:
            raise SeedgeError(
                f"{path}: classifier layer '{classifier}' has {sd[k].shape[0]} outputs in the checkpoint but "
                f"the model was built for {target[k].shape[0]} classes; pass --num-classes {sd[k].shape[0]}"
            )
        raise SeedgeError(
            f"{path}: shape mismatch for '{k}': checkpoint {tuple(sd[k].shape)} vs model "
            f"{tuple(target[k].shape)} ({len(mismatched)} mismatched tensors); is --model right?"
        )
    _check_dtypes(sd, target, path)
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")]
    optional = _se_bias_keys(model)
    missing = _zero_se_biases(model, sd, target, missing, path)
    unexpected = [k for k in sd if k not in target]
    if missing or unexpected:
        arch = getattr(model, "seedge_arch", "the model")
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        hint, rules = layout_advice(sd, target, optional)
        raise DoesNotFit(f"{path}: checkpoint does not fit {arch}: {'; '.join(parts)}; {hint}", key_map=rules)
    model.load_state_dict({k: v for k, v in sd.items()}, strict=False)


def _check_classifier_weight(sd: dict, target: dict, classifier: str | None, path) -> None:
    """A checkpoint holding its classifier's bias but not its weight: its class count was guessed
    from another layer, so the mismatch that follows would wrongly suggest --num-classes."""
    if not classifier:
        return
    weight = f"{classifier}.weight"
    if weight in target and weight not in sd and any(k.startswith(classifier + ".") for k in sd):
        raise SeedgeError(
            f"{path}: the classifier's weight '{weight}' is missing from the checkpoint (it holds "
            f"{', '.join(k for k in sd if k.startswith(classifier + '.'))}); is it a whole checkpoint "
            f"of this model?"
        )


def _check_dtypes(sd: dict, target: dict, path) -> None:
    """Integer (or bool, complex) values where the model has float weights: load_state_dict would
    cast them silently, so quantized codes or a foreign file would load as nonsense weights."""
    wrong = [k for k in sd if k in target and target[k].is_floating_point() and not sd[k].is_floating_point()]
    if wrong:
        k = wrong[0]
        dtype = str(sd[k].dtype).removeprefix("torch.")
        raise SeedgeError(
            f"{path}: '{k}' holds {dtype} values where the model has "
            f"{str(target[k].dtype).removeprefix('torch.')} weights ({len(wrong)} such tensors); "
            f"seedge does not cast them (quantized or foreign weights?): save float weights"
        )


def _se_bias_keys(model) -> set[str]:
    """State-dict keys of seedge SE biases, which a bias-less checkpoint may lack."""
    from seedge.models.layers import SqueezeExcite

    return {
        f"{name}.{fc}.bias".lstrip(".")
        for name, m in model.named_modules()
        if isinstance(m, SqueezeExcite)
        for fc in ("fc1", "fc2")
        if getattr(m, fc).bias is not None
    }


def _zero_se_biases(model, sd: dict, target: dict, missing: list[str], path) -> list[str]:
    """Bias-less SE layers (senet.pytorch's `Linear(c, c // r, bias=False)`) load into seedge's SE
    with zero biases: the same function. Fills `sd`, says so in one line on stderr, and returns
    the keys still missing."""
    import sys

    import torch

    from seedge.models.layers import SqueezeExcite

    wanted = set(missing)
    blocks = 0
    for name, m in model.named_modules():
        if not isinstance(m, SqueezeExcite):
            continue
        prefix = f"{name}." if name else ""
        keys = [f"{prefix}{fc}.bias" for fc in ("fc1", "fc2")]
        if all(k in wanted and k.replace(".bias", ".weight") in sd for k in keys):
            for k in keys:
                sd[k] = torch.zeros_like(target[k])
            blocks += 1
    if blocks:
        print(
            f"seedge: note: {path}: {blocks} SE blocks have no biases in the checkpoint (bias-less Linear SE, "
            f"as senet.pytorch writes it); they load with zero biases, which computes the same",
            file=sys.stderr,
        )
    return [k for k in missing if k not in sd]
