"""Checkpoint loading: safe formats, wrappers, prefixes, naming schemes, and clear refusals."""

from __future__ import annotations

import collections

import pytest
import torch
from click.testing import CliRunner

from seedge.checkpoint import load_model, read_state_dict, save_checkpoint
from seedge.cli import cli, main
from seedge.errors import SeedgeError
from seedge.models import create_model


def _logits(model, x):
    with torch.no_grad():
        return model.eval()(x)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("se_resnet10_cifar_tiny", num_classes=4).eval()


X = torch.randn(2, 3, 32, 32)


def test_seedge_checkpoint_round_trip(tmp_path, tiny):
    weights = save_checkpoint(tiny, tmp_path / "run" / "model", class_names=["a", "b", "c", "d"])
    assert weights.name == "model.safetensors" and (tmp_path / "run" / "model.json").is_file()
    model, info = load_model(tmp_path / "run")  # a run directory resolves to its model.safetensors
    assert info["arch"] == "se_resnet10_cifar_tiny" and info["class_names"] == ["a", "b", "c", "d"]
    assert info["preprocess"].input_size == (3, 32, 32)
    torch.testing.assert_close(_logits(model, X), _logits(tiny, X), rtol=0, atol=0)


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "model", "dataparallel", "nested"])
def test_wrapped_and_prefixed_state_dicts_load(tmp_path, tiny, wrap):
    sd = tiny.state_dict()
    obj = {
        "plain": sd,
        "state_dict": {"state_dict": sd, "epoch": 3},
        "model": {"model": sd, "optimizer": {}},
        "dataparallel": collections.OrderedDict((f"module.{k}", v) for k, v in sd.items()),
        "nested": {"model": {"state_dict": {f"module.{k}": v for k, v in sd.items()}}},
    }[wrap]
    path = tmp_path / "ckpt.pth"
    torch.save(obj, path)
    model, info = load_model(path, arch="se_resnet10_cifar_tiny")
    assert info["num_classes"] == 4  # read from the checkpoint's classifier
    torch.testing.assert_close(_logits(model, X), _logits(tiny, X), rtol=0, atol=0)


def test_linear_se_weights_are_remapped_to_1x1_convs(tmp_path, tiny):
    sd = {}
    for k, v in tiny.state_dict().items():
        k = k.replace(".se.fc1.", ".se.fc.0.").replace(".se.fc2.", ".se.fc.2.")
        sd[k] = v.flatten(1) if (".se.fc." in k and v.dim() == 4) else v
    path = tmp_path / "linear_se.pt"
    torch.save(sd, path)
    model, _ = load_model(path, arch="se_resnet10_cifar_tiny")
    torch.testing.assert_close(_logits(model, X), _logits(tiny, X), rtol=0, atol=0)


def test_torchvision_state_dict_infers_classes(tmp_path):
    import torchvision

    tv = torchvision.models.mobilenet_v3_small(weights=None, num_classes=5).eval()
    path = tmp_path / "mnv3.pth"
    torch.save(tv.state_dict(), path)
    model, info = load_model(path, arch="mobilenet_v3_small")
    assert info["num_classes"] == 5
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(_logits(model, x), _logits(tv, x), rtol=0, atol=0)


def test_legacy_timm_seresnext_file_loads(tmp_path):
    timm = pytest.importorskip("timm")
    ref = timm.create_model("legacy_seresnext50_32x4d", pretrained=False, num_classes=3).eval()
    path = tmp_path / "seresnext.safetensors"
    from safetensors.torch import save_file

    save_file(ref.state_dict(), str(path))
    model, info = load_model(path, arch="se_resnext50_32x4d")
    assert info["num_classes"] == 3
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(_logits(model, x), _logits(ref, x), rtol=0, atol=1e-5)


class NotAStateDict:  # pickling this needs code from this module: weights_only=True refuses it
    def __init__(self):
        self.weights = torch.zeros(2)


def test_arbitrary_pickle_is_refused_unless_asked(tmp_path, tiny):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": tiny.state_dict(), "extra": NotAStateDict()}, path)
    with pytest.raises(SeedgeError, match="arbitrary code.*--unsafe-pickle"):
        read_state_dict(path)
    sd = read_state_dict(path, allow_pickle=True)  # only with the explicit flag
    assert "fc.weight" in sd


