#pragma once
// The text and id of each simulated token. A pattern of alternatives separated by '|' is cycled
// through ("␣the|␣quick|␣fox"); "{i}" in an alternative becomes the token's index in its
// response. Pure value type, read-only after construction.

#include <string>
#include <string_view>
#include <vector>

namespace llorch::sim {

class token_text {
  public:
    explicit token_text(std::string_view pattern = " tok");

    std::string text(int index) const;
    // A stable id per alternative in [first_id, first_id + 30000): the same text, the same id.
    int id(int index) const;
    static constexpr int first_id = 1000;

    // How many prompt tokens a text counts as, roughly as a tokenizer would: each whitespace-
    // separated word is one token per 4 bytes begun, plus one for the start of the sequence.
    static int count_prompt_tokens(std::string_view prompt);

  private:
    struct alternative {
        std::string before;  // text before "{i}", or all of it
        std::string after;   // text after "{i}"
        bool has_index = false;
        int id = first_id;
    };
    std::vector<alternative> alts_;
};

}  // namespace llorch::sim
