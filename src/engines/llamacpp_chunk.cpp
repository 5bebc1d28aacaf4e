#include "engines/llamacpp_chunk.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace llorch::engines {
namespace {

struct cursor {
    const char* p;
    const char* end;

    bool at_end() const { return p == end; }
    void skip_space() {
        // Chunks are written without whitespace: the first test is the one that usually ends it.
        while (p != end && static_cast<unsigned char>(*p) <= ' ' &&
               (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            ++p;
    }
    bool eat(char c) {
        if (p == end || *p != c) return false;
        ++p;
        return true;
    }
    // `c` after optional whitespace (tried at once first: chunks come without whitespace).
    bool expect(char c) {
        if (eat(c)) return true;
        skip_space();
        return eat(c);
    }
    bool eat(std::string_view word) {
        if (static_cast<size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word)
            return false;
        p += word.size();
        return true;
    }
};

// The bytes a string's fast run stops at: the closing quote, an escape, a control character and
// the start of a multi-byte UTF-8 sequence.
constexpr std::array<bool, 256> string_stop = [] {
    std::array<bool, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = i < 0x20 || i >= 0x80 || i == '"' || i == '\\';
    return t;
}();

bool stops(const char* p) { return string_stop[static_cast<unsigned char>(*p)]; }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool hex4(cursor& c, unsigned& out) {
    if (c.end - c.p < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
        int d = hex_digit(c.p[i]);
        if (d < 0) return false;
        out = out * 16 + static_cast<unsigned>(d);
    }
    c.p += 4;
    return true;
}

void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// One UTF-8 sequence starting at a byte ≥ 0x80, strictly (no overlong forms, no surrogates,
// nothing above U+10FFFF), as Boost.JSON checks it.
bool utf8_sequence(cursor& c) {
    auto b = [&](std::ptrdiff_t i) { return static_cast<unsigned char>(c.p[i]); };
    auto cont = [&](std::ptrdiff_t i) { return (b(i) & 0xC0) == 0x80; };
    unsigned char lead = b(0);
    std::ptrdiff_t left = c.end - c.p;
    if (lead >= 0xC2 && lead <= 0xDF) {
        if (left < 2 || !cont(1)) return false;
        c.p += 2;
        return true;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (left < 3 || !cont(1) || !cont(2)) return false;
        if (lead == 0xE0 && b(1) < 0xA0) return false;  // overlong
        if (lead == 0xED && b(1) > 0x9F) return false;  // a surrogate
        c.p += 3;
        return true;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return false;
        if (lead == 0xF0 && b(1) < 0x90) return false;  // overlong
        if (lead == 0xF4 && b(1) > 0x8F) return false;  // above U+10FFFF
        c.p += 4;
        return true;
    }
    return false;
}

// A string after its opening quote, up to and past its closing quote. With `out`, its decoded
// text is written there; `raw` gets the text between the quotes as it stands.
bool string_value(cursor& c, std::string* out, std::string_view* raw = nullptr,
                  bool* escaped = nullptr) {
    const char* start = c.p;
    bool esc = false;
    for (;;) {
        // Plain text four bytes at a time.
        while (c.end - c.p >= 4 && !(stops(c.p) | stops(c.p + 1) | stops(c.p + 2) | stops(c.p + 3)))
            c.p += 4;
        if (c.at_end()) return false;
        auto ch = static_cast<unsigned char>(*c.p);
        if (ch == '"') break;
        if (ch < 0x20) return false;
        if (ch == '\\') {
            esc = true;
            if (c.end - c.p < 2) return false;
            c.p += 2;
            switch (c.p[-1]) {
                case '"':
                case '\\':
                case '/':
                case 'b':
                case 'f':
                case 'n':
                case 'r':
                case 't':
                    break;
                case 'u': {
                    unsigned u;
                    if (!hex4(c, u)) return false;
                    if (u >= 0xDC00 && u <= 0xDFFF) return false;  // a lone low surrogate
                    if (u >= 0xD800 && u <= 0xDBFF) {
                        unsigned lo;
                        if (!c.eat('\\') || !c.eat('u') || !hex4(c, lo) || lo < 0xDC00 ||
                            lo > 0xDFFF)
                            return false;
                    }
                    break;
                }
                default:
                    return false;
            }
            continue;
        }
        if (ch >= 0x80) {
            if (!utf8_sequence(c)) return false;
            continue;
        }
        ++c.p;
    }
    std::string_view text(start, static_cast<size_t>(c.p - start));
    ++c.p;  // the closing quote
    if (raw) *raw = text;
    if (escaped) *escaped = esc;
    if (!out) return true;
    out->clear();
    if (!esc) {
        out->assign(text);
        return true;
    }
    // Validated above: every escape is complete and well formed.
    for (size_t i = 0; i < text.size();) {
        char ch = text[i];
        if (ch != '\\') {
            size_t next = text.find('\\', i);
            if (next == std::string_view::npos) next = text.size();
            out->append(text.substr(i, next - i));
            i = next;
            continue;
        }
        char e = text[i + 1];
        i += 2;
        switch (e) {
            case 'b':
                *out += '\b';
                break;
            case 'f':
                *out += '\f';
                break;
            case 'n':
                *out += '\n';
                break;
            case 'r':
                *out += '\r';
                break;
            case 't':
                *out += '\t';
                break;
            case 'u': {
                cursor h{text.data() + i, text.data() + text.size()};
                unsigned u = 0;
                hex4(h, u);
                i += 4;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    cursor l{text.data() + i + 2, text.data() + text.size()};
                    unsigned lo = 0;
                    hex4(l, lo);
                    i += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                }
                append_utf8(*out, u);
                break;
            }
            default:  // '"', '\\', '/'
                *out += e;
                break;
        }
    }
    return true;
}

// An integer as JSON writes it, of at most 18 digits (no fraction or exponent: a chunk with one
// goes the general way).
bool integer(cursor& c) {
    c.eat('-');
    const char* digits = c.p;
    while (!c.at_end() && *c.p >= '0' && *c.p <= '9') ++c.p;
    auto n = c.p - digits;
    if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return false;
    return c.at_end() || (*c.p != '.' && *c.p != 'e' && *c.p != 'E');
}

bool integer_array(cursor& c) {
    if (c.expect(']')) return true;
    for (;;) {
        c.skip_space();
        if (!integer(c)) return false;
        if (c.expect(']')) return true;
        if (!c.expect(',')) return false;
    }
}

}  // namespace

llamacpp_chunk scan_llamacpp_chunk(std::string_view data, std::string& content) {
    cursor c{data.data(), data.data() + data.size()};
    content.clear();
    if (!c.expect('{')) return llamacpp_chunk::other;
    if (!c.expect('}')) {
        for (;;) {
            if (!c.expect('"')) return llamacpp_chunk::other;
            std::string_view key;
            bool key_escaped = false;
            if (!string_value(c, nullptr, &key, &key_escaped) || key_escaped)
                return llamacpp_chunk::other;
            if (key == "error") return llamacpp_chunk::other;
            if (!c.expect(':')) return llamacpp_chunk::other;
            c.skip_space();
            if (c.at_end()) return llamacpp_chunk::other;
            bool is_content = key == "content";
            bool is_stop = key == "stop";
            if (c.eat('"')) {
                // A key seen twice: the last value counts, as in json_pick.
                if (is_stop || !string_value(c, is_content ? &content : nullptr))
                    return llamacpp_chunk::other;
            } else if (is_content) {
                return llamacpp_chunk::other;
            } else if (c.eat("false")) {
            } else if (is_stop) {
                return llamacpp_chunk::other;  // true (the last chunk), or not a boolean
            } else if (c.eat("true") || c.eat("null")) {
            } else if (c.eat('[')) {
                if (!integer_array(c)) return llamacpp_chunk::other;
            } else if (!integer(c)) {
                return llamacpp_chunk::other;
            }
            if (c.expect('}')) break;
            if (!c.expect(',')) return llamacpp_chunk::other;
        }
    }
    c.skip_space();
    return c.at_end() ? llamacpp_chunk::token : llamacpp_chunk::other;
}

}  // namespace llorch::engines
