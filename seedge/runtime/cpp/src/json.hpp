// A small JSON reader for manifest.json and bench.json: the whole JSON grammar (RFC 8259) plus
// the NaN / Infinity tokens Python's json module writes, into an immutable tree of Values. It
// reads what the contract (seedge/contract) reads: integer literals apart from the others (10.0
// and 1e1 are not integers), strict UTF-8 (an invalid byte sequence or a lone surrogate escape is
// refused, never echoed), nesting and integer length bounded as the contract says.
//
// Self-written rather than nlohmann/json (considered): Python writes NaN and Infinity into
// manifests (allow_nan), which nlohmann refuses, its UTF-8 check is on dump rather than parse,
// and it is not on the device build machines (a 25k-line header plus a CI install for ~350
// lines here, tests/runtime/test_cpp_runtime.py and tests/contract compare them with Python).
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
    static Value integer(std::int64_t i);
    static Value big_integer(std::string literal, double approx);  // beyond int64
    static Value string(std::string s);
    static Value array(std::vector<Value> items);
    static Value object(std::vector<std::pair<std::string, Value>> members);

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    bool is_bool() const { return type_ == Type::Bool; }
    bool is_number() const { return type_ == Type::Number; }
    // A number written as an integer literal (no '.', no exponent), as Python's json reads an int.
    bool is_integer() const { return type_ == Type::Number && integer_; }
    // An integer literal within int64 (a longer one keeps its text; as_number() approximates it).
    bool is_int64() const { return is_integer() && !literal_; }
    bool is_string() const { return type_ == Type::String; }
    bool is_array() const { return type_ == Type::Array; }
    bool is_object() const { return type_ == Type::Object; }

    // Typed access; each throws seedge::Error naming `what` when the value has another type.
    bool as_bool(const std::string& what = "value") const;
    double as_number(const std::string& what = "value") const;
    // An integral number within int64 (an integer literal, or a float with an integral value).
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
    bool integer_ = false;
    std::int64_t int_ = 0;
    std::shared_ptr<const std::string> literal_;  // an integer literal beyond int64, as written
    std::shared_ptr<const std::string> string_;
    std::shared_ptr<const std::vector<Value>> array_;
    std::shared_ptr<const std::vector<std::pair<std::string, Value>>> object_;
};

// Parse one JSON document (surrounding whitespace allowed); throws seedge::Error with the
// line and column of the first problem. Refused as Python's reading of the contract refuses
// them (seedge.contract.check.parse): nesting deeper than the contract's bound, an integer of
// more digits than its bound, invalid UTF-8, a lone surrogate escape.
Value parse(std::string_view text);

// `s` as a JSON string literal, quotes included (control characters escaped, UTF-8 kept).
std::string quote(std::string_view s);

// A finite double as JSON text ("null" for NaN/Inf, which JSON cannot hold).
std::string number_text(double d);

// `v` as Python's json.dumps writes it by default (", " and ": " separators; shortest floats
// with ".0"), for refusal lines that quote a value.
std::string show(const Value& v);

}  // namespace seedge::json
