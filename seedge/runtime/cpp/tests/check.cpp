// seedge_check: the runtime's building blocks one at a time, so tests/runtime/test_cpp_runtime.py
// can compare each with its Python counterpart (hashlib, json, seedge.artifacts, seedge.runtime).
//
//   seedge_check sha256 CHUNK FILE        SHA-256 of FILE fed in CHUNK-byte pieces
//   seedge_check json FILE                FILE parsed and written back as compact JSON
//   seedge_check artifact-sha256 DIR ID   the digest seedge.artifacts records for artifact ID
//   seedge_check candidates DIR DEVICE    the artifact ids the runtime would try, best first
// Exit 2 with one line on stderr when the input is refused.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <seedge/runtime.hpp>
#include <seedge/sha256.hpp>

namespace {

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw seedge::Error(path + ": cannot be read");
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

int run(const std::vector<std::string>& a) {
    if (a.size() == 3 && a[0] == "sha256") {
        std::size_t chunk = std::strtoul(a[1].c_str(), nullptr, 10);
        std::string data = slurp(a[2]);
        seedge::Sha256 h;
        for (std::size_t i = 0; i < data.size(); i += chunk) h.update(data.data() + i, std::min(chunk, data.size() - i));
        std::puts(h.hex_digest().c_str());
        return 0;
    }
    if (a.size() == 2 && a[0] == "json") {
        std::puts(seedge::json::parse(slurp(a[1])).dump().c_str());
        return 0;
    }
    if (a.size() == 3 && a[0] == "artifact-sha256") {
        seedge::Manifest m = seedge::read_manifest(a[1]);
        std::puts(seedge::artifact_sha256(m.folder, m.find(a[2])).c_str());
        return 0;
    }
    if (a.size() == 3 && a[0] == "candidates") {
        seedge::Manifest m = seedge::read_manifest(a[1]);
        for (const seedge::Artifact* art : seedge::candidates(m, a[2])) std::puts(art->id.c_str());
        return 0;
    }
    std::fputs("usage: seedge_check (sha256 CHUNK FILE | json FILE | artifact-sha256 DIR ID | candidates DIR DEVICE)\n",
               stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const seedge::Error& e) {
        std::fprintf(stderr, "seedge_check: error: %s\n", e.what());
        return 2;
    }
}
