#include "http/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/asio/ip/address.hpp>

namespace llorch::http {
namespace {
std::array<unsigned char, 32> sha256(std::string_view s) {
    std::array<unsigned char, 32> d{};
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
    return d;
}
std::string hex6(const std::array<unsigned char, 32>& d) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 3; ++i) {
        out += hex[d[i] >> 4];
        out += hex[d[i] & 15];
    }
    return out;
}
std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}
}  // namespace

token_set::token_set(const std::vector<std::string>& tokens) {
    for (const auto& t : tokens) {
        auto d = sha256(t);
        digests_.push_back({d, hex6(d)});
    }
}

std::optional<std::string> token_set::verify(std::string_view presented) const {
    // Hashing first makes the comparison independent of the presented token's length.
    auto d = sha256(presented);
    const entry* hit = nullptr;
    for (const auto& e : digests_) {
        bool same = CRYPTO_memcmp(e.digest.data(), d.data(), d.size()) == 0;
        if (same) hit = &e;
    }
    if (!hit) return std::nullopt;
    return "token:" + hit->fp;
}

std::string token_set::fingerprint(std::string_view token) { return hex6(sha256(token)); }

std::vector<std::string> token_set::parse_list(std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = trim_ows(list.substr(0, comma));
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

bool is_loopback(std::string_view address) {
    if (address == "localhost") return true;
    std::string a(address);
    if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(a, ec);
    if (ec) return false;
    if (ip.is_v6() && ip.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6())
            .is_loopback();
    return ip.is_loopback();
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
    constexpr std::string_view prefix = "Bearer ";
    if (authorization.size() <= prefix.size()) return std::nullopt;
    for (size_t i = 0; i < prefix.size(); ++i) {
        char a = authorization[i], b = prefix[i];
        if (std::tolower(static_cast<unsigned char>(a)) !=
            std::tolower(static_cast<unsigned char>(b)))
            return std::nullopt;
    }
    return trim_ows(authorization.substr(prefix.size()));
}

}  // namespace llorch::http
