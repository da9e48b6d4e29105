"""The export folder's contract, written once: manifest.json (seedge.contract.manifest) and
bench.json (seedge.contract.bench) as typed field rules with each field's meaning, in the
vocabulary of seedge.contract.rules.

Python checks documents with seedge.contract.check; the C++ runtime checks them with the same
rules, compiled into the header seedge.runtime.cpp_contract generates (its CMake build runs the
generator; a committed copy serves builds without Python, and a test fails when it is stale).
Torch-free: the device runtime reads folders through it.
"""

from seedge.contract import bench, manifest
from seedge.contract.check import check, parse

__all__ = ["bench", "check", "manifest", "parse"]
