#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace llorch::daemon {

sd_notifier sd_notifier::from_environment() {
    const char* v = std::getenv("NOTIFY_SOCKET");
    std::string address = v ? v : "";
    ::unsetenv("NOTIFY_SOCKET");
    return sd_notifier(std::move(address));
}

std::string sd_notifier::notify(std::string_view state) const {
    if (address_.empty()) return {};
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const bool abstract = address_.front() == '@';
    if ((!abstract && address_.front() != '/') || address_.size() > sizeof sa.sun_path - 1 ||
        (abstract && address_.size() < 2))
        return "NOTIFY_SOCKET '" + address_ + "' is not a socket path or an @abstract name";
    std::memcpy(sa.sun_path, address_.data(), address_.size());
    // An abstract name starts with a NUL byte and has no terminator: its length says where it ends.
    if (abstract) sa.sun_path[0] = '\0';
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                      (abstract ? 0 : 1));
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    ssize_t sent;
    do {
        sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                        reinterpret_cast<const sockaddr*>(&sa), len);
    } while (sent < 0 && errno == EINTR);
    int err = errno;
    ::close(fd);
    if (sent < 0) return "sending to " + address_ + ": " + std::strerror(err);
    return {};
}

}  // namespace llorch::daemon
