#pragma once
// Every name a pool answers to in a task's model_ref: its name, its aliases, the model's path and
// `file:<path>`. Shared by the HOME dispatcher and a node's registration.

#include <string>
#include <vector>

#include "pool/pool_manager.h"

namespace llorch::pool {

std::vector<std::string> model_names(const pool_snapshot& s);

}  // namespace llorch::pool
