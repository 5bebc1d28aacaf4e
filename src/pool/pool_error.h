#pragma once
// Why a pool operation failed: a handoff file, the model's VRAM estimate, an engine launch, the
// handoff watcher. Returned as a value (pool_result<T>); the message is what the pool's
// last_error and the logs show. Refusals before a start have their own type (provision_failure),
// as do configuration errors (config_error).

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::pool {

enum class pool_errc {
    handoff_malformed,  // a handoff that is not valid JSON or breaks a field's rule
    bad_pool_id,        // a pool id that cannot name a handoff file
    io_error,           // a file or directory could not be read, written, renamed or removed
    model_unreadable,   // the model's GGUF header cannot be read for a VRAM estimate
    launch_failed,      // the engine process could not be started (no free port, spawn failed)
    watch_failed,       // the handoff directory is missing or cannot be watched
};

using pool_error = common::module_error<pool_errc>;

template <class T>
using pool_result = boost::system::result<T, pool_error>;

}  // namespace llorch::pool
