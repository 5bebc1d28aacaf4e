#pragma once
// Whole-file reads and writes for tests that inspect or corrupt GGUF bytes directly.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace llorch::model::test {

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

template <class T>
T load(const std::vector<uint8_t>& bytes, std::size_t at) {
    T v{};
    std::memcpy(&v, bytes.data() + at, sizeof(T));
    return v;
}

template <class T>
void store(std::vector<uint8_t>& bytes, std::size_t at, T v) {
    std::memcpy(bytes.data() + at, &v, sizeof(T));
}

}  // namespace llorch::model::test
