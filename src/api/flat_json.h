#pragma once
// A flat JSON object written straight into a string, for frames on the hot path where a DOM
// would be built only to be serialized: keys come from the code (not escaped), string values are
// escaped, numbers written as integers. `closed()` gives the object so far, and the writer can go
// on (a frame and its twin with one more field share the work).
//
// Cost: one append per field; no allocation beyond the string's growth.

#include <string>
#include <string_view>

namespace llorch::api {

class flat_json {
  public:
    flat_json() : out_("{") {}

    flat_json& str(std::string_view key, std::string_view value);
    flat_json& num(std::string_view key, long long value);
    flat_json& null(std::string_view key);

    // The object with every field so far.
    std::string closed() const { return out_ + '}'; }

  private:
    void key(std::string_view k);
    std::string out_;
};

}  // namespace llorch::api
