#include "http/client_departure.h"

#include <utility>

namespace llorch::http {

void client_departure::on_departure(std::function<void()> f) {
    if (departed_) {
        f();
        return;
    }
    callbacks_.push_back(std::move(f));
}

void client_departure::depart() {
    if (departed_) return;
    departed_ = true;
    auto callbacks = std::move(callbacks_);
    callbacks_.clear();
    for (auto& f : callbacks) f();
}

}  // namespace llorch::http
