"""Every GPU command on a machine without a GPU: one clear line on stderr that says what is missing,
exit 2, and nothing written (issue 16: the GPU side answers clearly where it cannot run)."""

from __future__ import annotations

import numpy as np
import pytest

from _export_fixtures import export_folder


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


pytestmark = pytest.mark.skipif(_cuda(), reason="this machine has a CUDA GPU")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("img") / "digit.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
    return path


# (argv after `seedge`, words the one line must contain). {F}: a real export folder, {I}: an image,
# {O}: an empty output root (exports must refuse before writing into it).
CASES = [
    ("bench {F} --device cuda", ("--device cuda", "no CUDA GPU")),
    ("bench {F} --backend tensorrt", ("tensorrt",)),  # the headline command, on the default cpu
    ("bench {F} --backend tensorrt --device cuda", ("--device cuda", "no CUDA GPU")),
    ("bench {F} --backend torch --device cuda --peers fp16", ("--device cuda", "no CUDA GPU")),
    ("verify {F} --device cuda", ("cuda", "no CUDA device")),
    ("predict {F} {I} --device cuda", ("cuda",)),
    ("export --device cuda --out {O}", ("--device cuda", "no CUDA GPU")),
    ("export --formats inductor --device cuda --out {O}", ("--device cuda", "no CUDA GPU")),
    ("export --formats tensorrt --out {O}", ("tensorrt",)),
]


@pytest.mark.parametrize("argv,words", CASES, ids=[c[0].replace(" ", "_").replace("{", "").replace("}", "")
                                                     for c in CASES])
def test_gpu_command_without_a_gpu_is_one_line_and_exit_2(argv, words, image, tmp_path, capsys):
    from seedge.cli import main

    if "--peers" in argv:
        from seedge.cli import cli

        if not any(p.name == "peers" for p in cli.commands["bench"].params):
            pytest.skip("this seedge's bench has no --peers")
    out_root = tmp_path / "out"
    args = [a.format(F=export_folder(), I=image, O=out_root) for a in argv.split()]
    with pytest.raises(SystemExit) as e:
        main(args)
    _, stderr = capsys.readouterr()
    assert e.value.code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not out_root.exists() or not any(out_root.iterdir())

