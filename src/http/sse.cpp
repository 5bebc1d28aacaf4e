#include "http/sse.h"

#include <cstring>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace llorch::http {

void append_sse(std::string& out, std::string_view event, std::string_view data,
                std::optional<long long> id) {
    if (id) {
        out += "id: ";
        out += std::to_string(*id);
        out += '\n';
    }
    if (!event.empty()) {
        out += "event: ";
        out += event;
        out += '\n';
    }
    size_t start = 0;
    for (;;) {
        size_t nl = data.find('\n', start);
        out += "data: ";
        out += data.substr(start, nl == std::string_view::npos ? nl : nl - start);
        out += '\n';
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    out += '\n';
}

std::string sse_frame(std::string_view event, std::string_view data) {
    std::string out;
    append_sse(out, event, data);
    return out;
}

std::string sse_frame(std::string_view event, const boost::json::object& data) {
    return sse_frame(event, boost::json::serialize(data));
}

// Lines are found with memchr and handed on as views of the input; only a line split across
// two pieces is copied into line_.
void sse_parser::feed(std::string_view bytes, std::vector<sse_event>& out) {
    while (!bytes.empty()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        const char* p = bytes.data();
        size_t end = bytes.size();
        if (const void* nl = std::memchr(p, '\n', end)) end = static_cast<const char*>(nl) - p;
        if (const void* cr = std::memchr(p, '\r', end)) end = static_cast<const char*>(cr) - p;
        if (end == bytes.size()) {
            line_.append(bytes);
            return;
        }
        if (bytes[end] == '\r') skip_lf_ = true;
        if (line_.empty()) {
            line(bytes.substr(0, end), out);
        } else {
            line_.append(bytes.substr(0, end));
            line(line_, out);
            line_.clear();
        }
        bytes.remove_prefix(end + 1);
    }
}

void sse_parser::line(std::string_view l, std::vector<sse_event>& out) {
    if (l.empty()) {
        if (has_data_ || !cur_.event.empty()) out.push_back(std::move(cur_));
        cur_ = {};
        has_data_ = false;
        return;
    }
    if (l.front() == ':') return;  // comment (keep-alive)
    auto colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
        if (has_data_) cur_.data += '\n';
        cur_.data += value;
        has_data_ = true;
    } else if (field == "event") {
        cur_.event = value;
    } else if (field == "id") {
        cur_.id = std::string(value);
    }
}

}  // namespace llorch::http
