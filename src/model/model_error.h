#pragma once
// The one error type of the model module: what went wrong reading, planning or writing a GGUF
// file. Returned as a value (model_result<T>); nothing in this module throws across its boundary.

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::model {

enum class model_errc {
    io_error,        // the file could not be opened, read, written or renamed
    bad_format,      // not a GGUF file, or a truncated or inconsistent one
    unsupported,     // valid GGUF that this reader or writer does not handle (version, nesting)
    invalid_params,  // the caller asked for something impossible (shape, alignment, name)
    missing_key,     // a key the caller relies on is absent (e.g. the vocabulary's tokens)
};

using model_error = common::module_error<model_errc>;

template <class T>
using model_result = boost::system::result<T, model_error>;

}  // namespace llorch::model
