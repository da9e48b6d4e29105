"""Every artifact's parity record keeps the complete gates it was judged by at export, and
`seedge verify` and Model.self_test() re-judge it by exactly those (seedge.verify.parity.
recorded_thresholds); an older manifest falls back and says so; a malformed record is one line
(the contract's, seedge.contract.manifest, when the manifest is read).

On two real exports with non-default gates (tests/_threshold_fixtures.py): a random-weights one
(fp16 gated on cosine, no agreement gate) and a --max-drop one (int8 gated on the drop).
"""

from __future__ import annotations

import json

import pytest
from _threshold_fixtures import MAX_DROP, MAX_DROP_AGREEMENT, copy_of, max_drop_export, random_weights_export

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.runtime import Model
from seedge.verify.parity import THRESHOLD_KEYS, thresholds_for

COSINE_GATE = {"min_agreement": None, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": None,
               "min_cosine": 0.99}


@pytest.fixture(scope="module")
def random_folder():
    return random_weights_export()


def _manifest(folder) -> dict:
    return json.loads((folder / artifacts.MANIFEST).read_text())


def _rewrite(folder, change) -> None:
    manifest = _manifest(folder)
    change(manifest)
    (folder / artifacts.MANIFEST).write_text(json.dumps(manifest))


def test_each_artifact_records_the_complete_gates_it_was_judged_by(random_folder):
    manifest = _manifest(random_folder)
    gates = {a["id"]: a["parity"]["thresholds"] for a in manifest["artifacts"]}
    assert gates == {"onnx-fp32": thresholds_for("fp32"), "openvino-fp32": thresholds_for("fp32"),
                     "onnx-fp16": COSINE_GATE, "openvino-fp16": COSINE_GATE}
    assert all(list(g) == list(THRESHOLD_KEYS) for g in gates.values())
    # One place: no manifest-level copy, and no note of where they came from at export.
    assert "thresholds" not in manifest["verification"]
    assert all("thresholds_source" not in a["parity"] for a in manifest["artifacts"])


@pytest.mark.parametrize("artifact", ["onnx-fp16", "openvino-fp16", "onnx-fp32"])
def test_self_test_and_describe_use_exactly_the_recorded_gates(random_folder, artifact):
    recorded = next(a for a in _manifest(random_folder)["artifacts"] if a["id"] == artifact)["parity"]["thresholds"]
    with Model.open(random_folder, artifact=artifact, threads=1) as m:
        st, desc = m.self_test(), m.describe()
    assert st["thresholds"] == recorded and st["thresholds_source"] == "recorded" and st["passed"], st
    assert desc["thresholds"] == recorded and desc["thresholds_source"] == "recorded"


def test_verify_rejudges_by_the_recorded_gates_and_only_those(random_folder, tmp_path):
    from seedge.verify import verify_artifacts

    folder = copy_of(random_folder, tmp_path / "copy")
    # A gate no output can meet, recorded for one artifact: verify and the self-test both fail it
    # on that gate, so they read the record (and not a default or another artifact's gate).
    _rewrite(folder, lambda m: m["artifacts"][1]["parity"]["thresholds"].update(min_cosine=1.5))
    manifest = artifacts.read_manifest(folder)
    rows = {r["id"]: r for r in verify_artifacts(folder, manifest, threads=1)["artifacts"]}
    for art in manifest["artifacts"]:
        row = rows[art["id"]]
        assert row["thresholds"] == art["parity"]["thresholds"] and row["thresholds_source"] == "recorded"
    bad = manifest["artifacts"][1]["id"]
    assert [i for i, r in rows.items() if not r["passed"]] == [bad]
    assert rows[bad]["reason"].startswith("cosine ") and "< 1.500000" in rows[bad]["reason"]
    with Model.open(folder, artifact=bad, threads=1) as m:
        st = m.self_test()
    assert not st["passed"] and st["reason"] == rows[bad]["reason"].split("; ran in")[0]


def test_explicit_overrides_apply_on_top_and_are_said(random_folder):
    from seedge.verify import verify_artifacts

    with Model.open(random_folder, artifact="onnx-fp16", threads=1) as m:
        st = m.self_test(atol=0.5)
    assert st["thresholds"] == {**COSINE_GATE, "max_abs_diff": 0.5}
    assert st["thresholds_source"] == "recorded + override max_abs_diff"
    manifest = artifacts.read_manifest(random_folder)
    rows = verify_artifacts(random_folder, manifest, artifacts=["onnx-fp16"], threads=1,
                            thresholds={"fp16": {"min_cosine": 0.5}})["artifacts"]
    assert rows[0]["thresholds"] == {**COSINE_GATE, "min_cosine": 0.5}
    assert rows[0]["thresholds_source"] == "recorded + override min_cosine"


