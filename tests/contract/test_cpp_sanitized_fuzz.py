"""The C++ runtime under sanitizers (tests/_cpp_sanitized_build.py), fed hostile folders: 0 reports.

1. Documents: mutated manifest.json / bench.json (test_fuzz_contract's generator, plus sizes at and
   past the contract's bounds: input.shape, preprocessing.input_size / resize, raw reference shapes
   whose products overflow 64 bits) read and chosen from by `seedge_check choices`, built with
   UBSan and, where the toolchain allows, ASan+UBSan (choosing loads no OpenVINO plugin).
2. Running: a real export folder (tests/_export_fixtures.py) with its raw reference files, its
   manifest sizes, raw files, bench.json and input files mutated, through `seedge_classify` built
   with UBSan (OpenVINO's TBB refuses ASan): the self-test and classification of .f32 inputs.
   Every run ends in 0, 1 (a failed self-test) or 2 with one error line, never a signal or report.
   Its long round, run on a UBSan build of the tree before the contract bounded sizes (94f4e1a^),
   reports issue 22's case 3: "signed integer overflow ... in seedge::Model::image_floats()".

A quick round of each (`-k quick`: about a minute once built) and a long one (`-k long`); every
one needs the sanitized builds (minutes on two cores), so all are marked slow.
"""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
from pathlib import Path

import _cpp_sanitized_build
import numpy as np
import pytest
from _cpp_sanitized_build import reports, run_sanitized
from _export_fixtures import fresh_copy

from seedge.contract.manifest import MAX_INPUT_VALUES, MAX_RAW_VALUES, MAX_SIDE


