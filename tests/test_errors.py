"""One wording for a value outside a fixed set (seedge.errors.unknown), used by every site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seedge.backends.cpu_features import resolve_int8_cpu
from seedge.backends.table import backend
from seedge.data.transforms import resolve_augment
from seedge.errors import SeedgeError, unknown

SEEDGE = Path(__file__).resolve().parents[1] / "seedge"


def test_unknown_names_the_value_and_every_choice():
    e = unknown("INT8 policy", "fast", ("se-aware", "all"))
    assert isinstance(e, SeedgeError) and str(e) == "unknown INT8 policy 'fast'; choose from se-aware, all"


@pytest.mark.parametrize("call, text", [
    (lambda: resolve_int8_cpu("avx2"), "unknown --int8-cpu 'avx2'; choose from auto, portable, vnni"),
    (lambda: backend("tflite"), "unknown backend 'tflite'; choose from "),
    (lambda: resolve_augment("blur", None), "unknown augmentation 'blur'; choose from "),
])
def test_the_sites_say_it_in_the_one_wording(call, text):
    with pytest.raises(SeedgeError) as e:
        call()
    assert str(e.value).startswith(text)


def test_no_site_writes_the_wording_itself():
    found = [f"{p.relative_to(SEEDGE.parent)}:{i}" for p in sorted(SEEDGE.rglob("*.py")) if p.name != "errors.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"choose from", line)]
    assert found == []
