"""Third-party messages that tell a seedge user nothing, hidden unless `seedge -v`.

- torch's C++-extension loader logs "No CUDA runtime is found, using CUDA_HOME=..." on every
  CPU-only machine the first time an exporter touches it;
- ONNX Runtime's C++ logger prints warnings ("Removing initializer ... not used by any node",
  graph-optimizer notes) for sessions seedge does not open itself (e.g. the INT8 quantizer's
  calibration sessions); seedge's own runners already log errors only.

Only these are filtered, by their source and text: every other warning still shows.
"""

from __future__ import annotations

import logging
import re

# logger name -> messages (regex, matched at the start) that are dropped
NOISE = {
    "torch.utils.cpp_extension": (re.compile(r"No CUDA runtime is found"),),
}
# Commands that open ONNX Runtime sessions seedge does not configure itself.
ORT_COMMANDS = {"export", "verify", "bench", "quantize-report", "predict"}


class _DropNoise(logging.Filter):
    def __init__(self, patterns):
        super().__init__()
        self.patterns = patterns

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(p.match(text) for p in self.patterns)


def quiet_third_party(command: str | None) -> None:
    """Install the filters for `command` (the subcommand about to run)."""
    for name, patterns in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise(patterns))
    if command in ORT_COMMANDS:
        try:
            import onnxruntime
        except ImportError:
            return
        onnxruntime.set_default_logger_severity(3)  # errors only, for sessions opened by other libraries
