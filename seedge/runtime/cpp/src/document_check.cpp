// Interprets the generated rule tables exactly as seedge/contract/check.py does (same walk,
// same kinds, same relations, same order, same refusal text); tests/contract fuzzes the two.

#include "document_check.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

namespace seedge::contract {

namespace {

struct Node {
    const json::Value* value;  // nullptr: the member is absent
    std::string field;
    std::vector<std::string> caps;  // what each "*" / "[]" matched
    const json::Value* parent;
    std::string key;
};

std::string join(const std::string& field, const std::string& key) { return field.empty() ? key : field + "." + key; }

std::vector<Node> nodes(const json::Value& root, const std::string& path) {
    std::vector<Node> found{{&root, "", {}, nullptr, ""}};
    std::size_t start = 0;
    while (!path.empty() && start <= path.size()) {
        std::size_t dot = path.find('.', start);
        std::string seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        start = dot == std::string::npos ? path.size() + 1 : dot + 1;
        bool each = seg.size() >= 2 && seg.compare(seg.size() - 2, 2, "[]") == 0;
        std::string key = each ? seg.substr(0, seg.size() - 2) : seg;
        std::vector<Node> out;
        for (const Node& n : found) {
            if (n.value == nullptr || !n.value->is_object()) continue;  // its own rule's refusal
            if (key == "*") {
                for (const auto& [k, v] : members(*n.value)) {
                    Node m{v, join(n.field, k), n.caps, n.value, k};
                    m.caps.push_back(k);
                    out.push_back(std::move(m));
                }
                continue;
            }
            const json::Value* v = n.value->find(key);
            std::string field = join(n.field, key);
            if (!each) {
                out.push_back({v, field, n.caps, n.value, key});
            } else if (v != nullptr && v->is_array()) {
                for (std::size_t i = 0; i < v->as_array().size(); ++i) {
                    Node m{&v->as_array()[i], field + "[" + std::to_string(i) + "]", n.caps, v, ""};
                    m.caps.push_back(std::to_string(i));
                    out.push_back(std::move(m));
                }
            }
        }
        found = std::move(out);
    }
    return found;
}

bool finite(const json::Value& v) { return v.is_number() && std::isfinite(v.as_number()); }

bool positive_int(const json::Value& v) { return v.is_int64() && v.as_int() > 0 && v.as_int() < (std::int64_t{1} << 31); }

bool is(Kind kind, const json::Value& v) {
    switch (kind) {
        case Kind::Any: return true;
        case Kind::Object: return v.is_object();
        case Kind::List: return v.is_array();
        case Kind::String: return v.is_string();
        case Kind::Text: return v.is_string() && !v.as_string().empty();
        case Kind::Bool: return v.is_bool();
        case Kind::Int: return v.is_integer();
        case Kind::PositiveInt: return positive_int(v);
        case Kind::Number: return finite(v);
        case Kind::PositiveNumber: return finite(v) && v.as_number() > 0;
        case Kind::BatchDim: return v.is_string() || positive_int(v);
        default: throw Error("contract: a relation used as a value kind");
    }
}

bool is_relation(Kind kind) {
    return kind == Kind::CountOf || kind == Kind::EqualsTail || kind == Kind::PerChannel || kind == Kind::NoZero ||
           kind == Kind::Unique || kind == Kind::Covers || kind == Kind::KnownKeys || kind == Kind::AllKeys;
}

bool batch_key(const std::string& k) {
    if (k.empty() || k.size() > 9 || k[0] == '0') return false;
    for (char c : k)
        if (c < '0' || c > '9') return false;
    return true;
}

bool list_ok(const Rule& r, const json::Value& v) {
    if (r.kind != Kind::List) return true;
    const auto& items = v.as_array();
    if (items.size() < static_cast<std::size_t>(r.min_len) || (r.max_len && items.size() > static_cast<std::size_t>(r.max_len)))
        return false;
    for (std::size_t i = 0; i < items.size(); ++i)
        if (!is(i == 0 ? r.first : r.items, items[i])) return false;
    // at_most / max_product over the integer items (check.py's _list_ok); the product stops once past
    // its bound, before it could overflow (x > max_product / product is tested before multiplying).
    long long product = 1;
    for (const json::Value& x : items) {
        if (!x.is_integer()) continue;
        if (r.at_most && (!x.is_int64() || x.as_int() > r.at_most)) return false;
        if (!r.max_product) continue;
        if (!x.is_int64() || x.as_int() <= 0 || x.as_int() > r.max_product / product) return false;
        product *= x.as_int();
    }
    return true;
}

bool one_of_ok(const Rule& r, const json::Value& v) {
    if (*r.one_of == '\0') return true;
    return listed(r.one_of, v.is_string() ? v.as_string() : v.dump());
}

using Fields = std::vector<std::pair<std::string, std::string>>;

void set(Fields& f, const std::string& name, std::string value) {
    for (auto& [k, v] : f)
        if (k == name) { v = std::move(value); return; }
    f.emplace_back(name, std::move(value));
}

// seedge.contract.rules.RELATIONS; a related field that is malformed or absent: it does not apply.
bool relation_holds(const Rule& r, const json::Value& v, const json::Value& root, Fields& f) {
    std::vector<Node> found = *r.other ? nodes(root, r.other) : std::vector<Node>{};
    const json::Value* other = found.empty() ? nullptr : found.front().value;
    switch (r.kind) {
        case Kind::KnownKeys:
            if (!v.is_object()) return true;
            for (const auto& [k, item] : members(v))
                if (!listed(r.one_of, k)) return set(f, "key", k), false;
            return true;
        case Kind::AllKeys: {
            if (!v.is_object()) return true;
            std::string all(r.one_of);
            for (std::size_t start = 0, bar; start <= all.size(); start = bar + 1) {
                bar = std::min(all.find('|', start), all.size());
                std::string key = all.substr(start, bar - start);
                if (v.find(key) == nullptr) return set(f, "key", key), false;
            }
            return true;
        }
        case Kind::NoZero:
            if (!v.is_array()) return true;
            for (const json::Value& x : v.as_array())
                if (finite(x) && x.as_number() == 0) return false;
            return true;
        case Kind::CountOf:
            if (!v.is_array() || other == nullptr || !positive_int(*other)) return true;
            set(f, "count", std::to_string(v.as_array().size()));
            set(f, "other", std::to_string(other->as_int()));
            return static_cast<std::int64_t>(v.as_array().size()) == other->as_int();
        case Kind::EqualsTail: {
            if (!v.is_array() || other == nullptr || !other->is_array()) return true;
            const auto& all = other->as_array();
            std::vector<json::Value> tail(all.empty() ? all.end() : all.begin() + 1, all.end());
            json::Value t = json::Value::array(tail);
            set(f, "other", json::show(t));
            return json::show(v) == json::show(t);
        }
        case Kind::Covers: {  // check.py: a resize [H, W] no smaller than the input's H, W
            if (!v.is_array() || other == nullptr || !other->is_array() || other->as_array().size() < 2) return true;
            const auto& all = other->as_array();
            std::vector<json::Value> tail(all.end() - 2, all.end());
            set(f, "other", json::show(json::Value::array(tail)));
            const auto& hw = v.as_array();
            if (hw.size() != 2) return false;
            for (std::size_t i = 0; i < 2; ++i)
                if (!hw[i].is_int64() || !tail[i].is_int64() || hw[i].as_int() < tail[i].as_int()) return false;
            return true;
        }
        case Kind::PerChannel: {
            if (other == nullptr || !other->is_array() || other->as_array().empty() || !positive_int(other->as_array()[0]))
                return true;
            std::int64_t c = other->as_array()[0].as_int();
            set(f, "other", std::to_string(c));
            if (!v.is_array() || static_cast<std::int64_t>(v.as_array().size()) < c) return false;
            for (const json::Value& x : v.as_array())
                if (!finite(x)) return false;
            return true;
        }
        default: return true;
    }
}

const char* kind_name(const json::Value& v) {
    switch (v.type()) {
        case json::Value::Type::Null: return "null";
        case json::Value::Type::Bool: return "boolean";
        case json::Value::Type::Number: return "number";
        case json::Value::Type::String: return "string";
        case json::Value::Type::Array: return "array";
        case json::Value::Type::Object: return "object";
    }
    return "null";
}

// seedge.contract.check._fill: {name} placeholders `f` has, replaced in one pass.
std::string fill(const std::string& t, const Fields& f) {
    std::string out;
    for (std::size_t i = 0; i < t.size();) {
        std::size_t close = t[i] == '{' ? t.find('}', i) : std::string::npos;
        bool done = false;
        if (close != std::string::npos)
            for (const auto& [k, v] : f)
                if (t.compare(i + 1, close - i - 1, k) == 0 && k.size() == close - i - 1) {
                    out += v;
                    i = close + 1;
                    done = true;
                    break;
                }
        if (!done) out += t[i++];
    }
    return out;
}

// The refusal template for node `n` (value `v`), or nullptr where `r` accepts it.
const char* node_problem(const Rule& r, const Node& n, const json::Value& v, const json::Value& root,
                         const char* missing, Fields& f, std::set<std::string>& seen) {
    if (*r.when_key) {
        const json::Value* sib = n.parent != nullptr ? n.parent->find(r.when_key) : nullptr;
        if (sib == nullptr || !sib->is_string() || sib->as_string() != r.when_value) return nullptr;
    }
    if (r.keys == KeyKind::Batch && !batch_key(n.key)) return r.key_problem;
    if (n.value == nullptr || v.is_null()) {
        if (r.required) return *missing ? missing : r.problem;
        return n.value != nullptr && !r.null_ok ? r.problem : nullptr;
    }
    if (r.kind == Kind::Unique) return v.is_string() && !seen.insert(v.as_string()).second ? r.problem : nullptr;
    bool ok = is_relation(r.kind) ? relation_holds(r, v, root, f) : is(r.kind, v) && list_ok(r, v) && one_of_ok(r, v);
    return ok ? nullptr : r.problem;
}

// The refusal template of the first node `r` refuses, with its placeholder values; nullptr if none.
const char* first_problem(const Rule& r, const json::Value& root, const char* missing, Fields& f) {
    std::set<std::string> seen;
    static const json::Value kNull;
    for (const Node& n : nodes(root, r.path)) {
        const json::Value& v = n.value ? *n.value : kNull;
        f = {{"field", n.field}, {"key", n.key}};
        for (std::size_t i = 0; i < n.caps.size(); ++i) f.emplace_back(std::to_string(i), n.caps[i]);
        const char* problem = node_problem(r, n, v, root, missing, f, seen);
        if (problem != nullptr) {
            // the value's text only for the refusal: a document's big containers are never dumped
            f.emplace_back("value", json::show(v));
            f.emplace_back("kind", kind_name(v));
            f.emplace_back("text", v.is_string() ? v.as_string() : "");
            return problem;
        }
    }
    return nullptr;
}

}  // namespace

std::vector<std::pair<std::string, const json::Value*>> members(const json::Value& object) {
    std::vector<std::pair<std::string, const json::Value*>> out;
    std::unordered_map<std::string, std::size_t> at;  // key -> its place in `out` (a 1 MiB object has ~1e5 keys)
    for (const auto& [k, v] : object.as_object()) {
        auto [it, fresh] = at.emplace(k, out.size());
        if (fresh) out.emplace_back(k, &v);
        else out[it->second].second = &v;
    }
    return out;
}

bool listed(const char* list, const std::string& token) {
    std::string all(list);
    std::size_t start = 0;
    while (start <= all.size()) {
        std::size_t bar = all.find('|', start);
        if (bar == std::string::npos) bar = all.size();
        if (all.compare(start, bar - start, token) == 0 && bar - start == token.size()) return true;
        start = bar + 1;
    }
    return false;
}

void check(const Document& doc, const json::Value& value, const std::filesystem::path& file) {
    for (std::size_t i = 0; i < doc.count; ++i) {
        const Rule& r = doc.rules[i];
        Fields f;
        const char* problem = first_problem(r, value, doc.missing, f);
        if (problem == nullptr) continue;
        f.emplace_back("file", file.string());
        if (*r.message) throw Error(fill(r.message, f));
        std::string text = fill(problem, f);
        std::string field;
        for (const auto& [k, v] : f)
            if (k == "field") field = v;
        throw Error(fill(doc.line, {{"file", file.string()}, {"field", field}, {"problem", text}, {"fix", doc.fix}}));
    }
}

}  // namespace seedge::contract
