#include "model/gguf_writer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>

#include <fmt/format.h>

namespace llorch::model {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t gguf_version = 3;
constexpr uint64_t progress_step = 16ull << 20;

class byte_buffer {
  public:
    template <class T>
    void put(T v) {
        static_assert(std::is_trivially_copyable_v<T>);
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        bytes_.insert(bytes_.end(), p, p + sizeof(T));
    }
    void put_bytes(const void* data, std::size_t n) {
        const auto* p = static_cast<const uint8_t*>(data);
        bytes_.insert(bytes_.end(), p, p + n);
    }
    void put_string(std::string_view s) {
        put<uint64_t>(s.size());
        put_bytes(s.data(), s.size());
    }
    std::vector<uint8_t>& bytes() { return bytes_; }

  private:
    std::vector<uint8_t> bytes_;
};

uint64_t value_size(const gguf_value& v) {
    if (auto s = v.get_string()) return 8 + s->size();
    if (const auto* a = v.get_scalar_array()) return 4 + 8 + a->bytes.size();
    if (const auto* strs = v.get_strings()) {
        uint64_t n = 4 + 8;
        for (const auto& s : *strs) n += 8 + s.size();
        return n;
    }
    return gguf_scalar_size(v.type());
}

template <class... T>
bool put_number(byte_buffer& out, const gguf_value& v) {
    return ((v.get<T>() ? (out.put(*v.get<T>()), true) : false) || ...);
}

void put_value(byte_buffer& out, const gguf_value& v) {
    if (auto s = v.get_string()) {
        out.put_string(*s);
    } else if (const auto* a = v.get_scalar_array()) {
        out.put(static_cast<uint32_t>(a->element_type));
        out.put<uint64_t>(a->count);
        out.put_bytes(a->bytes.data(), a->bytes.size());
    } else if (const auto* strs = v.get_strings()) {
        out.put(static_cast<uint32_t>(gguf_type::string));
        out.put<uint64_t>(strs->size());
        for (const auto& str : *strs) out.put_string(str);
    } else if (auto b = v.get<bool>()) {
        out.put<uint8_t>(*b ? 1 : 0);
    } else {
        put_number<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, uint64_t, int64_t,
                   double>(out, v);
    }
}

model_error io_error(const std::string& what, const fs::path& p, int err) {
    return {model_errc::io_error, fmt::format("{} {}: {}", what, p.string(), std::strerror(err))};
}

// Removes the temporary file unless released after a successful rename.
struct temp_file_guard {
    fs::path path;
    bool armed = true;
    ~temp_file_guard() {
        if (armed) {
            std::error_code ec;
            fs::remove(path, ec);
        }
    }
};

fs::path temp_path_for(const fs::path& dest) {
    static std::atomic<unsigned> counter{0};
    return dest.parent_path() /
           fmt::format(".{}.tmp-{}-{}", dest.filename().string(), ::getpid(), counter.fetch_add(1));
}

}  // namespace

void gguf_data_sink::count(std::size_t n) {
    tensor_written_ += n;
    file_written_ += n;
    if (progress_ && file_written_ >= next_report_) {
        progress_(file_written_, total_);
        next_report_ = file_written_ + progress_step;
    }
}

void gguf_data_sink::write(const void* data, std::size_t n) {
    if (n == 0) return;
    if (!failed_ && std::fwrite(data, 1, n, file_) != n) failed_ = true;
    count(n);
}

model_result<void> gguf_writer::set(std::string key, gguf_value value) {
    if (key.empty()) return model_error{model_errc::invalid_params, "empty key"};
    if (key == gguf_alignment_key) {
        auto a = value.get<uint32_t>();
        if (!a || *a == 0 || (*a & (*a - 1)) != 0) {
            return model_error{model_errc::invalid_params,
                               "general.alignment must be a u32 power of two"};
        }
        alignment_ = *a;
    }
    auto it =
        std::find_if(kvs_.begin(), kvs_.end(), [&](const gguf_kv& kv) { return kv.key == key; });
    if (it != kvs_.end()) {
        it->value = std::move(value);
    } else {
        kvs_.push_back({std::move(key), std::move(value)});
    }
    relayout();
    return {};
}

