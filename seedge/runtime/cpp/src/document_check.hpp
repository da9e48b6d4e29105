// The contract's field rules (seedge/contract), interpreted: the C++ half of
// seedge.contract.check. The rules themselves come from the generated seedge_contract.hpp.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <seedge_contract.hpp>

#include "json.hpp"

namespace seedge::contract {

// Throws Error with the document's one refusal line at the first rule `value` breaks.
void check(const Document& doc, const json::Value& value, const std::filesystem::path& file);

// An object's members as Python's json reads them: a repeated key once, at its first place,
// with its last value.
std::vector<std::pair<std::string, const json::Value*>> members(const json::Value& object);

// Whether `token` is one of the '|'-separated `list` (a generated one_of or formats list).
bool listed(const char* list, const std::string& token);

}  // namespace seedge::contract
