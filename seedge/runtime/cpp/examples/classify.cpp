// seedge_classify: the C++ runtime from the command line, and an example of its API.
//
//   seedge_classify FOLDER [options] INPUT.f32...   top-k per image, one JSON line each
//   seedge_classify FOLDER [options] IMAGES.u8...    the same for an artifact with the preprocessing inside
//   seedge_classify FOLDER [options] --self-test    reference inputs vs the stored eager logits
//   seedge_classify FOLDER [options] --info         the chosen artifact and how it runs
//
// INPUT.f32 holds preprocessed images as seedge.preprocess makes them: float32 NCHW, raw
// little-endian, any number of C x H x W images (numpy: x.astype('<f4').tofile(path)).
// IMAGES.u8 holds raw images after decode/resize/crop only, for an artifact exported with
// --embed-preprocess (chosen first when present): uint8 H x W x C each, in its color order.
// Exit codes as the seedge CLI: 0 success, 1 the self-test failed (seedge::CheckFailed), 2 bad usage
// or input (every other seedge::Error: IntegrityError, Unavailable, NeedsVnni included).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <seedge/runtime.hpp>

namespace {

// Bad usage: the error line then points at --help.
struct UsageError : seedge::Error {
    using seedge::Error::Error;
};

const char* kUsage =
    "usage: seedge_classify FOLDER [--artifact ID] [--device cpu|cuda[:N]] [--threads N] [--top-k K]\n"
    "                       (INPUT.f32... | IMAGES.u8... | --self-test | --info)\n";

struct Args {
    std::string folder, mode = "classify";
    seedge::Options options;
    std::size_t top_k = 1;
    std::vector<std::string> inputs;
};

long positive(const std::string& flag, const char* text) {
    char* end = nullptr;
    long v = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1) throw UsageError(flag + " needs a positive integer, not '" + text + "'");
    return v;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--artifact") a.options.artifact = value();
        else if (arg == "--device") a.options.device = value();
        else if (arg == "--threads") a.options.threads = static_cast<int>(positive(arg, value()));
        else if (arg == "--top-k") a.top_k = static_cast<std::size_t>(positive(arg, value()));
        else if (arg == "--self-test") a.mode = "self-test";
        else if (arg == "--info") a.mode = "info";
        else if (arg == "-h" || arg == "--help") { std::fputs(kUsage, stdout); std::exit(0); }
        else if (arg.rfind("--", 0) == 0) throw UsageError("unknown option " + arg);
        else if (a.folder.empty()) a.folder = arg;
        else a.inputs.push_back(arg);
    }
    if (a.folder.empty()) throw UsageError("no FOLDER given");
    if (a.mode == "classify" && a.inputs.empty()) throw UsageError("no INPUT.f32 given (or --self-test / --info)");
    if (a.mode != "classify" && !a.inputs.empty()) throw UsageError("--" + a.mode + " takes no INPUT files");
    return a;
}

void print_top_k(const std::string& input, std::size_t index, const std::vector<seedge::Label>& labels) {
    std::string line = "{\"input\":" + seedge::json_quote(input) + ",\"index\":" + std::to_string(index) + ",\"top_k\":[";
    for (std::size_t i = 0; i < labels.size(); ++i) {
        line += (i ? "," : "") + std::string("{\"index\":") + std::to_string(labels[i].index) +
                ",\"label\":" + seedge::json_quote(labels[i].name) +
                ",\"probability\":" + seedge::json_number(labels[i].probability) + "}";
    }
    std::puts((line + "]}").c_str());
}

int run(const Args& args) {
    seedge::Model model = seedge::Model::open(args.folder, args.options);
    if (args.mode == "info") {
        std::puts(model.describe_json().c_str());
        return 0;
    }
    if (args.mode == "self-test") {
        seedge::SelfTest result = model.self_test();
        std::puts(result.to_json().c_str());
        result.require_passed();  // CheckFailed: exit 1
        return 0;
    }
    for (const std::string& input : args.inputs) {
        if (input.size() > 3 && input.compare(input.size() - 3, 3, ".u8") == 0) {
            std::vector<std::uint8_t> px = seedge::read_u8(input);
            std::size_t per = model.image_bytes();
            if (!model.takes_pixels())
                throw seedge::Error(input + ": uint8 pixels, but artifact " + model.artifact().id + " takes float32 "
                                    "NCHW (.f32); choose an artifact exported with --embed-preprocess");
            if (px.empty() || px.size() % per != 0)
                throw seedge::Error(input + ": holds " + std::to_string(px.size()) + " bytes, not a whole number of " +
                                    std::to_string(per) + "-byte images (H x W x C of " + model.artifact().id + ")");
            std::size_t n = px.size() / per;
            std::vector<std::vector<seedge::Label>> top = model.classify_pixels(px.data(), n, args.top_k);
            for (std::size_t i = 0; i < n; ++i) print_top_k(input, i, top[i]);
            continue;
        }
        std::vector<float> x = seedge::read_f32(input);
        std::size_t per = model.image_floats();
        if (x.empty() || x.size() % per != 0)
            throw seedge::Error(input + ": holds " + std::to_string(x.size()) + " floats, not a whole number of " +
                                std::to_string(per) + "-float images (C x H x W of " + model.artifact().id + ")");
        std::size_t n = x.size() / per;
        std::vector<std::vector<seedge::Label>> top = model.classify(x.data(), n, args.top_k);
        for (std::size_t i = 0; i < n; ++i) print_top_k(input, i, top[i]);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const seedge::CheckFailed& e) {
        std::fprintf(stderr, "seedge_classify: %s\n", e.what());
        return 1;
    } catch (const UsageError& e) {
        std::fprintf(stderr, "seedge_classify: error: %s (see seedge_classify --help)\n", e.what());
        return 2;
    } catch (const seedge::Error& e) {
        std::fprintf(stderr, "seedge_classify: error: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "seedge_classify: internal error: %s\n", e.what());
        return 1;
    }
}
