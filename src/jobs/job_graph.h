#pragma once
// A job's tasks and their dependencies, validated: ids unique and well formed, every dependency
// known, no cycle, every `{{tasks.X.output}}` placeholder in a task's texts naming one of the
// task's own dependencies, and the sizes within `job_limits`. Built once when a job is
// submitted, immutable after. Pure: no I/O, no JSON (the service parses the request).

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jobs/jobs_error.h"

namespace llorch::jobs {

struct job_limits {
    size_t max_tasks = 256;
    size_t max_dependencies = 64;            // per task
    size_t max_template_bytes = 256 * 1024;  // a task's texts together, before substitution
    size_t max_prompt_bytes = 1024 * 1024;   // a task's texts together, after substitution
    size_t max_output_bytes = 1024 * 1024;   // of one task's output kept for substitution
};

// One task as the job describes it. `texts` are the parts that may hold placeholders (the
// prompt, the messages' contents), in an order the caller chooses and maps back.
struct task_def {
    std::string id;
    std::vector<std::string> depends_on;
    std::vector<std::string> texts;
};

// A placeholder in a text: `{{tasks.<id>.output}}` at [pos, pos + len).
struct placeholder {
    size_t pos = 0;
    size_t len = 0;
    std::string task;
};

// The placeholders of `text`, in order; bad_substitution for a `{{tasks.` that does not close
// as `.output}}` around a valid id.
jobs_result<std::vector<placeholder>> find_placeholders(std::string_view text);

// A task id: 1-64 characters of letters, digits, '_' or '-' (no '.', which the placeholder
// syntax uses as its separator).
bool valid_task_id(std::string_view id);

class job_graph {
  public:
    // Validates `tasks`; the error's message names the task and the field (`tasks.b.depends_on`)
    // or, for a cycle, the cycle's tasks in order ("a -> b -> c -> a").
    static jobs_result<job_graph> make(std::vector<task_def> tasks, const job_limits& limits);

    size_t size() const { return tasks_.size(); }
    const task_def& task(size_t i) const { return tasks_[i]; }
    // Indexes of the task's dependencies and of the tasks that depend on it.
    const std::vector<size_t>& deps(size_t i) const { return deps_[i]; }
    const std::vector<size_t>& dependents(size_t i) const { return dependents_[i]; }
    // Index of the task with this id, or size() when there is none.
    size_t index_of(std::string_view id) const;
    const job_limits& limits() const { return limits_; }

  private:
    std::vector<task_def> tasks_;
    std::vector<std::vector<size_t>> deps_, dependents_;
    std::unordered_map<std::string, size_t> by_id_;
    job_limits limits_;
};

}  // namespace llorch::jobs
