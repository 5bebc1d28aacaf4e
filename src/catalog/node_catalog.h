#pragma once
// The model files of one node, by name: add, remove, look up by `name[:tag]` (a bare name is
// `name:latest`, as Ollama resolves it) or by path. Every change moves `version()` on, so that a
// node reports its catalog only when it changed.
// Owner: pool-managerd's catalog service (or orchestratord's in the HOME profile). Thread: the
// control io thread. Pure: no I/O.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog_entry.h"

namespace llorch::catalog {

class node_catalog {
  public:
    // Adds the entry, or replaces the one of that name when it is the same file (a rehash);
    // `duplicate` when that name belongs to another file.
    catalog_result<void> add(catalog_entry e);
    // `not_found` when the name is unknown; the removed entry otherwise.
    catalog_result<catalog_entry> remove(std::string_view name);
    // `name` or `name:tag`; nullptr when absent or not a valid name.
    const catalog_entry* find(std::string_view name) const;
    const catalog_entry* find_path(std::string_view path) const;

    // In name order.
    std::vector<catalog_entry> entries() const;
    size_t size() const { return by_name_.size(); }
    // Starts at 0 and moves on with every add or remove.
    uint64_t version() const { return version_; }

  private:
    std::map<std::string, catalog_entry> by_name_;  // by name:tag
    uint64_t version_ = 0;
};

}  // namespace llorch::catalog
