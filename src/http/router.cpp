#include "http/router.h"

namespace llorch::http {
namespace {
std::vector<std::string_view> split_path(std::string_view p) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < p.size()) {
        if (p[i] == '/') {
            ++i;
            continue;
        }
        size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        out.push_back(p.substr(i, j - i));
        i = j;
    }
    return out;
}
}  // namespace

void router::add(std::string method, std::string pattern, handler h, route_options opts) {
    route r{std::move(method), std::move(pattern), {}, std::move(h), opts};
    for (auto s : split_path(r.pattern)) r.segments.emplace_back(s);
    routes_.push_back(std::move(r));
}

router::match_result router::match(std::string_view method, std::string_view path) const {
    match_result out;
    auto parts = split_path(path);
    for (const auto& r : routes_) {
        if (r.segments.size() != parts.size()) continue;
        std::vector<std::string> params;
        bool ok = true;
        for (size_t i = 0; i < parts.size() && ok; ++i) {
            const auto& seg = r.segments[i];
            if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
                if (parts[i].empty()) ok = false;
                // An id holding a '/' (a cluster-wide pool name, node_id/pool_id) fits one segment
                // as %2F.
                params.push_back(percent_decode(parts[i]));
            } else if (seg != parts[i]) {
                ok = false;
            }
        }
        if (!ok) continue;
        out.path_known = true;
        if (r.method == method) {
            out.h = &r.h;
            out.opts = r.opts;
            out.params = std::move(params);
            return out;
        }
    }
    return out;
}

void router::set_error_writer(std::string prefix, error_writer w) {
    error_writers_.emplace_back(std::move(prefix), std::move(w));
}

response router::error_response(const api::error& e, std::string_view path,
                                std::string_view correlation_id) const {
    const error_writer* best = nullptr;
    size_t best_len = 0;
    for (const auto& [prefix, w] : error_writers_) {
        bool under = prefix == "/" ? path == "/" || path.empty()
                                   : path.starts_with(prefix) && (path.size() == prefix.size() ||
                                                                  path[prefix.size()] == '/');
        if (under && (!best || prefix.size() > best_len)) {
            best = &w;
            best_len = prefix.size();
        }
    }
    return best ? (*best)(e, correlation_id) : response::from_error(e, correlation_id);
}

std::vector<std::string> router::describe() const {
    std::vector<std::string> out;
    for (const auto& r : routes_) out.push_back(r.method + " " + r.pattern);
    return out;
}

}  // namespace llorch::http
