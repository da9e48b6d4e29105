// OpenVINO IR (or ONNX file) on the CPU plugin, run as seedge/backends/openvino.py runs it:
// - properties PERFORMANCE_HINT=LATENCY, INFERENCE_NUM_THREADS=threads, and
//   INFERENCE_PRECISION_HINT = the artifact's build fact `inference_precision`, "f32" when none is
//   recorded (an ONNX file; without a hint the CPU plugin computes FP32 in bf16 on AMX/AVX512-BF16
//   CPUs), as seedge/backends/open.py open_artifact does;
// - the IR keeps a dynamic batch; like ShapeCompiledModels, a static copy is compiled per batch
//   size it is given (a few at most, the dynamic compile serves the rest), because the CPU
//   plugin plans kernels and memory per shape (7-10% at batch 1 INT8, benchmarks/README.md).

#include <map>
#include <openvino/openvino.hpp>

#include "engine.hpp"

namespace seedge {

namespace {

// One ov::Core per process, shared by every engine: a Core loads the plugins and holds their
// state (the CPU plugin's thread pools, caches), so one per model would repeat that work. A
// function-local static is initialised once, thread-safely (C++11), on first use; ov::Core's
// read_model and compile_model may be called from several threads.
ov::Core& core() {
    static ov::Core shared;
    return shared;
}

// seedge.verify.shapes.check_declared_shapes: the IR's own static input dimensions against the
// manifest's (C, H, W; H, W, C for uint8 pixels), in Python's words, so a manifest claiming 64x64
// images for a 32x32 model is refused at open instead of running them (issue 22, case 11).
void check_declared_input(const ov::Model& model, const EngineSpec& spec) {
    if (model.inputs().size() != 1) return;
    const ov::PartialShape declared = model.input(0).get_partial_shape();
    if (declared.rank().is_dynamic() || declared.rank().get_length() != 4) return;
    const auto& chw = spec.manifest.input_chw;
    std::array<std::int64_t, 3> want = spec.artifact.takes_pixels ? std::array<std::int64_t, 3>{chw[1], chw[2], chw[0]}
                                                                   : chw;
    std::string shown, wanted;
    bool differs = false;
    for (std::size_t i = 0; i < 3; ++i) {
        const ov::Dimension& d = declared[i + 1];
        differs = differs || (d.is_static() && d.get_length() != want[i]);
        shown += (i ? ", " : "") + (d.is_static() ? std::to_string(d.get_length()) : std::string("'?'"));
        wanted += (i ? ", " : "") + std::to_string(want[i]);
    }
    if (differs)
        throw Error("artifact '" + spec.artifact.id + "': takes input [" + shown + "] but the manifest says [" + wanted +
                    "] (input.shape / preprocessing.input_size); the folder's parts disagree: re-run `seedge export`");
}

class OpenVINOEngine final : public Engine {
public:
    explicit OpenVINOEngine(const EngineSpec& spec)
        : path_(spec.path),
          requested_(spec.artifact.inference_precision.empty() ? "f32" : spec.artifact.inference_precision),
          classes_(spec.manifest.class_names.size()), chw_(spec.manifest.input_chw),
          pixels_(spec.artifact.takes_pixels) {
        config_ = {{"PERFORMANCE_HINT", "LATENCY"}, {"INFERENCE_NUM_THREADS", spec.threads}};
        config_["INFERENCE_PRECISION_HINT"] = requested_;
        try {
            // An IR is read with its weights named, so only the IR reader tries it.
            std::filesystem::path weights = std::filesystem::path(path_).replace_extension(".bin");
            model_ = path_.extension() == ".xml" && std::filesystem::is_regular_file(weights)
                         ? core().read_model(path_.string(), weights.string())
                         : core().read_model(path_.string());
            static_shapes_ = model_->inputs().size() == 1;
            dynamic_ = core().compile_model(model_, "CPU", config_);
            precision_ = dynamic_.get_property(ov::hint::inference_precision).get_type_name();
            threads_ = dynamic_.get_property(ov::inference_num_threads);
        } catch (const std::exception& e) {
            throw Error(path_.string() + ": OpenVINO cannot compile this model (" + message_line(e.what(), 200) +
                        "); re-run `seedge export`");
        }
        if (dynamic_.outputs().empty()) throw Error(path_.string() + ": the model has no output");
        check_declared_input(*model_, spec);
    }

    std::string backend() const override { return "openvino"; }

