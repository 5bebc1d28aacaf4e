#include "catalog/node_catalog.h"

namespace llorch::catalog {

catalog_result<void> node_catalog::add(catalog_entry e) {
    auto key = e.name.full();
    auto it = by_name_.find(key);
    if (it != by_name_.end() && it->second.path != e.path)
        return catalog_error{
            catalog_errc::duplicate,
            "model '" + e.name.display() + "' is already the file " + it->second.path};
    by_name_[key] = std::move(e);
    ++version_;
    return {};
}

catalog_result<catalog_entry> node_catalog::remove(std::string_view name) {
    auto n = parse_model_name(name);
    auto it = n ? by_name_.find(n->full()) : by_name_.end();
    if (it == by_name_.end())
        return catalog_error{catalog_errc::not_found, "no model '" + std::string(name) + "'"};
    auto e = std::move(it->second);
    by_name_.erase(it);
    ++version_;
    return e;
}

const catalog_entry* node_catalog::find(std::string_view name) const {
    auto n = parse_model_name(name);
    if (!n) return nullptr;
    auto it = by_name_.find(n->full());
    return it == by_name_.end() ? nullptr : &it->second;
}

const catalog_entry* node_catalog::find_path(std::string_view path) const {
    for (const auto& [k, e] : by_name_)
        if (e.path == path) return &e;
    return nullptr;
}

std::vector<catalog_entry> node_catalog::entries() const {
    std::vector<catalog_entry> out;
    out.reserve(by_name_.size());
    for (const auto& [k, e] : by_name_) out.push_back(e);
    return out;
}

}  // namespace llorch::catalog
