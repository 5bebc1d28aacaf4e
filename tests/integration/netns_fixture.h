#pragma once
// Separate machines on one host: each daemon in a network namespace of its own, joined by a
// bridge in the test's namespace, so that the only way between them is a network link the test
// can cut (`ip link set down`: a partition, no RST, packets vanish) or slow (`tc ... tbf`). The
// test process reaches every machine through the bridge. Needs root (CAP_NET_ADMIN); a host
// without it fails the test with the reason, it does not skip.
//
// Names and the subnet derive from the test process's pid, so concurrent tests do not collide;
// the destructor removes the namespaces (their links go with them) and the bridge.

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "cloud_fixture.h"

namespace llorch::test {

class netns_lab {
  public:
    explicit netns_lab(int machines) : prefix_("lo" + std::to_string(::getpid() % 100000)) {
        const int pid = static_cast<int>(::getpid());
        subnet_ = "10." + std::to_string(100 + (pid / 250) % 100) + "." + std::to_string(pid % 250);
        cleanup();  // leftovers of a crashed run with the same pid
        run("ip link add " + bridge() + " type bridge");
        run("ip addr add " + subnet_ + ".254/24 dev " + bridge());
        run("ip link set " + bridge() + " up");
        for (int i = 0; i < machines; ++i) {
            const auto ns = netns(i), outer = prefix_ + "v" + std::to_string(i);
            run("ip netns add " + ns);
            run("ip link add " + outer + " type veth peer name " + outer + "i");
            run("ip link set " + outer + "i netns " + ns + " name eth0");
            run("ip link set " + outer + " master " + bridge() + " up");
            run("ip netns exec " + ns + " ip addr add " + ip(i) + "/24 dev eth0");
            run("ip netns exec " + ns + " ip link set eth0 up");
            run("ip netns exec " + ns + " ip link set lo up");
        }
        machines_ = machines;
    }
    ~netns_lab() { cleanup(); }
    netns_lab(const netns_lab&) = delete;
    netns_lab& operator=(const netns_lab&) = delete;

    std::string ip(int i) const { return subnet_ + "." + std::to_string(i + 1); }
    host_place place(int i) const { return {{"/usr/sbin/ip", "netns", "exec", netns(i)}, ip(i)}; }
    // Machine i's link: down cuts it off from every other (and from the test); up joins it again.
    void link(int i, bool up) {
        run("ip link set " + prefix_ + "v" + std::to_string(i) + (up ? " up" : " down"));
    }
    // What machine i sends leaves at most `rate` (e.g. "256kbit"); empty: no limit.
    void limit(int i, const std::string& rate) {
        const auto dev = "ip netns exec " + netns(i) + " tc qdisc ";
        std::system((dev + "del dev eth0 root > /dev/null 2>&1").c_str());
        if (!rate.empty())
            run(dev + "add dev eth0 root tbf rate " + rate + " burst 16kbit latency 2s");
    }

  private:
    std::string netns(int i) const { return prefix_ + "-m" + std::to_string(i); }
    std::string bridge() const { return prefix_ + "b"; }
    static void run(const std::string& cmd) {
        if (std::system((cmd + " > /dev/null 2>&1").c_str()) != 0)
            throw std::runtime_error("'" + cmd +
                                     "' failed: the netns tests need root (CAP_NET_ADMIN), "
                                     "iproute2 and veth/bridge support");
    }
    void cleanup() {
        for (int i = 0; i < 8; ++i)
            std::system(("ip netns del " + netns(i) + " > /dev/null 2>&1").c_str());
        std::system(("ip link del " + bridge() + " > /dev/null 2>&1").c_str());
    }
    std::string prefix_, subnet_;
    int machines_ = 0;
};

}  // namespace llorch::test
