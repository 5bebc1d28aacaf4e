#include "http/ids.h"

#include <openssl/rand.h>

#include <array>
#include <random>

namespace llorch::http {
namespace {
void fill_random(unsigned char* p, size_t n) {
    if (RAND_bytes(p, static_cast<int>(n)) == 1) return;
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(rng());
}
}  // namespace

std::string new_correlation_id() {
    std::array<unsigned char, 16> b{};
    fill_random(b.data(), b.size());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[b[i] >> 4];
        out += hex[b[i] & 15];
    }
    return out;
}

std::string random_hex(size_t bytes) {
    std::string raw(bytes, '\0');
    fill_random(reinterpret_cast<unsigned char*>(raw.data()), bytes);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

}  // namespace llorch::http
