// TensorRT engine (`tensorrt/*.plan`) on a CUDA GPU, run as seedge/backends/tensorrt.py runs it:
// named I/O tensors, setInputShape + setTensorAddress + enqueueV3 (TensorRT 10 and 11 both have
// them), batches above the engine profile's maximum split by the Model, and the engine's build
// facts (TensorRT version, compute capability) checked against this machine before it is
// deserialized, since an engine only runs where it was built.
// Compiled only where CMake found TensorRT and the CUDA toolkit (SEEDGE_WITH_TENSORRT).

#include <cuda_runtime_api.h>

#include <NvInferRuntime.h>

#if NV_TENSORRT_MAJOR < 10
#error "seedge's TensorRT path needs TensorRT 10 or newer (named I/O tensors, enqueueV3, 64-bit Dims)"
#endif

#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include "engine.hpp"

namespace seedge {

namespace {

class Logger final : public nvinfer1::ILogger {
public:
    void log(Severity severity, const char* msg) noexcept override {
        if (severity <= Severity::kERROR) {
            std::lock_guard<std::mutex> hold(lock_);
            last_error_ = msg ? msg : "";
        }
    }
    std::string last_error() {
        std::lock_guard<std::mutex> hold(lock_);
        return last_error_.empty() ? "no detail" : message_line(last_error_);
    }

private:
    std::mutex lock_;
    std::string last_error_;
};

void cuda_check(cudaError_t status, const std::string& what) {
    if (status != cudaSuccess) throw Error(what + " failed: " + cudaGetErrorString(status));
}

std::string text_of(const std::map<std::string, std::string>& build, const char* key) {
    auto v = build.find(key);
    return v != build.end() ? v->second : "";
}

// "10.3.0.26" -> "10.3.0": engines are tied to major.minor.patch (seedge/backends/tensorrt.py).
std::string three_parts(const std::string& version) {
    std::size_t dots = 0, i = 0;
    for (; i < version.size(); ++i)
        if (version[i] == '.' && ++dots == 3) break;
    return version.substr(0, i);
}

// Device memory and the stream are released by their owners, also when a constructor throws.
struct DeviceBuffer {
    void* ptr = nullptr;
    std::size_t bytes = 0;
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() {
        if (ptr != nullptr) cudaFree(ptr);
    }
    void grow(std::size_t want) {  // grow-only: steady-state calls allocate nothing
        if (bytes >= want) return;
        if (ptr != nullptr) cudaFree(ptr);
        ptr = nullptr;
        bytes = 0;
        cuda_check(cudaMalloc(&ptr, want), "cudaMalloc");
        bytes = want;
    }
};

struct Stream {
    cudaStream_t handle = nullptr;
    Stream() { cuda_check(cudaStreamCreate(&handle), "cudaStreamCreate"); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream() {
        cudaStreamSynchronize(handle);
        cudaStreamDestroy(handle);
    }
};

class TensorRTEngine final : public Engine {
public:
    explicit TensorRTEngine(const EngineSpec& spec)
        : path_(spec.path), classes_(spec.manifest.class_names.size()), chw_(spec.manifest.input_chw) {
        int index = 0;
        if (spec.device.rfind("cuda:", 0) == 0) index = std::stoi(spec.device.substr(5));
        int count = 0;
        cuda_check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
        if (index >= count)
            throw Unavailable("no CUDA device cuda:" + std::to_string(index) + " (this machine has " + std::to_string(count) + ")");
        cuda_check(cudaSetDevice(index), "cudaSetDevice");
        device_ = index;
        check_build_facts(spec.artifact.build, index);
        stream_ = std::make_unique<Stream>();

        std::ifstream f(path_, std::ios::binary);
        std::vector<char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (blob.empty()) throw Error(path_.string() + ": engine file is empty or unreadable");
        runtime_.reset(nvinfer1::createInferRuntime(logger_));
        if (!runtime_) throw Error("TensorRT: createInferRuntime failed (" + logger_.last_error() + ")");
        engine_.reset(runtime_->deserializeCudaEngine(blob.data(), blob.size()));
        if (!engine_)
            throw Error(path_.string() + ": TensorRT " + version_ + " could not deserialize this engine (" +
                        logger_.last_error() + "); rebuild it on this machine with `seedge export --formats tensorrt`");
        context_.reset(engine_->createExecutionContext());
        if (!context_) throw Error(path_.string() + ": TensorRT could not create an execution context (" +
                                   logger_.last_error() + ")");
        for (int i = 0; i < engine_->getNbIOTensors(); ++i) {
            const char* name = engine_->getIOTensorName(i);
            if (engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT) inputs_.push_back(name);
            else outputs_.push_back(name);
            if (engine_->getTensorDataType(name) != nvinfer1::DataType::kFLOAT)
                throw Error(path_.string() + ": tensor '" + name + "' is not float32; seedge engines keep float32 "
                            "inputs and outputs (re-run `seedge export --formats tensorrt`)");
        }
        if (inputs_.size() != 1 || outputs_.empty())
            throw Error(path_.string() + ": engine has " + std::to_string(inputs_.size()) + " inputs and " +
                        std::to_string(outputs_.size()) + " outputs; seedge engines have one input (the images)");
        nvinfer1::Dims shape = engine_->getTensorShape(inputs_[0].c_str());
        bool dynamic = shape.nbDims > 0 && shape.d[0] == -1;
        nvinfer1::Dims lo = dynamic ? engine_->getProfileShape(inputs_[0].c_str(), 0, nvinfer1::OptProfileSelector::kMIN) : shape;
        nvinfer1::Dims hi = dynamic ? engine_->getProfileShape(inputs_[0].c_str(), 0, nvinfer1::OptProfileSelector::kMAX) : shape;
        if (hi.nbDims != 4 || hi.d[1] != chw_[0] || hi.d[2] != chw_[1] || hi.d[3] != chw_[2])
            throw Error(path_.string() + ": engine input does not take the manifest's (N, " + std::to_string(chw_[0]) +
                        ", " + std::to_string(chw_[1]) + ", " + std::to_string(chw_[2]) + ") images");
        min_batch_ = static_cast<std::size_t>(lo.d[0]);
        max_batch_ = static_cast<std::size_t>(hi.d[0]);
    }

