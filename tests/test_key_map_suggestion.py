"""The suggested --key-map (issue 23 item 8): one rule with groups where a rename pattern explains
every key (not one rule per module, cut off after 8), and the full list on request (inspect --json)."""

from __future__ import annotations

import json

import pytest
import torch

from seedge.checkpoint import load_model
from seedge.checkpoint.layouts import SHOWN_RULES, suggest_key_map
from seedge.cli import main
from seedge.models import create_model

ARCH = "se_resnet10_cifar_tiny"


def _model():
    torch.manual_seed(0)
    return create_model(ARCH, num_classes=10).eval()


def test_a_wrapper_prefix_on_every_key_is_one_rule():
    target = _model().state_dict()
    wrapped = {f"net.{k}": v for k, v in target.items()}  # the model wraps: every key one level deeper
    assert suggest_key_map(dict(target), wrapped) == ["^=net."]


def test_a_renamed_numbered_scheme_is_few_rules_with_groups(tmp_path):
    model = _model()
    target = model.state_dict()
    # layer1.0.conv1.weight <- blk0x1.conv1.weight: one rule with groups, not one per block
    sd = {}
    for k, v in target.items():
        parts = k.split(".")
        if parts[0].startswith("layer") and len(parts) > 2 and parts[1].isdigit():
            k = ".".join([f"blk{parts[1]}x{parts[0][5:]}", *parts[2:]])  # numbers swap places
        sd[k] = v
    rules = suggest_key_map(sd, target)
    assert rules == ["(^|\\.)blk(\\d+)x(\\d+)\\.=\\g<1>layer\\g<3>.\\g<2>."], rules
    path = tmp_path / "renamed.pt"
    torch.save(sd, path)
    loaded, _ = load_model(path, arch=ARCH, key_map=rules)
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_inspect_json_gives_the_whole_key_map(tmp_path, capsys):
    target = _model().state_dict()
    # a scheme no grouped rule explains (every module renamed to a word of its own): one rule per module
    names: dict = {}
    sd = {}
    for k, v in target.items():
        module, param = k.rsplit(".", 1)
        names.setdefault(module, f"m{chr(97 + len(names) // 26)}{chr(97 + len(names) % 26)}")
        sd[f"{names[module]}.{param}"] = v
    path = tmp_path / "renamed.pt"
    torch.save(sd, path)
    with pytest.raises(SystemExit) as exc:
        main(["inspect", str(path), "--model", ARCH, "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and "does not fit" in err
    doc = json.loads(out)
    assert doc["key_map"] == suggest_key_map(sd, target) and "does not fit" in doc["error"]
    assert len(doc["key_map"]) > SHOWN_RULES and "more: `seedge inspect ... --json`" in doc["error"]
    model, _ = load_model(path, arch=ARCH, key_map=doc["key_map"])  # the whole list fits
