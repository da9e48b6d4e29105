// Model: artifact choice, batching, top-k and the self-test (seedge/runtime/model.py's roles;
// the metrics and thresholds are seedge/verify/parity.py's, the batching seedge/verify/run.py's).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <numeric>

#include <seedge_contract.hpp>

#include "engine.hpp"
#include "json.hpp"
#include "seedge/runtime.hpp"
#include "seedge/sha256.hpp"
#include "thresholds.hpp"

namespace fs = std::filesystem;

namespace seedge {

namespace {

constexpr std::size_t kDefaultBatch = 64;  // seedge.verify.run.DEFAULT_BATCH

bool little_endian() {
    const std::uint16_t one = 1;
    std::uint8_t first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

// seedge.verify.parity.passed.
void judge(SelfTest& r) {
    const Thresholds& t = r.thresholds;
    if (!r.finite) { r.passed = false; r.reason = "non-finite outputs (NaN or Inf)"; return; }
    if (r.samples == 0) { r.passed = false; r.reason = "no samples compared"; return; }
    std::vector<std::string> fails;
    if (auto v = t.min_agreement; v && r.top1_agreement < *v)
        fails.push_back("top-1 agreement " + format("%.2f%%", r.top1_agreement * 100) + " < " + format("%.2f%%", *v * 100));
    if (auto v = t.max_abs_diff; v && r.max_abs_diff > *v)
        fails.push_back("max abs diff " + format("%.3g", r.max_abs_diff) + " > " + format("%.3g", *v));
    if (auto v = t.max_rel_diff; v && r.max_rel_diff > *v)
        fails.push_back("max rel diff " + format("%.3g", r.max_rel_diff) + " > " + format("%.3g", *v));
    if (auto v = t.min_cosine; v && r.cosine < *v)
        fails.push_back("cosine " + format("%.6f", r.cosine) + " < " + format("%.6f", *v));
    if (auto v = t.max_accuracy_drop; v && r.accuracy_drop_points && *r.accuracy_drop_points > *v)
        fails.push_back("accuracy drop " + format("%.2f", *r.accuracy_drop_points) + " points > " + format("%.2f", *v));
    r.passed = fails.empty();
    r.reason = "ok";
    if (!fails.empty()) {
        r.reason = fails[0];
        for (std::size_t i = 1; i < fails.size(); ++i) r.reason += "; " + fails[i];
    }
}

// argmax with a non-finite row counting as no answer (-1), as parity._argmax_nan_last.
long argmax(const double* row, std::size_t n, bool check_finite) {
    long best = 0;
    for (std::size_t j = 0; j < n; ++j) {
        if (check_finite && !std::isfinite(row[j])) return -1;
        if (row[j] > row[best]) best = static_cast<long>(j);
    }
    return best;
}

// seedge.verify.parity.compare on (reference, got) rows, labels < 0 meaning unlabelled.
void compare(SelfTest& r, const std::vector<float>& ref32, const std::vector<float>& got32, std::size_t n,
             std::size_t classes, const std::vector<std::int64_t>* labels) {
    std::vector<double> ref(ref32.begin(), ref32.end()), got(got32.begin(), got32.end());
    r.samples = n;
    r.finite = std::all_of(got.begin(), got.end(), [](double v) { return std::isfinite(v); });
    std::size_t agree = 0, ref_right = 0, got_right = 0, labelled = 0;
    double diff = 0, scale = 0, cos_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double* a = &ref[i * classes];
        const double* b = &got[i * classes];
        long ta = argmax(a, classes, false), tb = argmax(b, classes, true);
        agree += ta == tb;
        if (labels != nullptr && (*labels)[i] >= 0) {
            ++labelled;
            ref_right += ta == (*labels)[i];
            got_right += tb == (*labels)[i];
        }
        double dot = 0, na = 0, nb = 0;
        for (std::size_t j = 0; j < classes; ++j) {
            diff = std::max(diff, std::abs(a[j] - b[j]));
            scale = std::max(scale, std::abs(a[j]));
            dot += a[j] * b[j];
            na += a[j] * a[j];
            nb += b[j] * b[j];
        }
        double norms = std::sqrt(na) * std::sqrt(nb);
        cos_sum += norms > 0 ? dot / norms : (dot == 0 ? 1.0 : 0.0);  // two zero rows: the same answer
    }
    r.top1_agreement = n ? static_cast<double>(agree) / static_cast<double>(n) : 0.0;
    if (r.finite && n) {
        r.max_abs_diff = diff;
        r.max_rel_diff = diff / std::max(scale, 1e-12);
        r.cosine = cos_sum / static_cast<double>(n);
    }
    r.labelled = labelled;
    if (labelled) {
        double ref_acc = static_cast<double>(ref_right) / static_cast<double>(labelled);
        double acc = static_cast<double>(got_right) / static_cast<double>(labelled);
        r.baseline_accuracy = ref_acc;
        r.accuracy = acc;
        r.accuracy_drop_points = (ref_acc - acc) * 100.0;
    }
}

// a * b for a size computed from a manifest (or a caller's count): an Error where it would overflow
// size_t, never a wrapped size (issue 22: a signed overflow in image_floats() ended in SIGFPE).
std::size_t size_product(std::size_t a, std::size_t b, const std::string& what) {
    std::size_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) throw Error(what + ": " + std::to_string(a) + " x " + std::to_string(b) +
                                                      " values overflow this machine's sizes");
    return r;
}

template <typename T>
std::vector<T> read_raw(const Manifest& m, const RawArray& a, const std::string& what) {
    fs::path path = contained_file(m.folder, a.file, "reference.raw." + what + ".file");
    if (!a.sha256.empty() && sha256_file(path) != a.sha256)
        throw IntegrityError(path.string() + ": sha256 differs from the manifest (file changed after export); re-run `seedge export`");
    if (!little_endian()) throw Error("the raw reference files are little-endian; this host is big-endian");
    std::size_t count = a.count();
    std::size_t need = size_product(count, sizeof(T), path.string());
    std::error_code ec;
    auto bytes = fs::file_size(path, ec);
    if (ec || bytes != need)
        throw Error(path.string() + ": holds " + std::to_string(ec ? 0 : bytes) + " bytes, the manifest's shape needs " +
                    std::to_string(need) + "; re-run `seedge export`");
    std::vector<T> out(count);
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(count * sizeof(T)));
    if (!f) throw Error(path.string() + ": cannot be read");
    return out;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

std::string message_line(const std::string& text, std::size_t limit) {
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        line.erase(0, line.find_first_not_of(" \t\r"));
        line.erase(line.find_last_not_of(" \t\r") + 1);
        if (line.rfind("[ ERROR ]", 0) == 0) line.erase(0, 9);
        line.erase(0, line.find_first_not_of(' '));
        bool location = line.rfind("Exception from ", 0) == 0 ||
                        (line.rfind("Check '", 0) == 0 && line.find("' failed at ") != std::string::npos);
        if (!line.empty() && !location) return line.substr(0, limit);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return "no detail";
}

bool has_tensorrt() {
#ifdef SEEDGE_WITH_TENSORRT
    return true;
#else
    return false;
#endif
}

#ifndef SEEDGE_WITH_TENSORRT
std::unique_ptr<Engine> open_tensorrt(const EngineSpec& spec) {
    throw Unavailable(spec.path.string() + ": this build of the C++ runtime has no TensorRT path (TensorRT was not found "
                "at build time)");
}
#endif

struct Model::Impl {
    Manifest manifest;
    std::size_t artifact = 0;  // index into manifest.artifacts
    std::string device;
    bool explicit_artifact = false;  // asked for by id, not chosen (describe_json's "order")
    int threads = 1;
    std::unique_ptr<Engine> engine;
    std::size_t step = kDefaultBatch;  // rows per engine call
    bool fixed = false;                // the model's batch is fixed: pad the last call
    std::mutex lock;                   // one inference at a time on the engine's request
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::open(const fs::path& folder, const Options& options) {
    auto impl = std::make_unique<Impl>();
    impl->manifest = read_manifest(folder);
    impl->device = options.device.empty() ? "cpu" : options.device;
    impl->threads = options.threads > 0 ? options.threads : default_threads();
    impl->explicit_artifact = !options.artifact.empty();
    const Manifest& m = impl->manifest;
    const Artifact& chosen = *candidates(m, impl->device, options.artifact).front();
    impl->artifact = static_cast<std::size_t>(&chosen - m.artifacts.data());
    fs::path path = check_integrity(m.folder, chosen);
    EngineSpec spec{path, chosen, m, impl->device, impl->threads};
    impl->engine = chosen.format == "tensorrt" ? open_tensorrt(spec) : open_openvino(spec);
    // seedge.verify.run.batching: a fixed input batch, else 64 rows (capped by an engine profile).
    std::size_t cap = chosen.max_batch > 0 ? static_cast<std::size_t>(chosen.max_batch) : kDefaultBatch;
    if (impl->engine->max_batch()) cap = std::min(cap, impl->engine->max_batch());
    impl->fixed = m.fixed_batch > 0;
    impl->step = impl->fixed ? static_cast<std::size_t>(m.fixed_batch) : std::min(kDefaultBatch, cap);
    return Model(std::move(impl));
}

const Manifest& Model::manifest() const { return impl_->manifest; }
const Artifact& Model::artifact() const { return impl_->manifest.artifacts[impl_->artifact]; }
std::string Model::backend() const { return impl_->engine->backend(); }
std::size_t Model::num_classes() const { return impl_->manifest.class_names.size(); }

std::size_t Model::image_floats() const {
    const auto& chw = impl_->manifest.input_chw;  // positive and bounded by the contract (MAX_SIDE)
    const std::string what = "input C x H x W";
    return size_product(size_product(static_cast<std::size_t>(chw[0]), static_cast<std::size_t>(chw[1]), what),
                        static_cast<std::size_t>(chw[2]), what);
}

std::string Model::describe_json() const {
    const Manifest& m = impl_->manifest;
    const Artifact& a = artifact();
    std::string source;
    Thresholds gates = recorded_thresholds(m, a, source);
    return "{\"folder\":" + json::quote(m.folder.string()) + ",\"artifact\":" + json::quote(a.id) +
           ",\"file\":" + json::quote(a.file) + ",\"backend\":" + json::quote(backend()) +
           ",\"precision\":" + json::quote(a.precision) + ",\"device\":" + json::quote(impl_->device) +
           ",\"input_size\":[" + std::to_string(m.input_chw[0]) + "," + std::to_string(m.input_chw[1]) + "," +
           std::to_string(m.input_chw[2]) + "],\"classes\":" + std::to_string(num_classes()) +
           ",\"runner\":" + impl_->engine->describe_json() +
           // how the choice was ordered, in seedge.runtime's words (Model.describe()["order"])
           ",\"order\":" + order_json(m, impl_->device, impl_->explicit_artifact, a) +
           // the gates self_test() judges by, and whether the export recorded them (as Model.describe())
           ",\"thresholds\":" + thresholds_json(gates) + ",\"thresholds_source\":" + json::quote(source) + "}";
}

bool Model::takes_pixels() const { return artifact().takes_pixels; }

std::size_t Model::image_bytes() const { return image_floats(); }  // H * W * C, one byte each

// Rows of `images` (`per` values each) through `infer(rows, n, out)` in the Model's batches, as
// seedge.verify.run.run_batched splits them (a fixed-batch model gets its last batch zero-padded).
template <typename T, typename Infer>
std::vector<float> run_batched(const T* images, std::size_t n, std::size_t per, std::size_t classes,
                               std::size_t step, bool fixed, Infer infer) {
    size_product(n, per, "images x values per image");  // every i * per below is at most this
    size_product(step, per, "batch x values per image");
    size_product(step, classes, "batch x classes");
    std::vector<float> logits(size_product(n, classes, "images x classes"));
    std::vector<T> padded;
    std::vector<float> padded_out;
    for (std::size_t i = 0; i < n; i += step) {
        std::size_t rows = std::min(step, n - i);
        const T* x = images + i * per;
        float* out = logits.data() + i * classes;
        if (fixed && rows < step) {
            padded.assign(step * per, T(0));
            std::copy(x, x + rows * per, padded.begin());
            padded_out.resize(step * classes);
            infer(padded.data(), step, padded_out.data());
            std::copy(padded_out.begin(), padded_out.begin() + static_cast<long>(rows * classes), out);
        } else {
            infer(x, rows, out);
        }
    }
    return logits;
}

std::vector<float> Model::predict(const float* images, std::size_t n) {
    const std::size_t per = image_floats(), classes = num_classes();
    if (takes_pixels())
        throw Error("artifact '" + artifact().id + "' has the preprocessing inside: it takes uint8 NHWC pixels "
                    "(predict_pixels, classify_pixels; .u8 files), not float tensors; or choose a plain artifact");
    if (n == 0) return {};
    // As the Python runtime: a model's answer to NaN/Inf inputs means nothing.
    std::size_t bad = 0, total = size_product(n, per, "images x values per image");
    for (std::size_t i = 0; i < total; ++i) bad += !std::isfinite(images[i]);
    if (bad)
        throw Error("input tensor holds " + std::to_string(bad) + " NaN/Inf values; a model's answer to them means "
                    "nothing");
    std::lock_guard<std::mutex> hold(impl_->lock);
    Engine& engine = *impl_->engine;
    return run_batched(images, n, per, classes, impl_->step, impl_->fixed,
                       [&](const float* x, std::size_t rows, float* out) { engine.infer(x, rows, out); });
}

std::vector<float> Model::predict_pixels(const std::uint8_t* images, std::size_t n) {
    if (!takes_pixels())
        throw Error("artifact '" + artifact().id + "' takes float32 NCHW tensors (seedge.preprocess's output), not "
                    "uint8 pixels; export with --embed-preprocess for an artifact that does");
    if (n == 0) return {};
    std::lock_guard<std::mutex> hold(impl_->lock);
    Engine& engine = *impl_->engine;
    return run_batched(images, n, image_bytes(), num_classes(), impl_->step, impl_->fixed,
                       [&](const std::uint8_t* x, std::size_t rows, float* out) { engine.infer_pixels(x, rows, out); });
}

void Engine::infer_pixels(const std::uint8_t*, std::size_t, float*) {
    throw Error("the " + backend() + " engine of this runtime has no uint8 pixel input; run the artifact's plain "
                "sibling (without -raw) here");
}

std::vector<Label> top_k(const float* logits, std::size_t classes, std::size_t k, const std::vector<std::string>& names,
                         bool probabilities) {
    std::vector<double> p(logits, logits + classes);
    if (!probabilities) {
        double top = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (double& v : p) sum += (v = std::exp(v - top));
        for (double& v : p) v /= sum;
    }
    std::vector<std::size_t> idx(classes);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
    k = std::max<std::size_t>(1, std::min(k, classes));
    std::vector<Label> out;
    for (std::size_t i = 0; i < k; ++i) {
        std::size_t c = idx[i];
        out.push_back({static_cast<int>(c), c < names.size() ? names[c] : std::to_string(c), p[c]});
    }
    return out;
}

namespace {
std::vector<std::vector<Label>> top_k_rows(const std::vector<float>& outputs, std::size_t n, std::size_t classes,
                                           std::size_t k, const Manifest& m, bool probabilities) {
    std::vector<std::vector<Label>> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(top_k(outputs.data() + i * classes, classes, k, m.class_names, probabilities));
    return out;
}

// Softmax of each row, in double (seedge.verify.run.softmax): what an artifact with a softmax
// inside is compared with.
std::vector<float> softmax_rows(const std::vector<float>& logits, std::size_t classes) {
    std::vector<float> out(logits.size());
    for (std::size_t i = 0; i + classes <= logits.size(); i += classes) {
        double top = *std::max_element(logits.begin() + static_cast<long>(i), logits.begin() + static_cast<long>(i + classes));
        double sum = 0;
        std::vector<double> z(classes);
        for (std::size_t j = 0; j < classes; ++j) sum += (z[j] = std::exp(static_cast<double>(logits[i + j]) - top));
        for (std::size_t j = 0; j < classes; ++j) out[i + j] = static_cast<float>(z[j] / sum);
    }
    return out;
}
}  // namespace

std::vector<std::vector<Label>> Model::classify(const float* images, std::size_t n, std::size_t k) {
    return top_k_rows(predict(images, n), n, num_classes(), k, impl_->manifest, artifact().softmax);
}

std::vector<std::vector<Label>> Model::classify_pixels(const std::uint8_t* images, std::size_t n, std::size_t k) {
    return top_k_rows(predict_pixels(images, n), n, num_classes(), k, impl_->manifest, artifact().softmax);
}

SelfTest Model::self_test() {
    const Manifest& m = impl_->manifest;
    fs::path where = m.folder / "manifest.json";
    std::string source;
    Thresholds gates = recorded_thresholds(m, artifact(), source);
    if (!m.reference_input || !m.reference_logits)
        throw Error(where.string() + ": no raw reference data (reference.raw.input / logits), which exports by this "
                    "seedge write beside reference.npz; re-run `seedge export`");
    const RawArray& in = *m.reference_input;
    const RawArray& lg = *m.reference_logits;
    std::vector<std::int64_t> want_in = {in.shape[0], m.input_chw[0], m.input_chw[1], m.input_chw[2]};
    std::vector<std::int64_t> want_lg = {in.shape[0], static_cast<std::int64_t>(num_classes())};
    if (in.shape != want_in)
        throw Error(where.string() + ": reference input of shape " + shape_text(in.shape) + " is not (N, C, H, W) = " +
                    shape_text(want_in) + "; re-run `seedge export`");
    if (lg.shape != want_lg)
        throw Error(where.string() + ": reference logits of shape " + shape_text(lg.shape) + " do not match " +
                    shape_text(want_lg) + "; re-run `seedge export`");
    std::vector<float> expected = read_raw<float>(m, lg, "logits");
    if (artifact().softmax) expected = softmax_rows(expected, num_classes());
    std::optional<std::vector<std::int64_t>> labels;
    if (m.reference_labels) {
        if (m.reference_labels->shape != std::vector<std::int64_t>{in.shape[0]})
            throw Error(where.string() + ": reference labels of shape " + shape_text(m.reference_labels->shape) +
                        " do not match " + std::to_string(in.shape[0]) + " inputs; re-run `seedge export`");
        labels = read_raw<std::int64_t>(m, *m.reference_labels, "labels");
    }
    const std::size_t n = static_cast<std::size_t>(in.shape[0]);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<float> got;
    if (takes_pixels()) {  // the images the reference inputs were made from, in the artifact's order
        if (!m.reference_pixels)
            throw Error(where.string() + ": no raw reference pixels (reference.raw.pixels), which exports with "
                        "--embed-preprocess write; re-run `seedge export --embed-preprocess ...`");
        const auto& chw = m.input_chw;
        std::vector<std::int64_t> want_px = {in.shape[0], chw[1], chw[2], chw[0]};
        if (m.reference_pixels->shape != want_px)
            throw Error(where.string() + ": reference pixels of shape " + shape_text(m.reference_pixels->shape) +
                        " are not (N, H, W, C) = " + shape_text(want_px) + "; re-run `seedge export`");
        std::vector<std::uint8_t> px = read_raw<std::uint8_t>(m, *m.reference_pixels, "pixels");
        if (artifact().color_order == "BGR" && chw[0] == 3)  // stored RGB, as seedge.preprocess decodes
            for (std::size_t i = 0; i + 2 < px.size(); i += 3) std::swap(px[i], px[i + 2]);
        t0 = std::chrono::steady_clock::now();
        got = predict_pixels(px.data(), n);
    } else {
        std::vector<float> x = read_raw<float>(m, in, "input");
        t0 = std::chrono::steady_clock::now();
        got = predict(x.data(), n);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    SelfTest r;
    r.artifact = artifact().id;
    r.precision = artifact().precision;
    r.backend = backend();
    r.device = impl_->device;
    r.thresholds = gates;
    r.thresholds_source = source;
    compare(r, expected, got, n, num_classes(), labels ? &*labels : nullptr);
    judge(r);
    r.seconds = std::round(seconds * 1e4) / 1e4;
    return r;
}

std::string SelfTest::to_json() const {
    auto opt = [](const std::optional<double>& v) { return v ? json::number_text(*v) : std::string("null"); };
    auto metric = [&](double v) { return finite && samples ? json::number_text(v) : std::string("null"); };
    return "{\"artifact\":" + json::quote(artifact) + ",\"backend\":" + json::quote(backend) + ",\"precision\":" +
           json::quote(precision) + ",\"device\":" + json::quote(device) + ",\"samples\":" + std::to_string(samples) +
           ",\"finite\":" + (finite ? "true" : "false") + ",\"top1_agreement\":" + json::number_text(top1_agreement) +
           ",\"max_abs_diff\":" + metric(max_abs_diff) + ",\"max_rel_diff\":" + metric(max_rel_diff) +
           ",\"cosine\":" + metric(cosine) + ",\"accuracy\":" + opt(accuracy) + ",\"baseline_accuracy\":" +
           opt(baseline_accuracy) + ",\"accuracy_drop_points\":" + opt(accuracy_drop_points) + ",\"labelled\":" +
           std::to_string(labelled) + ",\"thresholds\":" + thresholds_json(thresholds) + ",\"thresholds_source\":" +
           json::quote(thresholds_source) + ",\"passed\":" +
           (passed ? "true" : "false") + ",\"reason\":" + json::quote(reason) + ",\"seconds\":" +
           json::number_text(seconds) + "}";
}

void SelfTest::require_passed() const {
    if (!passed) throw CheckFailed("self-test failed: " + reason);
}

std::vector<std::uint8_t> read_u8(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error(path.string() + ": not a readable file");
    auto bytes = fs::file_size(path, ec);
    if (ec) throw Error(path.string() + ": cannot be read");
    std::vector<std::uint8_t> out(bytes);
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
    if (!f) throw Error(path.string() + ": cannot be read");
    return out;
}

std::vector<float> read_f32(const fs::path& path, std::size_t count) {
    if (!little_endian()) throw Error(path.string() + ": raw float32 input is little-endian; this host is big-endian");
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error(path.string() + ": not a readable file");
    auto bytes = fs::file_size(path, ec);
    if (ec || bytes % sizeof(float) != 0 || (count && bytes / sizeof(float) != count))  // no count * 4: it may wrap
        throw Error(path.string() + ": holds " + std::to_string(ec ? 0 : bytes) + " bytes, not " +
                    (count ? std::to_string(count) + " float32 values" : std::string("whole float32 values")));
    std::vector<float> out(bytes / sizeof(float));
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
    if (!f) throw Error(path.string() + ": cannot be read");
    return out;
}

}  // namespace seedge
