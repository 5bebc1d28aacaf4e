#include "model/gguf_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include <fmt/format.h>

namespace llorch::model {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view tokens_key = "tokenizer.ggml.tokens";

model_error bad_format(std::string message) { return {model_errc::bad_format, std::move(message)}; }

// Sequential reads with bounds checks against the file size, so that a corrupt length can never
// make the reader allocate more than the file holds.
class cursor {
  public:
    cursor(std::FILE* file, uint64_t size) : file_(file), size_(size) {}

    uint64_t position() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }

    bool read_bytes(void* out, uint64_t n) {
        if (n > remaining()) return false;
        if (n > 0 && std::fread(out, 1, n, file_) != n) return false;
        pos_ += n;
        return true;
    }
    template <class T>
    bool read(T& out) {
        return read_bytes(&out, sizeof(T));
    }
    bool read_string(std::string& out) {
        uint64_t n = 0;
        if (!read(n) || n > remaining()) return false;
        out.resize(n);
        return read_bytes(out.data(), n);
    }

  private:
    std::FILE* file_;
    uint64_t size_;
    uint64_t pos_ = 0;
};

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(gguf_type::f64); }

model_result<gguf_value> read_scalar(cursor& in, gguf_type t) {
    auto number = [&in]<class T>(T zero) -> model_result<gguf_value> {
        T v = zero;
        if (!in.read(v)) return bad_format("truncated value");
        if constexpr (std::is_same_v<T, uint8_t>) return gguf_value::u8(v);
        if constexpr (std::is_same_v<T, int8_t>) return gguf_value::i8(v);
        if constexpr (std::is_same_v<T, uint16_t>) return gguf_value::u16(v);
        if constexpr (std::is_same_v<T, int16_t>) return gguf_value::i16(v);
        if constexpr (std::is_same_v<T, uint32_t>) return gguf_value::u32(v);
        if constexpr (std::is_same_v<T, int32_t>) return gguf_value::i32(v);
        if constexpr (std::is_same_v<T, float>) return gguf_value::f32(v);
        if constexpr (std::is_same_v<T, uint64_t>) return gguf_value::u64(v);
        if constexpr (std::is_same_v<T, int64_t>) return gguf_value::i64(v);
        if constexpr (std::is_same_v<T, double>) return gguf_value::f64(v);
    };
    switch (t) {
        case gguf_type::u8:
            return number(uint8_t{});
        case gguf_type::i8:
            return number(int8_t{});
        case gguf_type::u16:
            return number(uint16_t{});
        case gguf_type::i16:
            return number(int16_t{});
        case gguf_type::u32:
            return number(uint32_t{});
        case gguf_type::i32:
            return number(int32_t{});
        case gguf_type::f32:
            return number(float{});
        case gguf_type::u64:
            return number(uint64_t{});
        case gguf_type::i64:
            return number(int64_t{});
        case gguf_type::f64:
            return number(double{});
        case gguf_type::boolean: {
            uint8_t b = 0;
            if (!in.read(b)) return bad_format("truncated value");
            return gguf_value::boolean(b != 0);
        }
        case gguf_type::string: {
            std::string s;
            if (!in.read_string(s)) return bad_format("truncated string");
            return gguf_value::str(std::move(s));
        }
        case gguf_type::array:
            break;
    }
    return model_error{model_errc::unsupported, "arrays of arrays are not supported"};
}

model_result<gguf_value> read_value(cursor& in, gguf_type t) {
    if (t != gguf_type::array) return read_scalar(in, t);
    uint32_t raw_elem = 0;
    uint64_t count = 0;
    if (!in.read(raw_elem) || !in.read(count)) return bad_format("truncated array header");
    if (!known_value_type(raw_elem))
        return bad_format(fmt::format("unknown array type {}", raw_elem));
    const auto elem = static_cast<gguf_type>(raw_elem);
    if (elem == gguf_type::array) {
        return model_error{model_errc::unsupported, "arrays of arrays are not supported"};
    }
    if (elem == gguf_type::string) {
        // Each string takes at least its 8-byte length.
        if (count > in.remaining() / 8) return bad_format("array of strings longer than the file");
        std::vector<std::string> items(count);
        for (auto& s : items) {
            if (!in.read_string(s)) return bad_format("truncated string in array");
        }
        return gguf_value::strings(std::move(items));
    }
    const uint64_t size = gguf_scalar_size(elem);
    if (count > in.remaining() / size) return bad_format("array longer than the file");
    gguf_value::scalar_array a{elem, count, std::vector<uint8_t>(count * size)};
    if (!in.read_bytes(a.bytes.data(), a.bytes.size())) return bad_format("truncated array");
    if (elem == gguf_type::boolean) {
        for (auto& b : a.bytes) b = b != 0 ? 1 : 0;
    }
    return gguf_value::raw_array(std::move(a));
}

}  // namespace

