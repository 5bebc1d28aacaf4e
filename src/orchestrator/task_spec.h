#pragma once
// A client's task as POST /v2/tasks describes it: the original contract's fields and ours,
// validated, with an INVALID_PARAMS error that names the field for anything wrong.

#include <chrono>
#include <optional>
#include <string>

#include <boost/json/fwd.hpp>

#include "admission/admission_config.h"
#include "api/error.h"
#include "engines/generation.h"
#include "placement/placement_request.h"

namespace llorch::orchestrator {

struct task_spec {
    std::string task_id;     // client's, or generated
    std::string session_id;  // client's, or generated
    std::string model;       // model_ref or model; empty until a task_type is resolved
    std::string job_id;      // set for a job's tasks: they spread across nodes
    std::string task_type;   // instead of a model: resolved by task_service (task_types)
    std::string engine;      // optional: only pools of this engine
    admission::task_priority priority = admission::task_priority::interactive;
    std::optional<std::chrono::milliseconds> deadline;  // from submission: must start by then
    // An on-demand model's idle TTL after this task (negative: never unload; 0: unload when it
    // ends); absent: the model's own.
    std::optional<std::chrono::milliseconds> keep_alive;
    engines::generation_request generation;
    placement::placement_overrides placement;
    std::string determinism;  // "strict" | "best_effort"
    bool cancel_on_disconnect = true;
    // What placement and the queue know the model by: `model`, or for an embedding task (the
    // generation's `embed` set) placement::embeddings_key(model), which only pools with
    // embeddings = true serve. Set by task_service when the task is submitted.
    std::string placement_model;

    bool is_embedding() const { return !generation.embed.empty(); }
};

// Parses the JSON body of POST /v2/tasks. Unknown fields are ignored (forward compatibility).
api::api_result<task_spec> parse_task_spec(const boost::json::object& o);

// An id a client may choose: 1-128 characters of [A-Za-z0-9._:-].
bool valid_client_id(std::string_view id);

}  // namespace llorch::orchestrator
