// Does this CPU have 8-bit dot products (VNNI or AMX)? As seedge/backends/cpu_features.py:
// OpenVINO's x86 INT8 kernels are U8S8; without AVX512-VNNI / AVX-VNNI / AMX-INT8 they sum
// u8 x s8 pairs in 16 bits (vpmaddubsw), which saturates with full 8-bit weights: a wrong answer,
// not an error. An artifact whose build facts say int8_cpu "vnni" (8-bit weights) is refused
// on such a CPU; "portable" (7-bit weights) runs everywhere.
//
// SEEDGE_CPU_NO_VNNI=1 (a test/diagnostic switch, read by Python alike) answers "no" on a CPU
// that has VNNI, to see what an AVX2-only device does.
#include <cstdlib>
#include <string>

#include "engine.hpp"

namespace seedge {

bool cpu_has_vnni() {
    const char* off = std::getenv("SEEDGE_CPU_NO_VNNI");
    if (off != nullptr && std::string(off) != "" && std::string(off) != "0") return false;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni")) return true;
#if (!defined(__clang__) && __GNUC__ >= 12) || (defined(__clang__) && __clang_major__ >= 16)
    if (__builtin_cpu_supports("avxvnni") || __builtin_cpu_supports("amx-int8")) return true;
#endif
    return false;
#else
    return false;  // not x86, or a compiler without __builtin_cpu_supports: unknown counts as no
#endif
}

std::string int8_cpu_refusal(const Artifact& artifact) {
    if (artifact.int8_cpu != "vnni" || cpu_has_vnni()) return "";
    return artifact.id + ": built for CPUs with VNNI (8-bit INT8 weights saturate on this CPU's U8S8 kernels); "
           "export with --int8-cpu portable for it";
}

}  // namespace seedge
