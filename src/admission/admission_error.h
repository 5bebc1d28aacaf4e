#pragma once
// Why the admission queue refused a task. Returned as a value (admission_result<T>).

#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace llorch::admission {

enum class admission_errc {
    queue_full,      // full and nothing could be evicted: 429 ADMISSION_REJECT
    duplicate_task,  // a task with this id is already queued
};

constexpr std::string_view to_string(admission_errc e) {
    return e == admission_errc::queue_full ? "queue_full" : "duplicate_task";
}

template <class T>
using admission_result = boost::system::result<T, admission_errc>;

// Lets `result.value()` work with admission_errc (found by argument-dependent lookup); code in
// this module tests results instead of calling value().
[[noreturn]] inline void throw_exception_from_error(admission_errc e,
                                                    const boost::source_location&) {
    throw std::runtime_error(std::string(to_string(e)));
}

}  // namespace llorch::admission
