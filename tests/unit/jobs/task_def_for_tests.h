#pragma once
// A task of a job graph in one line, for the jobs module's tests.

#include <string>
#include <utility>
#include <vector>

#include "jobs/job_graph.h"

namespace llorch::jobs {

inline task_def t(std::string id, std::vector<std::string> deps = {},
                  std::vector<std::string> texts = {}) {
    return {std::move(id), std::move(deps), std::move(texts)};
}

}  // namespace llorch::jobs