model_result<gguf_reader> gguf_reader::open(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) {
        return model_error{model_errc::io_error,
                           fmt::format("cannot open {}: {}", path.string(), ec.message())};
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) {
        return model_error{model_errc::io_error,
                           fmt::format("cannot open {}: {}", path.string(), std::strerror(errno))};
    }
    // A large buffer for the token list of a real model, but never more than the file holds:
    // filling a megabyte for a small file costs more than reading it.
    const auto buffer_size = static_cast<size_t>(std::clamp<uintmax_t>(size, 4096, 1 << 20));
    auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
    std::setvbuf(file.get(), buffer.get(), _IOFBF, buffer_size);
    cursor in(file.get(), size);
    auto fail = [&path](model_error e) {
        e.message = fmt::format("{}: {}", path.string(), e.message);
        return e;
    };

    gguf_reader r;
    r.file_size_ = size;
    char magic[4] = {};
    if (!in.read_bytes(magic, 4) || std::memcmp(magic, "GGUF", 4) != 0) {
        return fail(bad_format("not a GGUF file (bad magic)"));
    }
    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    if (!in.read(r.version_) || !in.read(n_tensors) || !in.read(n_kv)) {
        return fail(bad_format("truncated header"));
    }
    if (r.version_ != 2 && r.version_ != 3) {
        return fail({model_errc::unsupported,
                     fmt::format("GGUF version {} is not supported (2 and 3 are)", r.version_)});
    }
    // Smallest encodings: a key/value takes at least 8 + 4 + 1 bytes, a tensor info 8 + 4 + 4 + 8.
    if (n_kv > in.remaining() / 13 || n_tensors > in.remaining() / 24) {
        return fail(bad_format("counts larger than the file"));
    }

    std::unordered_set<std::string> keys;
    r.kvs_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key;
        uint32_t raw_type = 0;
        if (!in.read_string(key) || !in.read(raw_type)) return fail(bad_format("truncated key"));
        if (!known_value_type(raw_type)) {
            return fail(bad_format(fmt::format("key '{}' has unknown type {}", key, raw_type)));
        }
        auto value = read_value(in, static_cast<gguf_type>(raw_type));
        if (!value) {
            auto e = value.error();
            e.message = fmt::format("key '{}': {}", key, e.message);
            return fail(e);
        }
        if (!keys.insert(key).second)
            return fail(bad_format(fmt::format("duplicate key '{}'", key)));
        r.kvs_.push_back({std::move(key), std::move(*value)});
    }
    if (const auto* a = r.find(gguf_alignment_key)) {
        auto v = a->get<uint32_t>();
        if (!v || *v == 0 || (*v & (*v - 1)) != 0) {
            return fail(bad_format("general.alignment is not a u32 power of two"));
        }
        r.alignment_ = *v;
    }

    std::unordered_set<std::string> names;
    r.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
        gguf_tensor_info t;
        uint32_t n_dims = 0;
        if (!in.read_string(t.name) || !in.read(n_dims))
            return fail(bad_format("truncated tensor info"));
        if (n_dims == 0 || n_dims > gguf_max_dims) {
            return fail(bad_format(fmt::format("tensor '{}' has {} dimensions", t.name, n_dims)));
        }
        t.dims.resize(n_dims);
        for (auto& d : t.dims) {
            int64_t v = 0;
            if (!in.read(v)) return fail(bad_format("truncated tensor info"));
            if (v < 0)
                return fail(
                    bad_format(fmt::format("tensor '{}' has a negative dimension", t.name)));
            d = static_cast<uint64_t>(v);
        }
        uint32_t raw_type = 0;
        if (!in.read(raw_type) || !in.read(t.offset))
            return fail(bad_format("truncated tensor info"));
        t.type = static_cast<tensor_type>(raw_type);
        if (t.offset % r.alignment_ != 0) {
            return fail(
                bad_format(fmt::format("tensor '{}' has unaligned offset {}", t.name, t.offset)));
        }
        if (!names.insert(t.name).second) {
            return fail(bad_format(fmt::format("duplicate tensor '{}'", t.name)));
        }
        if (tensor_type_info(t.type)) {
            auto bytes = model::tensor_bytes(t.type, t.dims);
            if (!bytes) {
                return fail(bad_format(fmt::format("tensor '{}' has an impossible shape", t.name)));
            }
            t.n_bytes = *bytes;
        }
        r.tensors_.push_back(std::move(t));
    }
    r.data_offset_ =
        r.tensors_.empty() ? in.position() : gguf_align_up(in.position(), r.alignment_);
    if (r.data_offset_ > size) return fail(bad_format("truncated before the tensor data"));
    const uint64_t data_size = size - r.data_offset_;

    // A type newer than this reader: its size is the gap to the next tensor's data, an upper
    // bound that is off by at most the padding.
    std::vector<uint64_t> offsets;
    for (const auto& t : r.tensors_) offsets.push_back(t.offset);
    std::sort(offsets.begin(), offsets.end());
    for (auto& t : r.tensors_) {
        if (!tensor_type_info(t.type)) {
            auto next = std::upper_bound(offsets.begin(), offsets.end(), t.offset);
            const uint64_t end = next == offsets.end() ? data_size : *next;
            t.n_bytes = end > t.offset ? end - t.offset : 0;
        }
        if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
            return fail(
                bad_format(fmt::format("tensor '{}' lies beyond the end of the file", t.name)));
        }
    }
    return r;
}

