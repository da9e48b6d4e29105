// seedge_cpu: prints the C++ runtime's platform facts ("vnni yes|no", "threads N"), so
// tests/test_hostcpu.py can check them against seedge.hostcpu.has_vnni() and default_threads()
// on the same machine (SEEDGE_CPU_NO_VNNI and a narrowed affinity mask included). Separate from seedge_check, which checks export folders.
#include <cstdio>

#include "engine.hpp"

int main() {
    std::printf("vnni %s\n", seedge::cpu_has_vnni() ? "yes" : "no");
    std::printf("threads %d\n", seedge::default_threads());
    return 0;
}
