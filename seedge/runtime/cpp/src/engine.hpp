// One backend's compiled artifact behind one interface (Polygraphy's runner habit, as
// seedge/backends/base.py): the Model splits batches and judges results, engines only infer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "json.hpp"
#include "seedge/runtime.hpp"

namespace seedge {

struct EngineSpec {
    std::filesystem::path path;  // checked by check_integrity before an engine sees it
    const Artifact& artifact;
    const Manifest& manifest;
    std::string device;
    int threads = 1;
};

class Engine {
public:
    virtual ~Engine() = default;
    // Run `n` images (n x C x H x W floats) and write n x classes logits to `out`.
    // Called under the Model's lock: engines need not be thread-safe.
    virtual void infer(const float* images, std::size_t n, float* out) = 0;
    // The same for an artifact with the preprocessing inside: n x H x W x C uint8 pixels.
    virtual void infer_pixels(const std::uint8_t* images, std::size_t n, float* out);
    virtual std::string backend() const = 0;
    // JSON object text: the settings that ran (threads, precision, shapes compiled...).
    virtual std::string describe_json() const = 0;
    // The largest batch one call may take (0: no limit).
    virtual std::size_t max_batch() const { return 0; }
};

std::unique_ptr<Engine> open_openvino(const EngineSpec& spec);
// Defined in tensorrt_engine.cpp where TensorRT was found at build time; otherwise throws
// Error saying the build has no TensorRT path.
std::unique_ptr<Engine> open_tensorrt(const EngineSpec& spec);

// Whether this CPU has AVX512-VNNI, AVX-VNNI or AMX-INT8 (false with SEEDGE_CPU_NO_VNNI=1 set).
bool cpu_has_vnni();
// seedge.hostcpu.default_threads with no load measured: the CPUs this process may run on
// (its affinity mask). tests/test_hostcpu.py compares it with Python's through seedge_cpu.
int default_threads();
// Why `artifact` must not run on this CPU (its build facts say int8_cpu "vnni" and the CPU has
// no VNNI/AMX: 8-bit weights saturate), or "" when it may (seedge/backends/cpu_features.py).
std::string int8_cpu_refusal(const Artifact& artifact);

// The first line of a library's message that says something (as seedge.errors.message_line):
// OpenVINO puts "Exception from src/...cpp:84:" before the line that says what happened.
std::string message_line(const std::string& text, std::size_t limit = 300);

}  // namespace seedge
