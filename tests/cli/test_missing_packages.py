"""A command whose package is missing (a device install: no rich, torch, onnxruntime) says in one line
what to install, never 'internal error' or 'reinstall seedge' (issue 23 item 6)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from _export_fixtures import export_folder

# Run seedge in a child where `hidden` cannot be imported, as in a device install without it.
CHILD = (
    "import sys\n"
    "for name in sys.argv[1].split(','):\n"
    "    sys.modules[name] = None\n"
    "from seedge.cli import main\n"
    "main(sys.argv[2:])\n"
)


def seedge_without(hidden: str, *argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, hidden, *map(str, argv)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
@pytest.mark.parametrize("argv", [["models"], ["verify", "FOLDER"]])
def test_a_toolchain_command_without_rich_names_the_full_install(argv):
    argv = [export_folder() if a == "FOLDER" else a for a in argv]
    proc = seedge_without("rich", *argv)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], proc.stderr
    assert "'rich'" in lines[0] and "pip install" in lines[0]


def test_predict_on_an_onnx_folder_without_onnxruntime_names_it():
    proc = seedge_without("onnxruntime,openvino", "predict", export_folder(), "--artifact", "onnx-fp32",
                          export_folder() / "reference.npz")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "pip install onnxruntime" in lines[0] and "reinstall seedge" not in lines[0]
