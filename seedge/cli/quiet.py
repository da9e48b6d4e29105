"""Third-party messages that tell a seedge user nothing, hidden unless `seedge -v`.

- torch's C++-extension loader logs "No CUDA runtime is found, using CUDA_HOME=..." on every
  CPU-only machine the first time an exporter touches it;
- ONNX Runtime's C++ logger prints warnings ("Removing initializer ... not used by any node",
  graph-optimizer notes) for sessions seedge does not open itself (e.g. the INT8 quantizer's
  calibration sessions); seedge's own runners already log errors only.

Only these are filtered, by their source and text: every other warning still shows.
"""

from __future__ import annotations

from seedge.errors import drop_log_noise

# Commands that open ONNX Runtime sessions seedge does not configure itself.
ORT_COMMANDS = {"export", "verify", "bench", "quantize-report", "predict"}


def quiet_third_party(command: str | None) -> None:
    """Install the filters for `command` (the subcommand about to run)."""
    drop_log_noise()  # the log lines seedge.errors.LOG_NOISE names (the Python API drops them too)
    if command in ORT_COMMANDS:
        try:
            import onnxruntime
        except ImportError:
            return
        onnxruntime.set_default_logger_severity(3)  # errors only, for sessions opened by other libraries
