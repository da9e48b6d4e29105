"""seedge: Squeeze-and-Excitation classifiers from PyTorch to devices.

The package root stays light (no torch import) so that `seedge --help` and the
torch-free runtime start fast; import submodules for the API.
"""

__version__ = "0.1.0"
