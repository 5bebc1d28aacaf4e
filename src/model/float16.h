#pragma once
// IEEE 754 half precision conversion for writing f16 tensors, done by hand so that the bytes of a
// generated model do not depend on the compiler's or the CPU's half-precision support.

#include <cstdint>

namespace llorch::model {

// Rounds to nearest, ties to even; overflow gives infinity, NaN stays NaN.
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace llorch::model
