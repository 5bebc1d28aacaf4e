#include "jobs/job_run.h"

#include <deque>

namespace llorch::jobs {

std::string_view to_string(task_state s) {
    switch (s) {
        case task_state::pending:
            return "pending";
        case task_state::running:
            return "running";
        case task_state::completed:
            return "completed";
        case task_state::failed:
            return "failed";
        case task_state::skipped:
            return "skipped";
        case task_state::cancelled:
            return "cancelled";
    }
    return "unknown";
}

std::string_view to_string(job_state s) {
    switch (s) {
        case job_state::running:
            return "running";
        case job_state::completed:
            return "completed";
        case job_state::failed:
            return "failed";
        case job_state::cancelled:
            return "cancelled";
    }
    return "unknown";
}

job_run::job_run(job_graph g, job_options o, clock::time_point now)
    : graph_(std::move(g)), opts_(o), tasks_(graph_.size()), pending_(graph_.size()) {
    if (opts_.deadline) deadline_ = now + *opts_.deadline;
    for (size_t i = 0; i < graph_.size(); ++i) {
        tasks_[i].deps_left = graph_.deps(i).size();
        if (tasks_[i].deps_left == 0) ready_.push_back(i);
    }
}

void job_run::fill(job_step& s) {
    while (!cancelling_ && ready_head_ < ready_.size() &&
           (opts_.max_parallel == 0 || running_ < opts_.max_parallel)) {
        size_t i = ready_[ready_head_++];
        if (tasks_[i].state != task_state::pending) continue;
        tasks_[i].state = task_state::running;
        --pending_;
        ++running_;
        s.start.push_back(i);
    }
}

job_step job_run::begin() {
    job_step s;
    fill(s);
    return s;
}

job_step job_run::complete(size_t i, std::string output) {
    job_step s;
    auto& t = tasks_[i];
    if (t.state != task_state::running) return s;
    t.state = task_state::completed;
    --running_;
    if (output.size() > graph_.limits().max_output_bytes) {
        // Cut at a character boundary: what is substituted stays valid UTF-8.
        size_t cut = graph_.limits().max_output_bytes;
        while (cut > 0 && (static_cast<unsigned char>(output[cut]) & 0xC0) == 0x80) --cut;
        output.resize(cut);
        t.truncated = true;
    }
    t.output = std::move(output);
    for (size_t d : graph_.dependents(i)) {
        if (--tasks_[d].deps_left == 0 && tasks_[d].state == task_state::pending)
            ready_.push_back(d);
    }
    fill(s);
    return s;
}

job_step job_run::fail(size_t i, std::string cause) {
    auto& t = tasks_[i];
    if (t.state != task_state::running) return {};
    t.state = task_state::failed;
    t.cause = std::move(cause);
    --running_;
    if (cause_.empty()) cause_ = "task '" + graph_.task(i).id + "' failed: " + t.cause;
    return after_failure(i, {});
}

job_step job_run::cancelled(size_t i, std::string cause) {
    auto& t = tasks_[i];
    if (t.state != task_state::running) return {};
    t.state = task_state::cancelled;
    t.cause = std::move(cause);
    --running_;
    if (cancelling_) return {};  // the job's own cancel: its pending tasks are ended already
    // Cancelled alone (its task was cancelled through the task API): a failure of the job.
    if (cause_.empty()) cause_ = "task '" + graph_.task(i).id + "' was cancelled: " + t.cause;
    return after_failure(i, {});
}

job_step job_run::after_failure(size_t i, job_step s) {
    any_failed_ = true;
    skip_dependents(i, s);
    if (opts_.fail_fast && !cancelling_) {
        auto c = stop_all("fail_fast: " + cause_, false);
        s.cancel = std::move(c.cancel);
        s.ended.insert(s.ended.end(), c.ended.begin(), c.ended.end());
        return s;
    }
    fill(s);
    return s;
}

void job_run::end_pending(size_t i, task_state st, std::string cause, job_step& s) {
    auto& t = tasks_[i];
    t.state = st;
    t.cause = std::move(cause);
    --pending_;
    s.ended.push_back(i);
}

void job_run::skip_dependents(size_t i, job_step& s) {
    std::deque<size_t> todo{i};
    while (!todo.empty()) {
        size_t u = todo.front();
        todo.pop_front();
        auto why = "dependency '" + graph_.task(u).id + "' " +
                   std::string(tasks_[u].state == task_state::skipped     ? "was skipped"
                               : tasks_[u].state == task_state::cancelled ? "was cancelled"
                                                                          : "failed");
        for (size_t d : graph_.dependents(u)) {
            if (tasks_[d].state != task_state::pending) continue;
            end_pending(d, task_state::skipped, why, s);
            todo.push_back(d);
        }
    }
}

job_step job_run::stop_all(std::string cause, bool by_client) {
    job_step s;
    if (cancelling_ || finished()) return s;
    cancelling_ = true;
    cancelled_by_client_ = by_client;
    if (by_client || cause_.empty()) cause_ = cause;
    for (size_t i = 0; i < tasks_.size(); ++i) {
        if (tasks_[i].state == task_state::pending)
            end_pending(i, task_state::cancelled, cause, s);
        else if (tasks_[i].state == task_state::running)
            s.cancel.push_back(i);
    }
    return s;
}

job_step job_run::cancel(std::string cause) { return stop_all(std::move(cause), true); }

job_step job_run::expire(clock::time_point now) {
    if (!deadline_ || now < *deadline_) return {};
    any_failed_ = true;
    return stop_all(
        "the job's deadline of " + std::to_string(opts_.deadline->count()) + " ms passed", false);
}

jobs_result<std::vector<std::string>> job_run::substitute(size_t i) const {
    const auto& def = graph_.task(i);
    std::vector<std::string> out;
    out.reserve(def.texts.size());
    size_t bytes = 0;
    for (const auto& text : def.texts) {
        auto ph = find_placeholders(text);
        if (!ph) return ph.error();
        std::string r;
        size_t at = 0;
        for (const auto& p : *ph) {
            r.append(text, at, p.pos - at);
            size_t d = graph_.index_of(p.task);
            if (d < tasks_.size()) r += tasks_[d].output;
            at = p.pos + p.len;
        }
        r.append(text, at);
        bytes += r.size();
        if (bytes > graph_.limits().max_prompt_bytes)
            return jobs_error{jobs_errc::too_large,
                              "tasks." + def.id + ": the prompt with its dependencies' outputs " +
                                  "substituted passes " +
                                  std::to_string(graph_.limits().max_prompt_bytes) + " bytes"};
        out.push_back(std::move(r));
    }
    return out;
}

job_state job_run::state() const {
    if (!finished()) return job_state::running;
    if (cancelled_by_client_) return job_state::cancelled;
    if (any_failed_) return job_state::failed;
    return job_state::completed;
}

}  // namespace llorch::jobs
