"""`seedge predict DIR IMAGE...`: the runtime's answers on stdout, torch never imported, bad input exit 2.

The folder is the shared hand-built export (tests/_export_fixtures.py); the expected answers come
from seedge.runtime.Model on the same artifact, which the command must only pass through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import export_folder, fresh_copy

from seedge.cli import main
from seedge.runtime import Model

PIL = pytest.importorskip("PIL.Image")
REPO = Path(__file__).resolve().parents[2]

# `python -m seedge predict ...` where any import of torch fails, as on a device install.
BLOCK_TORCH = (
    "import runpy, sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('torch', 'torchvision', 'timm'):\n"
    "            raise ImportError('torch is blocked in this test')\n"
    "sys.meta_path.insert(0, Block())\n"
    "sys.argv = ['seedge'] + sys.argv[1:]\n"
    "runpy.run_module('seedge', run_name='__main__')\n"
)


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(scope="module")
def folder() -> Path:
    return export_folder()


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """Five different RGB images of odd sizes (the runtime resizes and crops them)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    paths = []
    for i in range(5):
        path = root / f"img{i}.png"
        PIL.fromarray(rng.integers(0, 256, (30 + 3 * i, 41, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def expected(folder, images, artifact: str, top_k: int) -> list[list[tuple[str, float]]]:
    with Model.open(folder, artifact=artifact, threads=1) as m:
        return m.classify([str(p) for p in images], top_k=top_k)


@pytest.mark.parametrize("artifact", ["onnx-fp32", "openvino-fp32"])
def test_json_gives_the_runtime_answers(folder, images, artifact, capsys):
    code, out, err = run(["predict", folder, *images, "--top-k", 3, "--json", "--artifact", artifact,
                          "--threads", 1], capsys)
    assert code == 0, err
    doc = json.loads(out)  # one document, nothing else on stdout
    assert doc["artifact"] == artifact and doc["precision"] == "fp32" and doc["device"] == "cpu"
    assert [p["image"] for p in doc["predictions"]] == [str(p) for p in images]
    want = expected(folder, images, artifact, 3)
    for pred, top in zip(doc["predictions"], want):
        assert [t["label"] for t in pred["top_k"]] == [name for name, _ in top]
        np.testing.assert_allclose([t["probability"] for t in pred["top_k"]], [p for _, p in top], rtol=0, atol=1e-9)


def test_default_choice_is_the_runtimes_and_text_is_one_line_per_image(folder, images, capsys):
    code, out, err = run(["predict", folder, *images[:2], "--top-k", 2], capsys)
    assert code == 0, err
    with Model.open(folder) as m:
        chosen = m.artifact["id"]
    assert chosen in err  # which artifact ran: on stderr, so stdout stays the answers
    lines = out.strip().splitlines()
    want = expected(folder, images[:2], chosen, 2)
    assert len(lines) == 2
    for line, image, top in zip(lines, images[:2], want):
        path, answers = line.split("\t")
        assert path == str(image)
        assert answers == ", ".join(f"{name} {p:.4f}" for name, p in top)


def test_many_images_run_in_chunks_in_order(folder, images, capsys, monkeypatch):
    import seedge.cli.predict_cmd as predict_cmd

    monkeypatch.setattr(predict_cmd, "_CHUNK", 2)  # 5 images: chunks of 2, 2, 1
    order = [images[i] for i in (4, 0, 3, 1, 2)]
    code, out, err = run(["predict", folder, *order, "--json", "--artifact", "onnx-fp32"], capsys)
    assert code == 0, err
    got = [(p["image"], p["top_k"][0]["label"]) for p in json.loads(out)["predictions"]]
    want = expected(folder, order, "onnx-fp32", 1)
    assert got == [(str(p), top[0][0]) for p, top in zip(order, want)]


def test_top_k_beyond_the_classes_gives_every_class_once(folder, images, capsys):
    code, out, err = run(["predict", folder, images[0], "--top-k", 50, "--json", "--artifact", "onnx-fp32"], capsys)
    assert code == 0, err
    top = json.loads(out)["predictions"][0]["top_k"]
    assert sorted(t["label"] for t in top) == [str(i) for i in range(10)]
    assert abs(sum(t["probability"] for t in top) - 1.0) < 1e-9


def test_runs_where_torch_cannot_be_imported(folder, images):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = ["predict", str(folder), *map(str, images[:3]), "--json", "--top-k", "2", "--artifact", "openvino-fp32",
            "--threads", "1"]
    proc = subprocess.run([sys.executable, "-c", BLOCK_TORCH, *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    want = expected(folder, images[:3], "openvino-fp32", 2)
    assert [[t["label"] for t in p["top_k"]] for p in doc["predictions"]] == [[n for n, _ in top] for top in want]


@pytest.mark.parametrize("argv, needle", [
    (["{folder}", "{missing}"], "image file not found"),
    (["{folder}", "{image}", "--artifact", "nope"], "no artifact 'nope'"),
    (["{empty}", "{image}"], "no manifest.json"),
    (["{folder}", "{image}", "--top-k", "0"], "--top-k"),
])
def test_bad_input_is_one_line_and_exit_2(folder, images, tmp_path, capsys, argv, needle):
    values = {"folder": folder, "image": images[0], "missing": tmp_path / "missing.png", "empty": tmp_path}
    code, out, err = run(["predict"] + [a.format(**values) for a in argv], capsys)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1, err


def test_a_changed_artifact_is_refused_before_it_runs(images, tmp_path, capsys):
    copy = fresh_copy(tmp_path)
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    code, out, err = run(["predict", copy, images[0], "--artifact", "onnx-fp32"], capsys)
    assert code == 2 and out == ""
    assert "sha256 differs" in err
