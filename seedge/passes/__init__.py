"""Graph passes on PyTorch models ("fuse BN and SE ops"), each checked numerically (check.py).

    from seedge.passes import apply_passes
    model2, reports = apply_passes(model)                 # DEFAULT_PASSES on a deep copy
    model2, reports = apply_passes(model, ["fold_bn"], example=x, count_nodes=True)

Passes (one per file, registered by name): drop_dropout, fold_bn, canonical_se,
fuse_se_residual.
"""

from seedge.passes import canonical_se, drop_dropout, fold_bn, fuse_se_residual  # noqa: F401  (registration)
from seedge.passes.registry import (
    DEFAULT_PASSES,
    PassResult,
    apply_passes,
    list_passes,
    register_pass,
    unregister_pass,
)

__all__ = ["DEFAULT_PASSES", "PassResult", "apply_passes", "list_passes", "register_pass", "unregister_pass"]
