// The artifact choice: which artifacts this runtime tries on a device, best first, by the rule
// in seedge/bench_record.py's docstring (as seedge.runtime.candidates with backend="openvino" on
// a CPU, "tensorrt" on a GPU), and how it was ordered (order_json). The preference and what each
// backend reads come from the generated contract header (seedge/backends/table.py).

#include <algorithm>
#include <limits>

#include "document_check.hpp"
#include "engine.hpp"
#include "folder.hpp"

namespace seedge {

namespace {

// The one backend this runtime has per device family (its engines: OpenVINO on the CPU, TensorRT
// on a GPU), with RUNTIME_PREFERENCE's precisions for it in order and the formats it reads.
struct Preference {
    const char* backend;
    std::vector<std::string> precisions;
    const char* reads;
};

Preference preference(bool cuda) {
    Preference p{cuda ? "tensorrt" : "openvino", {}, ""};
    for (const contract::Preference& e : contract::kRuntimePreference)
        if (std::string(e.family) == (cuda ? "cuda" : "cpu") && std::string(e.backend) == p.backend)
            p.precisions.emplace_back(e.precision);
    for (const contract::Reads& r : contract::kBackendReads)
        if (std::string(r.backend) == p.backend) p.reads = r.formats;
    return p;
}

}  // namespace

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
        throw Unavailable("device '" + device + "' needs the C++ runtime's TensorRT path, which this build lacks (TensorRT "
                    "was not found at build time); rebuild where TensorRT is installed, or use the cpu");
    const Preference pref = preference(cuda);
    auto reads = [](const Preference& p, const Artifact& a) { return contract::listed(p.reads, a.format); };
    if (!artifact_id.empty()) {
        const Artifact& a = manifest.find(artifact_id);
        // An explicit artifact runs where its format is read: OpenVINO on the CPU, TensorRT on a GPU.
        if (!reads(pref, a))
            throw Error("artifact '" + artifact_id + "' (" + a.format + ") cannot run on the C++ runtime on " + device +
                        ": it runs openvino and onnx files on the cpu, tensorrt engines on cuda");
        if (std::string why = int8_cpu_refusal(a); !why.empty()) throw NeedsVnni(why);
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
    if (bench != nullptr && chosen.backend == preference(cuda).backend) {
        auto it = bench->p50_ms.find(chosen.id);
        if (it != bench->p50_ms.end()) p50 = json::number_text(it->second);
    }
    return "{\"rule\":" + json::quote(rule) + ",\"batch\":" +
           (bench != nullptr ? std::to_string(bench->batch) : std::string("null")) + ",\"p50_ms\":" + p50 + "}";
}

}  // namespace seedge
