#pragma once
// A typed GGUF metadata value: a scalar, a string, an array of scalars or an array of strings.
// Values keep their exact GGUF type so a key read from one file can be written unchanged into
// another (the tokenizer keys of the tiny model come from llama.cpp's vocabulary file this way).
// Plain value type; no I/O; safe to copy between threads.

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace llorch::model {

// GGUF stores numbers little-endian and this module copies them with memcpy.
static_assert(std::endian::native == std::endian::little,
              "llorch_model assumes a little-endian host");

// Value types as numbered on disk (ggml's gguf_type).
enum class gguf_type : uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};

std::string_view gguf_type_name(gguf_type t);

// Bytes of one element of a scalar type on disk; 0 for string and array.
std::size_t gguf_scalar_size(gguf_type t);

// Maps a C++ scalar type to its GGUF type at compile time.
template <class T>
struct gguf_type_of;
template <>
struct gguf_type_of<uint8_t> {
    static constexpr gguf_type value = gguf_type::u8;
};
template <>
struct gguf_type_of<int8_t> {
    static constexpr gguf_type value = gguf_type::i8;
};
template <>
struct gguf_type_of<uint16_t> {
    static constexpr gguf_type value = gguf_type::u16;
};
template <>
struct gguf_type_of<int16_t> {
    static constexpr gguf_type value = gguf_type::i16;
};
template <>
struct gguf_type_of<uint32_t> {
    static constexpr gguf_type value = gguf_type::u32;
};
template <>
struct gguf_type_of<int32_t> {
    static constexpr gguf_type value = gguf_type::i32;
};
template <>
struct gguf_type_of<float> {
    static constexpr gguf_type value = gguf_type::f32;
};
template <>
struct gguf_type_of<bool> {
    static constexpr gguf_type value = gguf_type::boolean;
};
template <>
struct gguf_type_of<uint64_t> {
    static constexpr gguf_type value = gguf_type::u64;
};
template <>
struct gguf_type_of<int64_t> {
    static constexpr gguf_type value = gguf_type::i64;
};
template <>
struct gguf_type_of<double> {
    static constexpr gguf_type value = gguf_type::f64;
};

template <class T>
concept gguf_scalar = requires {
    gguf_type_of<T>::value;
};

class gguf_value {
  public:
    // An array of scalars as it lies on disk: element type, count and little-endian bytes.
    struct scalar_array {
        gguf_type element_type;
        uint64_t count;
        std::vector<uint8_t> bytes;
        friend bool operator==(const scalar_array&, const scalar_array&) = default;
    };

    static gguf_value u8(uint8_t v) { return make<uint8_t>(v); }
    static gguf_value i8(int8_t v) { return make<int8_t>(v); }
    static gguf_value u16(uint16_t v) { return make<uint16_t>(v); }
    static gguf_value i16(int16_t v) { return make<int16_t>(v); }
    static gguf_value u32(uint32_t v) { return make<uint32_t>(v); }
    static gguf_value i32(int32_t v) { return make<int32_t>(v); }
    static gguf_value f32(float v) { return make<float>(v); }
    static gguf_value boolean(bool v) { return make<bool>(v); }
    static gguf_value u64(uint64_t v) { return make<uint64_t>(v); }
    static gguf_value i64(int64_t v) { return make<int64_t>(v); }
    static gguf_value f64(double v) { return make<double>(v); }
    static gguf_value str(std::string v) { return make<std::string>(std::move(v)); }
    static gguf_value strings(std::vector<std::string> v) {
        return make<std::vector<std::string>>(std::move(v));
    }

    template <gguf_scalar T>
    static gguf_value array(std::span<const T> items) {
        scalar_array a{gguf_type_of<T>::value, items.size(), {}};
        a.bytes.resize(items.size() * gguf_scalar_size(a.element_type));
        if constexpr (std::is_same_v<T, bool>) {
            for (std::size_t i = 0; i < items.size(); ++i) a.bytes[i] = items[i] ? 1 : 0;
        } else if (!items.empty()) {
            std::memcpy(a.bytes.data(), items.data(), a.bytes.size());
        }
        return make<scalar_array>(std::move(a));
    }
    template <gguf_scalar T>
    static gguf_value array(const std::vector<T>& items) {
        if constexpr (std::is_same_v<T, bool>) {
            std::vector<uint8_t> bytes(items.begin(), items.end());
            scalar_array a{gguf_type::boolean, items.size(), std::move(bytes)};
            return make<scalar_array>(std::move(a));
        } else {
            return array<T>(std::span<const T>(items));
        }
    }
    // Used by the reader: `bytes` must hold count * gguf_scalar_size(element_type) bytes.
    static gguf_value raw_array(scalar_array a) { return make<scalar_array>(std::move(a)); }

    gguf_type type() const;
    // Element type of an array value; nullopt for scalars and strings.
    std::optional<gguf_type> element_type() const;
    // Number of elements of an array value; 0 for scalars and strings.
    uint64_t array_size() const;

    // The scalar when it has exactly type T.
    template <gguf_scalar T>
    std::optional<T> get() const {
        if (const T* p = std::get_if<T>(&v_)) return *p;
        return std::nullopt;
    }
    std::optional<std::string_view> get_string() const;
    // Any integer scalar that is not negative, whatever its width: converters differ in the
    // integer type they use for hyper-parameters (u32 usually, sometimes i32 or u64).
    std::optional<uint64_t> get_uint() const;

    // The elements of an array of exactly type T.
    template <gguf_scalar T>
    std::optional<std::vector<T>> get_array() const {
        const auto* a = std::get_if<scalar_array>(&v_);
        if (!a || a->element_type != gguf_type_of<T>::value) return std::nullopt;
        std::vector<T> out(a->count);
        if constexpr (std::is_same_v<T, bool>) {
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = a->bytes[i] != 0;
        } else if (!out.empty()) {
            std::memcpy(out.data(), a->bytes.data(), a->bytes.size());
        }
        return out;
    }
    const scalar_array* get_scalar_array() const { return std::get_if<scalar_array>(&v_); }
    const std::vector<std::string>* get_strings() const {
        return std::get_if<std::vector<std::string>>(&v_);
    }

    friend bool operator==(const gguf_value&, const gguf_value&) = default;

  private:
    // The first 13 alternatives follow gguf_type's numbering, so the index is the type; index 9
    // (gguf_type::array) holds arrays of scalars and index 13 arrays of strings.
    using storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                                 std::string, scalar_array, uint64_t, int64_t, double,
                                 std::vector<std::string>>;
    explicit gguf_value(storage v) : v_(std::move(v)) {}
    template <class T, class A>
    static gguf_value make(A&& a) {
        return gguf_value(storage(std::in_place_type<T>, std::forward<A>(a)));
    }

    storage v_;
};

// One metadata entry, in file order.
struct gguf_kv {
    std::string key;
    gguf_value value;
};

}  // namespace llorch::model
