// What the files that read an export folder share inside the library (not part of the API).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "seedge/runtime.hpp"

namespace seedge {

// The bytes of a regular file of at most `limit` bytes, as seedge.artifacts.read_bounded.
std::string read_bounded(const std::filesystem::path& path, std::uintmax_t limit, const std::string& what);

// seedge.artifacts.artifact_files: a folder's files, or the file plus an OpenVINO .xml's .bin.
std::vector<std::filesystem::path> artifact_files(const std::filesystem::path& folder, const std::string& rel,
                                                  const std::string& field);

// bench.json per device family, checked by the contract (seedge.contract.bench) as
// seedge.bench_record.read_record checks it; empty when the folder has none.
std::map<std::string, BenchEntry> read_bench(const std::filesystem::path& folder);

}  // namespace seedge
