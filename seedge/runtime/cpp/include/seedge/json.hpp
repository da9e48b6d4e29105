// A small JSON reader for manifest.json: the whole JSON grammar (RFC 8259) plus the NaN /
// Infinity tokens Python's json module writes, into an immutable tree of Values.
//
// Self-written rather than vendored: the runtime needs to read one small document and print
// a few lines, a full-featured library (nlohmann/json is not on the build machines and would
// be a 25k-line header in every device build) is far more than that, and ~300 lines with their
// own tests (tests/runtime/test_cpp_runtime.py compares it with Python's json on tricky input)
// keep the device build free of any dependency besides OpenVINO / TensorRT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "seedge/error.hpp"

namespace seedge::json {

class Value {
public:
    enum class Type { Null, Bool, Number, String, Array, Object };

    Value() = default;
    static Value boolean(bool b);
    static Value number(double d);
    static Value string(std::string s);
    static Value array(std::vector<Value> items);
    static Value object(std::vector<std::pair<std::string, Value>> members);

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    bool is_bool() const { return type_ == Type::Bool; }
    bool is_number() const { return type_ == Type::Number; }
    bool is_string() const { return type_ == Type::String; }
    bool is_array() const { return type_ == Type::Array; }
    bool is_object() const { return type_ == Type::Object; }

    // Typed access; each throws seedge::Error naming `what` when the value has another type.
    bool as_bool(const std::string& what = "value") const;
    double as_number(const std::string& what = "value") const;
    // An integral number within int64 (JSON has no integer type; Python writes them without '.').
    std::int64_t as_int(const std::string& what = "value") const;
    const std::string& as_string(const std::string& what = "value") const;
    const std::vector<Value>& as_array(const std::string& what = "value") const;
    const std::vector<std::pair<std::string, Value>>& as_object(const std::string& what = "value") const;

    // Object member by key (the last one when a key repeats, as Python's json keeps it);
    // nullptr when this is not an object or has no such key.
    const Value* find(std::string_view key) const;

    // Compact JSON text (numbers with 17 significant digits, so they read back unchanged).
    std::string dump() const;

private:
    Type type_ = Type::Null;
    bool bool_ = false;
    double number_ = 0.0;
    std::shared_ptr<const std::string> string_;
    std::shared_ptr<const std::vector<Value>> array_;
    std::shared_ptr<const std::vector<std::pair<std::string, Value>>> object_;
};

// Parse one JSON document (surrounding whitespace allowed); throws seedge::Error with the
// line and column of the first problem. Nesting deeper than 256 levels is refused.
Value parse(std::string_view text);

// `s` as a JSON string literal, quotes included (control characters escaped, UTF-8 kept).
std::string quote(std::string_view s);

// A finite double as JSON text ("null" for NaN/Inf, which JSON cannot hold).
std::string number_text(double d);

}  // namespace seedge::json
