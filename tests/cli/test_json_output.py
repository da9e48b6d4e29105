"""Every `--json` command prints through seedge.cli.render.to_json: one JSON document, NaN/Inf as
null (strict JSON), numpy values as Python ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seedge.cli import main
from seedge.cli.render import to_json

CLI = Path(__file__).resolve().parents[2] / "seedge" / "cli"


def test_to_json_is_strict_json():
    text = to_json({"p50": float("nan"), "inf": float("inf"), "n": np.int64(3), "x": np.float32(0.5), "t": (1, 2)})
    assert json.loads(text) == {"p50": None, "inf": None, "n": 3, "x": 0.5, "t": [1, 2]}


def test_no_command_renders_json_itself():
    found = [f"{p.name}:{i}" for p in sorted(CLI.glob("*.py")) if p.name != "render.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if "json.dumps" in line]
    assert found == []


def test_models_json_is_one_document(capsys):
    with pytest.raises(SystemExit) as e:
        main(["models", "--json"])
    assert e.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["models"] and all("name" in m for m in doc["models"])
