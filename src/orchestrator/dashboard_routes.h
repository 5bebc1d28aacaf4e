#pragma once
// The web dashboard's routes (the files are built into the binary: src/dashboard):
//
//   GET /            the page, for a request whose Accept prefers HTML (a browser); anything
//                    else gets the route's other answer (Ollama's "Ollama is running")
//   GET /ui/{name}   the page's script and style
//
// Both are public: the files hold no data, and the page asks for the API token itself and sends
// it with every call it makes (GET /v2/events, the drain and reload buttons). Thread: the
// control plane's io thread.

#include "http/router.h"

namespace llorch::orchestrator {

void add_dashboard_assets(http::router& r);
// A browser's GET / (public without a token: the page asks for one).
bool wants_dashboard(const http::request& q);
// `otherwise` for every request but a browser's GET /, which gets the page.
http::handler dashboard_or(http::handler otherwise);

}  // namespace llorch::orchestrator
