// The one exception type of the seedge C++ runtime: bad input or an unusable folder, with a
// one-line message that names the file or value and what to do (as seedge.errors.SeedgeError).
#pragma once

#include <stdexcept>
#include <string>

namespace seedge {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace seedge
