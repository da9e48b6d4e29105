// manifest.json: reading and checking it, containment of the files it names, artifact
// hashes and the artifact choice. Each mirrors a function of seedge/artifacts.py or
// seedge/runtime/model.py; tests/runtime/test_cpp_runtime.py checks they agree.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include "seedge/runtime.hpp"
#include "seedge/sha256.hpp"
#include "engine.hpp"

namespace fs = std::filesystem;

namespace seedge {

namespace {

constexpr int kSchemaVersion = 1;                      // seedge.artifacts.SCHEMA_VERSION
constexpr std::uintmax_t kMaxManifestBytes = 16u << 20;  // seedge.artifacts.MAX_MANIFEST_BYTES
constexpr const char* kManifest = "manifest.json";
constexpr const char* kFix = "re-run `seedge export`";
constexpr const char* kBenchRecord = "bench.json";            // seedge.bench_record.BENCH_RECORD
constexpr std::uintmax_t kMaxBenchRecordBytes = 1u << 20;    // its _MAX_BYTES

// The Python runtime's preference (seedge/backends/table.py RUNTIME_PREFERENCE) for the one
// backend this runtime has per device family, and the artifact formats that backend reads.
struct Preference {
    const char* backend;
    std::vector<std::string> precisions;
    std::vector<std::string> reads;
};
const Preference kCpu{"openvino", {"int8", "fp32", "fp16"}, {"openvino", "onnx"}};
const Preference kCuda{"tensorrt", {"int8", "fp16", "fp32"}, {"tensorrt"}};

class Fields {
public:
    explicit Fields(fs::path path) : path_(std::move(path)) {}

    [[noreturn]] void bad(const std::string& field, const std::string& problem) const {
        throw Error(path_.string() + ": field '" + field + "' " + problem + "; " + kFix);
    }
    const json::Value& get(const json::Value& parent, const std::string& key, const std::string& field) const {
        const json::Value* v = parent.find(key);
        if (v == nullptr || v->is_null()) bad(field, "is missing");
        return *v;
    }
    const json::Value& obj(const json::Value& parent, const std::string& key, const std::string& field) const {
        const json::Value& v = get(parent, key, field);
        if (!v.is_object()) bad(field, "must be an object");
        return v;
    }
    std::string text(const json::Value& parent, const std::string& key, const std::string& field) const {
        const json::Value& v = get(parent, key, field);
        if (!v.is_string() || v.as_string().empty()) bad(field, "must be a non-empty string");
        return v.as_string();
    }
    std::int64_t count(const json::Value& v, const std::string& field) const {
        if (!positive_int(v)) bad(field, v.is_null() ? "is missing" : "must be a positive integer");
        return static_cast<std::int64_t>(v.as_number());
    }
    static bool positive_int(const json::Value& v) {
        if (!v.is_number()) return false;
        double d = v.as_number();
        return d > 0 && d < 2147483648.0 && d == static_cast<double>(static_cast<std::int64_t>(d));
    }

private:
    fs::path path_;
};

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

bool inside(const fs::path& real, const fs::path& root) {
    auto r = root.begin(), p = real.begin();
    for (; r != root.end(); ++r, ++p)
        if (p == real.end() || *p != *r) return false;
    return true;
}

std::optional<RawArray> raw_array(const Fields& f, const json::Value& raw, const std::string& key,
                                  const std::string& dtype) {
    const json::Value* v = raw.find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    std::string field = "reference.raw." + key;
    if (!v->is_object()) f.bad(field, "must be an object");
    RawArray a;
    a.file = f.text(*v, "file", field + ".file");
    a.dtype = f.text(*v, "dtype", field + ".dtype");
    if (a.dtype != dtype) f.bad(field + ".dtype", "is '" + a.dtype + "', this runtime reads '" + dtype + "'");
    if (const json::Value* s = v->find("sha256"); s != nullptr && !s->is_null())
        a.sha256 = f.text(*v, "sha256", field + ".sha256");
    const json::Value& shape = f.get(*v, "shape", field + ".shape");
    if (!shape.is_array() || shape.as_array().empty()) f.bad(field + ".shape", "must be a list of sizes");
    for (const json::Value& d : shape.as_array()) a.shape.push_back(f.count(d, field + ".shape"));
    return a;
}

}  // namespace

std::size_t RawArray::count() const {
    std::size_t n = 1;
    for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
    return n;
}

const Artifact& Manifest::find(const std::string& id) const {
    std::string ids;
    for (const Artifact& a : artifacts) {
        if (a.id == id) return a;
        ids += (ids.empty() ? "" : ", ") + a.id;
    }
    throw Error("no artifact '" + id + "' in " + name + " (has: " + ids + ")");
}

fs::path contained_file(const fs::path& folder, const std::string& rel, const std::string& field, bool allow_dir) {
    fs::path where = folder / kManifest;
    if (rel.empty() || rel.find('\0') != std::string::npos)
        throw Error(where.string() + ": " + field + " names '" + rel + "', not a file name; " + kFix);
    std::string posix = rel;
    std::replace(posix.begin(), posix.end(), '\\', '/');
    fs::path pure(posix);
    bool drive = posix.size() >= 2 && posix[1] == ':' && std::isalpha(static_cast<unsigned char>(posix[0]));
    bool dotdot = std::any_of(pure.begin(), pure.end(), [](const fs::path& p) { return p == ".."; });
    if (pure.is_absolute() || posix[0] == '/' || dotdot || drive)
        throw Error(where.string() + ": " + field + " '" + rel + "' points outside the export folder; only files inside " +
                    folder.string() + " are read (" + kFix + ")");
    fs::path path = folder / pure;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec)))
        throw Error(path.string() + ": listed in the manifest (" + field + ") but missing; " + kFix);
    fs::path real = fs::canonical(path, ec);
    if (ec) throw Error(path.string() + ": " + field + " cannot be resolved (" + ec.message() + "); " + kFix);
    fs::path root = fs::canonical(folder, ec);
    if (ec) throw Error(folder.string() + ": cannot be resolved (" + ec.message() + ")");
    if (!inside(real, root))
        throw Error(path.string() + ": " + field + " is a link to " + real.string() +
                    ", outside the export folder; only files inside " + folder.string() + " are read (" + kFix + ")");
    fs::file_status st = fs::status(real, ec);
    bool ok = fs::is_regular_file(st) || (allow_dir && fs::is_directory(st));
    if (!ok) {
        std::string kind = fs::is_directory(st) ? "a folder" : "not a regular file";
        throw Error(path.string() + ": " + field + " is " + kind + ", not a regular file; it is never opened (" +
                    kFix + ")");
    }
    return path;
}

