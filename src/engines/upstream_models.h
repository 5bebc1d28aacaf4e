#pragma once
// The models an Ollama or OpenAI-compatible server says it serves: the body of its health path
// (`GET /api/tags` `{"models": [{"name", "model"}]}`; `GET /v1/models` `{"data": [{"id"}]}`),
// read on every probe of such a server, so the list stays current as models are pulled or
// removed there. Pure.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engines/engine_adapter.h"

namespace llorch::engines {

// The names listed, in the server's order; nullopt when the body is not that shape (llama.cpp
// has no such list: always nullopt).
std::optional<std::vector<std::string>> parse_upstream_models(engine_kind_id kind,
                                                              std::string_view body);

// Whether `model` is among `listed`. Ollama names a model without a tag as `name:latest`, so
// `llama3` matches `llama3:latest` (and the other way round).
bool lists_model(const std::vector<std::string>& listed, std::string_view model);

}  // namespace llorch::engines
