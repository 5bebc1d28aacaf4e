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

}  // namespace llorch::pool
