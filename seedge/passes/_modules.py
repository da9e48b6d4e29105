"""Small helpers the passes share for editing a module tree in place."""

from __future__ import annotations

from torch import nn


def replace_module(root: nn.Module, name: str, new: nn.Module) -> None:
    """Put `new` at dotted path `name` under `root` (works for Sequential/ModuleList children too)."""
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def inside(name: str, prefixes) -> bool:
    """Whether dotted module `name` is one of `prefixes` or below one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)
