#pragma once
// Every name a pool answers to in a task's model_ref: its name, its aliases, the model's path and
// `file:<path>`. Shared by the HOME dispatcher and a node's registration.

#include <string>
#include <string_view>
#include <vector>

#include "pool/pool_manager.h"

namespace llorch::pool {

std::vector<std::string> model_names(const pool_snapshot& s);
// Whether `ref` is one of model_names for a pool of this name, aliases and model path; copies
// nothing (it runs for every submitted task).
bool answers_to(std::string_view name, const std::vector<std::string>& aliases,
                std::string_view model_path, std::string_view ref);

}  // namespace llorch::pool