namespace {

// seedge.artifacts.artifact_files: a folder's files, or the file plus an OpenVINO .xml's .bin.
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

}  // namespace

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
        throw Error(path.string() + ": sha256 differs from the manifest (file changed after export); " + kFix);
    return path;
}

std::map<std::string, BenchEntry> read_bench(const fs::path& folder);

Manifest read_manifest(const fs::path& folder) {
    fs::path path = folder / kManifest;
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw Error(folder.string() + ": not a directory; pass a folder written by `seedge export`");
    if (!fs::exists(fs::symlink_status(path, ec)))
        throw Error(folder.string() + ": no manifest.json here; pass a folder written by `seedge export`");
    std::string text = read_bounded(contained_file(folder, kManifest, kManifest), kMaxManifestBytes, "manifest");
    json::Value doc;
    try {
        doc = json::parse(text);
    } catch (const Error& e) {
        throw Error(path.string() + ": unreadable manifest (" + e.what() + "); " + kFix);
    }
    Fields f(path);
    if (!doc.is_object()) throw Error(path.string() + ": the manifest is not a JSON object; " + kFix);
    const json::Value* version = doc.find("schema_version");
    if (version == nullptr || !version->is_number() || version->as_number() != kSchemaVersion)
        throw Error(path.string() + ": manifest schema version " + (version ? version->dump() : "None") + " is not " +
                    std::to_string(kSchemaVersion) + "; re-run `seedge export` with this seedge");

    Manifest m;
    m.folder = folder;
    m.document = doc;
    m.bench = read_bench(folder);
    m.name = f.text(doc, "name", "name");
    const json::Value& model = f.obj(doc, "model", "model");
    const json::Value* n_classes = model.find("num_classes");
    std::int64_t n = f.count(n_classes ? *n_classes : json::Value(), "model.num_classes");
    const json::Value* names = model.find("class_names");
    if (names != nullptr && !names->is_null()) {
        if (!names->is_array()) f.bad("model.class_names", "must be a list of strings");
        for (const json::Value& c : names->as_array()) {
            if (!c.is_string()) f.bad("model.class_names", "must be a list of strings");
            m.class_names.push_back(c.as_string());
        }
        if (static_cast<std::int64_t>(m.class_names.size()) != n)
            f.bad("model.class_names", "has " + std::to_string(m.class_names.size()) + " names for " +
                                           std::to_string(n) + " classes");
    } else {
        for (std::int64_t i = 0; i < n; ++i) m.class_names.push_back(std::to_string(i));
    }

    const json::Value& input = f.obj(doc, "input", "input");
    m.input_name = input.find("name") ? f.text(input, "name", "input.name") : "input";
    const json::Value* layout = input.find("layout");
    m.input_layout = layout && layout->is_string() ? layout->as_string() : "NCHW";
    const json::Value* shape = input.find("shape");
    if (shape == nullptr || !shape->is_array() || shape->as_array().size() != 4)
        f.bad("input.shape", "must be [batch, C, H, W] with positive integer C, H, W");
    const auto& dims = shape->as_array();
    for (int i = 0; i < 3; ++i) {
        if (!Fields::positive_int(dims[i + 1])) f.bad("input.shape", "must be [batch, C, H, W] with positive integer C, H, W");
        m.input_chw[i] = static_cast<std::int64_t>(dims[i + 1].as_number());
    }
    if (Fields::positive_int(dims[0])) m.fixed_batch = static_cast<std::int64_t>(dims[0].as_number());
    else if (!dims[0].is_string()) f.bad("input.shape", "must be [batch, C, H, W] with positive integer C, H, W");

    const json::Value* arts = doc.find("artifacts");
    if (arts == nullptr || !arts->is_array()) f.bad("artifacts", "must be a list");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < arts->as_array().size(); ++i) {
        const json::Value& a = arts->as_array()[i];
        std::string where = "artifacts[" + std::to_string(i) + "]";
        if (!a.is_object()) f.bad(where, "must be an object");
        Artifact art;
        art.id = f.text(a, "id", where + ".id");
        art.format = f.text(a, "format", where + ".format");
        art.precision = f.text(a, "precision", where + ".precision");
        art.file = f.text(a, "file", where + ".file");
        art.sha256 = f.text(a, "sha256", where + ".sha256");
        art.backend = f.text(a, "backend", where + ".backend");
        if (!seen.insert(art.id).second) f.bad(where + ".id", "'" + art.id + "' appears twice");
        for (const char* key : {"build", "parity"}) {
            const json::Value* v = a.find(key);
            if (v != nullptr && !v->is_null() && !v->is_object()) f.bad(where + "." + key, "must be an object");
        }
        if (const json::Value* build = a.find("build"); build != nullptr && build->is_object()) {
            art.build = *build;
            if (const json::Value* p = build->find("inference_precision"); p != nullptr && p->is_string())
                art.inference_precision = p->as_string();
            if (const json::Value* t = build->find("int8_cpu"); t != nullptr && t->is_string()) {
                art.int8_cpu = t->as_string();
            } else if (t == nullptr) {
                // As seedge.backends.cpu_features.int8_cpu_target: an IR exported before int8_cpu was
                // recorded whose nncf route ran with the overflow fix off (a VNNI CPU) has 8-bit weights.
                const json::Value* nncf = build->find("nncf");
                const json::Value* fix = nncf != nullptr && nncf->is_object() ? nncf->find("overflow_fix") : nullptr;
                const json::Value* route = build->find("route");
                bool nncf_route = route == nullptr || (route->is_string() && route->as_string() == "nncf");
                if (fix != nullptr && fix->is_string() && fix->as_string() == "disabled (CPU has VNNI)" && nncf_route)
                    art.int8_cpu = "vnni";
            }
            if (const json::Value* mb = build->find("max_batch"); mb != nullptr && Fields::positive_int(*mb))
                art.max_batch = static_cast<std::int64_t>(mb->as_number());
        }
        // "input" (uint8 NHWC pixels: preprocessing inside) and "output" (a softmax inside), when
        // the entry has them (seedge/preprocess/pixels.py); without them: the manifest's float input.
        if (const json::Value* in = a.find("input"); in != nullptr && !in->is_null()) {
            if (!in->is_object()) f.bad(where + ".input", "must be an object");
            const json::Value* dtype = in->find("dtype");
            art.takes_pixels = dtype != nullptr && dtype->is_string() && dtype->as_string() == "uint8";
            if (art.takes_pixels) {
                art.color_order = f.text(*in, "color_order", where + ".input.color_order");
                if (art.color_order != "RGB" && art.color_order != "BGR" && art.color_order != "L")
                    f.bad(where + ".input.color_order", "must be RGB, BGR or L");
                if (f.text(*in, "layout", where + ".input.layout") != "NHWC")
                    f.bad(where + ".input.layout", "must be NHWC for uint8 pixels");
            }
        }
        if (const json::Value* out = a.find("output"); out != nullptr && out->is_object()) {
            const json::Value* soft = out->find("softmax");
            art.softmax = soft != nullptr && soft->is_bool() && soft->as_bool();
        }
        if (const json::Value* parity = a.find("parity"); parity != nullptr && parity->is_object()) {
            const json::Value* ok = parity->find("passed");
            art.parity_failed = ok != nullptr && ok->is_bool() && !ok->as_bool();
        }
        m.artifacts.push_back(std::move(art));
    }

    if (const json::Value* ref = doc.find("reference"); ref != nullptr && !ref->is_null()) {
        if (!ref->is_object()) f.bad("reference", "must be an object");
        if (const json::Value* raw = ref->find("raw"); raw != nullptr && !raw->is_null()) {
            if (!raw->is_object()) f.bad("reference.raw", "must be an object");
            m.reference_input = raw_array(f, *raw, "input", "float32");
            m.reference_logits = raw_array(f, *raw, "logits", "float32");
            m.reference_labels = raw_array(f, *raw, "labels", "int64");
            m.reference_pixels = raw_array(f, *raw, "pixels", "uint8");
        }
    }
    return m;
}

