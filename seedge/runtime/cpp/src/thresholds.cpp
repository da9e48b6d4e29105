// Parity gates: see thresholds.hpp.

#include "thresholds.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

#include <seedge_contract.hpp>

#include "json.hpp"

namespace seedge {

namespace {

struct Gate {
    const char* name;
    std::optional<double> Thresholds::*member;
};
constexpr Gate kGates[] = {
    {"min_agreement", &Thresholds::min_agreement},
    {"max_abs_diff", &Thresholds::max_abs_diff},
    {"max_rel_diff", &Thresholds::max_rel_diff},
    {"max_accuracy_drop", &Thresholds::max_accuracy_drop},
    {"min_cosine", &Thresholds::min_cosine},
};

constexpr bool same(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) ++a, ++b;
    return *a == *b;
}

constexpr bool names_are_the_contracts() {
    if (std::size(kGates) != std::size(contract::kThresholdKeys)) return false;
    for (std::size_t i = 0; i < std::size(kGates); ++i)
        if (!same(kGates[i].name, contract::kThresholdKeys[i])) return false;
    return true;
}
// The one list is seedge.contract.manifest.THRESHOLD_KEYS: a change there fails this build until
// Thresholds (include/seedge/runtime.hpp) and kGates follow.
static_assert(names_are_the_contracts(), "Thresholds differs from seedge.contract.manifest.THRESHOLD_KEYS");

}  // namespace

Thresholds default_thresholds(const std::string& precision) {
    Thresholds t;
    bool found = false;
    std::vector<std::string> known;  // the precisions, in the table's order
    for (const contract::Threshold& d : contract::kDefaultThresholds) {
        if (precision == d.precision) {
            found = true;
            set_gate(t, d.name, d.set ? std::optional<double>(d.value) : std::nullopt);
        }
        if (std::find(known.begin(), known.end(), d.precision) == known.end()) known.emplace_back(d.precision);
    }
    if (!found) {
        std::string listed;
        for (const std::string& k : known) listed += (listed.empty() ? "" : ", ") + k;
        throw Error("no parity thresholds for precision '" + precision + "'; known: " + listed);
    }
    return t;
}

void set_gate(Thresholds& t, const std::string& name, std::optional<double> value) {
    for (const Gate& g : kGates)
        if (name == g.name) {
            t.*g.member = value;
            return;
        }
    throw Error("'" + name + "' is not a parity threshold");  // the contract refused it when read
}

Thresholds recorded_thresholds(const Manifest& m, const Artifact& a, std::string& source) {
    if (a.thresholds) {
        source = "recorded";
        return *a.thresholds;
    }
    auto old = m.older_thresholds.find(a.precision);
    if (old != m.older_thresholds.end()) {
        source = "manifest (older export)";
        Thresholds t = default_thresholds(a.precision);
        for (const auto& [name, value] : old->second) set_gate(t, name, value);
        return t;
    }
    source = a.judged ? "default (older export)" : "default";
    return default_thresholds(a.precision);
}

std::string thresholds_json(const Thresholds& t) {
    std::string out = "{";
    for (const Gate& g : kGates) {
        const std::optional<double>& v = t.*g.member;
        out += (out.size() > 1 ? "," : "") + json::quote(g.name) + ":" + (v ? json::number_text(*v) : "null");
    }
    return out + "}";
}

}  // namespace seedge
