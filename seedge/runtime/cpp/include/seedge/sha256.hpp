// SHA-256 (FIPS 180-4), self-written: about 100 lines, and the device build then needs no
// crypto library to check that an artifact's bytes are the ones the manifest recorded.
// tests/runtime/test_cpp_runtime.py checks it against Python's hashlib.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "seedge/error.hpp"

namespace seedge {

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    std::string hex_digest();  // finishes the hash; the object is then spent

private:
    void block(const std::uint8_t* p);
    std::array<std::uint32_t, 8> h_;
    std::array<std::uint8_t, 64> buf_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_ = 0;  // bytes hashed so far
};

// Hex SHA-256 of a file's bytes; throws seedge::Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace seedge