model_result<void> gguf_writer::add_tensor(std::string name, std::vector<uint64_t> dims,
                                           tensor_type type) {
    if (name.empty() || name.size() > gguf_max_tensor_name) {
        return model_error{model_errc::invalid_params,
                           fmt::format("tensor name '{}' must have 1 to {} characters", name,
                                       gguf_max_tensor_name)};
    }
    if (dims.empty() || dims.size() > gguf_max_dims) {
        return model_error{
            model_errc::invalid_params,
            fmt::format("tensor '{}' must have 1 to {} dimensions", name, gguf_max_dims)};
    }
    for (const auto& t : tensors_) {
        if (t.name == name) {
            return model_error{model_errc::invalid_params,
                               fmt::format("tensor '{}' added twice", name)};
        }
    }
    auto bytes = tensor_bytes(type, dims);
    if (!bytes) {
        return model_error{model_errc::invalid_params,
                           fmt::format("tensor '{}': unknown type {} or a row that is not a whole "
                                       "number of blocks",
                                       name, static_cast<uint32_t>(type))};
    }
    tensors_.push_back({std::move(name), std::move(dims), type, 0, *bytes});
    relayout();
    return {};
}

void gguf_writer::relayout() {
    uint64_t offset = 0;
    for (auto& t : tensors_) {
        t.offset = offset;
        offset += gguf_align_up(t.n_bytes, alignment_);
    }
}

uint64_t gguf_writer::header_size() const {
    uint64_t n = 4 + 4 + 8 + 8;
    for (const auto& kv : kvs_) n += 8 + kv.key.size() + 4 + value_size(kv.value);
    for (const auto& t : tensors_) n += 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;
    return n;
}

uint64_t gguf_writer::data_offset() const { return gguf_align_up(header_size(), alignment_); }

uint64_t gguf_writer::data_size() const {
    if (tensors_.empty()) return 0;
    return tensors_.back().offset + gguf_align_up(tensors_.back().n_bytes, alignment_);
}

std::vector<uint8_t> gguf_writer::serialize_header() const {
    byte_buffer out;
    out.put_bytes("GGUF", 4);
    out.put<uint32_t>(gguf_version);
    out.put<uint64_t>(tensors_.size());
    out.put<uint64_t>(kvs_.size());
    for (const auto& kv : kvs_) {
        out.put_string(kv.key);
        out.put(static_cast<uint32_t>(kv.value.type()));
        put_value(out, kv.value);
    }
    for (const auto& t : tensors_) {
        out.put_string(t.name);
        out.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
        for (auto d : t.dims) out.put<uint64_t>(d);
        out.put(static_cast<uint32_t>(t.type));
        out.put<uint64_t>(t.offset);
    }
    out.bytes().resize(data_offset(), 0);
    return std::move(out.bytes());
}

model_result<void> gguf_writer::write(const fs::path& dest, const tensor_filler& fill,
                                      const gguf_progress_fn& progress) const {
    const fs::path tmp = temp_path_for(dest);
    temp_file_guard guard{tmp};

    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(tmp.c_str(), "wb"),
                                                         &std::fclose);
    if (!file) return io_error("cannot create", tmp, errno);
    std::vector<char> buffer(1 << 20);
    std::setvbuf(file.get(), buffer.data(), _IOFBF, buffer.size());

    const auto header = serialize_header();
    if (std::fwrite(header.data(), 1, header.size(), file.get()) != header.size()) {
        return io_error("cannot write", tmp, errno);
    }

    gguf_data_sink sink(file.get(), data_size(), progress);
    static constexpr uint8_t zeros[256] = {};
    for (const auto& t : tensors_) {
        sink.tensor_written_ = 0;
        fill(t, sink);
        if (sink.failed_) return io_error("cannot write", tmp, errno);
        if (sink.tensor_written_ != t.n_bytes) {
            return model_error{model_errc::invalid_params,
                               fmt::format("tensor '{}': {} bytes of data given, {} expected",
                                           t.name, sink.tensor_written_, t.n_bytes)};
        }
        for (uint64_t pad = gguf_align_up(t.n_bytes, alignment_) - t.n_bytes; pad > 0;) {
            const auto n = std::min<uint64_t>(pad, sizeof(zeros));
            sink.write(zeros, n);
            pad -= n;
        }
        if (sink.failed_) return io_error("cannot write", tmp, errno);
    }
    if (progress) progress(sink.file_written_, data_size());

    if (std::fflush(file.get()) != 0) return io_error("cannot write", tmp, errno);
    // The rename must not expose a file whose data is still only in the page cache.
    if (::fsync(::fileno(file.get())) != 0) return io_error("cannot sync", tmp, errno);
    if (std::fclose(file.release()) != 0) return io_error("cannot close", tmp, errno);

    std::error_code ec;
    fs::rename(tmp, dest, ec);
    if (ec) return io_error("cannot rename to", dest, ec.value());
    guard.armed = false;
    return {};
}

}  // namespace llorch::model