namespace {

// What is wrong with an entry's p50_ms ("" when nothing), as seedge.bench_record._p50_problem.
std::string p50_problem(const json::Value& p50) {
    if (!p50.is_object()) return "not an object";
    for (const auto& [id, per] : p50.as_object()) {
        if (!per.is_object()) return "'" + id + "' is not an object";
        for (const auto& [batch, ms] : per.as_object()) {
            // a batch size as a canonical decimal: "1", "8", "64" (at most 9 digits)
            bool digits = !batch.empty() && batch.size() <= 9 && batch[0] != '0' &&
                          std::all_of(batch.begin(), batch.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (!digits) return "'" + id + "' has batch '" + batch + "', not a positive integer";
            if (!ms.is_number() || !std::isfinite(ms.as_number()) || ms.as_number() <= 0)
                return "'" + id + "' at batch " + batch + " is " + ms.dump();
        }
    }
    return "";
}

}  // namespace

// bench.json per device family, checked as seedge.bench_record.read_record; the p50s kept are
// those at the smallest batch measured (seedge.bench_record.timings).
std::map<std::string, BenchEntry> read_bench(const fs::path& folder) {
    std::map<std::string, BenchEntry> bench;
    fs::path path = folder / kBenchRecord;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec))) return bench;
    const std::string fix = "; delete it or run `seedge bench` again";
    json::Value doc;
    try {
        doc = json::parse(read_bounded(contained_file(folder, kBenchRecord, kBenchRecord), kMaxBenchRecordBytes,
                                       "bench record"));
    } catch (const Error& e) {
        throw Error(path.string() + ": unreadable bench record (" + e.what() + ")" + fix);
    }
    const json::Value* schema = doc.is_object() ? doc.find("schema") : nullptr;
    const json::Value* devices = doc.is_object() ? doc.find("devices") : nullptr;
    bool ok = schema != nullptr && schema->is_number() && schema->as_number() == 1 && devices != nullptr &&
              devices->is_object();
    if (ok) {
        for (const auto& [family, entry] : devices->as_object()) {
            const json::Value* ids = entry.is_object() ? entry.find("slow") : nullptr;
            if (ids == nullptr || !ids->is_object()) ok = false;
        }
    }
    if (!ok) throw Error(path.string() + ": not a seedge bench record (schema 1 with devices.*.slow)" + fix);
    for (const auto& [family, entry] : devices->as_object()) {
        BenchEntry e;  // a repeated family: the last one counts, as in Python
        for (const auto& [id, why] : entry.find("slow")->as_object()) e.slow.insert(id);
        if (const json::Value* c = entry.find("contended"); c != nullptr) {
            if (!c->is_bool())
                throw Error(path.string() + ": devices." + family + ".contended must be true or false" + fix);
            e.contended = c->as_bool();
        }
        if (const json::Value* when = entry.find("measured"); when != nullptr && when->is_string())
            e.measured = when->as_string();
        if (const json::Value* p50 = entry.find("p50_ms"); p50 != nullptr) {
            std::string problem = p50_problem(*p50);
            if (!problem.empty())
                throw Error(path.string() + ": devices." + family +
                            ".p50_ms must map artifact ids to {batch: positive finite ms} (" + problem + ")" + fix);
            std::map<std::string, const json::Value*> per_id;  // a repeated id: the last one counts, as in Python
            for (const auto& [id, per] : p50->as_object()) per_id[id] = &per;
            for (const auto& [id, per] : per_id)
                for (const auto& [batch, ms] : per->as_object()) {
                    std::int64_t b = std::stoll(batch);
                    if (e.batch == 0 || b < e.batch) e.batch = b;
                }
            std::string key = std::to_string(e.batch);
            for (const auto& [id, per] : per_id)
                if (const json::Value* ms = per->find(key); ms != nullptr) e.p50_ms[id] = ms->as_number();
        }
        bench[family] = std::move(e);
    }
    return bench;
}

