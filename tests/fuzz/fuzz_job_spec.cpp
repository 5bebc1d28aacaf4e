// A job's body as POST /v2/jobs reads it: the JSON body rules, the job spec (each task's fields,
// the graph: ids, dependencies, cycles, placeholders), then a run of the job's state machine
// with every task completing in the order they become ready, substituting outputs.
#include <cstdint>
#include <string_view>

#include "api/json_body.h"
#include "orchestrator/job_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto o = llorch::api::parse_json_body(body);
    if (!o) return 0;
    auto spec = llorch::orchestrator::parse_job_spec(*o);
    if (!spec) return 0;
    llorch::jobs::job_run run(std::move(spec->graph), spec->options, {});
    auto step = run.begin();
    std::vector<size_t> ready(step.start.begin(), step.start.end());
    for (size_t k = 0; k < ready.size(); ++k) {
        auto texts = run.substitute(ready[k]);
        auto next = texts ? run.complete(ready[k], "out{{tasks.x.output}}")
                          : run.fail(ready[k], texts.error().message);
        ready.insert(ready.end(), next.start.begin(), next.start.end());
    }
    if (!run.finished()) __builtin_trap();  // an acyclic graph always runs to its end
    return 0;
}
