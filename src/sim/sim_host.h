#pragma once
// Every simulated engine of one llorch-sim process, one per configured port, all served by one
// io_context (run by the caller's thread). Owned by main; start() binds them all and prints one
// `listening HOST:PORT` line per engine on stdout, in configuration order, for scripts to read.

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "sim/sim_config.h"
#include "sim/sim_error.h"

namespace llorch::sim {

class sim_engine;

class sim_host {
  public:
    sim_host(boost::asio::io_context& io, sim_config cfg);
    ~sim_host();
    sim_host(const sim_host&) = delete;
    sim_host& operator=(const sim_host&) = delete;

    // Binds every engine; the first failure is returned and nothing keeps serving.
    sim_result<void> start();
    void stop();
    const std::vector<std::shared_ptr<sim_engine>>& engines() const { return engines_; }

  private:
    boost::asio::io_context& io_;
    sim_config cfg_;
    std::vector<std::shared_ptr<sim_engine>> engines_;
};

// Raises the soft limit on open descriptors to the hard limit: each stream holds one, and a
// scale test holds thousands. Returns the limit now in force.
long long raise_descriptor_limit();

}  // namespace llorch::sim
