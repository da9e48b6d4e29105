"""Which classes a fine-tuning run trains, when it starts from an --init checkpoint.

Data labels are matched to the checkpoint's classes by name, never by position: an ImageFolder
lists its classes alphabetically, and a checkpoint's head may order them otherwise.

  - `--class-names` names a bare checkpoint's outputs (in order): the run trains exactly those
    classes, keeps the checkpoint's head, and a data label outside them is an error naming
    its row or folder (the data source's own check);
  - a checkpoint that records its class names and data whose labels are all among them: the
    same, by the recorded names;
  - otherwise (other classes, or no names known): a new head for the data's classes, even when
    the count happens to match, since no output of the old head means any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from seedge.errors import SeedgeError


@dataclass
class InitClasses:
    names: list[str] | None  # the checkpoint's classes, in its output order; None: unknown
    given: bool  # named by --class-names (labels must be among them)


def init_classes(init: str, given, allow_pickle: bool = False) -> InitClasses:
    """The --init checkpoint's classes: `given` (--class-names), else what its sidecar records."""
    from seedge.checkpoint import parse_class_names, read_sidecar, read_state_dict, resolve_class_names, resolve_source
    from seedge.checkpoint.class_names import last_linear_outputs

    path = resolve_source(init)
    meta = read_sidecar(path) or {}
    recorded = meta.get("class_names")
    if parse_class_names(given) is None:
        return InitClasses(list(recorded) if recorded else None, False)
    n = meta.get("num_classes") or last_linear_outputs(read_state_dict(path, allow_pickle=allow_pickle))
    if not n:
        raise SeedgeError(f"{path}: no classifier layer found to count its outputs; drop --class-names")
    return InitClasses(resolve_class_names(given, recorded, int(n), path), True)


def train_classes(init: InitClasses, data_labels: list[str]) -> list[str] | None:
    """The class names to open the training data with (labels encoded by them), or None to
    train the data's own classes under a new head."""
    if init.names is None:
        return None
    if init.given or set(data_labels) <= set(init.names):
        return list(init.names)
    return None