    ~TensorRTEngine() override {
        if (stream_) cudaStreamSynchronize(stream_->handle);
        // Release order matters: buffers and context before engine before runtime (members are
        // destroyed in reverse order of declaration; these make it explicit).
        buffers_.clear();
        context_.reset();
        engine_.reset();
        runtime_.reset();
    }

    std::string backend() const override { return "tensorrt"; }
    std::size_t max_batch() const override { return max_batch_; }

    void infer(const float* images, std::size_t n, float* out) override {
        if (n < min_batch_ || n > max_batch_)
            throw Error(path_.string() + ": batch " + std::to_string(n) + " is outside the engine's profile (" +
                        std::to_string(min_batch_) + " to " + std::to_string(max_batch_) + ")");
        cuda_check(cudaSetDevice(device_), "cudaSetDevice");
        const char* input = inputs_[0].c_str();
        nvinfer1::Dims dims;
        dims.nbDims = 4;
        dims.d[0] = static_cast<std::int64_t>(n);
        for (int i = 0; i < 3; ++i) dims.d[i + 1] = chw_[i];
        if (!context_->setInputShape(input, dims))
            throw Error(path_.string() + ": TensorRT rejected input shape [" + std::to_string(n) + ", ...] (" +
                        logger_.last_error() + ")");
        // unsigned products of sizes the contract bounds (C x H x W <= 2^28, n <= a batch of 16384)
        std::size_t in_bytes = n * static_cast<std::size_t>(chw_[0]) * static_cast<std::size_t>(chw_[1]) *
                               static_cast<std::size_t>(chw_[2]) * sizeof(float);
        DeviceBuffer& in = buffer(inputs_[0], in_bytes);
        context_->setTensorAddress(input, in.ptr);
        cuda_check(cudaMemcpyAsync(in.ptr, images, in_bytes, cudaMemcpyHostToDevice, stream_->handle), "cudaMemcpyAsync");
        std::vector<std::size_t> out_bytes;
        for (const std::string& name : outputs_) {
            nvinfer1::Dims s = context_->getTensorShape(name.c_str());
            std::size_t count = 1;
            for (int i = 0; i < s.nbDims; ++i) count *= static_cast<std::size_t>(s.d[i]);
            out_bytes.push_back(count * sizeof(float));
            context_->setTensorAddress(name.c_str(), buffer(name, out_bytes.back()).ptr);
        }
        if (out_bytes[0] != n * classes_ * sizeof(float))
            throw Error(path_.string() + ": the engine's first output holds " + std::to_string(out_bytes[0] / 4) +
                        " values, not " + std::to_string(n) + " x " + std::to_string(classes_) + " logits");
        if (!context_->enqueueV3(stream_->handle))
            throw Error(path_.string() + ": TensorRT enqueueV3 failed (" + logger_.last_error() + ")");
        cuda_check(cudaMemcpyAsync(out, buffers_[outputs_[0]].ptr, out_bytes[0], cudaMemcpyDeviceToHost, stream_->handle),
                   "cudaMemcpyAsync");
        cuda_check(cudaStreamSynchronize(stream_->handle), "cudaStreamSynchronize");
    }

