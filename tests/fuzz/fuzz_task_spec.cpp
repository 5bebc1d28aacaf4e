// A task's body as POST /v2/tasks reads it: the JSON body rules, then the task spec and its
// generation fields.
#include <cstdint>
#include <string_view>

#include "api/json_body.h"
#include "orchestrator/task_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto o = llorch::api::parse_json_body(body);
    if (!o) return 0;
    auto spec = llorch::orchestrator::parse_task_spec(*o);
    (void)spec;
    return 0;
}
