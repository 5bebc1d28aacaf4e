#pragma once
// Why a monitor configuration was refused. Returned as a value (monitor_result<T>).

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::monitor {

enum class monitor_errc {
    bad_threshold,  // fall or rise outside 1..100
    bad_weight,     // an EWMA weight outside (0, 1]
    bad_window,     // error window or its bucket count out of range
};

using monitor_error = common::module_error<monitor_errc>;

template <class T>
using monitor_result = boost::system::result<T, monitor_error>;

}  // namespace llorch::monitor