def _bad_cases(tmp_path, tiny):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint at all" * 10)
    bad_st = tmp_path / "broken.safetensors"
    bad_st.write_bytes(b"\xff" * 64)
    bare = tmp_path / "bare.pt"
    torch.save(tiny.state_dict(), bare)
    evil = tmp_path / "evil.pt"
    torch.save({"obj": NotAStateDict()}, evil)
    partial = tmp_path / "partial.pt"
    torch.save({k: v for k, v in tiny.state_dict().items() if not k.startswith("layer4")}, partial)
    return {
        "missing file": ([str(tmp_path / "nope.pt"), "--model", "se_resnet18"], "not found"),
        "garbage": ([str(garbage), "--model", "se_resnet18"], "cannot read checkpoint"),
        "broken safetensors": ([str(bad_st), "--model", "se_resnet18"], "not a readable safetensors"),
        "bare without --model": ([str(bare)], "pass --model"),
        "arbitrary pickle": ([str(evil), "--model", "se_resnet18"], "arbitrary code"),
        "wrong num_classes": ([str(bare), "--model", "se_resnet10_cifar_tiny", "--num-classes", "10"],
                              "classifier layer 'fc' has 4 outputs in the checkpoint but the model was "
                              "built for 10 classes"),
        "wrong arch": ([str(bare), "--model", "se_resnet18"], "shape mismatch"),
        "missing keys": ([str(partial), "--model", "se_resnet10_cifar_tiny"], "missing keys"),
        "unknown arch": ([str(bare), "--model", "se_resnet9000"], "unknown model"),
    }


def test_bad_checkpoints_exit_2_with_one_line(tmp_path, tiny, capsys):
    for case, (args, needle) in _bad_cases(tmp_path, tiny).items():
        with pytest.raises(SystemExit) as exit_info:
            main(["inspect", *args])
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2, case
        assert len(err.splitlines()) == 1, (case, err)
        assert needle in err, (case, err)
        assert "Traceback" not in err


def test_inspect_summarizes(tmp_path, tiny):
    save_checkpoint(tiny, tmp_path / "model", class_names=list("wxyz"))
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path / "model.safetensors"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"arch": "se_resnet10_cifar_tiny"' in result.output and '"se_blocks": 4' in result.output


# --- checkpoints from elsewhere: bias-less SE, --key-map, the closest layout, class names -------------

def _senet_style(tiny) -> dict:
    """`tiny`'s weights as senet.pytorch writes SE: se.fc.0 / se.fc.2 Linear weights, no biases."""
    sd = {}
    for k, v in tiny.state_dict().items():
        if ".se.fc1.bias" in k or ".se.fc2.bias" in k:
            continue
        k = k.replace(".se.fc1.", ".se.fc.0.").replace(".se.fc2.", ".se.fc.2.")
        sd[k] = v.flatten(1) if ".se.fc." in k else v
    return sd


@pytest.fixture(scope="module")
def biasless(tiny):
    """`tiny` with zero SE biases: what a bias-less SE computes."""
    import copy

    model = copy.deepcopy(tiny)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".se.fc1.bias" in name or ".se.fc2.bias" in name:
                p.zero_()
    return model


def test_bias_less_se_loads_with_zero_biases_and_says_so_once(tmp_path, tiny, biasless, capsys):
    path = tmp_path / "senet.pth"
    torch.save(_senet_style(tiny), path)
    model, _ = load_model(path, arch="se_resnet10_cifar_tiny")
    torch.testing.assert_close(_logits(model, X), _logits(biasless, X), rtol=0, atol=0)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "4 SE blocks have no biases" in err[0] and "zero" in err[0]