namespace {

bool is_cuda(const std::string& device) { return device == "cuda" || device.rfind("cuda:", 0) == 0; }

// The family's bench entry when it recorded p50s, else nullptr.
const BenchEntry* measured_entry(const Manifest& manifest, bool cuda) {
    auto it = manifest.bench.find(cuda ? "cuda" : "cpu");
    return it != manifest.bench.end() && it->second.batch > 0 ? &it->second : nullptr;
}

}  // namespace

std::vector<const Artifact*> candidates(const Manifest& manifest, const std::string& device,
                                        const std::string& artifact_id) {
    bool cuda = is_cuda(device);
    if (!cuda && device != "cpu") throw Error("device '" + device + "' is not one of cpu, cuda, cuda:N");
    if (cuda && !has_tensorrt())
        throw Error("device '" + device + "' needs the C++ runtime's TensorRT path, which this build lacks (TensorRT "
                    "was not found at build time); rebuild where TensorRT is installed, or use the cpu");
    const Preference& pref = cuda ? kCuda : kCpu;
    auto reads = [](const Preference& p, const Artifact& a) {
        return std::find(p.reads.begin(), p.reads.end(), a.format) != p.reads.end();
    };
    if (!artifact_id.empty()) {
        const Artifact& a = manifest.find(artifact_id);
        // An explicit artifact runs where its format is read: OpenVINO on the CPU, TensorRT on a GPU.
        if (!reads(pref, a))
            throw Error("artifact '" + artifact_id + "' (" + a.format + ") cannot run on the C++ runtime on " + device +
                        ": it runs openvino and onnx files on the cpu, tensorrt engines on cuda");
        if (std::string why = int8_cpu_refusal(a); !why.empty()) throw Error(why);
        return {&a};
    }
    // An artifact with the preprocessing inside comes before its plain sibling (as in the Python runtime).
    // Never chosen on its own: an artifact whose parity failed, or one `seedge bench` flagged slow;
    // never at all: one built for VNNI CPUs (8-bit INT8 weights) on a CPU without VNNI/AMX.
    auto entry_it = manifest.bench.find(cuda ? "cuda" : "cpu");
    auto is_slow = [&](const Artifact& a) {
        return entry_it != manifest.bench.end() && entry_it->second.slow.count(a.id);
    };
    std::vector<const Artifact*> arts;
    std::string refused;  // said when nothing else is left
    bool any_passed = false;  // a parity-passing artifact this CPU does not refuse: only bench can have left it out
    for (const Artifact& a : manifest.artifacts) {
        if (std::string why = int8_cpu_refusal(a); !why.empty()) {
            if (refused.empty()) refused = why;
            continue;
        }
        any_passed = any_passed || !a.parity_failed;
        if (!a.parity_failed && !is_slow(a)) arts.push_back(&a);
    }
    if (arts.empty() && any_passed)
        throw Error(manifest.name + ": `seedge bench` flagged every artifact slow on " + (cuda ? "cuda" : "cpu") +
                    " (bench.json); pass --artifact to run one anyway, or bench again");
    std::stable_partition(arts.begin(), arts.end(), [](const Artifact* a) { return a->takes_pixels; });
    // The rule of seedge/bench_record.py: one group per precision of the backend, in the static
    // order; measured groups first, fastest first (a contended bench's p50s are not used).
    const BenchEntry* bench = measured_entry(manifest, cuda);
    if (bench != nullptr && bench->contended) bench = nullptr;
    struct Group {
        double latency = std::numeric_limits<double>::infinity();
        std::vector<const Artifact*> members;
    };
    std::vector<Group> groups;
    for (const std::string& precision : pref.precisions) {
        Group g;
        for (const Artifact* a : arts)
            if (a->precision == precision && a->backend == pref.backend) {
                g.members.push_back(a);
                if (bench == nullptr) continue;
                auto p50 = bench->p50_ms.find(a->id);
                if (p50 != bench->p50_ms.end()) g.latency = std::min(g.latency, p50->second);
            }
        // As the Python runtime with backend= given: then files of that precision the backend reads
        // (OpenVINO reads the ONNX files made for ONNX Runtime). Their p50, taken on another
        // backend, does not count for the group.
        for (const Artifact* a : arts)
            if (a->precision == precision && a->backend != pref.backend && reads(pref, *a)) g.members.push_back(a);
        groups.push_back(std::move(g));
    }
    std::stable_sort(groups.begin(), groups.end(),  // stable: ties and unmeasured groups keep the static order
                     [](const Group& a, const Group& b) { return a.latency < b.latency; });
    std::vector<const Artifact*> order;
    for (const Group& g : groups) order.insert(order.end(), g.members.begin(), g.members.end());
    if (order.empty()) {
        std::string have;
        for (const Artifact& a : manifest.artifacts) have += (have.empty() ? "" : ", ") + a.id + " (" + a.backend + ")";
        throw Error(manifest.name + ": no artifact for the C++ runtime's " + pref.backend + " backend on " +
                    (cuda ? "cuda" : "cpu") + " (artifacts: " + (have.empty() ? "none" : have) +
                    "); export one or pass --artifact" + (refused.empty() ? "" : "; " + refused));
    }
    return order;
}

