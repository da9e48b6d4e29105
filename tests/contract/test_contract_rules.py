"""The contract's rules as Python applies them (seedge.contract; the C++ runtime applies the same
rules, tests/contract/test_fuzz_contract.py compares the two): the cases the C++ and Python readers
used to disagree on are refused in one line naming the file and the field, and valid documents
written the way seedge writes them are accepted."""

from __future__ import annotations

import json

import pytest
from _contract_documents import base_bench, base_manifest

from seedge.artifacts import check_manifest, read_manifest
from seedge.bench_record import read_record
from seedge.contract import bench, manifest
from seedge.contract.rules import KINDS, RELATIONS
from seedge.errors import SeedgeError


def _write(folder, name: str, text: str | bytes) -> None:
    (folder / name).write_bytes(text.encode() if isinstance(text, str) else text)


def test_the_base_documents_are_valid(tmp_path):
    _write(tmp_path, "manifest.json", json.dumps(base_manifest()))
    _write(tmp_path, "bench.json", json.dumps(base_bench()))
    assert read_manifest(tmp_path)["name"] == "fuzz"
    assert read_record(tmp_path)["schema"] == 1


@pytest.mark.parametrize("literal", ["3.0", "3e0", "0.3e1", "true"])
def test_an_integer_written_as_a_float_or_boolean_is_not_an_integer(tmp_path, literal):
    text = json.dumps(base_manifest()).replace('"num_classes": 3', f'"num_classes": {literal}')
    _write(tmp_path, "manifest.json", text)
    with pytest.raises(SeedgeError, match=r"manifest\.json: field 'model\.num_classes' must be a positive integer; "
                                          r"re-run `seedge export`$"):
        read_manifest(tmp_path)


@pytest.mark.parametrize("raw, words", [
    (b'"fp\xff32"', "not JSON"),        # an invalid byte
    (b'"\xed\xa0\x80"', "not JSON"),  # a surrogate encoded in UTF-8
    (b'"\xc0\xaf"', "not JSON"),       # an overlong form
    (b'"\\ud800"', "lone surrogate"),  # a lone surrogate escape
])
def test_a_string_that_is_not_valid_utf8_is_refused(tmp_path, raw, words):
    _write(tmp_path, "manifest.json", json.dumps(base_manifest()).encode().replace(b'"fuzz"', raw))
    with pytest.raises(SeedgeError, match=words):
        read_manifest(tmp_path)


def test_nesting_beyond_the_contract_bound_is_refused_anywhere(tmp_path):
    m = base_manifest()
    m["tools"] = json.loads("[" * 257 + "]" * 257)
    _write(tmp_path, "manifest.json", json.dumps(m))
    with pytest.raises(SeedgeError, match="nested deeper than 256 levels"):
        read_manifest(tmp_path)
    m["tools"] = json.loads("[" * 256 + "]" * 256)  # the innermost list at depth 256: within the bound
    _write(tmp_path, "manifest.json", json.dumps(m))
    read_manifest(tmp_path)


