#include "catalog/model_ref.h"

#include <algorithm>

namespace llorch::catalog {

namespace {

catalog_error invalid(std::string m) { return {catalog_errc::invalid_ref, std::move(m)}; }

bool has_control_or_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

// ORG/REPO/FILE.gguf: at least three non-empty segments, none of them "." or "..".
bool valid_hf_path(std::string_view p) {
    if (p.empty() || p.front() == '/' || p.back() == '/') return false;
    size_t segments = 0, start = 0;
    while (start <= p.size()) {
        auto end = p.find('/', start);
        if (end == std::string_view::npos) end = p.size();
        auto seg = p.substr(start, end - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        ++segments;
        start = end + 1;
    }
    return segments >= 3;
}

}  // namespace

std::string_view to_string(ref_scheme s) {
    switch (s) {
        case ref_scheme::file:
            return "file";
        case ref_scheme::http:
            return "http";
        case ref_scheme::https:
            return "https";
        case ref_scheme::hf:
            return "hf";
    }
    return "file";
}

std::string model_ref::fetch_url() const {
    if (scheme != ref_scheme::hf) return location;
    // ORG/REPO/rest → https://huggingface.co/ORG/REPO/resolve/main/rest
    auto first = location.find('/');
    auto second = location.find('/', first + 1);
    return "https://huggingface.co/" + location.substr(0, second) + "/resolve/main/" +
           location.substr(second + 1);
}

std::string model_ref::file_name() const {
    std::string_view p = location;
    if (scheme == ref_scheme::http || scheme == ref_scheme::https) {
        auto q = p.find_first_of("?#");
        if (q != std::string_view::npos) p = p.substr(0, q);
    }
    auto slash = p.rfind('/');
    return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

catalog_result<model_ref> parse_model_ref(std::string_view text) {
    if (text.empty()) return invalid("the model reference is empty");
    if (text.size() > 4096) return invalid("the model reference is longer than 4096 bytes");
    if (has_control_or_space(text))
        return invalid("the model reference contains spaces or control characters");
    if (text.front() == '/') return model_ref{ref_scheme::file, std::string(text)};
    if (text.starts_with("file:")) {
        auto p = text.substr(5);
        if (p.starts_with("//")) {
            p = p.substr(2);  // file:///path: an empty host
            if (!p.starts_with("/"))
                return invalid("file: URLs name a local file: file:///path (no host)");
        }
        if (!p.starts_with("/"))
            return invalid("file: needs an absolute path, e.g. file:/models/x.gguf");
        return model_ref{ref_scheme::file, std::string(p)};
    }
    for (auto [prefix, scheme] : {std::pair{std::string_view("http://"), ref_scheme::http},
                                  std::pair{std::string_view("https://"), ref_scheme::https}}) {
        if (!text.starts_with(prefix)) continue;
        auto rest = text.substr(prefix.size());
        if (rest.empty() || rest.front() == '/') return invalid("the URL has no host");
        return model_ref{scheme, std::string(text)};
    }
    if (text.starts_with("hf:")) {
        auto p = text.substr(3);
        if (p.find('@') != std::string_view::npos)
            return catalog_error{catalog_errc::unsupported_scheme,
                                 "hf: references with a revision (@…) cannot be fetched by this "
                                 "build; give the file's https:// URL"};
        if (!valid_hf_path(p)) return invalid("hf: references are hf:ORG/REPO/FILE.gguf");
        return model_ref{ref_scheme::hf, std::string(p)};
    }
    auto colon = text.find(':');
    if (colon != std::string_view::npos && colon > 0)
        return catalog_error{catalog_errc::unsupported_scheme,
                             "this build cannot fetch '" + std::string(text.substr(0, colon)) +
                                 ":' references; it fetches file:, http://, https:// and hf:"};
    return invalid("'" + std::string(text) +
                   "' is not a model reference (file:/path, http(s)://…, hf:ORG/REPO/FILE.gguf)");
}

}  // namespace llorch::catalog
