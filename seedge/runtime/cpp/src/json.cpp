// Recursive-descent JSON reader (see json.hpp beside it for why it is self-written).

#include "json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include <seedge_contract.hpp>

namespace seedge::json {

namespace {

const char* type_name(Value::Type t) {
    switch (t) {
        case Value::Type::Null: return "null";
        case Value::Type::Bool: return "a boolean";
        case Value::Type::Number: return "a number";
        case Value::Type::String: return "a string";
        case Value::Type::Array: return "an array";
        case Value::Type::Object: return "an object";
    }
    return "?";
}

[[noreturn]] void wrong_type(const std::string& what, Value::Type got, const char* want) {
    throw Error(what + " must be " + want + ", not " + type_name(got));
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    Value document() {
        skip_space();
        Value v = value(0);
        skip_space();
        if (pos_ != s_.size()) fail("extra data after the JSON document");
        return v;
    }

private:
    static constexpr int kMaxDepth = contract::kMaxDepth;
    std::string_view s_;
    std::size_t pos_ = 0;

    [[noreturn]] void fail(const std::string& problem) const {
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
            if (s_[i] == '\n') { ++line; col = 1; } else { ++col; }
        }
        throw Error("not JSON: " + problem + " (line " + std::to_string(line) + ", column " +
                    std::to_string(col) + ")");
    }

    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }

    void skip_space() {
        while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }

    bool consume_word(std::string_view word) {
        if (s_.substr(pos_, word.size()) == word) { pos_ += word.size(); return true; }
        return false;
    }

    Value value(int depth) {
        if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
        switch (peek()) {
            case '{': return object(depth);
            case '[': return array(depth);
            case '"': return Value::string(string());
            case 't': if (consume_word("true")) return Value::boolean(true); break;
            case 'f': if (consume_word("false")) return Value::boolean(false); break;
            case 'n': if (consume_word("null")) return Value(); break;
            // Python's json.dumps writes these for non-finite floats (allow_nan=True).
            case 'N': if (consume_word("NaN")) return Value::number(std::numeric_limits<double>::quiet_NaN()); break;
            case 'I': if (consume_word("Infinity")) return Value::number(std::numeric_limits<double>::infinity()); break;
            case '\0': if (at_end()) fail("unexpected end of the document"); break;
            default: break;
        }
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return number();
        fail(std::string("unexpected character '") + peek() + "'");
    }

    Value object(int depth) {
        ++pos_;  // '{'
        std::vector<std::pair<std::string, Value>> members;
        skip_space();
        if (peek() == '}') { ++pos_; return Value::object(std::move(members)); }
        while (true) {
            skip_space();
            if (peek() != '"') fail("expected a string key");
            std::string key = string();
            skip_space();
            if (peek() != ':') fail("expected ':' after a key");
            ++pos_;
            skip_space();
            Value v = value(depth + 1);
            members.emplace_back(std::move(key), std::move(v));
            skip_space();
            if (peek() == ',') { ++pos_; continue; }
            if (peek() == '}') { ++pos_; return Value::object(std::move(members)); }
            fail("expected ',' or '}' in an object");
        }
    }

    Value array(int depth) {
        ++pos_;  // '['
        std::vector<Value> items;
        skip_space();
        if (peek() == ']') { ++pos_; return Value::array(std::move(items)); }
        while (true) {
            skip_space();
            items.push_back(value(depth + 1));
            skip_space();
            if (peek() == ',') { ++pos_; continue; }
            if (peek() == ']') { ++pos_; return Value::array(std::move(items)); }
            fail("expected ',' or ']' in an array");
        }
    }

