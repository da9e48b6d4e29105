"""The trust rule: which files seedge reads as data and which may run code, stated once.

Read as data, always: safetensors, ONNX, OpenVINO IR, manifest.json / bench.json, npz without
pickle, raw reference files, images. Nothing in them is executed, whoever made them.

Carry code, and run only on the user's word or on proof that this machine made them:
- pickles (checkpoints): only with --unsafe-pickle, for that file (seedge.checkpoint.read);
- `--model-file FILE.py:CLASS`: the user names the code to run;
- the pickled parts of a torch.export program (.pt2): never. seedge loads a .pt2 weights-only
  from end to end and refuses, in one line naming the part, one that needs code
  (seedge.checkpoint.pt2_archive);
- native artifacts, NATIVE_FORMATS: an AOTInductor package (a shared library seedge dlopens)
  and a TensorRT plan (may carry plugin code). These run when this machine built them, or with
  --trust-native (the runtime API: `Model.open(..., trust_native=True)`) for a folder the user
  trusts.

The proof that this machine built a native artifact is a per-user registry: when export writes
one, it records the artifact's sha256 as an empty file named by that hash in
`<cache root>/trust/built/` (a folder private to the user: 0700, owned by them). Before loading a
native artifact (after its bytes were checked against the manifest's sha256), seedge looks its
hash up there. A stranger's folder, even with a manifest whose hashes match its files, names
bytes this machine never produced, so it is refused until the user says --trust-native. Chosen
over an HMAC tag in the manifest: nothing in the folder takes part in the proof, so there is no
key to keep and no manifest field to forge or to keep in the contract; the registry only grows
by one empty file per native artifact built.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from seedge.errors import Unavailable
from seedge.fileio import cache_root

TRUST_FLAG = "--trust-native"
TRUST_HELP = (
    "Run the folder's native artifacts (AOTInductor packages, TensorRT plans) even though this machine "
    "did not build them: they run code, so only for a folder you trust."
)
# format -> what it is, for the refusal line. Formats not here are read as data.
NATIVE_FORMATS = {
    "inductor": "an AOTInductor package (a compiled shared library)",
    "tensorrt": "a TensorRT plan (it may load plugin code)",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


class NotTrusted(Unavailable):
    """A native artifact this machine did not build, opened without --trust-native. An
    Unavailable: the device runtime's automatic choice moves on to the next artifact; asked
    for by name (verify, bench --backend, Model.open(artifact=...)) it is the one-line answer."""


def registry() -> Path:
    """The folder of hashes of the native artifacts this user built on this machine."""
    return cache_root("trust", "built")


def is_native(fmt: str) -> bool:
    return fmt in NATIVE_FORMATS


def record_built(sha256: str) -> None:
    """Export wrote a native artifact with these bytes: remember that this machine made them."""
    if not _SHA256.fullmatch(sha256 or ""):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    folder = registry()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / sha256, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)


def built_here(sha256: str) -> bool:
    """Whether `sha256` is in this user's registry, and the registry is theirs alone (a folder
    others can write to proves nothing)."""
    if not _SHA256.fullmatch(sha256 or ""):
        return False
    folder = registry()
    try:
        st = os.lstat(folder)
        entry = os.lstat(folder / sha256)
    except OSError:
        return False
    private = stat.S_ISDIR(st.st_mode) and not st.st_mode & 0o022 and st.st_uid == os.getuid()
    return private and stat.S_ISREG(entry.st_mode) and entry.st_uid == os.getuid()


def check_native(path: str | os.PathLike, artifact: dict, trust_native: bool) -> None:
    """Refuse (NotTrusted, one line naming the file and the opt-in) a native artifact that the
    user did not vouch for and this machine did not build; data formats pass untouched."""
    fmt = artifact.get("format", "")
    if not is_native(fmt) or trust_native or built_here(str(artifact.get("sha256", ""))):
        return
    raise NotTrusted(
        f"{path}: {NATIVE_FORMATS[fmt]} runs native code and this machine did not build it; "
        f"pass {TRUST_FLAG} if you trust this folder (Python: Model.open(..., trust_native=True)), "
        f"or re-export it here"
    )
