// Does this CPU have 8-bit dot products (VNNI or AMX)? As seedge/hostcpu.py answers, and for the
// same reason (seedge/backends/cpu_features.py): OpenVINO's x86 INT8 kernels are U8S8; without
// AVX512-VNNI / AVX-VNNI / AMX-INT8 they sum u8 x s8 pairs in 16 bits (vpmaddubsw), which
// saturates with full 8-bit weights: a wrong answer, not an error. An artifact whose build facts
// say int8_cpu "vnni" (8-bit weights) is refused on such a CPU; "portable" (7-bit weights) runs
// everywhere.
//
// CPUID is read directly (<cpuid.h>), not through __builtin_cpu_supports: GCC before 12 and
// Clang before 16 know no "avxvnni"/"amx-int8" names, so the answer depended on the compiler.
// A feature counts only when the OS also saves its register state (XCR0, read with XGETBV), as
// Linux's /proc/cpuinfo (what Python reads) drops the flags of state the kernel does not enable:
//   AVX512_VNNI  CPUID.(7,0):ECX[11]  needs XCR0 SSE|AVX|opmask|ZMM_Hi256|Hi16_ZMM (0xE6)
//   AVX-VNNI     CPUID.(7,1):EAX[4]   needs XCR0 SSE|AVX (0x06)
//   AMX-INT8     CPUID.(7,0):EDX[25]  needs XCR0 XTILECFG|XTILEDATA (0x60000)
// (Linux also asks a process to request AMX state before it uses tiles; OpenVINO does that.)
//
// SEEDGE_CPU_NO_VNNI=1 (a test/diagnostic switch, read by Python alike) answers "no" on a CPU
// that has VNNI, to see what an AVX2-only device does.
#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "engine.hpp"

namespace seedge {

namespace {

#if defined(__x86_64__) || defined(__i386__)
constexpr uint64_t kXcr0Avx = 0x6;           // SSE + AVX (YMM) state
constexpr uint64_t kXcr0Avx512 = 0xE6;       // + opmask, ZMM_Hi256, Hi16_ZMM
constexpr uint64_t kXcr0Amx = 0x60000;       // XTILECFG + XTILEDATA

uint64_t os_saved_state() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;  // no OSXSAVE
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool has(uint64_t state, uint64_t need) { return (state & need) == need; }

bool cpuid_has_vnni() {
    unsigned max_sub = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_max(0, nullptr) < 7 || !__get_cpuid_count(7, 0, &max_sub, &ebx, &ecx, &edx)) return false;
    const uint64_t state = os_saved_state();
    if ((ecx & (1u << 11)) && has(state, kXcr0Avx512)) return true;  // AVX512_VNNI
    if ((edx & (1u << 25)) && has(state, kXcr0Amx)) return true;     // AMX-INT8
    unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
    if (max_sub >= 1 && __get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1) && (eax1 & (1u << 4)) &&
        has(state, kXcr0Avx))
        return true;  // AVX-VNNI
    return false;
}
#else
bool cpuid_has_vnni() { return false; }  // not x86: no U8S8 saturation question to answer
#endif

}  // namespace

bool cpu_has_vnni() {
    const char* off = std::getenv("SEEDGE_CPU_NO_VNNI");
    if (off != nullptr && std::string(off) != "" && std::string(off) != "0") return false;
    static const bool answer = cpuid_has_vnni();  // the CPU does not change under the process
    return answer;
}

std::string int8_cpu_refusal(const Artifact& artifact) {
    if (artifact.int8_cpu != "vnni" || cpu_has_vnni()) return "";
    return artifact.id + ": built for CPUs with VNNI (8-bit INT8 weights saturate on this CPU's U8S8 kernels); "
           "export with --int8-cpu portable for it";
}

int default_threads() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace seedge