def test_an_older_manifest_falls_back_and_says_so(random_folder, tmp_path):
    folder = copy_of(random_folder, tmp_path / "old")

    def manifest_level(m):  # an export before per-artifact gates: non-default ones at manifest level
        for a in m["artifacts"]:
            del a["parity"]["thresholds"]
        m["verification"]["thresholds"] = {"fp16": {"min_agreement": None, "min_cosine": 0.99}}

    _rewrite(folder, manifest_level)
    _verify_text_says(folder, "thresholds: manifest (older export) for onnx-fp16, openvino-fp16",
                      "thresholds: default (older export) for onnx-fp32, openvino-fp32")
    for artifact, want, source in (("onnx-fp16", COSINE_GATE, "manifest (older export)"),
                                   ("onnx-fp32", thresholds_for("fp32"), "default (older export)")):
        with Model.open(folder, artifact=artifact, threads=1) as m:
            st = m.self_test()
            assert m.describe()["thresholds_source"] == source
        assert st["thresholds"] == want and st["thresholds_source"] == source and st["passed"]
    _rewrite(folder, lambda m: m["verification"].pop("thresholds"))
    with Model.open(folder, artifact="onnx-fp16", threads=1) as m:
        st = m.self_test()
    assert st["thresholds"] == thresholds_for("fp16") and st["thresholds_source"] == "default (older export)"


def _verify_text_says(folder, *lines) -> None:
    """`seedge verify`'s text output names the gates that were not recorded with the artifacts."""
    from click.testing import CliRunner

    from seedge.cli import cli

    result = CliRunner().invoke(cli, ["verify", str(folder)])
    assert result.exit_code == 0, result.output
    for line in lines:
        assert line in result.output, result.output


_FIELD = "manifest.json: field 'artifacts[1].parity.thresholds"


@pytest.mark.parametrize("recorded, needle", [
    ([0.99], _FIELD + "' must be an object of parity thresholds (min_agreement, "),
    ({**COSINE_GATE, "min_cosin": 0.9}, _FIELD + "' holds 'min_cosin', not a parity threshold (known: "),
    ({k: v for k, v in COSINE_GATE.items() if k != "max_rel_diff"},
     _FIELD + "' lacks 'max_rel_diff' (the recorded gates name every threshold"),
    ({**COSINE_GATE, "min_cosine": "0.99"}, _FIELD + ".min_cosine' must be a finite number or null"),
    ({**COSINE_GATE, "min_cosine": True}, _FIELD + ".min_cosine' must be a finite number or null"),
    ({**COSINE_GATE, "min_cosine": float("nan")}, _FIELD + ".min_cosine' must be a finite number or null"),
    (None, _FIELD + "' must be an object of parity thresholds"),
])
def test_a_malformed_record_is_one_line_naming_the_field(random_folder, tmp_path, recorded, needle):
    """The contract (seedge.contract.manifest) checks the record when the manifest is read, so
    verify, bench and the runtime refuse it before any work, in the same line."""
    folder = copy_of(random_folder, tmp_path / "bad")
    _rewrite(folder, lambda m: m["artifacts"][1]["parity"].update(thresholds=recorded))
    assert _manifest(folder)["artifacts"][1]["id"] == "onnx-fp16"
    with pytest.raises(SeedgeError) as e:
        artifacts.read_manifest(folder)
    assert needle in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(SeedgeError) as opened:
        Model.open(folder, artifact="onnx-fp32", threads=1)
    assert str(opened.value) == str(e.value)


@pytest.mark.parametrize("old, needle", [
    ([], "field 'verification.thresholds' must be an object of precisions"),
    ({"fp16": [0.99]}, "field 'verification.thresholds.fp16' must be an object of parity thresholds"),
    ({"fp16": {"min_cosin": 0.9}}, "field 'verification.thresholds.fp16' holds 'min_cosin', not a parity threshold"),
    ({"fp16": {"min_cosine": "high"}}, "field 'verification.thresholds.fp16.min_cosine' must be a finite number"),
])
def test_a_malformed_older_manifest_level_record_is_one_line(random_folder, tmp_path, old, needle):
    folder = copy_of(random_folder, tmp_path / "old")
    _rewrite(folder, lambda m: m["verification"].update(thresholds=old))
    with pytest.raises(SeedgeError, match="re-run `seedge export`$") as e:
        artifacts.read_manifest(folder)
    assert needle in str(e.value)


def test_verify_cli_refuses_a_malformed_record_with_exit_2(random_folder, tmp_path, capsys):
    from seedge.cli import main

    folder = copy_of(random_folder, tmp_path / "bad")
    _rewrite(folder, lambda m: m["artifacts"][0]["parity"]["thresholds"].update(min_agreement="all"))
    with pytest.raises(SystemExit) as e:
        main(["verify", str(folder), "--json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1
    assert "field 'artifacts[0].parity.thresholds.min_agreement' must be a finite number or null" in err[0]


@pytest.mark.slow  # an export with calibration and the --max-drop search
def test_a_max_drop_export_self_tests_with_the_drop_it_recorded():
    folder = max_drop_export()
    int8 = next(a for a in _manifest(folder)["artifacts"] if a["id"] == "onnx-int8")
    want = {**thresholds_for("int8"), "min_agreement": MAX_DROP_AGREEMENT, "max_accuracy_drop": MAX_DROP}
    assert int8["parity"]["thresholds"] == want
    with Model.open(folder, artifact="onnx-int8", threads=1) as m:
        st = m.self_test()
    assert st["thresholds"] == want and st["thresholds_source"] == "recorded" and st["passed"], st
