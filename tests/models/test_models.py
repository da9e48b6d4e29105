"""Model zoo: every registered model builds, runs, and has the published parameter count."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from seedge.cli import cli
from seedge.errors import SeedgeError
from seedge.models import create_model, get_config, list_models, register_model
from seedge.models.layers import count_params
from seedge.models.registry import ModelConfig

# Parameter counts at 1000 classes: the SE paper (SE-ResNet-50/101/152), pretrainedmodels
# (SE-ResNeXt-50), torchvision's model docs, and the CIFAR seed (SE-ResNet-18 ~11.3M at 10 classes).
PUBLISHED_M = {
    "se_resnet50": 28.09, "se_resnet101": 49.33, "se_resnet152": 66.82,
    "se_resnext50_32x4d": 27.56, "se_resnet18_cifar": 11.3,
    "mobilenet_v3_small": 2.54, "mobilenet_v3_large": 5.48,
    "efficientnet_b0": 5.29, "efficientnet_b1": 7.79, "efficientnet_b2": 9.11, "efficientnet_b3": 12.23,
    "efficientnet_b4": 19.34, "efficientnet_b5": 30.39, "efficientnet_b6": 43.04, "efficientnet_b7": 66.35,
    "efficientnet_v2_s": 21.46, "efficientnet_v2_m": 54.14, "efficientnet_v2_l": 118.52,
    "regnet_y_400mf": 4.34, "regnet_y_800mf": 6.43, "regnet_y_1_6gf": 11.20, "regnet_y_3_2gf": 19.44,
    "regnet_y_8gf": 39.38, "regnet_y_16gf": 83.59, "regnet_y_32gf": 145.05, "regnet_y_128gf": 644.81,
}

EXPECTED = {
    "res_se_net", "se_resnet18", "se_resnet34", "se_resnet50", "se_resnet101", "se_resnet152",
    "se_resnet18_cifar", "se_resnext50_32x4d", "mobilenet_v3_small", "mobilenet_v3_large",
    *(f"efficientnet_b{i}" for i in range(8)), "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
    "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
    "regnet_y_32gf", "regnet_y_128gf",
}


# Building every zoo model takes minutes on the 2-core CI machine (regnet_y_128gf alone ~50 s), so
# the fast default builds one model per family (plus SE-ResNet-50, the SE paper's reference count)
# and the rest are marked slow; `bash .ci/run` builds them all.
DEFAULT_BUILDS = {
    "se_resnet10_cifar_tiny", "se_resnet18", "se_resnet18_cifar", "se_resnet50", "se_resnext50_32x4d",
    "res_se_net", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf",
}


def test_registry_lists_every_issue_model():
    assert EXPECTED <= set(list_models())
    assert DEFAULT_BUILDS <= EXPECTED | {"se_resnet10_cifar_tiny"}  # a misspelt name would drop a family


@pytest.mark.parametrize("name", [n if n in DEFAULT_BUILDS else pytest.param(n, marks=pytest.mark.slow)
                                  for n in sorted(EXPECTED | {"se_resnet10_cifar_tiny"})])
def test_builds_and_runs(name):
    cfg = get_config(name)
    model = create_model(name).eval()  # the registry's default class count (1000 for ImageNet models)
    if name in PUBLISHED_M:
        assert count_params(model) / 1e6 == pytest.approx(PUBLISHED_M[name], rel=0.02), name
    # res_se_net halves the resolution seven times, so it needs at least 128 pixels a side.
    side = 32 if cfg.input_size[1] <= 32 else (128 if name == "res_se_net" else 64)
    with torch.no_grad():
        y = model(torch.randn(2, 3, side, side + 8))
    assert y.shape == (2, cfg.num_classes)
    assert torch.isfinite(y).all()
    assert model.seedge_arch == name


@pytest.mark.parametrize("name", ["se_resnet18", "se_resnext50_32x4d", "res_se_net", "mobilenet_v3_small",
                                  "efficientnet_b0", "regnet_y_400mf"])
def test_num_classes_sets_the_classifier(name):
    model = create_model(name, num_classes=7)
    classifier = model.get_submodule(model.seedge_cfg.classifier)
    assert isinstance(classifier, torch.nn.Linear) and classifier.out_features == 7
    assert model.seedge_cfg.num_classes == 7


def test_res_se_net_matches_seed_layer_table():
    from seedge.models.res_se_net import NormalConvBlock, ResidualSEBlock

    model = create_model("res_se_net", num_classes=3)
    assert get_config("res_se_net").input_size == (3, 245, 457)
    rows = []
    for stage in model.features:
        block, pool, drop = stage
        kind = "residual_se" if isinstance(block, ResidualSEBlock) else "normal"
        assert isinstance(block, (ResidualSEBlock, NormalConvBlock))
        conv = block.conv1[0]
        rows.append((kind, conv.in_channels, block.conv2[0].out_channels, conv.stride[0],
                     hasattr(block, "se"), pool.kernel_size, type(drop).__name__, drop.p))
    assert rows == [
        ("residual_se", 3, 16, 2, True, 2, "Dropout2d", 0.3),
        ("normal", 16, 32, 1, False, 2, "Dropout2d", 0.3),
        ("residual_se", 32, 64, 1, True, 2, "Dropout2d", 0.3),
        ("normal", 64, 128, 1, False, 2, "Dropout2d", 0.4),
        ("residual_se", 128, 256, 1, True, 2, "Dropout2d", 0.4),
        ("normal", 256, 512, 1, False, 2, "Dropout2d", 0.4),
    ]
    head = [type(m).__name__ for m in model.classifier]
    assert head == ["Linear", "LeakyReLU", "Dropout", "Linear"]
    assert (model.classifier[0].in_features, model.classifier[0].out_features) == (512, 256)
    assert model.classifier[2].p == 0.6 and model.classifier[3].out_features == 3
    assert isinstance(model.pool, torch.nn.AdaptiveAvgPool2d)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 245, 457)).shape == (1, 3)


def test_cifar_variant_keeps_resolution():
    model = create_model("se_resnet18_cifar")
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    assert get_config("se_resnet18_cifar").input_size == (3, 32, 32)


def test_se_resnext_uses_pretrainedmodels_names():
    keys = create_model("se_resnext50_32x4d").state_dict().keys()
    for k in ("layer0.conv1.weight", "layer0.bn1.running_mean", "layer1.0.se_module.fc1.weight",
              "layer4.2.se_module.fc2.bias", "layer1.0.downsample.0.weight", "last_linear.weight"):
        assert k in keys


def test_legacy_timm_seresnext_state_dict_gives_same_logits():
    timm = pytest.importorskip("timm")
    ref = timm.create_model("legacy_seresnext50_32x4d", pretrained=False, num_classes=5).eval()
    ours = create_model("se_resnext50_32x4d", num_classes=5).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-5)


def test_timm_seresnet_keys_match():
    timm = pytest.importorskip("timm")
    ref = timm.create_model("seresnet50", pretrained=False, num_classes=5)
    assert set(ref.state_dict()) == set(create_model("se_resnet50", num_classes=5).state_dict())


def test_timm_models_register_lazily():
    pytest.importorskip("timm")
    model = create_model("timm/seresnet18", num_classes=4).eval()
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 4)
    assert "timm/seresnet18" in list_models(include_timm=True)
    # Registered now, but still listed only when asked for: `seedge models` (no --timm) stays the zoo.
    assert not any(n.startswith("timm/") for n in list_models())


def test_timm_model_without_se_is_refused():
    pytest.importorskip("timm")
    import timm

    from seedge.models.timm_zoo import _register_one

    _register_one(timm, "resnet18")
    with pytest.raises(SeedgeError, match="no squeeze-and-excitation"):
        create_model("timm/resnet18")


def test_duplicate_name_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_model("se_resnet50", ModelConfig())(lambda num_classes=1000: None)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(SeedgeError, match="unknown model 'nope'"):
        create_model("nope")


def test_models_cli_json_lists_everything():
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    by_name = {m["name"]: m for m in doc["models"]}
    assert EXPECTED <= set(by_name)
    assert by_name["res_se_net"]["input_size"] == [3, 245, 457]
    assert by_name["se_resnet50"]["mean"] == [0.485, 0.456, 0.406]
    assert by_name["se_resnet18_cifar"]["input_size"] == [3, 32, 32]
