#include "model/gguf_value.h"

namespace llorch::model {

std::string_view gguf_type_name(gguf_type t) {
    switch (t) {
        case gguf_type::u8:
            return "u8";
        case gguf_type::i8:
            return "i8";
        case gguf_type::u16:
            return "u16";
        case gguf_type::i16:
            return "i16";
        case gguf_type::u32:
            return "u32";
        case gguf_type::i32:
            return "i32";
        case gguf_type::f32:
            return "f32";
        case gguf_type::boolean:
            return "bool";
        case gguf_type::string:
            return "string";
        case gguf_type::array:
            return "array";
        case gguf_type::u64:
            return "u64";
        case gguf_type::i64:
            return "i64";
        case gguf_type::f64:
            return "f64";
    }
    return "unknown";
}

std::size_t gguf_scalar_size(gguf_type t) {
    switch (t) {
        case gguf_type::u8:
        case gguf_type::i8:
        case gguf_type::boolean:
            return 1;
        case gguf_type::u16:
        case gguf_type::i16:
            return 2;
        case gguf_type::u32:
        case gguf_type::i32:
        case gguf_type::f32:
            return 4;
        case gguf_type::u64:
        case gguf_type::i64:
        case gguf_type::f64:
            return 8;
        case gguf_type::string:
        case gguf_type::array:
            return 0;
    }
    return 0;
}

gguf_type gguf_value::type() const {
    if (std::holds_alternative<std::vector<std::string>>(v_)) return gguf_type::array;
    return static_cast<gguf_type>(v_.index());
}

std::optional<gguf_type> gguf_value::element_type() const {
    if (const auto* a = std::get_if<scalar_array>(&v_)) return a->element_type;
    if (std::holds_alternative<std::vector<std::string>>(v_)) return gguf_type::string;
    return std::nullopt;
}

uint64_t gguf_value::array_size() const {
    if (const auto* a = std::get_if<scalar_array>(&v_)) return a->count;
    if (const auto* s = std::get_if<std::vector<std::string>>(&v_)) return s->size();
    return 0;
}

std::optional<std::string_view> gguf_value::get_string() const {
    if (const auto* s = std::get_if<std::string>(&v_)) return std::string_view(*s);
    return std::nullopt;
}

std::optional<uint64_t> gguf_value::get_uint() const {
    return std::visit(
        [](const auto& v) -> std::optional<uint64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_signed_v<T>) {
                    if (v < 0) return std::nullopt;
                }
                return static_cast<uint64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        v_);
}

}  // namespace llorch::model
