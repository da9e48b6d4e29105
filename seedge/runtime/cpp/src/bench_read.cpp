// bench.json (seedge.bench_record): read, checked by the contract's rules
// (seedge/contract/bench.py, through the generated header), then per device family what was
// flagged slow and the p50s at the smallest batch measured (seedge.bench_record.timings).

#include "document_check.hpp"
#include "folder.hpp"

namespace fs = std::filesystem;

namespace seedge {

std::map<std::string, BenchEntry> read_bench(const fs::path& folder) {
    const contract::Document& doc_rules = contract::kBench;
    std::map<std::string, BenchEntry> bench;
    fs::path path = folder / doc_rules.name;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec))) return bench;
    json::Value doc;
    try {
        doc = json::parse(read_bounded(contained_file(folder, doc_rules.name, doc_rules.name), doc_rules.max_bytes,
                                       doc_rules.what));
    } catch (const Error& e) {
        throw Error(path.string() + ": unreadable " + doc_rules.what + " (" + e.what() + "); " + doc_rules.fix);
    }
    contract::check(doc_rules, doc, path);
    for (const auto& [family, entry] : contract::members(*doc.find("devices"))) {
        BenchEntry e;
        for (const auto& [id, why] : contract::members(*entry->find("slow"))) e.slow.insert(id);
        if (const json::Value* c = entry->find("contended"); c != nullptr) e.contended = c->as_bool();
        if (const json::Value* when = entry->find("measured"); when != nullptr && when->is_string())
            e.measured = when->as_string();
        if (const json::Value* p50 = entry->find("p50_ms"); p50 != nullptr) {
            auto per_id = contract::members(*p50);
            for (const auto& [id, per] : per_id)
                for (const auto& [batch, ms] : contract::members(*per)) {
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

}  // namespace seedge