    void infer(const float* images, std::size_t n, float* out) override {
        run(ov::Tensor(ov::element::f32, shape(n), const_cast<float*>(images)), n, out);
    }

    // An IR with OpenVINO's PrePostProcessor inside (seedge export --embed-preprocess): uint8 NHWC.
    void infer_pixels(const std::uint8_t* images, std::size_t n, float* out) override {
        run(ov::Tensor(ov::element::u8, shape(n), const_cast<std::uint8_t*>(images)), n, out);
    }

    // The caller's memory is the input tensor: no copy.
    void run(const ov::Tensor& input, std::size_t n, float* out) {
        ov::InferRequest& request = request_for(n);
        try {
            request.set_input_tensor(input);
            request.infer();
        } catch (const std::exception& e) {
            throw Error(path_.string() + ": OpenVINO inference failed (" + message_line(e.what(), 200) + ")");
        }
        ov::Tensor logits = request.get_output_tensor(0);
        if (logits.get_element_type() != ov::element::f32 || logits.get_size() != n * classes_)
            throw Error(path_.string() + ": output is " + logits.get_element_type().get_type_name() + " " +
                        logits.get_shape().to_string() + ", expected f32 [" + std::to_string(n) + "," +
                        std::to_string(classes_) + "]; re-run `seedge export`");
        std::memcpy(out, logits.data<const float>(), n * classes_ * sizeof(float));
    }

    std::string describe_json() const override {
        std::string shapes;
        for (const auto& [batch, compiled] : by_batch_) {
            (void)compiled;
            std::string dims;
            for (std::size_t d : shape(batch)) dims += (dims.empty() ? "" : ",") + std::to_string(d);
            shapes += (shapes.empty() ? "[" : ",[") + dims + "]";
        }
        return "{\"backend\":\"openvino\",\"device\":\"cpu\",\"threads_used\":" + std::to_string(threads_) +
               ",\"inference_precision\":" + json::quote(precision_) + ",\"requested_precision\":" +
               (requested_.empty() ? std::string("null") : json::quote(requested_)) + ",\"static_shapes\":[" +
               shapes + "]}";
    }

private:
    static constexpr std::size_t kMaxStaticShapes = 4;  // ShapeCompiledModels.MAX_STATIC_SHAPES

    // The input shape for `batch` rows: NCHW floats, or NHWC pixels for an embedded-preprocessing IR.
    ov::Shape shape(std::size_t batch) const {
        auto c = static_cast<std::size_t>(chw_[0]), h = static_cast<std::size_t>(chw_[1]),
             w = static_cast<std::size_t>(chw_[2]);
        return pixels_ ? ov::Shape{batch, h, w, c} : ov::Shape{batch, c, h, w};
    }

    ov::InferRequest& request_for(std::size_t batch) {
        auto hit = by_batch_.find(batch);
        if (hit != by_batch_.end()) return hit->second.second;
        if (static_shapes_ && by_batch_.size() < kMaxStaticShapes) {
            try {
                std::shared_ptr<ov::Model> copy = model_->clone();
                copy->reshape(ov::PartialShape(shape(batch)));
                ov::CompiledModel compiled = core().compile_model(copy, "CPU", config_);
                ov::InferRequest request = compiled.create_infer_request();
                auto& slot = by_batch_[batch];
                slot = {std::move(compiled), std::move(request)};
                return slot.second;
            } catch (const std::exception&) {
                // A shape the IR cannot take: the dynamic compile answers (or says why).
            }
        }
        if (!dynamic_request_) dynamic_request_ = dynamic_.create_infer_request();
        return *dynamic_request_;
    }

    std::filesystem::path path_;
    std::string requested_, precision_;
    std::size_t classes_;
    std::array<std::int64_t, 3> chw_;
    bool pixels_ = false;  // the IR takes uint8 NHWC pixels (preprocessing inside)
    int threads_ = 0;
    bool static_shapes_ = true;
    ov::AnyMap config_;
    std::shared_ptr<ov::Model> model_;
    ov::CompiledModel dynamic_;
    std::optional<ov::InferRequest> dynamic_request_;
    std::map<std::size_t, std::pair<ov::CompiledModel, ov::InferRequest>> by_batch_;
};

}  // namespace

std::unique_ptr<Engine> open_openvino(const EngineSpec& spec) {
    if (spec.device != "cpu")
        throw Unavailable("the openvino backend runs on the cpu here, not on '" + spec.device + "'; use --device cpu");
    return std::make_unique<OpenVINOEngine>(spec);
}

}  // namespace seedge
