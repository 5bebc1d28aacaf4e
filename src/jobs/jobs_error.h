#pragma once
// Why a job was refused or a task of it could not start. Returned as a value (jobs_result<T>);
// the service maps every code to 400 INVALID_PARAMS with the message.

#include <string_view>

#include "common/module_error.h"

namespace llorch::jobs {

enum class jobs_errc {
    invalid_id,          // a task id that is empty, too long or of other characters
    duplicate_id,        // two tasks with one id
    unknown_dependency,  // depends_on names a task the job does not have
    cycle,               // the dependencies form a cycle (the message names it in order)
    bad_substitution,    // {{tasks.X.output}} malformed, or X outside the task's depends_on
    too_large,           // too many tasks, dependencies or bytes of prompt
};

constexpr std::string_view to_string(jobs_errc e) {
    switch (e) {
        case jobs_errc::invalid_id:
            return "invalid_id";
        case jobs_errc::duplicate_id:
            return "duplicate_id";
        case jobs_errc::unknown_dependency:
            return "unknown_dependency";
        case jobs_errc::cycle:
            return "cycle";
        case jobs_errc::bad_substitution:
            return "bad_substitution";
        case jobs_errc::too_large:
            return "too_large";
    }
    return "unknown";
}

using jobs_error = common::module_error<jobs_errc>;
template <class T>
using jobs_result = boost::system::result<T, jobs_error>;

}  // namespace llorch::jobs