const gguf_value* gguf_reader::find(std::string_view key) const {
    for (const auto& kv : kvs_) {
        if (kv.key == key) return &kv.value;
    }
    return nullptr;
}

const gguf_tensor_info* gguf_reader::find_tensor(std::string_view name) const {
    for (const auto& t : tensors_) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

uint64_t gguf_reader::tensor_bytes() const {
    uint64_t n = 0;
    for (const auto& t : tensors_) n += t.n_bytes;
    return n;
}

std::string_view gguf_reader::architecture() const {
    if (const auto* v = find("general.architecture")) return v->get_string().value_or("");
    return {};
}

model_result<model_hparams> gguf_reader::hparams() const {
    model_hparams h;
    h.architecture = std::string(architecture());
    if (h.architecture.empty()) {
        return model_error{model_errc::missing_key, "general.architecture is missing"};
    }
    // Some architectures give per-layer values as an array; the largest one bounds the memory.
    auto get = [this, &h](std::string_view name) -> std::optional<uint64_t> {
        const auto* v = find(fmt::format("{}.{}", h.architecture, name));
        if (!v) return std::nullopt;
        if (auto u = v->get_uint()) return u;
        std::optional<uint64_t> largest;
        auto take = [&largest](const auto& items) {
            for (auto x : items) {
                const auto y = static_cast<int64_t>(x);
                if (y >= 0 && (!largest || static_cast<uint64_t>(y) > *largest)) largest = y;
            }
        };
        if (auto a = v->get_array<uint32_t>()) take(*a);
        if (auto a = v->get_array<int32_t>()) take(*a);
        return largest;
    };
    struct required {
        std::string_view name;
        uint64_t* out;
    };
    for (auto [name, out] : {required{"block_count", &h.block_count},
                             required{"embedding_length", &h.embedding_length},
                             required{"attention.head_count", &h.head_count},
                             required{"context_length", &h.context_length}}) {
        auto v = get(name);
        if (!v) {
            return model_error{
                model_errc::missing_key,
                fmt::format("{}.{} is missing or not an unsigned integer", h.architecture, name)};
        }
        *out = *v;
    }
    h.head_count_kv = get("attention.head_count_kv").value_or(h.head_count);
    h.feed_forward_length = get("feed_forward_length");
    h.vocab_size = get("vocab_size");
    if (!h.vocab_size) {
        if (const auto* tokens = find(tokens_key); tokens && tokens->get_strings()) {
            h.vocab_size = tokens->array_size();
        }
    }
    return h;
}

}  // namespace llorch::model
