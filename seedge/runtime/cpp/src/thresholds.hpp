// The parity gates in C++ (seedge.verify.parity): defaults per precision, the gates an artifact
// is judged by, and their JSON. Thresholds' members are named as the contract names them
// (seedge.contract.manifest.THRESHOLD_KEYS; thresholds.cpp checks that at compile time).
#pragma once

#include <optional>
#include <string>

#include "seedge/runtime.hpp"

namespace seedge {

// seedge.verify.parity.thresholds_for(precision): DEFAULT_THRESHOLDS through the generated header.
Thresholds default_thresholds(const std::string& precision);

// Sets the gate the contract calls `name` (a name the contract checked: one of THRESHOLD_KEYS).
void set_gate(Thresholds& t, const std::string& name, std::optional<double> value);

// seedge.verify.parity.recorded_thresholds: the gates `a` is judged by and where they come from:
// its parity record's ("recorded"), an older manifest's verification.thresholds for its precision
// on the defaults ("manifest (older export)"), else the defaults ("default (older export)", or
// "default" for an entry without a parity record).
Thresholds recorded_thresholds(const Manifest& m, const Artifact& a, std::string& source);

// {"min_agreement": ..., ...} in THRESHOLD_KEYS order; an unset gate is null.
std::string thresholds_json(const Thresholds& t);

}  // namespace seedge