std::string order_json(const Manifest& manifest, const std::string& device, bool explicit_artifact,
                       const Artifact& chosen) {
    bool cuda = is_cuda(device);
    std::string family = cuda ? "cuda" : "cpu";
    const BenchEntry* bench = measured_entry(manifest, cuda);
    std::string rule;
    if (explicit_artifact) rule = "asked for by id";
    else if (bench == nullptr) rule = "static preference (no p50 from seedge bench on " + family + ")";
    else if (bench->contended)
        rule = "static preference (seedge bench " + bench->measured + " on " + family +
               " was contended: its p50s are not used)";
    else rule = "measured p50 at batch " + std::to_string(bench->batch) + " by seedge bench " + bench->measured;
    // The chosen artifact's p50 only when bench timed it on the backend it runs on here.
    std::string p50 = "null";
    if (bench != nullptr && chosen.backend == (cuda ? kCuda : kCpu).backend) {
        auto it = bench->p50_ms.find(chosen.id);
        if (it != bench->p50_ms.end()) p50 = json::number_text(it->second);
    }
    return "{\"rule\":" + json::quote(rule) + ",\"batch\":" +
           (bench != nullptr ? std::to_string(bench->batch) : std::string("null")) + ",\"p50_ms\":" + p50 + "}";
}

}  // namespace seedge