    std::uint32_t hex4() {
        if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else { --pos_; fail("bad hex digit in a \\u escape"); }
        }
        return v;
    }

    std::string string() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (at_end()) fail("unterminated string");
            char c = s_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) { --pos_; fail("control character in a string"); }
            if (static_cast<unsigned char>(c) >= 0x80) { --pos_; utf8_sequence(out); continue; }
            if (c != '\\') { out += c; continue; }
            if (at_end()) fail("unterminated escape");
            char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    std::uint32_t cp = hex4();
                    // Python writes characters outside the BMP as a UTF-16 surrogate pair
                    // (ensure_ascii); a lone surrogate is no character: refused, as the contract does.
                    if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
                        pos_ += 2;
                        std::uint32_t lo = hex4();
                        if (lo < 0xDC00 || lo > 0xDFFF) fail("a lone surrogate escape, not a character");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                        fail("a lone surrogate escape, not a character");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: --pos_; fail(std::string("bad escape '\\") + e + "'");
            }
        }
    }

    // One UTF-8 encoded character at pos_ (its first byte >= 0x80), copied to `out`; anything
    // else (a stray continuation byte, an overlong form, a surrogate, beyond U+10FFFF, a cut
    // sequence) is refused, as Python's strict UTF-8 decoding refuses it.
    void utf8_sequence(std::string& out) {
        auto byte = [&](std::size_t i) { return static_cast<unsigned char>(pos_ + i < s_.size() ? s_[pos_ + i] : 0); };
        unsigned char b0 = byte(0);
        int more = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
        if (b0 >= 0xC2 && b0 <= 0xDF) { more = 1; }
        else if (b0 == 0xE0) { more = 2; lo = 0xA0; }
        else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) { more = 2; }
        else if (b0 == 0xED) { more = 2; hi = 0x9F; }
        else if (b0 == 0xF0) { more = 3; lo = 0x90; }
        else if (b0 >= 0xF1 && b0 <= 0xF3) { more = 3; }
        else if (b0 == 0xF4) { more = 3; hi = 0x8F; }
        else fail("invalid UTF-8");
        for (int i = 1; i <= more; ++i) {
            unsigned char b = byte(static_cast<std::size_t>(i));
            if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) fail("invalid UTF-8");
        }
        out.append(s_.data() + pos_, static_cast<std::size_t>(more) + 1);
        pos_ += static_cast<std::size_t>(more) + 1;
    }

    Value number() {
        std::size_t start = pos_;
        if (peek() == '-') {
            ++pos_;
            if (consume_word("Infinity")) return Value::number(-std::numeric_limits<double>::infinity());
        }
        std::size_t digits = pos_;
        if (peek() == '0') {
            ++pos_;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9') ++pos_;
        } else {
            fail("bad number");
        }
        digits = pos_ - digits;
        if (peek() != '.' && peek() != 'e' && peek() != 'E') return integer(start, digits);
        if (peek() == '.') {
            ++pos_;
            if (!(peek() >= '0' && peek() <= '9')) fail("bad number: digits must follow '.'");
            while (peek() >= '0' && peek() <= '9') ++pos_;
        }
        bool tiny = false;  // a negative exponent: out of range means underflow, not overflow
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-') tiny = s_[pos_++] == '-';
            if (!(peek() >= '0' && peek() <= '9')) fail("bad number: digits must follow the exponent");
            while (peek() >= '0' && peek() <= '9') ++pos_;
        }
        double d = 0.0;
        // from_chars: locale-independent, correctly rounded (strtod would read "1,5" in some locales).
        auto res = std::from_chars(s_.data() + start, s_.data() + pos_, d);
        if (res.ec == std::errc::result_out_of_range) {
            // As Python's float(): overflow reads as +-Inf, underflow as +-0.
            d = std::copysign(tiny ? 0.0 : std::numeric_limits<double>::infinity(), s_[start] == '-' ? -1.0 : 1.0);
        } else if (res.ec != std::errc() || res.ptr != s_.data() + pos_) {
            fail("bad number");
        }
        return Value::number(d);
    }

    // An integer literal s_[start, pos_) of `digits` digits: exact within int64, else its text
    // with the nearest double (+-Inf beyond a double), as Python's int and float(int) read it.
    Value integer(std::size_t start, std::size_t digits) {
        if (digits > static_cast<std::size_t>(contract::kMaxIntDigits))
            fail("an integer of " + std::to_string(digits) + " digits, more than " +
                 std::to_string(contract::kMaxIntDigits));
        std::int64_t i = 0;
        auto res = std::from_chars(s_.data() + start, s_.data() + pos_, i);
        if (res.ec == std::errc() && res.ptr == s_.data() + pos_) return Value::integer(i);
        double d = 0.0;
        auto r2 = std::from_chars(s_.data() + start, s_.data() + pos_, d);
        if (r2.ec == std::errc::result_out_of_range)
            d = std::copysign(std::numeric_limits<double>::infinity(), s_[start] == '-' ? -1.0 : 1.0);
        return Value::big_integer(std::string(s_.substr(start, pos_ - start)), d);
    }
};

}  // namespace

