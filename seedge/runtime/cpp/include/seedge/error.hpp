// The exception types of the seedge C++ runtime, as seedge.errors has them in Python. Every one
// is a seedge::Error with a one-line message that names the file or value and what to do; catch
// seedge::Error for all of them (seedge_classify exits 2), or a subclass to act on its kind.
#pragma once

#include <stdexcept>
#include <string>

namespace seedge {

// Bad usage or bad input (seedge.errors.SeedgeError).
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The folder's files are not the ones its manifest recorded (a sha256 differs), or the manifest
// names a file outside the folder or one that is not a regular file (seedge.errors.IntegrityError).
// Never a reason to move on to another artifact.
class IntegrityError : public Error {
public:
    using Error::Error;
};

// An artifact cannot run here: its engine or library, or the asked-for device, is missing from
// this build or machine (seedge.errors.Unavailable).
class Unavailable : public Error {
public:
    using Error::Error;
};

// An INT8 artifact built for VNNI/AMX CPUs on a CPU without them: it would run, slowly or with
// overflowing 8-bit arithmetic (seedge.backends.cpu_features.int8_cpu_refusal).
class NeedsVnni : public Unavailable {
public:
    using Unavailable::Unavailable;
};

// A check ran and failed (seedge.errors.CheckFailed: the CLI's exit 1): SelfTest::require_passed.
class CheckFailed : public Error {
public:
    using Error::Error;
};

}  // namespace seedge
