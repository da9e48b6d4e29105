"""Verify an export folder: `parity` (the metrics and the one set of thresholds, torch-free)
and `run` (every artifact against the eager FP32 model through the backends' runners)."""

from seedge.verify.run import (  # noqa: F401
    DEFAULT_BATCH,
    batching,
    check_class_names,
    load_reference,
    precision_note,
    run_batched,
    verify_artifacts,
)
