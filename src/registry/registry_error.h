#pragma once
// Why the registry refused a registration. Returned as a value (registry_result<T>).

#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::registry {

enum class registry_errc {
    invalid_registration,  // empty node id or address, or a non-positive heartbeat interval
    incompatible_version,  // the node's version cannot work with this control plane
    too_many_pools,        // more pools than registry_config::max_pools_per_node
};

using registry_error = common::module_error<registry_errc>;

template <class T>
using registry_result = boost::system::result<T, registry_error>;

}  // namespace llorch::registry
