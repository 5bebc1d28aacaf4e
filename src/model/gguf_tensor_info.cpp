#include "model/gguf_tensor_info.h"

namespace llorch::model {

std::optional<tensor_type_traits> tensor_type_info(tensor_type t) {
    // Block sizes from ggml's ggml-common.h (QK_K = 256 for the k-quants and i-quants).
    switch (t) {
        case tensor_type::f32:
            return tensor_type_traits{"f32", 1, 4};
        case tensor_type::f16:
            return tensor_type_traits{"f16", 1, 2};
        case tensor_type::q4_0:
            return tensor_type_traits{"q4_0", 32, 18};
        case tensor_type::q4_1:
            return tensor_type_traits{"q4_1", 32, 20};
        case tensor_type::q5_0:
            return tensor_type_traits{"q5_0", 32, 22};
        case tensor_type::q5_1:
            return tensor_type_traits{"q5_1", 32, 24};
        case tensor_type::q8_0:
            return tensor_type_traits{"q8_0", 32, 34};
        case tensor_type::q8_1:
            return tensor_type_traits{"q8_1", 32, 36};
        case tensor_type::q2_k:
            return tensor_type_traits{"q2_k", 256, 84};
        case tensor_type::q3_k:
            return tensor_type_traits{"q3_k", 256, 110};
        case tensor_type::q4_k:
            return tensor_type_traits{"q4_k", 256, 144};
        case tensor_type::q5_k:
            return tensor_type_traits{"q5_k", 256, 176};
        case tensor_type::q6_k:
            return tensor_type_traits{"q6_k", 256, 210};
        case tensor_type::q8_k:
            return tensor_type_traits{"q8_k", 256, 292};
        case tensor_type::iq2_xxs:
            return tensor_type_traits{"iq2_xxs", 256, 66};
        case tensor_type::iq2_xs:
            return tensor_type_traits{"iq2_xs", 256, 74};
        case tensor_type::iq3_xxs:
            return tensor_type_traits{"iq3_xxs", 256, 98};
        case tensor_type::iq1_s:
            return tensor_type_traits{"iq1_s", 256, 50};
        case tensor_type::iq4_nl:
            return tensor_type_traits{"iq4_nl", 32, 18};
        case tensor_type::iq3_s:
            return tensor_type_traits{"iq3_s", 256, 110};
        case tensor_type::iq2_s:
            return tensor_type_traits{"iq2_s", 256, 82};
        case tensor_type::iq4_xs:
            return tensor_type_traits{"iq4_xs", 256, 136};
        case tensor_type::i8:
            return tensor_type_traits{"i8", 1, 1};
        case tensor_type::i16:
            return tensor_type_traits{"i16", 1, 2};
        case tensor_type::i32:
            return tensor_type_traits{"i32", 1, 4};
        case tensor_type::i64:
            return tensor_type_traits{"i64", 1, 8};
        case tensor_type::f64:
            return tensor_type_traits{"f64", 1, 8};
        case tensor_type::iq1_m:
            return tensor_type_traits{"iq1_m", 256, 56};
        case tensor_type::bf16:
            return tensor_type_traits{"bf16", 1, 2};
        case tensor_type::tq1_0:
            return tensor_type_traits{"tq1_0", 256, 54};
        case tensor_type::tq2_0:
            return tensor_type_traits{"tq2_0", 256, 66};
        case tensor_type::mxfp4:
            return tensor_type_traits{"mxfp4", 32, 17};
        case tensor_type::nvfp4:
            return tensor_type_traits{"nvfp4", 64, 36};
        case tensor_type::q1_0:
            return tensor_type_traits{"q1_0", 128, 18};
        case tensor_type::q2_0:
            return tensor_type_traits{"q2_0", 64, 18};
    }
    return std::nullopt;
}

std::optional<uint64_t> tensor_bytes(tensor_type t, const std::vector<uint64_t>& dims) {
    auto traits = tensor_type_info(t);
    if (!traits) return std::nullopt;
    const uint64_t row_elements = dims.empty() ? 1 : dims[0];
    if (row_elements % traits->block_elements != 0) return std::nullopt;
    // Shapes come from files, so a product that overflows is an error, not a size.
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(row_elements / traits->block_elements, uint64_t{traits->block_bytes},
                               &bytes)) {
        return std::nullopt;
    }
    for (std::size_t i = 1; i < dims.size(); ++i) {
        if (__builtin_mul_overflow(bytes, dims[i], &bytes)) return std::nullopt;
    }
    return bytes;
}

uint64_t gguf_tensor_info::element_count() const {
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
}

}  // namespace llorch::model
