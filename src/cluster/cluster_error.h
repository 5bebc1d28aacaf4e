#pragma once
// Why the cluster event stream stopped for one reader. Returned as a value (cluster_result<T>).

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::cluster {

enum class cluster_errc {
    reader_behind,  // the reader fell further behind than the log keeps: it must start over
};

using cluster_error = common::module_error<cluster_errc>;

template <class T>
using cluster_result = boost::system::result<T, cluster_error>;

}  // namespace llorch::cluster
