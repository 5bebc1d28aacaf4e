#pragma once
// Why the simulator refused its arguments or could not start. Returned as a value
// (sim_result<T>); the message is what the command line prints.

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::sim {

enum class sim_errc {
    bad_duration,      // not a number with a unit, or outside 0 to 24 h
    bad_latency_spec,  // an unknown distribution, or uniform without MIN..MAX in order
    bad_port_range,    // --ports that is not FIRST-LAST within 1..65535
    listen_failed,     // an engine could not listen on its address and port
};

using sim_error = common::module_error<sim_errc>;

template <class T>
using sim_result = boost::system::result<T, sim_error>;

}  // namespace llorch::sim
