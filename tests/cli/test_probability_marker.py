"""With --embed-softmax the `-raw` artifacts are compared on probabilities, not logits: the verify
and export tables say so where max |diff| and SQNR are shown (issue 23 item 10)."""

from __future__ import annotations

import io

import pytest
import torch

from seedge.artifacts import read_manifest
from seedge.checkpoint import save_checkpoint
from seedge.cli.render import PROBABILITY_MARK, export_summary_table, verify_table
from seedge.export.options import ExportOptions
from seedge.export.pipeline import export_model
from seedge.models import create_model


def _text(table) -> str:
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=250).print(table)
    return buf.getvalue()


@pytest.fixture(scope="module")
def softmax_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("softmax")
    torch.manual_seed(0)
    ckpt = save_checkpoint(create_model("se_resnet10_cifar_tiny", num_classes=10).eval(), root / "ckpt" / "tiny")
    return export_model(ckpt, ExportOptions(formats=("onnx",), precisions=("fp32",), embed_preprocess="rgb",
                                            embed_softmax=True, out=root / "out", count_nodes=False, pt2=False))


def _row_line(text: str, artifact_id: str) -> str:
    return next(line for line in text.splitlines() if f" {artifact_id} " in f" {line} ")


def test_verify_rows_say_what_they_compared_and_the_table_marks_probabilities(softmax_export):
    from seedge.verify import verify_artifacts

    report = verify_artifacts(softmax_export, read_manifest(softmax_export))
    on = {r["id"]: r["compared_on"] for r in report["artifacts"]}
    assert on == {"onnx-fp32": "logits", "onnx-fp32-raw": "probabilities"}
    text = _text(verify_table(report))
    assert PROBABILITY_MARK in _row_line(text, "onnx-fp32-raw")
    assert PROBABILITY_MARK not in _row_line(text, "onnx-fp32")
    assert "probabilities" in text  # the caption says what the mark means


def test_export_table_marks_probabilities(softmax_export):
    text = _text(export_summary_table(read_manifest(softmax_export), softmax_export))
    assert PROBABILITY_MARK in _row_line(text, "onnx-fp32-raw")
    assert PROBABILITY_MARK not in _row_line(text, "onnx-fp32")
    assert "probabilities" in text
