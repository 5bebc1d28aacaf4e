#pragma once
// Bearer-token checking shared by both daemons. Tokens are kept only as SHA-256 digests, compared
// in constant time, and named in logs by a 6-hex-digit fingerprint, never by their value.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llorch::http {

class token_set {
  public:
    token_set() = default;
    explicit token_set(const std::vector<std::string>& tokens);

    bool empty() const { return digests_.empty(); }
    size_t size() const { return digests_.size(); }

    // "token:<fp6>" when `presented` is one of the tokens, else nullopt. Takes the same time
    // whichever token matches, or none.
    std::optional<std::string> verify(std::string_view presented) const;

    // First 6 hex digits of the token's SHA-256.
    static std::string fingerprint(std::string_view token);
    // "a, b,,c" → {"a","b","c"}: a comma-separated list (rotation keeps two tokens valid).
    static std::vector<std::string> parse_list(std::string_view comma_separated);

  private:
    struct entry {
        std::array<unsigned char, 32> digest;
        std::string fp;
    };
    std::vector<entry> digests_;
};

// Whether an address (IPv4/IPv6 literal or "localhost") is on the loopback interface.
bool is_loopback(std::string_view address);

// The token of an `Authorization: Bearer <token>` header value, if it has that form.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace llorch::http
