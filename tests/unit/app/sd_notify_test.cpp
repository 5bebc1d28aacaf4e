// sd_notifier against real unix datagram sockets (a path and an abstract name), as systemd binds
// them: what arrives is exactly the state sent, and NOTIFY_SOCKET leaves the environment.
#include "sd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

namespace llorch::daemon {
namespace {

// A bound datagram socket standing in for the service manager's.
class manager_socket {
  public:
    explicit manager_socket(const std::string& address) : fd_(::socket(AF_UNIX, SOCK_DGRAM, 0)) {
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, address.data(), address.size());
        bool abstract = address.front() == '@';
        if (abstract) sa.sun_path[0] = '\0';
        auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                          (abstract ? 0 : 1));
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) == 0;
    }
    ~manager_socket() { ::close(fd_); }
    bool bound() const { return bound_; }
    // The next datagram, or "(none)" after a second.
    std::string receive() const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 1000) != 1) return "(none)";
        char buf[512];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? "(error)" : std::string(buf, static_cast<size_t>(n));
    }

  private:
    int fd_;
    bool bound_ = false;
};

std::string unique_name(const std::string& prefix) {
    return prefix + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
}

TEST(sd_notifier, sends_the_state_to_a_socket_path) {
    auto path = std::filesystem::temp_directory_path() / unique_name("llorch-notify-");
    manager_socket manager(path.string());
    ASSERT_TRUE(manager.bound());
    sd_notifier n(path.string());
    EXPECT_EQ(n.notify("READY=1\nSTATUS=serving"), "");
    EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=serving");
    std::filesystem::remove(path);
}

TEST(sd_notifier, sends_to_an_abstract_socket_named_with_an_at_sign) {
    auto name = "@" + unique_name("llorch-notify-");
    manager_socket manager(name);
    ASSERT_TRUE(manager.bound());
    EXPECT_EQ(sd_notifier(name).notify("STOPPING=1"), "");
    EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST(sd_notifier, takes_notify_socket_out_of_the_environment) {
    ::setenv("NOTIFY_SOCKET", "@llorch-test", 1);
    auto n = sd_notifier::from_environment();
    EXPECT_TRUE(n.enabled());
    EXPECT_EQ(n.address(), "@llorch-test");
    EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr) << "a child would inherit it";
    // Without the variable: nothing to do, and nothing fails.
    auto none = sd_notifier::from_environment();
    EXPECT_FALSE(none.enabled());
    EXPECT_EQ(none.notify("READY=1"), "");
}

TEST(sd_notifier, names_the_problem_with_an_unusable_address) {
    EXPECT_NE(sd_notifier("relative/path").notify("READY=1").find("relative/path"),
              std::string::npos);
    EXPECT_NE(sd_notifier(std::string(200, '/')).notify("READY=1"), "");
    auto missing = sd_notifier("/nonexistent-dir/notify").notify("READY=1");
    EXPECT_NE(missing.find("/nonexistent-dir/notify"), std::string::npos) << missing;
}

}  // namespace
}  // namespace llorch::daemon
