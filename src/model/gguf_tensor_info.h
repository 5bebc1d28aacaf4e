#pragma once
// Where one tensor lies in a GGUF file: its name, shape, element type and the offset of its data
// relative to the start of the data section. Plain value type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llorch::model {

inline constexpr uint32_t gguf_default_alignment = 32;
inline constexpr std::string_view gguf_alignment_key = "general.alignment";
// ggml keeps tensor names in a char[64] with its terminating zero.
inline constexpr std::size_t gguf_max_tensor_name = 63;
inline constexpr std::size_t gguf_max_dims = 4;

// `n` rounded up to a multiple of `alignment` (tensor data and the data section are aligned).
inline constexpr uint64_t gguf_align_up(uint64_t n, uint64_t alignment) {
    return (n + alignment - 1) / alignment * alignment;
}

// ggml's tensor types, numbered as on disk. Only f32 and f16 are written by this project; the
// others are named so that the sizes of real (quantized) models can be computed.
enum class tensor_type : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    iq2_xxs = 16,
    iq2_xs = 17,
    iq3_xxs = 18,
    iq1_s = 19,
    iq4_nl = 20,
    iq3_s = 21,
    iq2_s = 22,
    iq4_xs = 23,
    i8 = 24,
    i16 = 25,
    i32 = 26,
    i64 = 27,
    f64 = 28,
    iq1_m = 29,
    bf16 = 30,
    tq1_0 = 34,
    tq2_0 = 35,
    mxfp4 = 39,
    nvfp4 = 40,
    q1_0 = 41,
    q2_0 = 42,
};

// How ggml packs a type: `block_bytes` bytes hold `block_elements` consecutive elements of a row.
struct tensor_type_traits {
    std::string_view name;
    uint32_t block_elements;
    uint32_t block_bytes;
};

// Nullopt for a number this module does not know (a newer ggml type).
std::optional<tensor_type_traits> tensor_type_info(tensor_type t);

// Bytes of a tensor of this type and shape; nullopt when the type is unknown or the first
// dimension is not a whole number of blocks.
std::optional<uint64_t> tensor_bytes(tensor_type t, const std::vector<uint64_t>& dims);

struct gguf_tensor_info {
    std::string name;
    std::vector<uint64_t> dims;  // ggml order: dims[0] is the contiguous (input) dimension
    tensor_type type = tensor_type::f32;
    uint64_t offset = 0;   // from the start of the data section; a multiple of the alignment
    uint64_t n_bytes = 0;  // unpadded size of the data

    uint64_t element_count() const;
};

}  // namespace llorch::model