    std::string describe_json() const override {
        return "{\"backend\":\"tensorrt\",\"device\":\"cuda:" + std::to_string(device_) + "\",\"tensorrt_version\":" +
               json::quote(version_) + ",\"compute_capability\":" + json::quote(compute_capability_) + ",\"gpu\":" +
               json::quote(gpu_) + ",\"profile_batch\":[" + std::to_string(min_batch_) + "," +
               std::to_string(max_batch_) + "]}";
    }

private:
    void check_build_facts(const std::map<std::string, std::string>& build, int index) {
        int v = getInferLibVersion();  // major * 10000 + minor * 100 + patch
        version_ = std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
        cudaDeviceProp prop{};
        cuda_check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
        compute_capability_ = std::to_string(prop.major) + "." + std::to_string(prop.minor);
        gpu_ = prop.name;
        std::string built_cc = text_of(build, "compute_capability"), built_v = text_of(build, "tensorrt_version");
        if (!built_cc.empty() && built_cc != compute_capability_)
            throw Error(path_.string() + ": engine was built for compute capability " + built_cc + " (" +
                        text_of(build, "gpu") + ") but this GPU is " + compute_capability_ + " (" + gpu_ +
                        "); rebuild it here with `seedge export --formats tensorrt`");
        if (!built_v.empty() && three_parts(built_v) != version_)
            throw Error(path_.string() + ": engine was built with TensorRT " + built_v + " but this machine has " +
                        version_ + "; rebuild it here with `seedge export --formats tensorrt`");
    }

    DeviceBuffer& buffer(const std::string& name, std::size_t bytes) {
        DeviceBuffer& buf = buffers_[name];
        buf.grow(bytes);
        return buf;
    }

    template <typename T>
    struct Release {
        void operator()(T* p) const { delete p; }  // TensorRT 10+: objects are deleted, not destroy()ed
    };

    std::filesystem::path path_;
    std::size_t classes_;
    std::array<std::int64_t, 3> chw_;
    int device_ = 0;
    std::string version_, compute_capability_, gpu_;
    Logger logger_;
    std::unique_ptr<Stream> stream_;
    std::unique_ptr<nvinfer1::IRuntime, Release<nvinfer1::IRuntime>> runtime_;
    std::unique_ptr<nvinfer1::ICudaEngine, Release<nvinfer1::ICudaEngine>> engine_;
    std::unique_ptr<nvinfer1::IExecutionContext, Release<nvinfer1::IExecutionContext>> context_;
    std::vector<std::string> inputs_, outputs_;
    std::size_t min_batch_ = 1, max_batch_ = 1;
    std::map<std::string, DeviceBuffer> buffers_;
};

}  // namespace

std::unique_ptr<Engine> open_tensorrt(const EngineSpec& spec) {
    if (!(spec.device == "cuda" || spec.device.rfind("cuda:", 0) == 0))
        throw Error("TensorRT runs on a CUDA GPU, not on '" + spec.device + "'; pass --device cuda");
    return std::make_unique<TensorRTEngine>(spec);
}

}  // namespace seedge
