#include "orchestrator/job_spec.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "http/ids.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {
using api::invalid_field;
}  // namespace

std::vector<std::string> job_texts(const task_spec& t) {
    std::vector<std::string> out;
    if (t.generation.prompt) out.push_back(*t.generation.prompt);
    for (const auto& m : t.generation.messages) out.push_back(m.content);
    return out;
}

void set_job_texts(task_spec& t, std::vector<std::string> texts) {
    size_t k = 0;
    if (t.generation.prompt && k < texts.size()) t.generation.prompt = std::move(texts[k++]);
    for (auto& m : t.generation.messages)
        if (k < texts.size()) m.content = std::move(texts[k++]);
}

api::api_result<job_spec> parse_job_spec(const json::object& o, const jobs::job_limits& limits) {
    job_spec j;
    if (auto* v = o.if_contains("job_id"); v && !v->is_null()) {
        if (!v->is_string() || v->get_string().size() > 63 || !valid_client_id(v->get_string()))
            return invalid_field(
                "job_id", "must be 1-63 characters of letters, digits, '.', '_', ':' or '-'");
        j.job_id = v->get_string();
    } else {
        j.job_id = http::new_correlation_id();
    }
    if (auto* v = o.if_contains("max_parallel"); v && !v->is_null()) {
        if (!v->is_int64() || v->get_int64() < 0 || v->get_int64() > 1024)
            return invalid_field("max_parallel", "must be an integer from 0 (no bound) to 1024");
        j.options.max_parallel = static_cast<size_t>(v->get_int64());
    }
    if (auto* v = o.if_contains("fail_fast"); v && !v->is_null()) {
        if (!v->is_bool()) return invalid_field("fail_fast", "must be a boolean");
        j.options.fail_fast = v->get_bool();
    }
    if (auto* v = o.if_contains("deadline_ms"); v && !v->is_null()) {
        if (!v->is_int64() || v->get_int64() <= 0 || v->get_int64() > 7LL * 24 * 3600 * 1000)
            return invalid_field("deadline_ms",
                                 "must be between 1 and 604800000 (ms from submission)");
        j.options.deadline = std::chrono::milliseconds(v->get_int64());
    }
    if (auto* v = o.if_contains("task_retries"); v && !v->is_null()) {
        if (!v->is_int64() || v->get_int64() < 0 || v->get_int64() > 5)
            return invalid_field("task_retries", "must be an integer from 0 to 5");
        j.options.task_retries = static_cast<int>(v->get_int64());
    }
    const json::object* defaults = nullptr;
    if (auto* v = o.if_contains("defaults"); v && !v->is_null()) {
        defaults = v->if_object();
        if (!defaults) return invalid_field("defaults", "must be an object of task fields");
    }
    auto* tv = o.if_contains("tasks");
    if (!tv || !tv->is_array() || tv->get_array().empty())
        return invalid_field("tasks", "must be a non-empty array of tasks");
    const auto& arr = tv->get_array();
    if (arr.size() > limits.max_tasks)
        return invalid_field("tasks", std::to_string(arr.size()) + " tasks, at most " +
                                          std::to_string(limits.max_tasks) + " allowed");
    std::vector<jobs::task_def> defs;
    defs.reserve(arr.size());
    for (size_t i = 0; i < arr.size(); ++i) {
        const std::string at = "tasks[" + std::to_string(i) + "]";
        const auto* to = arr[i].if_object();
        if (!to) return invalid_field(at, "must be an object");
        jobs::task_def d;
        auto* id = to->if_contains("id");
        if (!id || !id->is_string() || !jobs::valid_task_id(id->get_string()))
            return invalid_field(at + ".id",
                                 "must be 1-64 characters of letters, digits, '_' or '-'");
        d.id = id->get_string();
        const std::string field = "tasks." + d.id;
        if (auto* deps = to->if_contains("depends_on"); deps && !deps->is_null()) {
            if (!deps->is_array())
                return invalid_field(field + ".depends_on", "must be an array of task ids");
            for (const auto& x : deps->get_array()) {
                if (!x.is_string())
                    return invalid_field(field + ".depends_on", "must be an array of task ids");
                d.depends_on.emplace_back(x.get_string());
            }
        }
        json::object body = defaults ? *defaults : json::object{};
        // A task naming its model one way overrides the defaults' other way.
        if (to->contains("task_type")) {
            body.erase("model");
            body.erase("model_ref");
        } else if (to->contains("model") || to->contains("model_ref")) {
            body.erase("task_type");
        }
        for (const auto& [k, v] : *to) {
            if (k != "id" && k != "depends_on") body[k] = v;
        }
        body["task_id"] = j.job_id + "." + d.id;
        auto spec = parse_task_spec(body);
        if (!spec) {
            auto e = spec.error();
            e.message = field + ": " + e.message;
            return e;
        }
        // A job's task runs whoever reads it: a reader leaving does not cancel it.
        spec->cancel_on_disconnect = false;
        spec->job_id = j.job_id;
        d.texts = job_texts(*spec);
        defs.push_back(std::move(d));
        j.tasks.push_back(std::move(*spec));
    }
    auto g = jobs::job_graph::make(std::move(defs), limits);
    if (!g) return api::make_error(api::error_code::invalid_params, g.error().message);
    j.graph = std::move(*g);
    return j;
}

}  // namespace llorch::orchestrator
