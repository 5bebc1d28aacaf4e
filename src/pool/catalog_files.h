#pragma once
// The blocking file work of the catalog service, one function per step, run on its thread pool:
// describing a file (stat, sha256 in 1 MiB chunks, GGUF header), scanning the pools' files and
// the models folder against the index, writing the index, and the staging file moves (the
// `.part` file and its source marker, appending, copying a chunk, verifying and installing).
// No state of its own; errors are catalog errors.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog_entry.h"

namespace llorch::pool::catalog_files {

namespace fs = std::filesystem;

// Size, mtime, sha256 and GGUF facts of a file; adds the bytes read to `hashed`.
catalog::catalog_result<catalog::catalog_entry> describe(const fs::path& p, catalog::model_name n,
                                                         bool pool_file, uint64_t& hashed);

struct scan_result {
    std::vector<catalog::catalog_entry> entries;
    uint64_t hashed_bytes = 0;
    size_t reused = 0;                  // files the index knew unchanged
    std::vector<std::string> warnings;  // files left out, and why
};
// The pools' files (name, path) and every `*.gguf` of `models_dir` (may be empty); a file the
// index at `index` knows with the same size and mtime keeps its sha256 and facts.
scan_result scan(const std::vector<std::pair<std::string, std::string>>& pool_files,
                 const fs::path& models_dir, const fs::path& index);
// Writes the index (temporary file and rename).
catalog::catalog_result<void> write_index(const fs::path& index,
                                          const std::vector<catalog::catalog_entry>& entries);

// Makes `part` ready to receive `source`: keeps what an earlier fetch of the same source left
// (its size is returned), starts it over otherwise.
catalog::catalog_result<uint64_t> prepare_part(const fs::path& part, const std::string& source);
catalog::catalog_result<void> append(const fs::path& part, const std::string& bytes);
catalog::catalog_result<void> truncate(const fs::path& part);
catalog::catalog_result<uint64_t> file_size(const fs::path& p);
// Copies up to `max` bytes of `from` at `offset` to the end of `part`; 0 at the end of `from`.
catalog::catalog_result<uint64_t> copy_chunk(const fs::path& from, const fs::path& part,
                                             uint64_t offset, uint64_t max);
// Verifies the sha256 (when `sha256` is not empty) and the GGUF header of `part`, then renames it
// to `dest`. On a failed check the `.part` is removed: a corrupted download never stays.
catalog::catalog_result<catalog::catalog_entry> install(const fs::path& part, const fs::path& dest,
                                                        const std::string& sha256,
                                                        catalog::model_name n,
                                                        const std::string& source,
                                                        uint64_t& hashed);
catalog::catalog_result<void> remove_file(const fs::path& p);

}  // namespace llorch::pool::catalog_files
