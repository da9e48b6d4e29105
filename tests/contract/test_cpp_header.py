"""The C++ runtime's contract header is generated, never written by hand: the copy committed for
builds without Python (seedge/runtime/cpp/src/generated/seedge_contract.hpp) must be what the
generator writes from today's seedge/contract, backend table and parity thresholds."""

from __future__ import annotations

import subprocess
import sys

from seedge.backends.table import RUNTIME_PREFERENCE
from seedge.contract import bench, manifest
from seedge.runtime.cpp_contract import COMMITTED, header
from seedge.verify.parity import DEFAULT_THRESHOLDS


def test_the_committed_header_is_current():
    assert COMMITTED.read_text() == header(), (
        "the committed C++ contract header is stale: run "
        "`python -m seedge.runtime.cpp_contract seedge/runtime/cpp/src/generated/seedge_contract.hpp`")


def test_the_header_carries_every_rule_and_shared_constant():
    text = header()
    for doc in (manifest.DOCUMENT, bench.DOCUMENT):
        for rule in doc.rules:
            assert f'{{"{rule.path}", ' in text
        assert f"{doc.max_bytes}u" in text
    for family, pairs in RUNTIME_PREFERENCE.items():
        for backend, precision in pairs:
            assert f'{{"{family}", "{backend}", "{precision}"}}' in text
    for precision, gates in DEFAULT_THRESHOLDS.items():
        for name, value in gates.items():
            assert f'{{"{precision}", "{name}", {str(value is not None).lower()}, ' in text


def test_the_generator_writes_the_file_it_is_given(tmp_path):
    out = tmp_path / "h" / "seedge_contract.hpp"
    proc = subprocess.run([sys.executable, "-m", "seedge.runtime.cpp_contract", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == header()
