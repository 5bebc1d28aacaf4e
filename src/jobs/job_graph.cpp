#include "jobs/job_graph.h"

#include <algorithm>

namespace llorch::jobs {

namespace {

jobs_error fail(jobs_errc c, std::string m) { return jobs_error{c, std::move(m)}; }

}  // namespace

bool valid_task_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

jobs_result<std::vector<placeholder>> find_placeholders(std::string_view text) {
    constexpr std::string_view open = "{{tasks.";
    constexpr std::string_view close = ".output}}";
    std::vector<placeholder> out;
    size_t from = 0;
    for (;;) {
        auto pos = text.find(open, from);
        if (pos == std::string_view::npos) return out;
        auto id_start = pos + open.size();
        auto end = text.find("}}", id_start);
        auto bad = [&] {
            auto shown = text.substr(
                pos, std::min<size_t>(
                         end == std::string_view::npos ? text.size() - pos : end + 2 - pos, 80));
            return fail(
                jobs_errc::bad_substitution,
                "'" + std::string(shown) + "' is not a placeholder; write {{tasks.<id>.output}}");
        };
        if (end == std::string_view::npos || end + 2 < id_start + close.size()) return bad();
        auto whole_end = end + 2;
        if (text.substr(whole_end - close.size(), close.size()) != close) return bad();
        auto id = text.substr(id_start, whole_end - close.size() - id_start);
        if (!valid_task_id(id)) return bad();
        out.push_back({pos, whole_end - pos, std::string(id)});
        from = whole_end;
    }
}

size_t job_graph::index_of(std::string_view id) const {
    auto it = by_id_.find(std::string(id));
    return it == by_id_.end() ? tasks_.size() : it->second;
}

jobs_result<job_graph> job_graph::make(std::vector<task_def> tasks, const job_limits& limits) {
    if (tasks.empty()) return fail(jobs_errc::too_large, "tasks: a job needs at least one task");
    if (tasks.size() > limits.max_tasks)
        return fail(jobs_errc::too_large, "tasks: " + std::to_string(tasks.size()) +
                                              " tasks, at most " +
                                              std::to_string(limits.max_tasks) + " allowed");
    job_graph g;
    g.limits_ = limits;
    const size_t n = tasks.size();
    for (size_t i = 0; i < n; ++i) {
        const auto& id = tasks[i].id;
        if (!valid_task_id(id))
            return fail(jobs_errc::invalid_id,
                        "tasks[" + std::to_string(i) + "].id: '" + id.substr(0, 80) +
                            "' must be 1-64 characters of letters, digits, '_' or '-'");
        if (!g.by_id_.emplace(id, i).second)
            return fail(jobs_errc::duplicate_id,
                        "tasks[" + std::to_string(i) + "].id: duplicate id '" + id + "'");
    }
    g.deps_.resize(n);
    g.dependents_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const auto& t = tasks[i];
        const std::string field = "tasks." + t.id;
        if (t.depends_on.size() > limits.max_dependencies)
            return fail(jobs_errc::too_large, field + ".depends_on: at most " +
                                                  std::to_string(limits.max_dependencies) +
                                                  " dependencies");
        for (const auto& d : t.depends_on) {
            auto it = g.by_id_.find(d);
            if (it == g.by_id_.end())
                return fail(jobs_errc::unknown_dependency,
                            field + ".depends_on: unknown task '" + d.substr(0, 80) + "'");
            if (it->second == i)
                return fail(jobs_errc::cycle, "dependency cycle: " + t.id + " -> " + t.id);
            if (std::find(g.deps_[i].begin(), g.deps_[i].end(), it->second) != g.deps_[i].end())
                continue;  // named twice: one dependency
            g.deps_[i].push_back(it->second);
            g.dependents_[it->second].push_back(i);
        }
        size_t bytes = 0;
        for (const auto& text : t.texts) {
            bytes += text.size();
            auto ph = find_placeholders(text);
            if (!ph) return fail(ph.error().code, field + ": " + ph.error().message);
            for (const auto& p : *ph) {
                if (std::find(t.depends_on.begin(), t.depends_on.end(), p.task) ==
                    t.depends_on.end())
                    return fail(jobs_errc::bad_substitution,
                                field + ": {{tasks." + p.task + ".output}} names '" + p.task +
                                    "', which is not in its depends_on");
            }
        }
        if (bytes > limits.max_template_bytes)
            return fail(jobs_errc::too_large, field + ": prompt of " + std::to_string(bytes) +
                                                  " bytes, at most " +
                                                  std::to_string(limits.max_template_bytes));
    }
    // Cycles: depth-first over "depends on" edges, iteratively; a grey node met again closes a
    // cycle, which is the grey path from it to here.
    enum : char { white, grey, black };
    std::vector<char> colour(n, white);
    std::vector<std::pair<size_t, size_t>> stack;  // node, next dependency to visit
    for (size_t root = 0; root < n; ++root) {
        if (colour[root] != white) continue;
        stack.push_back({root, 0});
        colour[root] = grey;
        while (!stack.empty()) {
            auto& [u, next] = stack.back();
            if (next == g.deps_[u].size()) {
                colour[u] = black;
                stack.pop_back();
                continue;
            }
            size_t v = g.deps_[u][next++];
            if (colour[v] == white) {
                colour[v] = grey;
                stack.push_back({v, 0});
            } else if (colour[v] == grey) {
                std::string cycle;
                bool on = false;
                for (const auto& [w, _] : stack) {
                    on = on || w == v;
                    if (on) cycle += tasks[w].id + " -> ";
                }
                cycle += tasks[v].id;
                return fail(jobs_errc::cycle,
                            "dependency cycle: " + cycle + " (each task depends on the next)");
            }
        }
    }
    g.tasks_ = std::move(tasks);
    return g;
}

}  // namespace llorch::jobs
