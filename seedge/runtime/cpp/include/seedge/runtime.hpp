// The seedge device runtime in C++: open an `exported/<name>/` folder (or a `seedge pack`
// folder) and classify preprocessed images with the artifact the Python runtime would choose.
//
//     #include <seedge/runtime.hpp>
//     seedge::Model model = seedge::Model::open("exported/demo");      // manifest, choice, sha256
//     std::vector<float> x(model.image_floats());                        // one preprocessed CHW image
//     for (const seedge::Label& l : model.classify(x.data(), 1, 3)[0])
//         std::printf("%s %.4f\n", l.name.c_str(), l.probability);
//
// What it shares with seedge.runtime (Python): the manifest is the contract; the artifact is
// chosen in the Python runtime's order (the rule in seedge/bench_record.py: the folder's
// bench.json p50s, else seedge/backends/table.py RUNTIME_PREFERENCE, as
// `Model.open(folder, backend="openvino")` on a CPU, backend="tensorrt" on a GPU) among
// artifacts whose parity passed at export; the artifact's sha256 is checked (the same digest as
// seedge.artifacts) before it runs; OpenVINO runs with the runner's settings
// (seedge/backends/openvino.py: PERFORMANCE_HINT=LATENCY, INFERENCE_NUM_THREADS, the
// artifact's INFERENCE_PRECISION_HINT, a static-batch compile per batch size); large inputs are
// split as seedge.verify.run splits them; the self-test uses seedge.verify.parity's metrics and
// thresholds. Preprocessing (decode, resize, normalize) is the caller's: inputs are float32
// NCHW tensors, exactly what seedge.preprocess produces -- or, for an artifact exported with
// `--embed-preprocess rgb|bgr` (takes_pixels()), the image after geometry only (decode, resize,
// crop): uint8 NHWC in the artifact's color order, with the normalization inside the artifact.
// Such an artifact is preferred over its plain sibling, as by the Python runtime.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "seedge/error.hpp"

namespace seedge {

// The parity gates an artifact is judged by (seedge.verify.parity; their names are the contract's
// THRESHOLD_KEYS): agreement as a fraction, the accuracy drop in percentage points, diffs in logit
// units, cosine in [-1, 1]. An empty gate is not checked.
struct Thresholds {
    std::optional<double> min_agreement, max_abs_diff, max_rel_diff, max_accuracy_drop, min_cosine;
};

// One manifest artifact entry (the fields the runtime uses).
struct Artifact {
    std::string id, format, precision, file, sha256, backend;
    std::string inference_precision;  // build facts: OpenVINO execution precision ("" = plugin default)
    std::int64_t max_batch = 0;       // build facts: a TensorRT profile's maximum batch (0 = none)
    std::string int8_cpu;             // build facts: INT8 CPU target, "portable" / "vnni" ("" = not INT8 CPU)
    bool parity_failed = false;       // recorded parity said no: never chosen automatically
    bool takes_pixels = false;        // entry "input": uint8 NHWC pixels, preprocessing inside
    std::string color_order;          // their channel order: "RGB", "BGR" ("L" for one channel)
    bool softmax = false;             // entry "output": a softmax inside, outputs are probabilities
    std::map<std::string, std::string> build;  // the build facts that are text (TensorRT checks its version and GPU)
    bool judged = false;              // the entry has a parity record from export
    std::optional<Thresholds> thresholds;  // the gates that record kept (absent: an older export)
};

// A raw little-endian array written beside reference.npz for runtimes without numpy
// (manifest["reference"]["raw"][name]: file, dtype, shape, sha256).
struct RawArray {
    std::string file, dtype, sha256;
    std::vector<std::int64_t> shape;
    std::size_t count() const;
};

// One device family's entry of bench.json (seedge.bench_record): what the folder's last
// `seedge bench` there flagged slow and measured.
struct BenchEntry {
    std::set<std::string> slow;           // never picked on their own
    std::int64_t batch = 0;               // the smallest batch in its p50_ms (0: no p50 recorded)
    std::map<std::string, double> p50_ms;  // artifact id -> p50 at `batch`, as bench measured it
    bool contended = false;               // a busy machine: p50s not used for the order
    std::string measured = "undated";     // when
};

struct Manifest {
    std::filesystem::path folder;
    std::string name;
    std::vector<std::string> class_names;  // one per class ("0".."N-1" when the export named none)
    std::string input_name, input_layout;
    std::array<std::int64_t, 3> input_chw{};  // C, H, W
    std::int64_t fixed_batch = 0;             // input.shape[0] when it is a number, else 0 (dynamic)
    std::vector<Artifact> artifacts;
    std::optional<RawArray> reference_input, reference_logits, reference_labels;
    std::optional<RawArray> reference_pixels;  // uint8 NHWC RGB: the images reference_input was made from
    // Exports before per-artifact gates: verification.thresholds, precision -> the gates given
    // (a gate not named keeps the precision's default; a null one is not checked).
    std::map<std::string, std::vector<std::pair<std::string, std::optional<double>>>> older_thresholds;
    // bench.json (seedge.bench_record) per device family ("cpu", "cuda"): candidates() never
    // picks a flagged artifact on its own and orders by the p50s (the rule in that module).
    std::map<std::string, BenchEntry> bench;

