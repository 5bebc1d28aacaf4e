#pragma once
// The values at a few paths of a JSON object, read in one pass without building a DOM: for the
// chunks of engine streams, parsed once per token, of which the relay reads a handful of fields.
// A path is its keys and array indexes joined with '.': "content", "timings.predicted_ms",
// "choices.0.delta.content". An empty key, or one that holds a dot, matches no
// path. A value that is an
// object or an array is reported by its kind only. A number's integer reading saturates.
//
// Cost: one SAX pass over the text (Boost.JSON's basic_parser); per value, one comparison of its
// path with each wanted path; strings are copied only when wanted. The object is reused from one
// text to the next, so its buffers are allocated once.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llorch::api {

class json_pick {
  public:
    enum class kind { absent, string, integer, number, boolean, null, object, array };
    struct value {
        kind k = kind::absent;
        std::string text;       // kind::string
        long long integer = 0;  // kind::integer, and kind::number truncated
        double number = 0;      // kind::number, and kind::integer converted
        bool boolean = false;   // kind::boolean
    };

    explicit json_pick(std::vector<std::string> paths);
    ~json_pick();
    json_pick(const json_pick&) = delete;
    json_pick& operator=(const json_pick&) = delete;

    // Reads one text: false when it is not a single JSON object (every value is then absent).
    bool parse(std::string_view text);
    // The value at the i-th path given to the constructor, for the last text parsed.
    const value& operator[](size_t i) const { return values_[i]; }

    struct state;  // the parser's handler and its buffers, kept from one text to the next

  private:
    std::vector<std::string> paths_;
    std::vector<value> values_;
    std::unique_ptr<state> state_;
};

}  // namespace llorch::api
