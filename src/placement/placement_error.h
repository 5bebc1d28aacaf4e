#pragma once
// Why placement found no pool. Returned as a value (placement_result<T>); the dispatcher maps it
// to waiting in the queue or to an error code for the client.

#include <stdexcept>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace llorch::placement {

enum class placement_errc {
    model_not_available,  // no known pool serves the model: fail at once (MODEL_NOT_AVAILABLE)
    no_capacity,          // pools serve the model but none can take a task now: wait in the queue
    pin_unsatisfiable,    // the pinned pool is unknown, does not serve the model, or is draining
    all_avoided,          // every pool that serves the model is on the request's avoid list
};

constexpr std::string_view to_string(placement_errc e) {
    switch (e) {
        case placement_errc::model_not_available:
            return "model_not_available";
        case placement_errc::no_capacity:
            return "no_capacity";
        case placement_errc::pin_unsatisfiable:
            return "pin_unsatisfiable";
        case placement_errc::all_avoided:
            return "all_avoided";
    }
    return "unknown";
}

template <class T>
using placement_result = boost::system::result<T, placement_errc>;

// Lets `result.value()` work with placement_errc (found by argument-dependent lookup); code in
// this module tests results instead of calling value().
[[noreturn]] inline void throw_exception_from_error(placement_errc e,
                                                    const boost::source_location&) {
    throw std::runtime_error(std::string(to_string(e)));
}

}  // namespace llorch::placement
