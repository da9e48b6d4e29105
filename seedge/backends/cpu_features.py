"""What this CPU's 8-bit dot products (VNNI or AMX, seedge.hostcpu) mean for INT8 artifacts.

Why it matters: ONNX Runtime's and OpenVINO's x86 INT8 kernels are U8S8. On a CPU with
AVX512-VNNI, AVX-VNNI or AMX they accumulate u8 x s8 products straight into 32 bits; without
them (AVX2-only, AVX-512 without VNNI) they use vpmaddubsw, whose 16-bit pair sums saturate
with full 8-bit weights (a wrong answer, not an error: 55-74 % top-1 agreement measured on an
AVX2-only EPYC). So an INT8 CPU artifact with 8-bit weights ("vnni" target) is only right on a
CPU this says yes for; 7-bit weights ("portable") are right everywhere (seedge.quantize.int8).

The CPU's flags come from seedge.hostcpu (read once, with the SEEDGE_CPU_NO_VNNI test switch);
this module decides what they mean for an INT8 artifact: which target an export builds and
which artifacts this CPU refuses. The C++ runtime (seedge/runtime/cpp/src/cpu_features.cpp)
refuses the same artifacts in the same words.
"""

from __future__ import annotations

from seedge.errors import SeedgeError, Unavailable, unknown
from seedge.hostcpu import has_vnni

# --- the INT8 CPU target an artifact is built for -------------------------------------------------
# portable: 7-bit weights (ONNX Runtime reduce_range, NNCF OverflowFix.ENABLE): right on every
#           x86 CPU; costs accuracy on VNNI CPUs (RegNetY-400MF digits: 98.6 % vs 99.4 % agreement).
# vnni:     8-bit weights: the full resolution, right only where has_vnni() (refused elsewhere).
INT8_CPU_TARGETS = ("portable", "vnni")
INT8_CPU_CHOICES = ("auto",) + INT8_CPU_TARGETS
WEIGHT_BITS = {"portable": 7, "vnni": 8}


def resolve_int8_cpu(choice: str | None) -> str:
    """'auto' (or None) -> 'vnni' where this CPU has VNNI/AMX (verification measures the artifact
    here, so it must run right here), else 'portable'. 'vnni' asked on a CPU without VNNI/AMX is a
    SeedgeError: its parity could not be verified on this machine."""
    choice = choice or "auto"
    if choice not in INT8_CPU_CHOICES:
        raise unknown("--int8-cpu", choice, INT8_CPU_CHOICES)
    if choice == "auto":
        return "vnni" if has_vnni() else "portable"
    if choice == "vnni" and not has_vnni():
        raise SeedgeError(
            "--int8-cpu vnni: this CPU has no VNNI/AMX, so the 8-bit weights' parity cannot be "
            "verified here; export on a VNNI CPU or use --int8-cpu portable"
        )
    return choice


class NeedsVnni(Unavailable):
    """This artifact, not its backend, cannot run right on this CPU: with a backend asked for,
    the runtime still moves on to that backend's next artifact."""


# What the nncf route recorded, before --int8-cpu existed, when the exporting CPU had VNNI: NNCF's
# overflow fix off, so every layer got 8-bit weights (seedge.quantize.openvino_int8 at 2668e14).
LEGACY_VNNI_OVERFLOW_FIX = "disabled (CPU has VNNI)"


def int8_cpu_target(build: dict | None) -> str | None:
    """The INT8 CPU target `build` (an artifact's build facts) records: its int8_cpu, or for an
    OpenVINO IR exported before int8_cpu was recorded, "vnni" where its nncf route ran with the
    overflow fix disabled (8-bit weights). None: no INT8 CPU target (float, or 7-bit legacy)."""
    build = build or {}
    if "int8_cpu" in build:
        return build["int8_cpu"]
    nncf = build.get("nncf")
    # The chosen route was recorded beside it; the qdq route's weights came from onnx-int8, which
    # was always built 7-bit for the CPU, so only the nncf route's can be 8-bit.
    if (
        isinstance(nncf, dict)
        and nncf.get("overflow_fix") == LEGACY_VNNI_OVERFLOW_FIX
        and build.get("route", "nncf") == "nncf"
    ):
        return "vnni"
    return None


def refuses(build: dict | None) -> bool:
    """True when this CPU cannot run an artifact with these build facts right (check_int8_cpu)."""
    return int8_cpu_target(build) == "vnni" and not has_vnni()


def refusal(artifact_id: str, build: dict | None) -> str | None:
    """Why this CPU refuses the artifact (the C++ runtime's words), or None when it runs it."""
    if not refuses(build):
        return None
    return (
        f"{artifact_id}: built for CPUs with VNNI (8-bit INT8 weights saturate on this CPU's "
        f"U8S8 kernels); export with --int8-cpu portable for it"
    )


def check_int8_cpu(artifact_id: str, build: dict) -> None:
    """Raise NeedsVnni (an Unavailable) when `build` (an artifact's build facts) says int8_cpu
    'vnni' (int8_cpu_target) and this CPU lacks VNNI/AMX: its 8-bit weights would saturate here,
    a wrong answer."""
    why = refusal(artifact_id, build)
    if why:
        raise NeedsVnni(why)
