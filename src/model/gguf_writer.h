#pragma once
// Builds a GGUF v3 file: metadata first (key/values and tensor infos, held in memory), then the
// tensor data, which a caller-supplied filler streams tensor by tensor so that a model larger than
// memory can be written. The file appears under its final name only when complete: it is written
// to a temporary file in the same folder and renamed, so an engine that has the old file open (or
// mapped) keeps reading the old contents.
// Owned by whoever builds the file; single-threaded; write() may be called more than once.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/gguf_tensor_info.h"
#include "model/gguf_value.h"
#include "model/model_error.h"

namespace llorch::model {

using gguf_progress_fn = std::function<void(uint64_t bytes_done, uint64_t bytes_total)>;

// Receives the data of one tensor from a filler. The writer checks afterwards that exactly the
// tensor's size arrived; a failed disk write is remembered and reported by write().
class gguf_data_sink {
  public:
    void write(const void* data, std::size_t n);
    template <class T>
    void write(std::span<const T> items) {
        write(items.data(), items.size_bytes());
    }
    // Bytes received for the current tensor so far.
    uint64_t written() const { return tensor_written_; }

  private:
    friend class gguf_writer;
    gguf_data_sink(std::FILE* file, uint64_t total, const gguf_progress_fn& progress)
        : file_(file), total_(total), progress_(progress) {}
    void count(std::size_t n);

    std::FILE* file_;
    uint64_t total_;
    const gguf_progress_fn& progress_;
    uint64_t tensor_written_ = 0;
    uint64_t file_written_ = 0;
    uint64_t next_report_ = 0;
    bool failed_ = false;
};

class gguf_writer {
  public:
    // Called once per tensor, in the order they were added; must write exactly info.n_bytes.
    using tensor_filler = std::function<void(const gguf_tensor_info& info, gguf_data_sink& sink)>;

    // Adds a key, or replaces the value of a key already set (keeping its position).
    // `general.alignment` must be a u32 power of two; it sets the alignment of the tensor data.
    model_result<void> set(std::string key, gguf_value value);
    // Appends a tensor; its offset follows the previous tensor's padded data.
    model_result<void> add_tensor(std::string name, std::vector<uint64_t> dims, tensor_type type);

    const std::vector<gguf_kv>& kvs() const { return kvs_; }
    const std::vector<gguf_tensor_info>& tensors() const { return tensors_; }
    uint32_t alignment() const { return alignment_; }
    // Bytes of the header (magic, version, counts, key/values, tensor infos) before padding.
    uint64_t header_size() const;
    // Where tensor data starts: header_size() rounded up to the alignment.
    uint64_t data_offset() const;
    // Padded size of all tensor data.
    uint64_t data_size() const;
    uint64_t file_size() const { return data_offset() + data_size(); }

    // Writes the whole file to `dest` (via a temporary file next to it and a rename). The parent
    // folder must exist. `progress` is called now and then with the bytes written so far.
    model_result<void> write(const std::filesystem::path& dest, const tensor_filler& fill,
                             const gguf_progress_fn& progress = {}) const;

  private:
    void relayout();
    std::vector<uint8_t> serialize_header() const;

    std::vector<gguf_kv> kvs_;
    std::vector<gguf_tensor_info> tensors_;
    uint32_t alignment_ = gguf_default_alignment;
};

}  // namespace llorch::model