Value Value::boolean(bool b) { Value v; v.type_ = Type::Bool; v.bool_ = b; return v; }
Value Value::number(double d) { Value v; v.type_ = Type::Number; v.number_ = d; return v; }
Value Value::integer(std::int64_t i) {
    Value v = number(static_cast<double>(i));
    v.integer_ = true;
    v.int_ = i;
    return v;
}
Value Value::big_integer(std::string literal, double approx) {
    Value v = number(approx);
    v.integer_ = true;
    v.literal_ = std::make_shared<const std::string>(std::move(literal));
    return v;
}
Value Value::string(std::string s) {
    Value v; v.type_ = Type::String; v.string_ = std::make_shared<const std::string>(std::move(s)); return v;
}
Value Value::array(std::vector<Value> items) {
    Value v; v.type_ = Type::Array; v.array_ = std::make_shared<const std::vector<Value>>(std::move(items)); return v;
}
Value Value::object(std::vector<std::pair<std::string, Value>> members) {
    Value v;
    v.type_ = Type::Object;
    v.object_ = std::make_shared<const std::vector<std::pair<std::string, Value>>>(std::move(members));
    return v;
}

bool Value::as_bool(const std::string& what) const {
    if (type_ != Type::Bool) wrong_type(what, type_, "a boolean");
    return bool_;
}

double Value::as_number(const std::string& what) const {
    if (type_ != Type::Number) wrong_type(what, type_, "a number");
    return number_;
}

std::int64_t Value::as_int(const std::string& what) const {
    if (is_int64()) return int_;
    double d = as_number(what);
    // 2^63 is exactly representable; anything at or above it does not fit.
    if (!std::isfinite(d) || d != std::floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        throw Error(what + " must be an integer, not " + number_text(d));
    return static_cast<std::int64_t>(d);
}

const std::string& Value::as_string(const std::string& what) const {
    if (type_ != Type::String) wrong_type(what, type_, "a string");
    return *string_;
}

const std::vector<Value>& Value::as_array(const std::string& what) const {
    if (type_ != Type::Array) wrong_type(what, type_, "an array");
    return *array_;
}

const std::vector<std::pair<std::string, Value>>& Value::as_object(const std::string& what) const {
    if (type_ != Type::Object) wrong_type(what, type_, "an object");
    return *object_;
}

const Value* Value::find(std::string_view key) const {
    if (type_ != Type::Object) return nullptr;
    const Value* hit = nullptr;
    for (const auto& [k, v] : *object_)
        if (k == key) hit = &v;
    return hit;
}

std::string number_text(double d) {
    if (!std::isfinite(d)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string Value::dump() const {
    switch (type_) {
        case Type::Null: return "null";
        case Type::Bool: return bool_ ? "true" : "false";
        case Type::Number:
            if (integer_) return literal_ ? *literal_ : std::to_string(int_);
            if (std::isnan(number_)) return "NaN";
            if (std::isinf(number_)) return number_ > 0 ? "Infinity" : "-Infinity";
            return number_text(number_);
        case Type::String: return quote(*string_);
        case Type::Array: {
            std::string out = "[";
            for (std::size_t i = 0; i < array_->size(); ++i) out += (i ? "," : "") + (*array_)[i].dump();
            return out + "]";
        }
        case Type::Object: {
            std::string out = "{";
            for (std::size_t i = 0; i < object_->size(); ++i)
                out += (i ? "," : "") + quote((*object_)[i].first) + ":" + (*object_)[i].second.dump();
            return out + "}";
        }
    }
    return "null";
}

std::string show(const Value& v) {
    switch (v.type()) {
        case Value::Type::Number: {
            if (v.is_integer() || !std::isfinite(v.as_number())) return v.dump();
            char buf[40];
            auto res = std::to_chars(buf, buf + sizeof buf, v.as_number());
            std::string out(buf, res.ptr);
            if (out.find_first_of(".e") == std::string::npos) out += ".0";  // Python's repr of a float
            return out;
        }
        case Value::Type::Array: {
            std::string out = "[";
            for (const Value& item : v.as_array()) out += (out.size() > 1 ? ", " : "") + show(item);
            return out + "]";
        }
        case Value::Type::Object: {
            std::string out = "{";
            for (const auto& [k, item] : v.as_object()) out += (out.size() > 1 ? ", " : "") + quote(k) + ": " + show(item);
            return out + "}";
        }
        default: return v.dump();
    }
}

Value parse(std::string_view text) { return Parser(text).document(); }

}  // namespace seedge::json

namespace seedge {

std::string json_quote(std::string_view s) { return json::quote(s); }
std::string json_number(double v) { return json::number_text(v); }

}  // namespace seedge
