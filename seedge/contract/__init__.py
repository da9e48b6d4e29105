"""The export folder's contract, written once: manifest.json (seedge.contract.manifest) and
bench.json (seedge.contract.bench) as typed field rules with each field's meaning, in the
vocabulary of seedge.contract.rules.

Python checks documents with seedge.contract.check; the C++ runtime checks them with the same
rules, compiled into the header seedge.runtime.cpp_contract generates (its CMake build runs the
generator; a committed copy serves builds without Python, and a test fails when it is stale).
For readers outside seedge, seedge.contract.json_schema writes the rules as JSON Schema
(manifest.schema.json, bench.schema.json beside this file). Not the form the rules are kept in:
JSON Schema cannot tell an integer literal from 10.0, relate two fields, or word seedge's
refusals, and validating with it would add the jsonschema package to the device install.
Torch-free: the device runtime reads folders through it.
"""

from seedge.contract import bench, manifest
from seedge.contract.check import check, parse

__all__ = ["bench", "check", "manifest", "parse"]
