// seedge_check: the runtime's building blocks one at a time, so tests/runtime/test_cpp_runtime.py
// can compare each with its Python counterpart (hashlib, json, seedge.artifacts, seedge.runtime).
//
//   seedge_check sha256 CHUNK FILE        SHA-256 of FILE fed in CHUNK-byte pieces
//   seedge_check json FILE                FILE parsed and written back as compact JSON
//   seedge_check artifact-sha256 DIR ID   the digest seedge.artifacts records for artifact ID
//   seedge_check candidates DIR DEVICE    the artifact ids the runtime would try, best first
//   seedge_check choices DEVICE           for each folder named on a stdin line, one JSON line:
//                                         {"order": [ids]} or {"refused": "the one-line reason"}
//                                         (one process for thousands of folders: tests/contract)
// Exit 2 with one line on stderr when the input is refused.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <seedge/runtime.hpp>
#include <seedge/sha256.hpp>

#include "json.hpp"

namespace {

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw seedge::Error(path + ": cannot be read");
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// read_manifest + candidates on one folder, as a JSON line.
std::string choices(const std::string& folder, const std::string& device) {
    try {
        seedge::Manifest m = seedge::read_manifest(folder);
        std::string ids;
        for (const seedge::Artifact* art : seedge::candidates(m, device))
            ids += (ids.empty() ? "" : ",") + seedge::json::quote(art->id);
        return "{\"order\":[" + ids + "]}";
    } catch (const seedge::Error& e) {
        return "{\"refused\":" + seedge::json::quote(e.what()) + "}";
    }
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
    if (a.size() == 2 && a[0] == "choices") {
        std::string folder;
        while (std::getline(std::cin, folder)) std::puts(choices(folder, a[1]).c_str());
        return 0;
    }
    std::fputs("usage: seedge_check (sha256 CHUNK FILE | json FILE | artifact-sha256 DIR ID | candidates DIR DEVICE | "
               "choices DEVICE)\n", stderr);
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
