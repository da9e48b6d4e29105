"""Python and C++ read the export folder's contract the same way: thousands of mutated
manifest.json / bench.json files (a fixed seed), each read by Python (seedge.artifacts.read_manifest
+ seedge.runtime.model.folder_candidates with backend="openvino") and by the C++ runtime
(read_manifest + candidates on the cpu, all folders through one `seedge_check choices` process),
must be accepted by both with the same artifact order, or refused by both, with the same line where
a contract rule refuses. Python must refuse with a SeedgeError, never another exception.

Mutations: type swaps, integers written 10.0 / 1e1, invalid UTF-8 bytes and lone surrogates,
missing and extra keys, huge numbers, deep nesting, and variants of the fields the runtimes
choose by: parity.passed, bench.json slow, p50_ms, contended, reference.raw, preprocessing, and the
parity gates both judge by (artifacts[].parity.thresholds, the older verification.thresholds).
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
from pathlib import Path

import _cpp_build
import pytest
from _contract_documents import base_bench, base_manifest

from seedge.artifacts import read_manifest
from seedge.errors import SeedgeError
from seedge.runtime.model import folder_candidates

pytestmark = pytest.mark.slow

SEED = 20261207
DOCUMENTS = 3000
_LIT = "@@lit:"  # a string value standing for raw JSON text (or bytes) written in its place
cpp_build = _cpp_build.cpp_build  # the shared session fixture that builds the runtime


# --- mutations --------------------------------------------------------------------------------------

SWAPS = [True, False, None, 0, 1, -1, 3, 2.5, 0.0, "", "x", "uint8", "vnni", [], [1], ["a"], {}, {"a": 1},
         _LIT + "10.0", _LIT + "1e1", _LIT + "3.0", _LIT + "1E0", _LIT + "-0", _LIT + "1" + "0" * 400,
         _LIT + "1e400", _LIT + "-1e400", _LIT + "NaN", _LIT + "Infinity", 2 ** 31, 2 ** 63, 2 ** 64 + 1,
         _LIT + "1" + "0" * 4301, _LIT + "1e-400", _LIT + "5e-324"]
STRINGS = [_LIT + '"fp\\ud800"', _LIT + '"\\udc00x"', _LIT + '"\\ud83d\\ude00"', "caf\u00e9", "a\u0000b",
           _LIT + "b:\"a\xffb\"", _LIT + "b:\"\xed\xa0\x80\"", _LIT + "b:\"\xc0\xaf\"", _LIT + "b:\"\xf4\x90\x80\x80\"",
           _LIT + "b:\"\xe2\x82\"", _LIT + "b:\"ok\xe2\x82\xac\""]


def _paths(v, prefix=()):
    """Every (path) to a value in the document, containers included."""
    yield prefix
    if isinstance(v, dict):
        for k, item in v.items():
            yield from _paths(item, prefix + (k,))
    elif isinstance(v, list):
        for i, item in enumerate(v):
            yield from _paths(item, prefix + (i,))


def _at(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def _deep(depth: int):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def mutate(doc, rng: random.Random):
    """One random change anywhere in `doc` (returned; the root itself may be replaced)."""
    paths = list(_paths(doc))
    path = rng.choice(paths)
    op = rng.random()
    if not path:
        return rng.choice([[doc], "x", None, 1, doc]) if op < 0.2 else doc
    parent, last = _at(doc, path[:-1]), path[-1]
    if op < 0.45:
        parent[last] = rng.choice(SWAPS)
    elif op < 0.6:
        parent[last] = rng.choice(STRINGS)
    elif op < 0.75 and isinstance(parent, dict):
        del parent[last]
    elif op < 0.82:
        target = parent[last] if isinstance(parent[last], dict) else parent
        if isinstance(target, dict):
            target[rng.choice(["extra", "passed", "dtype", "slow", "p50_ms", "x" * 3])] = rng.choice(SWAPS)
    elif op < 0.88:
        parent[last] = _deep(rng.choice([200, 254, 255, 256, 257, 300]))
    elif op < 0.94 and isinstance(parent, list):
        parent.append(copy.deepcopy(rng.choice(parent)))  # a repeated item: duplicate ids, extra dims
    else:
        parent[last] = rng.choice([-5, 10 ** 30, -(10 ** 30), 1e308, -1e-300])
    return doc


_GATES = {"min_agreement": 0.98, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": 1.0,
          "min_cosine": None}
FIELD_VARIANTS = {  # the fields the runtimes choose by, and their near misses
    ("manifest", "artifacts", 1, "parity", "passed"): [True, False, None, 0, 1, "false", "true", [], {}],
    ("manifest", "artifacts", 4, "parity", "passed"): [True, False, None, 0, 1, "false", _LIT + "1.0"],
    ("manifest", "artifacts", 2, "parity"): [None, {}, [], "passed", {"passed": None}],
    ("manifest", "artifacts", 1, "parity", "thresholds"): [
        None, [], {}, dict(_GATES), {**_GATES, "min_cosine": 0.99}, {**_GATES, "min_cosin": 0.9},
        {k: v for k, v in _GATES.items() if k != "max_rel_diff"}, {**_GATES, "min_agreement": True},
        {**_GATES, "max_abs_diff": "0.1"}, {**_GATES, "min_cosine": _LIT + "NaN"}, {**_GATES, "min_cosine": 10 ** 400}],
    ("manifest", "artifacts", 3, "parity", "thresholds"): [dict(_GATES), {**_GATES, "min_agreement": _LIT + "1e1"}],
    ("manifest", "verification"): [
        None, [], {}, {"thresholds": None}, {"thresholds": []}, {"thresholds": {}},
        {"thresholds": {"fp16": {"min_cosine": 0.99}}}, {"thresholds": {"fp16": None}},
        {"thresholds": {"int8": {"min_cosin": 0.9}}}, {"thresholds": {"fp32": {"max_abs_diff": False}}},
        {"thresholds": {"fp32": {"max_abs_diff": _LIT + "Infinity"}}}, {"thresholds": {"fp32": [1]}}],
    ("manifest", "artifacts", 1, "build", "int8_cpu"): ["vnni", "portable", None, 1, ""],
    ("manifest", "artifacts", 6, "input", "dtype"): ["uint8", "float32", None, 8, ""],
    ("manifest", "artifacts", 6, "input", "color_order"): ["RGB", "BGR", "L", "rgb", None, 1],
    ("manifest", "artifacts", 6, "input", "layout"): ["NHWC", "NCHW", None],
    ("manifest", "artifacts", 6, "output", "softmax"): [True, False, 1, "yes", None],
    ("manifest", "reference", "raw", "input", "dtype"): ["float32", "float64", "", None, 1],
    ("manifest", "reference", "raw", "labels", "shape"): [[4], [], [0], [-1], ["4"], "4", None, [_LIT + "4.0"]],
    ("manifest", "reference", "raw", "logits", "file"): ["x.raw", "", None, 3],
    ("manifest", "reference", "raw", "pixels"): [None, {}, [], "x"],
    ("manifest", "reference", "raw"): [None, {}, [], 1],
    ("manifest", "preprocessing", "input_size"): [[3, 8, 8], [3, 8, 9], [3, 8], [_LIT + "3.0", 8, 8], None],
    ("manifest", "preprocessing", "mean"): [[0.5], [0, 0, 0], [0.5, 0.5, "x"], [_LIT + "NaN", 1, 1], None, 0.5],
    ("manifest", "preprocessing", "std"): [[0, 1, 1], [1, 1, 1, 1], [1, 1], [True, 1, 1], [_LIT + "-0.0", 1, 1]],
    ("manifest", "preprocessing", "resize"): [None, [8, 8], [8], [0, 8], [8.0, 8], "8"],
    ("manifest", "preprocessing", "scale"): [None, 1, "x", _LIT + "Infinity", True],
    ("manifest", "preprocessing", "extra"): [None, [], {}, "x"],
    ("manifest", "preprocessing", "color_order"): ["BGR", None, 1, []],
    ("manifest", "model", "num_classes"): [3, _LIT + "3.0", _LIT + "3e0", "3", True, 0, 2 ** 31, None],
    ("manifest", "model", "class_names"): [None, ["a", "b"], ["a", "b", 3], "abc", []],
    ("manifest", "input", "shape"): [["batch", 3, 8, 8], [1, 3, 8, 8], [0, 3, 8, 8], ["", 3, 8, 8],
                                     [None, 3, 8, 8], ["batch", 3, 8, _LIT + "8.0"]],
    ("manifest", "schema_version"): [1, _LIT + "1.0", True, "1", 2, None],
    ("bench", "devices", "cpu", "slow"): [{}, {"openvino-int8": ["x"]}, {"openvino-int8": "x"},
                                          {"openvino-int8": [1]}, {"openvino-int8": None}, {"openvino-int8": []},
                                          [], None, {art: ["s"] for art in ("openvino-fp32", "openvino-int8",
                                                                        "openvino-fp16", "onnx-fp32")}],
    ("bench", "devices", "cpu", "contended"): [True, False, None, 0, "no"],
    ("bench", "devices", "cpu", "p50_ms", "openvino-fp16"): [{"1": 9.0}, {"1": 0}, {"1": -1}, {"1": "1"},
                                                             {"1": True}, {"01": 1.0}, {"0": 1.0}, {"1.0": 1.0},
                                                             {"1234567890": 1.0}, {"123456789": 0.1}, {"1": None},
                                                             {"1": _LIT + "1e400"}, {"1": _LIT + "NaN"},
                                                             {"1": 10 ** 400}, {"1": 1}, {"2": 0.1}, {}, [], None],
    ("bench", "devices", "cpu", "p50_ms"): [None, [], {}, {"openvino-int8": {"1": 0.1}}],
    ("bench", "devices", "cpu", "measured"): [None, 1, ""],
    ("bench", "schema"): [1, _LIT + "1.0", True, "1", None, 2],
    ("bench", "devices"): [{}, None, [], {"cuda": {"slow": {}}}],
}


def variant(docs: dict, rng: random.Random) -> None:
    path = rng.choice(list(FIELD_VARIANTS))
    target = docs[path[0]]
    for p in path[1:-1]:
        if not isinstance(target, (dict, list)):
            return
        try:
            target = target[p]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(target, dict) or (isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target)):
        target[path[-1]] = copy.deepcopy(rng.choice(FIELD_VARIANTS[path]))


def serialize(doc) -> bytes:
    """json.dumps with the literals of _LIT strings written in place (numbers as written, raw bytes)."""
    text = json.dumps(doc, indent=1, ensure_ascii=True)
    out = text.encode()
    for lit in set(_literals(doc)):
        raw = lit[2:].encode("latin-1") if lit.startswith("b:") else lit.encode()
        out = out.replace(json.dumps(_LIT + lit).encode(), raw)
    return out


def _literals(v):
    if isinstance(v, str) and v.startswith(_LIT):
        yield v[len(_LIT):]
    elif isinstance(v, dict):
        for item in v.values():
            yield from _literals(item)
    elif isinstance(v, list):
        for item in v:
            yield from _literals(item)


def documents(n: int):
    rng = random.Random(SEED)
    for i in range(n):
        docs = {"manifest": base_manifest(), "bench": base_bench() if rng.random() < 0.8 else None}
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            variant(docs, rng)
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            which = rng.choice(["manifest", "bench"]) if docs["bench"] is not None else "manifest"
            docs[which] = mutate(docs[which], rng)
        yield i, docs


# --- the two readers -----------------------------------------------------------------------------------

def python_choice(folder: Path):
    """("order", [ids]) or ("refused", line)."""
    try:
        manifest = read_manifest(folder)
        order, _, _ = folder_candidates(folder, manifest, backend="openvino")
    except SeedgeError as e:
        return "refused", str(e)
    return "order", [entry["id"] for entry, _ in order]


def cpp_choices(build: Path, folders: list[Path]) -> list[tuple[str, object]]:
    proc = subprocess.run([str(build / "seedge_check"), "choices", "cpu"], input="".join(f"{f}\n" for f in folders),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == len(folders)
    return [("order", d["order"]) if "order" in d else ("refused", d["refused"]) for d in lines]


def test_python_and_cpp_accept_refuse_and_choose_alike(cpp_build, tmp_path):
    folders, python = [], []
    kinds = {"order": 0, "refused": 0}
    for i, docs in documents(DOCUMENTS):
        folder = tmp_path / f"d{i:05d}"
        folder.mkdir()
        (folder / "manifest.json").write_bytes(serialize(docs["manifest"]))
        if docs["bench"] is not None:
            (folder / "bench.json").write_bytes(serialize(docs["bench"]))
        folders.append(folder)
        python.append(python_choice(folder))
        kinds[python[-1][0]] += 1
    cpp = cpp_choices(cpp_build, folders)
    disagree = [(f.name, p, c) for f, p, c in zip(folders, python, cpp, strict=True)
                if p[0] != c[0] or (p[0] == "order" and p[1] != c[1])]
    shown = "\n".join(f"{name}: python {p}\n        c++    {c}" for name, p, c in disagree[:10])
    assert disagree == [], f"{len(disagree)} of {DOCUMENTS} documents read differently:\n{shown}"
    # A rule's refusal is the same line in both (the rules carry their texts); only JSON syntax
    # errors are worded by each reader's own parser.
    parse = ("unreadable manifest (", "not valid JSON (", "unreadable bench record (")
    worded = [(f.name, p[1], c[1]) for f, p, c in zip(folders, python, cpp, strict=True)
              if p[0] == "refused" and p[1] != c[1] and not any(w in p[1] for w in parse)]
    assert worded == [], f"{len(worded)} refusals worded differently, e.g. {worded[:3]}"
    # The corpus exercises both outcomes in earnest.
    assert kinds["order"] > DOCUMENTS // 5 and kinds["refused"] > DOCUMENTS // 5, kinds
