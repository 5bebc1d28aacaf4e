#include "pool/pool_names.h"

namespace llorch::pool {

std::vector<std::string> model_names(const pool_snapshot& s) {
    std::vector<std::string> out{s.name};
    for (const auto& a : s.aliases) out.push_back(a);
    if (!s.model.empty() && s.model != s.name) {
        out.push_back(s.model);
        out.push_back("file:" + s.model);
    }
    return out;
}

bool answers_to(std::string_view name, const std::vector<std::string>& aliases,
                std::string_view model_path, std::string_view ref) {
    if (ref == name) return true;
    for (const auto& a : aliases)
        if (ref == a) return true;
    if (model_path.empty() || model_path == name) return false;
    return ref == model_path || (ref.starts_with("file:") && ref.substr(5) == model_path);
}

}  // namespace llorch::pool
