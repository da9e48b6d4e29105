// Artifact digests (seedge.artifacts.artifact_sha256) and the integrity check before an
// artifact runs (seedge.artifacts.check_integrity).

#include <algorithm>

#include <seedge_contract.hpp>

#include "folder.hpp"
#include "seedge/sha256.hpp"

namespace fs = std::filesystem;

namespace seedge {

std::vector<fs::path> artifact_files(const fs::path& folder, const std::string& rel, const std::string& field) {
    fs::path path = contained_file(folder, rel, field, /*allow_dir=*/true);
    std::vector<fs::path> out;
    if (fs::is_directory(path)) {
        for (const auto& entry : fs::recursive_directory_iterator(path)) {  // links are not followed
            if (entry.is_directory() && !entry.is_symlink()) continue;
            std::string member = fs::relative(entry.path(), folder).generic_string();
            out.push_back(contained_file(folder, member, field + " (file " + member + ")"));
        }
        std::sort(out.begin(), out.end());  // element-wise, as Python sorts Paths
        return out;
    }
    out.push_back(path);
    if (path.extension() == ".xml") {
        std::string companion = fs::path(rel).replace_extension(".bin").generic_string();
        std::error_code ec;
        if (fs::exists(fs::symlink_status(folder / companion, ec)))
            out.push_back(contained_file(folder, companion, field + " (weights " + companion + ")"));
    }
    return out;
}

std::string artifact_sha256(const fs::path& folder, const Artifact& artifact) {
    std::string field = "artifact '" + artifact.id + "'";
    std::vector<fs::path> files = artifact_files(folder, artifact.file, field);
    fs::path path = folder / artifact.file;
    if (files.size() == 1 && files[0] == path) return sha256_file(path);
    fs::path root = fs::is_directory(path) ? path : path.parent_path();
    Sha256 h;
    for (const fs::path& p : files) {
        h.update(p.lexically_relative(root).generic_string());
        h.update(sha256_file(p));
    }
    return h.hex_digest();
}

fs::path check_integrity(const fs::path& folder, const Artifact& artifact) {
    std::string got = artifact_sha256(folder, artifact);
    std::string want = artifact.sha256;
    std::transform(want.begin(), want.end(), want.begin(), [](unsigned char c) { return std::tolower(c); });
    fs::path path = folder / artifact.file;
    if (got != want)
        throw IntegrityError(path.string() + ": sha256 differs from the manifest (file changed after export); " +
                    contract::kManifest.fix);
    return path;
}

}  // namespace seedge
