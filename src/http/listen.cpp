#include "http/listen.h"

#include <cstdlib>

namespace llorch::http {

http_result<std::pair<std::string, uint16_t>> parse_listen_address(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos)
        return http_error{http_errc::invalid_address,
                          "listen address '" + s + "' must be HOST:PORT, e.g. 127.0.0.1:8080"};
    std::string host = s.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "127.0.0.1";
    auto port_s = s.substr(colon + 1);
    if (port_s.empty() || port_s.size() > 5 ||
        port_s.find_first_not_of("0123456789") != std::string::npos)
        return http_error{http_errc::invalid_address,
                          "listen address '" + s + "' has no valid port"};
    auto port = std::stoul(port_s);
    if (port > 65535)
        return http_error{http_errc::invalid_address,
                          "listen address '" + s + "': port out of range"};
    return std::make_pair(host, static_cast<uint16_t>(port));
}

http_result<token_set> tokens_from_env(const std::vector<std::string>& env_names) {
    for (const auto& name : env_names) {
        const char* v = std::getenv(name.c_str());
        if (!v || !*v) continue;
        auto list = token_set::parse_list(v);
        if (list.empty())
            return http_error{http_errc::bad_token, name + ": set but holds no token"};
        for (size_t i = 0; i < list.size(); ++i)
            if (list[i].size() < 16)
                return http_error{http_errc::bad_token,
                                  name + ": token " + std::to_string(i + 1) +
                                      " is shorter than 16 characters; use a long random value "
                                      "(e.g. `openssl rand -hex 24`)"};
        return token_set(list);
    }
    return token_set{};
}

std::string outgoing_token_from_env(const std::vector<std::string>& env_names) {
    for (const auto& name : env_names) {
        const char* v = std::getenv(name.c_str());
        if (!v || !*v) continue;
        auto list = token_set::parse_list(v);
        return list.empty() ? std::string() : list.front();
    }
    return {};
}

}  // namespace llorch::http
