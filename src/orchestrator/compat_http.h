#pragma once
// What every compatible endpoint adds around its handler: CORS (browser apps and extensions on
// an allowed origin may call it; a request from another origin is refused, so a web page cannot
// drive the local API) and `x-request-id` (the client's, echoed, else the correlation id), as the
// OpenAI and Ollama servers do.
// Owner: the route table. Thread: the control plane's io thread.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace llorch::orchestrator {
namespace asio = boost::asio;

// Which browser origins may call the compatible endpoints: loopback web origins
// (http[s]://localhost, 127.0.0.1, [::1] on any port) and the app schemes Ollama allows
// (app://, file://, tauri://, vscode-webview://, chrome-extension://, moz-extension://), plus
// configured ones (exact origins, or "*" for any).
class cors_policy {
  public:
    explicit cors_policy(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {}
    bool allows(std::string_view origin) const;

  private:
    std::vector<std::string> extra_;
};

// `h` with the CORS check and headers and x-request-id.
http::handler with_compat_headers(http::handler h, std::shared_ptr<const cors_policy> cors);
// The answer to a CORS preflight (OPTIONS) on a compatible path.
http::handler cors_preflight(std::shared_ptr<const cors_policy> cors);

}  // namespace llorch::orchestrator