def test_key_map_renames_and_a_missing_key_error_suggests_one(tmp_path, tiny, biasless, capsys):
    sd = {k.replace("layer", "stage"): v for k, v in _senet_style(tiny).items()}
    path = tmp_path / "renamed.pth"
    torch.save(sd, path)
    with pytest.raises(SeedgeError) as exc:
        load_model(path, arch="se_resnet10_cifar_tiny")
    msg = str(exc.value)
    assert "missing keys" in msg and "closest known layout: senet.pytorch" in msg
    assert "a key map that fits: --key-map '(^|\\.)stage(\\d+)\\.=\\g<1>layer\\g<2>.'" in msg
    # The suggested rule, given back, loads the checkpoint exactly.
    model, _ = load_model(path, arch="se_resnet10_cifar_tiny", key_map=[r"(^|\.)stage(\d+)\.=\g<1>layer\g<2>."])
    torch.testing.assert_close(_logits(model, X), _logits(biasless, X), rtol=0, atol=0)
    # Through the CLI, repeatable, like any other option.
    code = CliRunner().invoke(cli, ["inspect", str(path), "--model", "se_resnet10_cifar_tiny", "--key-map",
                                    r"^stage=layer", "--json"]).exit_code
    assert code == 0


def test_pretrainedmodels_layout_gets_a_key_map_with_its_head_renamed(tmp_path, tiny):
    sd = {}
    for k, v in tiny.state_dict().items():
        k = "layer0." + k if k.startswith(("conv1.", "bn1.")) else k
        sd[k.replace(".se.", ".se_module.").replace("fc.", "last_linear.", 1) if k.startswith("fc.")
           else k.replace(".se.", ".se_module.")] = v
    path = tmp_path / "cadene.pth"
    torch.save(sd, path)
    with pytest.raises(SeedgeError) as exc:
        load_model(path, arch="se_resnet10_cifar_tiny")
    msg = str(exc.value)
    assert "closest known layout: pretrainedmodels" in msg
    import re

    rules = re.findall(r"--key-map '([^']*)'", msg)
    assert rules, msg
    model, info = load_model(path, arch="se_resnet10_cifar_tiny", key_map=rules)
    assert info["num_classes"] == 4  # the renamed head's size, read before the key map was known
    torch.testing.assert_close(_logits(model, X), _logits(tiny, X), rtol=0, atol=0)


def test_a_checkpoint_of_another_network_gets_no_false_key_map(tmp_path):
    torch.manual_seed(0)
    other = create_model("se_resnet18", num_classes=4)
    path = tmp_path / "other.pth"
    torch.save({k: v for k, v in other.state_dict().items() if not k.startswith("layer4")}, path)
    with pytest.raises(SeedgeError, match="no renaming makes it fit.*--model-file"):
        load_model(path, arch="se_resnet18")


@pytest.mark.parametrize("rule,needle", [
    ("no-equals-sign", "give REGEX=REPLACEMENT"),
    ("(unclosed=x", "not a regular expression"),
    ("^nothing_matches=x", "renames no key"),
    ("^(layer)1=\\2", "bad replacement"),
    ("^layer\\d+=same", "renames both"),
])
def test_bad_key_maps_are_one_line(tmp_path, tiny, rule, needle):
    path = tmp_path / "tiny.pth"
    torch.save(tiny.state_dict(), path)
    with pytest.raises(SeedgeError, match=needle.replace("(", r"\(")):
        load_model(path, arch="se_resnet10_cifar_tiny", key_map=[rule])


def test_class_names_for_bare_checkpoints(tmp_path, tiny):
    path = tmp_path / "tiny.pth"
    torch.save(tiny.state_dict(), path)
    _, info = load_model(path, arch="se_resnet10_cifar_tiny", class_names="cat,dog,fox,owl")
    assert info["class_names"] == ["cat", "dog", "fox", "owl"]
    names = tmp_path / "classes.txt"
    names.write_text("cat\ndog\n\nfox\nowl\n")
    _, info = load_model(path, arch="se_resnet10_cifar_tiny", class_names=str(names))
    assert info["class_names"] == ["cat", "dog", "fox", "owl"]
    with pytest.raises(SeedgeError, match="gives 3 names but .* has 4 outputs"):
        load_model(path, arch="se_resnet10_cifar_tiny", class_names="a,b,c")
    with pytest.raises(SeedgeError, match="'a' appears twice"):
        load_model(path, arch="se_resnet10_cifar_tiny", class_names="a,b,a,c")
    save_checkpoint(tiny, tmp_path / "run" / "model", class_names=list("wxyz"))
    with pytest.raises(SeedgeError, match="differs from the names"):
        load_model(tmp_path / "run", class_names="a,b,c,d")
