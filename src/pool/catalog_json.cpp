#include "pool/catalog_json.h"

#include <boost/json.hpp>

namespace llorch::pool {
namespace json = boost::json;
using catalog::catalog_errc;

namespace {

api::error invalid_catalog(std::string m) {
    return api::make_error(api::error_code::invalid_params, "catalog: " + std::move(m));
}

uint64_t count_of(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    if (!v) return 0;
    if (v->is_uint64()) return v->get_uint64();
    return v->is_int64() && v->get_int64() > 0 ? static_cast<uint64_t>(v->get_int64()) : 0;
}

std::string text_of(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

json::object to_json(const catalog::catalog_entry& e) {
    const auto& s = e.summary;
    return json::object{{"name", e.name.display()},
                        {"model", e.name.name},
                        {"tag", e.name.tag},
                        {"path", e.path},
                        {"size_bytes", e.size_bytes},
                        {"mtime_ns", e.mtime_ns},
                        {"sha256", e.sha256},
                        {"source", e.source},
                        {"pool_file", e.pool_file},
                        {"metadata", json::object{{"architecture", s.architecture},
                                                  {"parameter_count", s.parameter_count},
                                                  {"quantization", s.quantization},
                                                  {"file_type", s.file_type},
                                                  {"context_length", s.context_length},
                                                  {"block_count", s.block_count},
                                                  {"head_count", s.head_count},
                                                  {"head_count_kv", s.head_count_kv},
                                                  {"embedding_length", s.embedding_length},
                                                  {"chat_template", s.chat_template}}}};
}

api::api_result<catalog::catalog_entry> catalog_entry_from_json(const json::value& v) {
    if (!v.is_object()) return invalid_catalog("an entry must be an object");
    const auto& o = v.get_object();
    catalog::catalog_entry e;
    auto full = text_of(o, "model") + ":" + text_of(o, "tag");
    auto name = catalog::parse_model_name(full);
    if (!name) return invalid_catalog(name.error().message);
    e.name = std::move(*name);
    e.path = text_of(o, "path");
    if (e.path.empty() || e.path.size() > 4096) return invalid_catalog("an entry needs a path");
    e.size_bytes = count_of(o, "size_bytes");
    if (auto* m = o.if_contains("mtime_ns"); m && m->is_int64()) e.mtime_ns = m->get_int64();
    e.sha256 = text_of(o, "sha256");
    if (!e.sha256.empty() && !catalog::valid_sha256(e.sha256))
        return invalid_catalog("sha256: 64 hex digits");
    e.source = text_of(o, "source");
    if (auto* p = o.if_contains("pool_file"); p && p->is_bool()) e.pool_file = p->get_bool();
    if (auto* m = o.if_contains("metadata"); m && m->is_object()) {
        const auto& md = m->get_object();
        auto& s = e.summary;
        s.architecture = text_of(md, "architecture");
        s.parameter_count = count_of(md, "parameter_count");
        s.quantization = text_of(md, "quantization");
        if (auto* f = md.if_contains("file_type"); f && f->is_int64()) s.file_type = f->get_int64();
        s.context_length = count_of(md, "context_length");
        s.block_count = count_of(md, "block_count");
        s.head_count = count_of(md, "head_count");
        s.head_count_kv = count_of(md, "head_count_kv");
        s.embedding_length = count_of(md, "embedding_length");
        if (auto* c = md.if_contains("chat_template"); c && c->is_bool())
            s.chat_template = c->get_bool();
    }
    return e;
}

json::array to_json(const std::vector<catalog::catalog_entry>& entries) {
    json::array a;
    for (const auto& e : entries) a.push_back(to_json(e));
    return a;
}

api::api_result<std::vector<catalog::catalog_entry>> catalog_entries_from_json(
    const json::value& v) {
    if (!v.is_array()) return invalid_catalog("the catalog must be an array");
    if (v.get_array().size() > 100'000) return invalid_catalog("more than 100000 entries");
    std::vector<catalog::catalog_entry> out;
    for (const auto& x : v.get_array()) {
        auto e = catalog_entry_from_json(x);
        if (!e) return e.error();
        out.push_back(std::move(*e));
    }
    return out;
}

std::string_view error_name(catalog_errc c) {
    switch (c) {
        case catalog_errc::invalid_ref:
            return "INVALID_REF";
        case catalog_errc::unsupported_scheme:
            return "UNSUPPORTED_SCHEME";
        case catalog_errc::invalid_name:
            return "INVALID_NAME";
        case catalog_errc::not_found:
            return "NOT_FOUND";
        case catalog_errc::duplicate:
            return "DUPLICATE";
        case catalog_errc::bad_model:
            return "BAD_MODEL";
        case catalog_errc::checksum_mismatch:
            return "CHECKSUM_MISMATCH";
        case catalog_errc::io_error:
            return "IO_ERROR";
        case catalog_errc::conflict:
            return "CONFLICT";
    }
    return "INTERNAL";
}

json::object to_json(const catalog::staging_job& j, const std::string& node_id,
                     std::chrono::steady_clock::time_point now) {
    json::object o{{"job_id", j.id()},
                   {"state", catalog::to_string(j.state())},
                   {"source", j.request().source},
                   {"name", j.name().display()},
                   {"node_id", node_id},
                   {"bytes", j.bytes()},
                   {"rate_bytes_per_s", static_cast<uint64_t>(j.rate(now))},
                   {"resumes", j.resumes()}};
    o["total"] = j.total() ? json::value(*j.total()) : json::value(nullptr);
    auto eta = j.eta(now);
    o["eta_ms"] = eta ? json::value(eta->count()) : json::value(nullptr);
    o["error"] = j.error() ? json::value(json::object{{"code", error_name(j.error()->code)},
                                                      {"message", j.error()->message}})
                           : json::value(nullptr);
    o["model"] = j.entry() ? json::value(to_json(*j.entry())) : json::value(nullptr);
    return o;
}

api::error to_api_error(const catalog::catalog_error& e) {
    using api::error_code;
    switch (e.code) {
        case catalog_errc::not_found:
            return api::make_error(error_code::not_found, e.message);
        case catalog_errc::conflict:
        case catalog_errc::duplicate:
            return api::make_error(error_code::conflict, e.message);
        case catalog_errc::invalid_ref:
        case catalog_errc::unsupported_scheme:
        case catalog_errc::invalid_name:
        case catalog_errc::checksum_mismatch:
        case catalog_errc::bad_model:
            return api::make_error(error_code::invalid_params, e.message);
        case catalog_errc::io_error:
            break;
    }
    return api::make_error(error_code::internal, e.message);
}

}  // namespace llorch::pool
