"""Automatic renames from other SE naming schemes onto a seedge model's keys.

A Linear-based SE block (senet.pytorch's `se.fc.0`/`se.fc.2`, `excitation.0/2`) or timm's
`conv_reduce`/`conv_expand` becomes seedge's 1x1-conv `fc1`/`fc2`, with 2-D weights reshaped.
"""

from __future__ import annotations

import re

# Linear-based SE blocks (`se.fc.0` / `se.fc.2`, `excitation.0/2`) -> seedge's 1x1-conv `fc1` / `fc2`.
_SE_RENAMES = [
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:fc|excitation)\.0\.(weight|bias)$"), r"\1.fc1.\2"),
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:fc|excitation)\.2\.(weight|bias)$"), r"\1.fc2.\2"),
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:conv_reduce)\.(weight|bias)$"), r"\1.fc1.\2"),
    (re.compile(r"^(.*\.(?:se|se_module))\.(?:conv_expand)\.(weight|bias)$"), r"\1.fc2.\2"),
]


def remap_to_model(sd: dict, target: dict) -> dict:
    """Rename/reshape keys from other naming schemes onto the target model's keys.

    Only renames that land on a key the model has are applied, and a 2-D Linear weight
    becomes a 1x1 conv weight where the model expects one; anything else is left for
    the strict check to report.
    """
    out = {}
    for k, v in sd.items():
        nk = k
        if nk not in target:
            for pattern, repl in _SE_RENAMES:
                cand = pattern.sub(repl, nk)
                if cand != nk and cand in target:
                    nk = cand
                    break
        if (
            nk in target
            and v.dim() == 2
            and target[nk].dim() == 4
            and target[nk].shape[2:] == (1, 1)
            and v.numel() == target[nk].numel()
        ):
            v = v.reshape(target[nk].shape)
        out[nk] = v
    return out
