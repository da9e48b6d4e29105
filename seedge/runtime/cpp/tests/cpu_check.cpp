// seedge_cpu: prints the C++ runtime's CPU verdict ("vnni yes" or "vnni no"), so
// tests/test_hostcpu.py can check it against seedge.hostcpu.has_vnni() on the same machine
// (SEEDGE_CPU_NO_VNNI included). Separate from seedge_check, which checks export folders.
#include <cstdio>

#include "engine.hpp"

int main() {
    std::printf("vnni %s\n", seedge::cpu_has_vnni() ? "yes" : "no");
    return 0;
}