    const Artifact& find(const std::string& id) const;  // throws Error naming the ids it has
};

// manifest.json of `folder`, checked field by field like seedge.artifacts.read_manifest (the
// fields this runtime reads); a malformed one throws Error naming the file and the field.
Manifest read_manifest(const std::filesystem::path& folder);

// `folder / rel` after checking that `rel` stays inside `folder` (relative, no "..", no link
// out) and names a regular file (or, with allow_dir, a folder), as seedge.artifacts.contained_file;
// else IntegrityError.
std::filesystem::path contained_file(const std::filesystem::path& folder, const std::string& rel,
                                     const std::string& field, bool allow_dir = false);

// The sha256 seedge.artifacts records for an artifact: of the file itself, or for an OpenVINO
// .xml with its .bin (or a folder) of each file's relative name and hex sha256, in order.
std::string artifact_sha256(const std::filesystem::path& folder, const Artifact& artifact);

// Throws IntegrityError unless the artifact's files hash to the manifest's sha256; returns its path.
std::filesystem::path check_integrity(const std::filesystem::path& folder, const Artifact& artifact);

// Artifacts this runtime would run on `device` ("cpu", "cuda", "cuda:N"), best first, by the
// rule in seedge/bench_record.py's docstring (as seedge.runtime.candidates with backend=
// "openvino" on a CPU, "tensorrt" on a GPU); an explicit `artifact_id` is the only candidate.
// Throws Error when there is none.
std::vector<const Artifact*> candidates(const Manifest& manifest, const std::string& device = "cpu",
                                        const std::string& artifact_id = "");

// How the choice of `chosen` on `device` was ordered, as JSON in seedge.runtime's words
// (Model.describe()["order"]): {"rule": ..., "batch": ..., "p50_ms": ...}.
std::string order_json(const Manifest& manifest, const std::string& device, bool explicit_artifact,
                       const Artifact& chosen);

// Whether this build runs TensorRT engines (the TensorRT headers were found at build time).
bool has_tensorrt();

struct Options {
    std::string artifact;      // an artifact id; empty: the runtime's choice
    std::string device = "cpu";
    int threads = 0;           // 0: the CPUs this process may run on (as seedge's runners)
};

struct Label {
    int index = 0;
    std::string name;
    double probability = 0.0;
};

// seedge.verify.parity.compare's metrics for the reference inputs, judged with its thresholds.
struct SelfTest {
    std::string artifact, precision, backend, device;
    std::size_t samples = 0;
    bool finite = false;
    double top1_agreement = 0, max_abs_diff = 0, max_rel_diff = 0, cosine = 0;
    std::optional<double> accuracy, baseline_accuracy, accuracy_drop_points;
    std::size_t labelled = 0;
    Thresholds thresholds;  // the gates it was judged by
    std::string thresholds_source;  // "recorded" at export, or an older manifest's fallback (seedge.verify.parity)
    bool passed = false;
    std::string reason;
    double seconds = 0;
    std::string to_json() const;
    // Throws CheckFailed ("self-test failed: <reason>") unless it passed.
    void require_passed() const;
};

class Engine;  // one backend's compiled artifact (src/engine.hpp)

class Model {
public:
    // Open the best artifact of `folder` this build can run on options.device (see candidates),
    // after checking its sha256. Throws Error with a one-line reason: IntegrityError (a changed or
    // escaping file), Unavailable (no engine for it or the device here), NeedsVnni (an explicit
    // VNNI-built INT8 artifact on a CPU without VNNI/AMX), else Error (a malformed folder, bad options).
    static Model open(const std::filesystem::path& folder, const Options& options = {});
    Model(Model&&) noexcept;
    Model& operator=(Model&&) noexcept;
    ~Model();

    const Manifest& manifest() const;
    const Artifact& artifact() const;
    std::string backend() const;      // "openvino" or "tensorrt"
    std::size_t image_floats() const;  // C * H * W: floats per preprocessed image
    bool takes_pixels() const;         // the artifact has the preprocessing inside: feed predict_pixels
    std::size_t image_bytes() const;   // H * W * C: bytes per uint8 NHWC image (takes_pixels artifacts)
    std::size_t num_classes() const;
    std::string describe_json() const;  // artifact, backend, device, threads, precision; "order": how chosen

    // Logits (n x num_classes, row-major) for n preprocessed images (n x C x H x W floats).
    // Safe to call from several threads: calls on one Model run one after the other.
    std::vector<float> predict(const float* images, std::size_t n);
    // Top-k labels per image, most probable first (softmax of the logits, in double).
    std::vector<std::vector<Label>> classify(const float* images, std::size_t n, std::size_t top_k = 1);
    // The same for an artifact with the preprocessing inside: n uint8 NHWC images (n x H x W x C bytes)
    // in its color order (artifact().color_order), after decode/resize/crop only. Outputs are
    // logits, or probabilities where a softmax is inside (artifact().softmax).
    std::vector<float> predict_pixels(const std::uint8_t* images, std::size_t n);
    std::vector<std::vector<Label>> classify_pixels(const std::uint8_t* images, std::size_t n,
                                                    std::size_t top_k = 1);
    // Run the reference inputs and compare with the eager FP32 logits stored at export.
    SelfTest self_test();

private:
    struct Impl;
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Softmax top-k of one row of logits, ties to the lower index (numpy's stable argsort); a row that
// already holds probabilities (a softmax inside the artifact) is ranked as it is.
std::vector<Label> top_k(const float* logits, std::size_t classes, std::size_t k,
                         const std::vector<std::string>& names, bool probabilities = false);

// `s` as a JSON string literal, and `v` as a JSON number (null when not finite), for callers that
// write the runtime's answers as JSON (seedge_classify does).
std::string json_quote(std::string_view s);
std::string json_number(double v);

// A raw little-endian float32 file of exactly `count` values (0: any multiple of 4 bytes).
std::vector<float> read_f32(const std::filesystem::path& path, std::size_t count = 0);
// A raw uint8 file (pixels), whole.
std::vector<std::uint8_t> read_u8(const std::filesystem::path& path);

}  // namespace seedge
