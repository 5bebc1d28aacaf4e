#pragma once
// The shape of every module's error: an errc that says why, for code, and a message for a
// person. A module declares `using X_error = common::module_error<X_errc>;` and
// `template <class T> using X_result = boost::system::result<T, X_error>;` and returns its
// errors as values. Errors that carry more (config_error's key and line, client_error's
// response_started) are structs of their own with the same two first members.

#include <stdexcept>
#include <string>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace llorch::common {

template <class Errc>
struct module_error {
    Errc code;
    std::string message;
};

// Lets `result.value()` work with any module_error (found by argument-dependent lookup); code
// tests results instead of calling value().
template <class Errc>
[[noreturn]] void throw_exception_from_error(const module_error<Errc>& e,
                                             const boost::source_location&) {
    throw std::runtime_error(e.message);
}

}  // namespace llorch::common
