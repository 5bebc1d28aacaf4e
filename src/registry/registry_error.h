#pragma once
// Why the registry refused a registration. Returned as a value (registry_result<T>).

#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace llorch::registry {

enum class registry_errc {
    invalid_registration,  // empty node id or address, or a non-positive heartbeat interval
    incompatible_version,  // the node's version cannot work with this control plane
    too_many_pools,        // more pools than registry_config::max_pools_per_node
};

struct registry_error {
    registry_errc code;
    std::string message;  // says what is wrong, e.g. which versions are accepted
};

template <class T>
using registry_result = boost::system::result<T, registry_error>;

// Lets `result.value()` work with registry_error (found by argument-dependent lookup); code in
// this module tests results instead of calling value().
[[noreturn]] inline void throw_exception_from_error(const registry_error& e,
                                                    const boost::source_location&) {
    throw std::runtime_error(e.message);
}

}  // namespace llorch::registry
