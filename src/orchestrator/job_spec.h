#pragma once
// A job as POST /v2/jobs describes it: its options and its tasks, each a task body (the fields of
// POST /v2/tasks) plus `id` and `depends_on`, validated (INVALID_PARAMS naming the task and the
// field; the graph's own checks in src/jobs).

#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "api/error.h"
#include "jobs/job_graph.h"
#include "jobs/job_run.h"
#include "orchestrator/task_spec.h"

namespace llorch::orchestrator {

struct job_spec {
    std::string job_id;  // client's, or generated
    jobs::job_options options;
    std::vector<task_spec> tasks;  // in the order of the graph; prompts still with placeholders
    jobs::job_graph graph;
};

// Parses the JSON body of POST /v2/jobs. A task's task_id is `<job_id>.<id>`; its session is
// its own unless it names one. `defaults` (an object of task fields) fills fields a task leaves
// out. Unknown fields are ignored.
api::api_result<job_spec> parse_job_spec(const boost::json::object& o,
                                         const jobs::job_limits& limits = {});

// The texts of a task that may hold placeholders, in the order job_graph keeps them: the prompt
// (when there is one), then each message's content.
std::vector<std::string> job_texts(const task_spec& t);
// Puts substituted texts back where job_texts() took them from.
void set_job_texts(task_spec& t, std::vector<std::string> texts);

}  // namespace llorch::orchestrator
