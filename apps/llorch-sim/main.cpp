// llorch-sim — simulated llama-server engines for scale tests and benchmarks.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "sim/sim_config.h"
#include "sim/sim_host.h"

int main(int argc, char** argv) {
    namespace sim = llorch::sim;
    const auto args = sim::parse_sim_args(std::vector<std::string>(argv + 1, argv + argc));
    if (args.what == sim::sim_args::action::help) {
        std::fputs(args.text.c_str(), stdout);
        return 0;
    }
    if (args.what == sim::sim_args::action::error) {
        std::fprintf(stderr, "llorch-sim: %s (see --help)\n", args.text.c_str());
        return 2;
    }
    sim::raise_descriptor_limit();
    boost::asio::io_context io(1);
    sim::sim_host host(io, args.config);
    if (auto r = host.start(); !r) {
        std::fprintf(stderr, "llorch-sim: %s\n", r.error().message.c_str());
        return 1;
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
        host.stop();
        io.stop();
    });
    io.run();
    return 0;
}
