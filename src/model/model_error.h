#pragma once
// The one error type of the model module: what went wrong reading, planning or writing a GGUF
// file. Returned as a value (model_result<T>); nothing in this module throws across its boundary.

#include <stdexcept>
#include <string>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace llorch::model {

enum class model_errc {
    io_error,        // the file could not be opened, read, written or renamed
    bad_format,      // not a GGUF file, or a truncated or inconsistent one
    unsupported,     // valid GGUF that this reader or writer does not handle (version, nesting)
    invalid_params,  // the caller asked for something impossible (shape, alignment, name)
    missing_key,     // a key the caller relies on is absent (e.g. the vocabulary's tokens)
};

struct model_error {
    model_errc code;
    std::string message;
};

template <class T>
using model_result = boost::system::result<T, model_error>;

// Lets `result.value()` work with model_error (found by argument-dependent lookup); code in this
// module tests results instead of calling value().
[[noreturn]] inline void throw_exception_from_error(const model_error& e,
                                                    const boost::source_location&) {
    throw std::runtime_error(e.message);
}

}  // namespace llorch::model