@pytest.mark.parametrize("change, words", [
    (lambda m: m["artifacts"][1]["parity"].update(passed=0), "'artifacts[1].parity.passed' must be true or false"),
    (lambda m: m["artifacts"][1]["parity"].update(passed=None), "'artifacts[1].parity.passed' must be true or false"),
    (lambda m: m["artifacts"][1]["parity"].update(passed="false"), "'artifacts[1].parity.passed'"),
    (lambda m: m["reference"]["raw"]["labels"].update(shape=[]), "'reference.raw.labels.shape' must be a list of"),
    (lambda m: m["reference"]["raw"]["input"].update(dtype="float64"),
     "'reference.raw.input.dtype' is 'float64', this runtime reads 'float32'"),
    (lambda m: m["reference"]["raw"]["logits"].pop("file"), "'reference.raw.logits.file' is missing"),
    (lambda m: m["preprocessing"].update(scale="x"), "'preprocessing.scale' must be a number"),
    (lambda m: m["preprocessing"].update(resize=[8]), "'preprocessing.resize' must be null or [H, W]"),
    (lambda m: m["preprocessing"].update(mean=[0.5, 0.5]), "'preprocessing.mean' must be a list of at least 3"),
    (lambda m: m["artifacts"][6]["input"].pop("color_order"), "'artifacts[6].input.color_order' is missing"),
    (lambda m: m["artifacts"][6]["input"].update(layout="NCHW"), "'artifacts[6].input.layout' must be NHWC"),
    (lambda m: m["artifacts"][6]["output"].update(softmax=1), "'artifacts[6].output.softmax' must be true or false"),
    (lambda m: m["artifacts"][0]["build"].update(max_batch=8.0), "'artifacts[0].build.max_batch'"),
    (lambda m: m.update(schema_version=1.0), "manifest schema version 1.0 is not 1"),
    (lambda m: m["artifacts"][1]["parity"].update(thresholds={"min_agreement": 0.9}),
     "'artifacts[1].parity.thresholds' lacks 'max_abs_diff' (the recorded gates name every threshold"),
    (lambda m: m["artifacts"][1]["parity"].update(thresholds={"min_cosine": "x", "y": 1}),
     "'artifacts[1].parity.thresholds' holds 'y', not a parity threshold (known: min_agreement, max_abs_diff"),
    (lambda m: m.update(verification={"thresholds": {"int8": {"max_accuracy_drop": True}}}),
     "'verification.thresholds.int8.max_accuracy_drop' must be a finite number or null"),
    (lambda m: m.update(verification={"thresholds": {"int8": None}}),
     "'verification.thresholds.int8' must be an object of parity thresholds"),
])
def test_fields_a_runtime_reads_are_checked(change, words):
    m = base_manifest()
    change(m)
    with pytest.raises(SeedgeError) as e:
        check_manifest(m, "x/manifest.json")
    assert str(e.value).startswith("x/manifest.json: ") and words in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("change, words", [
    (lambda b: b["devices"]["cpu"]["slow"].update({"openvino-int8": "slow"}),
     "devices.cpu.slow must map artifact ids to lists of reasons ('openvino-int8' is \"slow\")"),
    (lambda b: b["devices"]["cpu"]["slow"].update({"openvino-int8": [1]}), "devices.cpu.slow must map"),
    (lambda b: b.update(schema=True), "not a seedge bench record"),
    (lambda b: b.update(schema=1.0), "not a seedge bench record"),
    (lambda b: b["devices"]["cpu"].update(contended=None), "devices.cpu.contended must be true or false"),
    (lambda b: b["devices"]["cpu"]["p50_ms"].update({"x": {"01": 1.0}}), "('x' has batch '01', not a positive"),
    (lambda b: b["devices"]["cpu"]["p50_ms"].update({"x": {"1": 0}}), "('x' at batch 1 is 0)"),
])
def test_bench_records_are_checked_by_the_contract(tmp_path, change, words):
    b = base_bench()
    change(b)
    _write(tmp_path, "bench.json", json.dumps(b))
    with pytest.raises(SeedgeError) as e:
        read_record(tmp_path)
    assert words in str(e.value) and str(e.value).endswith("; delete it or run `seedge bench` again")


def test_a_bench_record_in_utf16_is_refused(tmp_path):
    _write(tmp_path, "bench.json", json.dumps(base_bench()).encode("utf-16"))
    with pytest.raises(SeedgeError, match="bench.json: not valid JSON"):
        read_record(tmp_path)


def test_every_rule_names_a_known_kind_and_says_what_the_field_means():
    for doc in (manifest.DOCUMENT, bench.DOCUMENT):
        for rule in doc.rules:
            assert rule.kind in KINDS or rule.kind in RELATIONS
            assert rule.meaning.strip(), rule.path
            if rule.kind in ("known_keys", "all_keys"):  # relations to their own key list
                assert rule.one_of and not rule.other, rule.path
            elif rule.kind in RELATIONS and rule.kind != "no_zero" and rule.kind != "unique":
                assert rule.other, rule.path


def test_a_bench_record_linked_from_outside_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(base_bench()))
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "bench.json").symlink_to(outside)
    with pytest.raises(SeedgeError, match="outside the export folder"):
        read_record(folder)
