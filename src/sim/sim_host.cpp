#include "sim/sim_host.h"

#include <sys/resource.h>

#include <cstdio>

#include <fmt/format.h>

#include "sim/sim_engine.h"

namespace llorch::sim {

sim_host::sim_host(boost::asio::io_context& io, sim_config cfg) : io_(io), cfg_(std::move(cfg)) {}

sim_host::~sim_host() { stop(); }

sim_result<void> sim_host::start() {
    std::string lines;
    for (size_t i = 0; i < cfg_.ports.size(); ++i) {
        auto e = std::make_shared<sim_engine>(io_, cfg_, cfg_.ports[i], static_cast<int>(i));
        if (auto r = e->start(); !r) {
            stop();
            return r.error();
        }
        lines += fmt::format("listening {}:{}\n", cfg_.host, e->port());
        engines_.push_back(std::move(e));
    }
    std::fputs(lines.c_str(), stdout);
    std::fflush(stdout);
    return {};
}

void sim_host::stop() {
    for (auto& e : engines_) e->stop();
}

long long raise_descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long long>(rl.rlim_cur);
}

}  // namespace llorch::sim
