// Containment: every file a manifest names stays inside its folder and is a regular file
// (seedge.artifacts.contained_file), and reads are bounded (seedge.artifacts.read_bounded).

#include <algorithm>
#include <fstream>

#include <seedge_contract.hpp>

#include "folder.hpp"

namespace fs = std::filesystem;

namespace seedge {

namespace {

// The manifest's refusal advice, the contract's (seedge.contract.manifest.FIX).
const std::string kFix = contract::kManifest.fix;

bool inside(const fs::path& real, const fs::path& root) {
    auto r = root.begin(), p = real.begin();
    for (; r != root.end(); ++r, ++p)
        if (p == real.end() || *p != *r) return false;
    return true;
}

}  // namespace

std::string read_bounded(const fs::path& path, std::uintmax_t limit, const std::string& what) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path.string() + ": cannot read the " + what);
    std::string data;
    data.resize(static_cast<std::size_t>(limit) + 1);
    f.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<std::size_t>(f.gcount()));
    if (data.size() > limit)
        throw Error(path.string() + ": the " + what + " is larger than " + std::to_string(limit >> 20) +
                    " MiB; not a seedge " + what);
    return data;
}

fs::path contained_file(const fs::path& folder, const std::string& rel, const std::string& field, bool allow_dir) {
    fs::path where = folder / contract::kManifest.name;
    if (rel.empty() || rel.find('\0') != std::string::npos)
        throw IntegrityError(where.string() + ": " + field + " names '" + rel + "', not a file name; " + kFix);
    std::string posix = rel;
    std::replace(posix.begin(), posix.end(), '\\', '/');
    fs::path pure(posix);
    bool drive = posix.size() >= 2 && posix[1] == ':' && std::isalpha(static_cast<unsigned char>(posix[0]));
    bool dotdot = std::any_of(pure.begin(), pure.end(), [](const fs::path& p) { return p == ".."; });
    if (pure.is_absolute() || posix[0] == '/' || dotdot || drive)
        throw IntegrityError(where.string() + ": " + field + " '" + rel + "' points outside the export folder; only files inside " +
                    folder.string() + " are read (" + kFix + ")");
    fs::path path = folder / pure;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec)))
        throw IntegrityError(path.string() + ": listed in the manifest (" + field + ") but missing; " + kFix);
    fs::path real = fs::canonical(path, ec);
    if (ec) throw IntegrityError(path.string() + ": " + field + " cannot be resolved (" + ec.message() + "); " + kFix);
    fs::path root = fs::canonical(folder, ec);
    if (ec) throw Error(folder.string() + ": cannot be resolved (" + ec.message() + ")");
    if (!inside(real, root))
        throw IntegrityError(path.string() + ": " + field + " is a link to " + real.string() +
                    ", outside the export folder; only files inside " + folder.string() + " are read (" + kFix + ")");
    fs::file_status st = fs::status(real, ec);
    bool ok = fs::is_regular_file(st) || (allow_dir && fs::is_directory(st));
    if (!ok) {
        std::string kind = fs::is_directory(st) ? "a folder" : "not a regular file";
        throw IntegrityError(path.string() + ": " + field + " is " + kind + ", not a regular file; it is never opened (" +
                    kFix + ")");
    }
    return path;
}

}  // namespace seedge
