#pragma once
// Why a child process could not be started. Returned as a value (subprocess_result<T>).

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::common {

enum class subprocess_errc {
    no_program,    // an empty argv
    log_file,      // the log file cannot be opened for appending
    os_resources,  // pipe or fork failed (descriptors, processes or memory ran out)
    exec_failed,   // the program could not be run (missing, not executable)
};

using subprocess_error = common::module_error<subprocess_errc>;

template <class T>
using subprocess_result = boost::system::result<T, subprocess_error>;

}  // namespace llorch::common
