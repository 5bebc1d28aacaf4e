// The memory estimate against the real llama-server: generated models of different shapes, each
// started as the launcher starts it (engine_argv: -np slots -c ctx×slots, plus -lv 4 so that it
// prints its buffers), the buffer lines read from its log and held to the bound of
// support/memory_bound.h. The unit table (tests/unit/pool/vram_estimate_test.cpp) records the
// same figures; this test keeps them from going stale when the engine changes.
//
// LLORCH_MEMORY_TABLE=1 runs every shape and setting of the documented table (docs/models.md)
// and prints its rows; by default a few shapes and settings run.
#include <cstdlib>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/paths.h"
#include "model/tiny_model.h"
#include "pool/engine_launcher.h"
#include "pool/vram_estimate.h"
#include "support/memory_bound.h"
#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace fs = std::filesystem;

struct shape_case {
    const char* name;
    model::tiny_model_params params;
    bool in_short_run;
};

const std::vector<shape_case> shapes = {
    {"tiny", shapes::tiny, true},
    {"gqa-f16", shapes::gqa_f16, true},
    {"wide-f32", shapes::wide_f32, false},
    {"vocab-128k", shapes::vocab_128k, true},
    {"narrow-ffn", shapes::narrow_ffn, false},
    {"1b-slice", shapes::slice_1b, false},
};

struct setting {
    int ctx;  // per slot
    int slots;
    bool in_short_run;
    bool embeddings = false;  // an embeddings pool (--embeddings --pooling mean)
    int ubatch = 0;           // -b and -ub through extra_args; 0: the engine's defaults
    std::string label() const {
        return fmt::format("{} × {}{}{}", ctx, slots, embeddings ? " emb" : "",
                           ubatch ? fmt::format(" ub {}", ubatch) : "");
    }
};
// (llama-server of this build aborts loading an embeddings model with 3 slots, hence 2.)
const std::vector<setting> settings = {
    {512, 1, false},
    {4096, 2, true},
    {1000, 3, true},
    {300, 1, false},
    {2048, 4, false},
    {4096, 2, true, true},
    {1024, 2, false, false, 2048},
};

bool full_table() {
    const char* v = std::getenv("LLORCH_MEMORY_TABLE");
    return v && *v && std::string(v) != "0";
}

fs::path make_model(const fs::path& dir, const shape_case& s) {
    auto vocab_path = common::find_vocab();
    if (!vocab_path)
        throw std::runtime_error("llama.cpp's vocabulary is not there: run make setup");
    auto vocab = model::gguf_reader::open(*vocab_path);
    if (!vocab) throw std::runtime_error(vocab.error().message);
    auto m = model::tiny_model::plan(s.params, *vocab);
    if (!m) throw std::runtime_error(m.error().message);
    auto path = dir / (std::string(s.name) + ".gguf");
    if (auto ok = m->write(path); !ok) throw std::runtime_error(ok.error().message);
    return path;
}

// "<device> <kind> buffer size = X MiB" lines, summed per kind over devices.
reported_memory parse_buffers(const std::string& log) {
    static const std::regex line(
        R"((\S+)\s+(model|KV|output|compute) buffer size\s*=\s*([0-9.]+) MiB)");
    reported_memory r;
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
        const double v = std::stod((*it)[3]);
        const std::string kind = (*it)[2];
        if (kind == "model") r.model += v;
        if (kind == "KV") r.kv += v;
        if (kind == "output") r.output += v;
        if (kind == "compute") r.compute += v;
    }
    return r;
}

// Starts llama-server as the launcher would for a pool of one replica, waits until it serves
// and returns its log.
std::string load_and_log(const fs::path& engine, const fs::path& model, const setting& s,
                         const fs::path& log) {
    pool::pool_config cfg;
    cfg.engine = pool::engine_kind::llamacpp;
    cfg.model = model.string();
    cfg.ctx = s.ctx;
    cfg.slots = s.slots;
    cfg.embeddings = s.embeddings;
    cfg.extra_args = {"-lv", "4"};
    if (s.ubatch) {
        for (const char* flag : {"-b", "-ub"}) {
            cfg.extra_args.push_back(flag);
            cfg.extra_args.push_back(std::to_string(s.ubatch));
        }
    }
    pool::engine_spec spec;
    spec.model = cfg.model;
    spec.slots = s.slots;
    if (s.embeddings) spec.pooling = "mean";
    const auto port = free_port();
    auto argv = pool::engine_argv(cfg, spec, engine, port, "calibration-key");
    auto proc = start_process(argv, log);
    const bool up = wait_http_ok(fmt::format("http://127.0.0.1:{}/health", port), 180s);
    auto text = read_file(log);
    if (!up) throw std::runtime_error("llama-server did not come up; its log:\n" + text);
    return text;
}

TEST(vram_calibration, the_estimate_covers_what_llama_server_allocates_within_the_bound) {
    const auto engine = engine_or_skip();
    const auto dir = temp_dir("vram-calibration");
    const bool full = full_table();
    std::ostringstream table;
    table << "| shape | ctx × slots | engine: model + KV + output + compute = total MiB | "
             "estimate: weights + KV + compute = total MiB | error |\n";
    int rows = 0;
    for (const auto& sh : shapes) {
        if (!full && !sh.in_short_run) continue;
        const auto model = make_model(dir, sh);
        for (const auto& st : settings) {
            if (!full && !st.in_short_run) continue;
            SCOPED_TRACE(fmt::format("{} {}", sh.name, st.label()));
            const auto log = load_and_log(engine, model, st,
                                          dir / fmt::format("{}-{}x{}-{}-{}.log", sh.name, st.ctx,
                                                            st.slots, st.embeddings, st.ubatch));
            const auto r = parse_buffers(log);
            // Every kind is there: a renamed line would otherwise pass as 0 MiB.
            ASSERT_GT(r.model, 0) << log;
            ASSERT_GT(r.kv, 0) << log;
            ASSERT_GT(r.output, 0) << log;
            ASSERT_GT(r.compute, 0) << log;
            pool::vram_options opts{.embeddings = st.embeddings};
            if (st.ubatch) opts.batch = opts.ubatch = st.ubatch;
            auto est = pool::estimate_vram(model, st.ctx, st.slots, opts);
            ASSERT_TRUE(est) << est.error().message;
            EXPECT_EQ(check_memory_bound(*est, r), "");
            EXPECT_EQ(est->overhead_bytes, pool::engine_allowance);
            table << fmt::format(
                "| {} | {} | {:.2f} + {:.2f} + {:.2f} + {:.2f} = {:.2f} | {:.2f} + {:.2f} + "
                "{:.2f} = {:.2f} | {:+.1f} % |\n",
                sh.name, st.label(), r.model, r.kv, r.output, r.compute, r.total(),
                mib(est->weights_bytes), mib(est->kv_bytes), mib(est->compute_bytes),
                estimated_mib(*est), error_percent(*est, r));
            ++rows;
        }
    }
    EXPECT_GE(rows, 9);
    std::cout << table.str();
}

}  // namespace
}  // namespace llorch::test