def _parity_fuzz():
    """tests/contract/test_fuzz_contract.py, whose document generator this module reuses (one
    generator of hostile documents); loaded by path, as pytest imports test files (importlib mode)."""
    spec = importlib.util.spec_from_file_location("_parity_fuzz", Path(__file__).with_name("test_fuzz_contract.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FUZZ = _parity_fuzz()
documents, serialize = _FUZZ.documents, _FUZZ.serialize

pytestmark = pytest.mark.slow
cpp_ubsan = _cpp_sanitized_build.cpp_ubsan
cpp_asan = _cpp_sanitized_build.cpp_asan

SEED = 20261208
BIG = [0, 1, MAX_SIDE, MAX_SIDE + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 3, 2 ** 62, 2 ** 63 - 1, 2 ** 64 + 1]
SIZE_FIELDS = {  # where a document states a size, and the lists of sizes put there
    ("input", "shape"): lambda r: [r.choice(["batch", *BIG])] + [r.choice(BIG) for _ in range(3)],
    ("preprocessing", "input_size"): lambda r: [r.choice(BIG) for _ in range(3)],
    ("preprocessing", "resize"): lambda r: [r.choice(BIG) for _ in range(2)],
    ("reference", "raw", "input", "shape"): lambda r: [r.choice(BIG) for _ in range(r.randint(1, 6))],
    ("reference", "raw", "pixels", "shape"): lambda r: [r.choice([*BIG, 2 ** 17]) for _ in range(4)],
    ("reference", "raw", "labels", "shape"): lambda r: [r.choice(BIG)],
}
# Sizes just inside the bounds, all at once (the largest a manifest may say).
LARGEST = {("input", "shape"): ["batch", 1, MAX_SIDE, MAX_SIDE],
           ("preprocessing", "input_size"): [1, MAX_SIDE, MAX_SIDE], ("preprocessing", "resize"): [MAX_SIDE, MAX_SIDE],
           ("reference", "raw", "input", "shape"): [MAX_RAW_VALUES // MAX_INPUT_VALUES, 1, MAX_SIDE, MAX_SIDE]}


def _put(doc, path: tuple, value) -> None:
    for p in path[:-1]:
        if not isinstance(doc, dict) or not isinstance(doc.get(p), dict):
            return
        doc = doc[p]
    doc[path[-1]] = value


def sized(doc: dict, rng: random.Random) -> dict:
    for path in rng.sample(list(SIZE_FIELDS), rng.randint(1, 3)):
        _put(doc, path, SIZE_FIELDS[path](rng))
    return doc


def hostile_documents(n: int):
    """test_fuzz_contract's documents, a third of them with sizes changed as well."""
    rng = random.Random(SEED)
    for i, docs in documents(n):
        if isinstance(docs["manifest"], dict) and rng.random() < 0.33:
            docs["manifest"] = sized(docs["manifest"], rng)
        if i == 0 and isinstance(docs["manifest"], dict):
            for path, value in LARGEST.items():
                _put(docs["manifest"], path, value)
        yield i, docs


def write_folders(root: Path, n: int) -> list[Path]:
    folders = []
    for i, docs in hostile_documents(n):
        folder = root / f"d{i:05d}"
        folder.mkdir()
        (folder / "manifest.json").write_bytes(serialize(docs["manifest"]))
        if docs["bench"] is not None:
            (folder / "bench.json").write_bytes(serialize(docs["bench"]))
        folders.append(folder)
    return folders


def check_choices(build: Path, folders: list[Path]) -> None:
    proc = run_sanitized(build, "seedge_check", "choices", "cpu", stdin="".join(f"{f}\n" for f in folders),
                         timeout=1200)
    assert reports(proc) == "", reports(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == len(folders)
    assert sum("order" in d for d in lines) > len(lines) // 10, "the corpus must also reach the choice"


@pytest.mark.parametrize("n", [400, 4000], ids=["quick", "long"])
def test_documents_under_ubsan(cpp_ubsan, tmp_path, n):
    check_choices(cpp_ubsan, write_folders(tmp_path, n))


@pytest.mark.parametrize("n", [400, 4000], ids=["quick", "long"])
def test_documents_under_asan_and_ubsan(cpp_asan, tmp_path, n):
    check_choices(cpp_asan, write_folders(tmp_path, n))


# --- running: a real folder, mutated ------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_folder(tmp_path_factory) -> Path:
    """The shared export with the raw reference files the export stage writes."""
    from seedge import artifacts
    from seedge.export.reference import write_raw_reference

    folder = fresh_copy(tmp_path_factory.mktemp("sanitized"))
    manifest = artifacts.read_manifest(folder)
    with np.load(folder / artifacts.REFERENCE) as z:
        raw = write_raw_reference(folder, {k: z[k] for k in z.files})
    manifest["reference"] = {"file": artifacts.REFERENCE, "raw": raw}
    artifacts.write_manifest(folder, manifest)
    return folder


def _raw_file(folder: Path, manifest: dict, rng: random.Random) -> Path:
    entry = rng.choice(list(manifest["reference"]["raw"].values()))
    return folder / entry["file"]


def mutate_run(folder: Path, rng: random.Random) -> list[str]:
    """Change the copied folder one hostile way; the seedge_classify arguments to run on it."""
    manifest = json.loads((folder / "manifest.json").read_text())
    raw = manifest["reference"]["raw"]
    op = rng.randrange(8)
    args = ["--self-test"]
    if op == 0:  # a raw file cut, grown or emptied, its digest dropped (it is optional)
        path = _raw_file(folder, manifest, rng)
        data = path.read_bytes()
        path.write_bytes(rng.choice([data[: rng.randrange(len(data) + 1)], data + data[:7], b""]))
        for entry in raw.values():
            entry.pop("sha256", None)
    elif op == 1:  # raw shapes changed, files as they are
        name = rng.choice(list(raw))
        raw[name]["shape"] = SIZE_FIELDS[("reference", "raw", "input", "shape")](rng)
    elif op == 2 and rng.random() < 0.5:  # sizes anywhere a manifest states one
        sized(manifest, rng)
    elif op == 2:  # input sizes that agree with each other (issue 22 case 3), then a classification
        # (C within mean/std's length; H x W past the bound, up to an int64 product's overflow)
        c, h, w = rng.choice([1, 3]), rng.choice([MAX_SIDE + 1, 2 ** 31 - 1]), rng.choice([MAX_SIDE + 1, 2 ** 31 - 1])
        manifest["input"]["shape"], manifest["preprocessing"]["input_size"] = ["batch", c, h, w], [c, h, w]
        np.zeros(3 * 32 * 32, np.float32).tofile(folder / "x.f32")
        args = [str(folder / "x.f32")]
    elif op == 3:  # hostile values in the reference: NaN/Inf inputs or logits, labels far outside the classes
        name = rng.choice([k for k in ("input", "logits", "labels") if k in raw])
        path = folder / raw[name]["file"]
        if name == "labels":
            a = np.fromfile(path, np.int64)
            a[:] = rng.choice([-1, -(2 ** 63), 2 ** 63 - 1, 10, 2 ** 31])
        else:
            a = np.fromfile(path, np.float32)
            a[rng.randrange(a.size)] = rng.choice([np.nan, np.inf, -np.inf, 3e38, -3e38])
        a.tofile(path)
        raw[name].pop("sha256", None)
    elif op == 4:  # a bench.json mutated
        _, docs = list(documents(rng.randrange(1, 40)))[-1]
        if docs["bench"] is not None:
            (folder / "bench.json").write_bytes(serialize(docs["bench"]))
    else:  # classify a file of any size, with any top-k
        c, h, w = manifest["preprocessing"]["input_size"]
        count = rng.choice([0, 1, 3, c * h * w - 1, c * h * w, c * h * w + 1, 5 * c * h * w])
        x = np.random.default_rng(rng.randrange(1 << 30)).standard_normal(count).astype(np.float32)
        if count and rng.random() < 0.3:
            x[rng.randrange(count)] = rng.choice([np.nan, np.inf, 3e38])
        x.tofile(folder / "x.f32")
        args = ["--top-k", str(rng.choice([1, 3, 10, 11, 2 ** 31 - 1, 2 ** 62])), str(folder / "x.f32")]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return args


def check_runs(build: Path, source: Path, tmp_path: Path, n: int) -> None:
    rng = random.Random(SEED)
    codes = {0: 0, 1: 0, 2: 0}
    for i in range(n):
        folder = tmp_path / f"r{i:04d}"
        shutil.copytree(source, folder)
        args = mutate_run(folder, rng)
        proc = run_sanitized(build, "seedge_classify", folder, "--threads", "1", *args, timeout=120)
        assert reports(proc) == "", f"run {i} ({args}): {reports(proc)}"
        assert proc.returncode in codes, (i, args, proc.returncode, proc.stderr[-2000:])
        codes[proc.returncode] += 1
        if proc.returncode == 2:
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("seedge_classify: error: "), (i, args, proc.stderr)
        shutil.rmtree(folder)
    assert codes[2] and codes[0], codes  # both refused and answered runs were reached


@pytest.mark.parametrize("n", [16, 200], ids=["quick", "long"])
def test_running_under_ubsan(cpp_ubsan, real_folder, tmp_path, n):
    check_runs(cpp_ubsan, real_folder, tmp_path, n)


def test_the_corpus_holds_sizes_past_and_at_the_bounds():
    """The generator itself: sizes past the contract's bounds appear, and document 0 states the
    largest sizes allowed (a reader must take those without overflow)."""
    docs = [d for _, d in hostile_documents(60)]
    shapes = [d["manifest"].get("input", {}).get("shape") for d in docs if isinstance(d["manifest"], dict)
              and isinstance(d["manifest"].get("input"), dict)]
    assert any(isinstance(s, list) and any(isinstance(v, int) and v > MAX_SIDE for v in s[1:]) for s in shapes)
    first = docs[0]["manifest"]
    assert first["input"]["shape"] == LARGEST[("input", "shape")]
    assert first["reference"]["raw"]["input"]["shape"] == LARGEST[("reference", "raw", "input", "shape")]
