#pragma once
// client_departure: tells a handler that its client went away before the answer was out — while
// the request waited in a queue, ran, or streamed. The server watches the connection from the
// moment the request has been read (a read that ends with end-of-file or an error means the
// client left) and calls depart() once; a handler that has work to stop registers what to do
// with on_departure(). Without it, a request whose client left would run to its end for nobody.
//
// Owner: the server's session and the request (shared). Thread: the control thread only (the
// server posts depart() there); destroying it elsewhere is fine, so callbacks must not own
// control-thread state (capture ids and references to services, not streams).

#include <functional>
#include <vector>

namespace llorch::http {

class client_departure {
  public:
    bool departed() const { return departed_; }
    // Runs `f` once the client has gone: now, when it already has.
    void on_departure(std::function<void()> f);
    // The server's call: the client went away. Runs every registered callback once.
    void depart();

  private:
    bool departed_ = false;
    std::vector<std::function<void()>> callbacks_;
};

}  // namespace llorch::http
