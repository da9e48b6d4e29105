// manifest.json: read, checked by the contract's rules (seedge/contract/manifest.py, through
// the generated header), then the fields this runtime uses copied into a Manifest. The checks
// are the contract's, never repeated here: what is read below is already known well-typed.

#include "document_check.hpp"
#include "folder.hpp"
#include "thresholds.hpp"

namespace fs = std::filesystem;

namespace seedge {

namespace {

const contract::Document& kDoc = contract::kManifest;

const json::Value* present(const json::Value& parent, const char* key) {
    const json::Value* v = parent.find(key);
    return v != nullptr && !v->is_null() ? v : nullptr;
}

std::string text_or(const json::Value& parent, const char* key, const std::string& otherwise) {
    const json::Value* v = present(parent, key);
    return v != nullptr ? v->as_string() : otherwise;
}

std::optional<RawArray> raw_array(const json::Value* raw, const char* key) {
    const json::Value* v = raw != nullptr ? present(*raw, key) : nullptr;
    if (v == nullptr) return std::nullopt;
    RawArray a;
    a.file = v->find("file")->as_string();
    a.dtype = v->find("dtype")->as_string();
    a.sha256 = text_or(*v, "sha256", "");
    for (const json::Value& d : v->find("shape")->as_array()) a.shape.push_back(d.as_int());
    return a;
}

// As seedge.backends.cpu_features.int8_cpu_target: an IR exported before int8_cpu was recorded
// whose nncf route ran with the overflow fix off (a VNNI CPU) has 8-bit weights.
std::string int8_cpu(const json::Value& build) {
    if (const json::Value* t = build.find("int8_cpu"); t != nullptr) return t->is_string() ? t->as_string() : "";
    const json::Value* nncf = present(build, "nncf");
    const json::Value* fix = nncf != nullptr ? present(*nncf, "overflow_fix") : nullptr;
    const json::Value* route = build.find("route");
    bool nncf_route = route == nullptr || (route->is_string() && route->as_string() == "nncf");
    return fix != nullptr && fix->as_string() == "disabled (CPU has VNNI)" && nncf_route ? "vnni" : "";
}

// A gates object the contract checked (known names, each a finite number or null), in its order.
std::vector<std::pair<std::string, std::optional<double>>> gates_of(const json::Value& gates) {
    std::vector<std::pair<std::string, std::optional<double>>> out;
    for (const auto& [name, v] : contract::members(gates))
        out.emplace_back(name, v->is_null() ? std::nullopt : std::optional<double>(v->as_number()));
    return out;
}

// verification.thresholds of an export before per-artifact gates: precision -> the gates given.
void older_thresholds(const json::Value& doc, Manifest& m) {
    const json::Value* verification = present(doc, "verification");
    const json::Value* old = verification != nullptr ? present(*verification, "thresholds") : nullptr;
    if (old == nullptr) return;
    for (const auto& [precision, gates] : contract::members(*old)) m.older_thresholds[precision] = gates_of(*gates);
}

Artifact artifact(const json::Value& a) {
    Artifact art;
    art.id = a.find("id")->as_string();
    art.format = a.find("format")->as_string();
    art.precision = a.find("precision")->as_string();
    art.file = a.find("file")->as_string();
    art.sha256 = a.find("sha256")->as_string();
    art.backend = a.find("backend")->as_string();
    if (const json::Value* build = present(a, "build")) {
        for (const auto& [key, v] : contract::members(*build))
            if (v->is_string()) art.build[key] = v->as_string();
        art.inference_precision = text_or(*build, "inference_precision", "");
        art.int8_cpu = int8_cpu(*build);
        if (const json::Value* mb = present(*build, "max_batch")) art.max_batch = mb->as_int();
    }
    // "input" (uint8 NHWC pixels: preprocessing inside) and "output" (a softmax inside), when
    // the entry has them (seedge/preprocess/pixels.py); without them: the manifest's float input.
    if (const json::Value* in = present(a, "input")) {
        art.takes_pixels = text_or(*in, "dtype", "") == "uint8";
        if (art.takes_pixels) art.color_order = in->find("color_order")->as_string();
    }
    if (const json::Value* out = present(a, "output")) {
        const json::Value* soft = present(*out, "softmax");
        art.softmax = soft != nullptr && soft->as_bool();
    }
    if (const json::Value* parity = present(a, "parity")) {
        const json::Value* ok = parity->find("passed");
        art.parity_failed = ok != nullptr && !ok->as_bool();
        art.judged = true;
        if (const json::Value* gates = present(*parity, "thresholds")) {
            art.thresholds = Thresholds{};
            for (const auto& [name, v] : gates_of(*gates)) set_gate(*art.thresholds, name, v);
        }
    }
    return art;
}

}  // namespace

std::size_t RawArray::count() const {
    // The contract bounds the product (MAX_RAW_VALUES); checked here too, as every size product is.
    std::size_t n = 1;
    for (std::int64_t d : shape)
        if (d <= 0 || __builtin_mul_overflow(n, static_cast<std::size_t>(d), &n))
            throw Error(file + ": a raw reference shape whose size overflows this machine's sizes");
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

Manifest read_manifest(const fs::path& folder) {
    fs::path path = folder / kDoc.name;
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw Error(folder.string() + ": not a directory; pass a folder written by `seedge export`");
    if (!fs::exists(fs::symlink_status(path, ec)))
        throw Error(folder.string() + ": no " + kDoc.name + " here; pass a folder written by `seedge export`");
    std::string text = read_bounded(contained_file(folder, kDoc.name, kDoc.name), kDoc.max_bytes, kDoc.what);
    json::Value doc;
    try {
        doc = json::parse(text);
    } catch (const Error& e) {
        throw Error(path.string() + ": unreadable manifest (" + e.what() + "); " + kDoc.fix);
    }
    contract::check(kDoc, doc, path);

    Manifest m;
    m.folder = folder;
    older_thresholds(doc, m);
    m.bench = read_bench(folder);
    m.name = doc.find("name")->as_string();
    const json::Value& model = *doc.find("model");
    std::int64_t n = model.find("num_classes")->as_int();
    if (const json::Value* names = present(model, "class_names"))
        for (const json::Value& c : names->as_array()) m.class_names.push_back(c.as_string());
    else
        for (std::int64_t i = 0; i < n; ++i) m.class_names.push_back(std::to_string(i));
    const json::Value& input = *doc.find("input");
    m.input_name = text_or(input, "name", "input");
    m.input_layout = text_or(input, "layout", "NCHW");
    const auto& dims = input.find("shape")->as_array();
    for (int i = 0; i < 3; ++i) m.input_chw[i] = dims[i + 1].as_int();
    if (dims[0].is_integer()) m.fixed_batch = dims[0].as_int();
    for (const json::Value& a : doc.find("artifacts")->as_array()) m.artifacts.push_back(artifact(a));
    const json::Value* ref = present(doc, "reference");
    const json::Value* raw = ref != nullptr ? present(*ref, "raw") : nullptr;
    m.reference_input = raw_array(raw, "input");
    m.reference_logits = raw_array(raw, "logits");
    m.reference_labels = raw_array(raw, "labels");
    m.reference_pixels = raw_array(raw, "pixels");
    return m;
}

}  // namespace seedge
