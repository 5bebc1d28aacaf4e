#include "http/ids.h"

#include <cctype>

#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <random>

namespace llorch::http {
namespace {
// RAND_bytes per id costs a fork check (getpid) and the DRBG's locking each time; ids are made
// several times per request, so each thread draws random bytes in bulk and hands them out.
class random_pool {
  public:
    void fill(unsigned char* p, size_t n) {
        while (n > 0) {
            if (used_ == bytes_.size()) refill();
            size_t k = std::min(n, bytes_.size() - used_);
            std::memcpy(p, bytes_.data() + used_, k);
            // Bytes handed out are not kept where a later id could see them again.
            std::memset(bytes_.data() + used_, 0, k);
            used_ += k;
            p += k;
            n -= k;
        }
    }

  private:
    void refill() {
        used_ = 0;
        if (RAND_bytes(bytes_.data(), static_cast<int>(bytes_.size())) == 1) return;
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        for (auto& b : bytes_) b = static_cast<unsigned char>(rng());
    }
    std::array<unsigned char, 512> bytes_{};
    size_t used_ = bytes_.size();
};

void fill_random(unsigned char* p, size_t n) {
    static thread_local random_pool pool;
    pool.fill(p, n);
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
    out.reserve(bytes * 2);
    for (unsigned char c : raw) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
              c == ':'))
            return false;
    return true;
}

}  // namespace llorch::http
