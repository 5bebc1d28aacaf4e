#pragma once
// The one error type of the catalog module: why a model reference, a name, a lookup or a staging
// step failed. Returned as a value (catalog_result<T>); nothing in this module throws.

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::catalog {

enum class catalog_errc {
    invalid_ref,         // a model reference or source that does not parse
    unsupported_scheme,  // a scheme this build cannot fetch (hf: revisions, s3:, ...)
    invalid_name,        // a model name or tag outside the allowed characters or length
    not_found,           // no model of that name in the catalog
    duplicate,           // a model of that name already exists (with another file)
    bad_model,           // the file is not a GGUF model this reader understands
    checksum_mismatch,   // the file's sha256 is not the one asked for
    io_error,            // reading, writing, renaming or fetching failed
    conflict,            // the model is in use (a pool serves it) or a job for it runs
};

using catalog_error = common::module_error<catalog_errc>;

template <class T>
using catalog_result = boost::system::result<T, catalog_error>;

}  // namespace llorch::catalog
