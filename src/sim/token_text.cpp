#include "sim/token_text.h"

#include <fmt/format.h>

namespace llorch::sim {

token_text::token_text(std::string_view pattern) {
    size_t start = 0;
    for (;;) {
        const size_t bar = pattern.find('|', start);
        std::string_view part = pattern.substr(
            start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
        alternative a;
        if (auto at = part.find("{i}"); at != std::string_view::npos) {
            a.before = std::string(part.substr(0, at));
            a.after = std::string(part.substr(at + 3));
            a.has_index = true;
        } else {
            a.before = std::string(part);
        }
        // FNV-1a of the text: ids that look arbitrary yet stay the same from run to run.
        uint32_t h = 2166136261u;
        for (char c : part) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
        a.id = first_id + static_cast<int>(h % 30000);
        alts_.push_back(std::move(a));
        if (bar == std::string_view::npos) break;
        start = bar + 1;
    }
}

std::string token_text::text(int index) const {
    const auto& a = alts_[static_cast<size_t>(index) % alts_.size()];
    if (!a.has_index) return a.before;
    return fmt::format("{}{}{}", a.before, index, a.after);
}

int token_text::id(int index) const { return alts_[static_cast<size_t>(index) % alts_.size()].id; }

int token_text::count_prompt_tokens(std::string_view prompt) {
    int n = 1;
    size_t word = 0;
    auto flush = [&] {
        if (word > 0) n += static_cast<int>((word + 3) / 4);
        word = 0;
    };
    for (char c : prompt) {
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            flush();
        } else {
            ++word;
        }
    }
    flush();
    return n;
}

}  // namespace llorch::sim
