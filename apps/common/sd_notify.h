#pragma once
// systemd's readiness protocol (sd_notify(3)) without libsystemd: when the service manager
// started the daemon with NOTIFY_SOCKET set, state lines ("READY=1", "STOPPING=1", "STATUS=...")
// go to that unix datagram socket; a name starting with '@' is an abstract socket. Without
// NOTIFY_SOCKET every call does nothing, so the daemons behave the same under any other manager.
//
// from_environment() also removes NOTIFY_SOCKET from the environment (as sd_notify's
// unset_environment does), so that no engine or other child ever inherits it and speaks for the
// daemon. It is called once on the main thread before any other thread starts (unsetenv is not
// thread-safe). Owner: the daemon's run loop; notify() may be called from its thread.

#include <string>
#include <string_view>

namespace llorch::daemon {

class sd_notifier {
  public:
    sd_notifier() = default;
    explicit sd_notifier(std::string address) : address_(std::move(address)) {}

    // Takes NOTIFY_SOCKET out of the environment; disabled when it was not set.
    static sd_notifier from_environment();

    bool enabled() const { return !address_.empty(); }
    const std::string& address() const { return address_; }

    // Sends `state` as one datagram. An empty string when sent (or disabled), otherwise why not:
    // an unusable address or a socket error.
    std::string notify(std::string_view state) const;

  private:
    std::string address_;
};

}  // namespace llorch::daemon
