#include "dashboard/dashboard_assets.h"

#include <cstddef>

namespace llorch::dashboard {
namespace detail {
struct embedded_file {
    const char* name;
    const unsigned char* data;
    std::size_t size;
};
extern const embedded_file embedded_files[];
}  // namespace detail

namespace {

std::string_view content_type_of(std::string_view name) {
    auto dot = name.rfind('.');
    auto ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    if (ext == "html") return "text/html; charset=utf-8";
    if (ext == "js") return "text/javascript; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "png") return "image/png";
    return "application/octet-stream";
}

}  // namespace

std::optional<asset> find_asset(std::string_view name) {
    for (const auto* f = detail::embedded_files; f->name; ++f) {
        if (name != f->name) continue;
        return asset{f->name, content_type_of(f->name),
                     std::string_view(reinterpret_cast<const char*>(f->data), f->size)};
    }
    return std::nullopt;
}

asset index_page() { return find_asset("index.html").value_or(asset{}); }

}  // namespace llorch::dashboard
