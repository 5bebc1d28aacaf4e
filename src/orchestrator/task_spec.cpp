#include "orchestrator/task_spec.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "http/ids.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {
using api::invalid_field;
api::api_result<std::vector<std::string>> string_list(const json::value& v, const std::string& f) {
    std::vector<std::string> out;
    if (!v.is_array()) return invalid_field(f, "must be an array of pool ids");
    for (const auto& x : v.get_array()) {
        if (!x.is_string()) return invalid_field(f, "must be an array of pool ids");
        out.emplace_back(x.get_string());
    }
    return out;
}
}  // namespace

bool valid_client_id(std::string_view id) { return http::valid_id(id); }

api::api_result<task_spec> parse_task_spec(const json::object& o) {
    task_spec t;
    auto str = [&](const char* k) -> api::api_result<std::optional<std::string>> {
        auto* v = o.if_contains(k);
        if (!v || v->is_null()) return std::optional<std::string>{};
        if (!v->is_string()) return invalid_field(k, "must be a string");
        return std::optional<std::string>(std::string(v->get_string()));
    };
    for (const char* k : {"task_id", "session_id"}) {
        auto v = str(k);
        if (!v) return v.error();
        if (*v && !valid_client_id(**v))
            return invalid_field(
                k, "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'");
        (std::string_view(k) == "task_id" ? t.task_id : t.session_id) = v->value_or("");
    }
    if (t.task_id.empty()) t.task_id = http::new_correlation_id();
    if (t.session_id.empty()) t.session_id = http::new_correlation_id();

    if (auto w = str("workload"); !w) {
        return w.error();
    } else if (*w && **w != "completion") {
        if (**w == "embedding" || **w == "rerank")
            return invalid_field("workload",
                                 "'" + **w + "' is not supported yet; use 'completion'");
        return invalid_field("workload", "must be 'completion'");
    }
    auto model_ref = str("model_ref");
    if (!model_ref) return model_ref.error();
    auto model = str("model");
    if (!model) return model.error();
    t.model = model_ref->value_or(model->value_or(""));
    auto task_type = str("task_type");
    if (!task_type) return task_type.error();
    t.task_type = task_type->value_or("");
    if (!t.model.empty() && !t.task_type.empty())
        return invalid_field("task_type", "give a model or a task_type, not both");
    if (t.model.empty() && t.task_type.empty())
        return invalid_field("model_ref",
                             "name the model to run (model_ref or model, or a task_type)");
    if (auto e = str("engine"); !e)
        return e.error();
    else
        t.engine = e->value_or("");
    if (auto p = str("priority"); !p) {
        return p.error();
    } else if (*p) {
        auto pr = admission::parse_priority(**p);
        if (!pr)
            return invalid_field("priority",
                                 "must be 'interactive' or 'batch' (got '" + **p + "')");
        t.priority = *pr;
    }
    if (auto d = str("determinism"); !d) {
        return d.error();
    } else if (*d) {
        if (**d != "strict" && **d != "best_effort")
            return invalid_field("determinism", "must be 'strict' or 'best_effort'");
        t.determinism = **d;
    }
    if (auto* v = o.if_contains("deadline_ms"); v && !v->is_null()) {
        if (!v->is_int64() && !v->is_uint64())
            return invalid_field("deadline_ms", "must be an integer");
        long long ms = v->is_int64() ? v->get_int64() : static_cast<long long>(v->get_uint64());
        if (ms <= 0 || ms > 7LL * 24 * 3600 * 1000)
            return invalid_field("deadline_ms",
                                 "must be between 1 and 604800000 (ms from submission)");
        t.deadline = std::chrono::milliseconds(ms);
    }
    if (auto* v = o.if_contains("keep_alive_ms"); v && !v->is_null()) {
        if (!v->is_int64()) return invalid_field("keep_alive_ms", "must be an integer");
        long long ms = v->get_int64();
        if (ms > 7LL * 24 * 3600 * 1000)
            return invalid_field(
                "keep_alive_ms",
                "must be at most 604800000 (a week); a negative value keeps the model "
                "loaded for good");
        t.keep_alive = std::chrono::milliseconds(ms < 0 ? -1 : ms);
    }
    for (const char* k : {"ctx", "expected_tokens"}) {
        if (auto* v = o.if_contains(k);
            v && !v->is_null() && (!v->is_int64() || v->get_int64() < 0))
            return invalid_field(k, "must be an integer >= 0");
    }
    if (auto* v = o.if_contains("kv_hint"); v && !v->is_null() && !v->is_string())
        return invalid_field("kv_hint", "must be a string");
    if (auto* v = o.if_contains("cancel_on_disconnect"); v && !v->is_null()) {
        if (!v->is_bool()) return invalid_field("cancel_on_disconnect", "must be a boolean");
        t.cancel_on_disconnect = v->get_bool();
    }
    if (auto* v = o.if_contains("placement"); v && !v->is_null()) {
        auto* po = v->if_object();
        if (!po) return invalid_field("placement", "must be an object");
        if (auto* m = po->if_contains("mode"); m && !m->is_null()) {
            if (!m->is_string())
                return invalid_field("placement.mode", "must be pin, prefer or auto");
            auto s = std::string(m->get_string());
            if (s == "pin")
                t.placement.mode = placement::placement_mode::pin;
            else if (s == "prefer")
                t.placement.mode = placement::placement_mode::prefer;
            else if (s == "auto")
                t.placement.mode = placement::placement_mode::auto_;
            else
                return invalid_field("placement.mode",
                                     "must be pin, prefer or auto (got '" + s + "')");
        }
        if (auto* p = po->if_contains("pin_pool_id"); p && !p->is_null()) {
            if (!p->is_string()) return invalid_field("placement.pin_pool_id", "must be a string");
            t.placement.pin_pool_id = p->get_string();
        }
        if (t.placement.mode == placement::placement_mode::pin && t.placement.pin_pool_id.empty())
            return invalid_field("placement.pin_pool_id", "required with mode 'pin'");
        for (auto [k, dst] : {std::pair{"prefer_pools", &t.placement.prefer_pools},
                              std::pair{"avoid_pools", &t.placement.avoid_pools}}) {
            if (auto* l = po->if_contains(k); l && !l->is_null()) {
                auto r = string_list(*l, std::string("placement.") + k);
                if (!r) return r.error();
                *dst = std::move(*r);
            }
        }
        if (auto* a = po->if_contains("allow_fallback"); a && !a->is_null()) {
            if (!a->is_bool())
                return invalid_field("placement.allow_fallback", "must be a boolean");
            t.placement.allow_fallback = a->get_bool();
        }
        if (auto* m = po->if_contains("require_device_mask"); m && !m->is_null() && !m->is_string())
            return invalid_field("placement.require_device_mask", "must be a string");
    }
    auto g = engines::parse_generation(o);
    if (!g) return g.error();
    t.generation = std::move(*g);
    t.generation.task_id = t.task_id;
    return t;
}

}  // namespace llorch::orchestrator
