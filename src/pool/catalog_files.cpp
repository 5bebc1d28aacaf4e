#include "pool/catalog_files.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <mutex>

#include <openssl/evp.h>
#include <boost/json.hpp>

#include "pool/catalog_json.h"

namespace llorch::pool::catalog_files {
namespace json = boost::json;
using catalog::catalog_errc;
using catalog::catalog_error;
using catalog::catalog_result;

namespace {

catalog_error io(std::string m) { return {catalog_errc::io_error, std::move(m)}; }

constexpr size_t chunk = 1u << 20;

catalog_result<std::string> sha256_of(const fs::path& p, uint64_t& hashed) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return io("cannot read " + p.string());
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        return io("sha256 is not available");
    std::vector<char> buf(chunk);
    while (f) {
        f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto n = f.gcount();
        if (n > 0) {
            EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
            hashed += static_cast<uint64_t>(n);
        }
    }
    if (f.bad()) return io("cannot read " + p.string());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

struct file_stat {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    bool regular = false;
};

std::optional<file_stat> stat_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return std::nullopt;
    return file_stat{static_cast<uint64_t>(st.st_size),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                     S_ISREG(st.st_mode)};
}

std::map<std::string, catalog::catalog_entry> read_index(const fs::path& index) {
    std::map<std::string, catalog::catalog_entry> out;
    std::ifstream f(index, std::ios::binary);
    if (!f) return out;
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return out;
    auto* files = v.get_object().if_contains("files");
    if (!files) return out;
    auto entries = catalog_entries_from_json(*files);
    if (!entries) return out;  // a damaged index only costs a rehash
    for (auto& e : *entries) out[e.path] = std::move(e);
    return out;
}

std::string marker_of(const fs::path& part) { return part.string() + ".source"; }

}  // namespace

catalog_result<catalog::catalog_entry> describe(const fs::path& p, catalog::model_name n,
                                                bool pool_file, uint64_t& hashed) {
    auto st = stat_of(p);
    if (!st || !st->regular) return io(p.string() + " is not a readable file");
    auto sha = sha256_of(p, hashed);
    if (!sha) return sha.error();
    auto reader = model::gguf_reader::open(p);
    if (!reader)
        return catalog_error{catalog_errc::bad_model,
                             p.string() + " is not a GGUF model: " + reader.error().message};
    auto summary = catalog::summarize(*reader);
    if (!summary) return summary.error();
    catalog::catalog_entry e;
    e.name = std::move(n);
    e.path = p.string();
    e.size_bytes = st->size;
    e.mtime_ns = st->mtime_ns;
    e.sha256 = std::move(*sha);
    e.summary = std::move(*summary);
    e.pool_file = pool_file;
    return e;
}

scan_result scan(const std::vector<std::pair<std::string, std::string>>& pool_files,
                 const fs::path& models_dir, const fs::path& index) {
    scan_result out;
    auto known = read_index(index);
    // (name, path, pool file)
    std::vector<std::tuple<catalog::model_name, fs::path, bool>> todo;
    for (const auto& [name, path] : pool_files) {
        auto st = stat_of(path);
        if (!st || !st->regular) continue;  // a remote model id, or a file not there (yet)
        auto n = catalog::parse_model_name(name);
        if (!n) {
            out.warnings.push_back(path + ": " + n.error().message);
            continue;
        }
        todo.emplace_back(std::move(*n), fs::path(path), true);
    }
    std::error_code ec;
    if (!models_dir.empty())
        for (const auto& d : fs::directory_iterator(models_dir, ec)) {
            auto file = d.path().filename().string();
            if (file.starts_with(".") || !file.ends_with(".gguf")) continue;
            auto n = catalog::name_of_file(file);
            if (!n) {
                out.warnings.push_back(d.path().string() + ": " + n.error().message);
                continue;
            }
            todo.emplace_back(std::move(*n), d.path(), false);
        }
    if (ec) out.warnings.push_back(models_dir.string() + ": " + ec.message());
    for (auto& [name, path, pool_file] : todo) {
        auto st = stat_of(path);
        auto it = known.find(path.string());
        if (st && it != known.end() && it->second.size_bytes == st->size &&
            it->second.mtime_ns == st->mtime_ns && !it->second.sha256.empty()) {
            auto e = it->second;
            e.name = name;
            e.pool_file = pool_file;
            out.entries.push_back(std::move(e));
            ++out.reused;
            continue;
        }
        auto e = describe(path, name, pool_file, out.hashed_bytes);
        if (!e) {
            out.warnings.push_back(e.error().message);
            continue;
        }
        if (it != known.end()) e->source = it->second.source;
        out.entries.push_back(std::move(*e));
    }
    return out;
}

catalog_result<void> write_index(const fs::path& index,
                                 const std::vector<catalog::catalog_entry>& entries) {
    // Two saves may overlap on the pool's two threads: one at a time, so the last one wins.
    static std::mutex m;
    std::lock_guard lock(m);
    std::error_code ec;
    fs::create_directories(index.parent_path(), ec);
    auto tmp = index;
    tmp += ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << json::serialize(json::object{{"version", 1}, {"files", to_json(entries)}});
        if (!f) return io("cannot write " + tmp.string());
    }
    fs::rename(tmp, index, ec);
    if (ec) return io("cannot rename " + tmp.string() + ": " + ec.message());
    return {};
}

catalog_result<uint64_t> prepare_part(const fs::path& part, const std::string& source) {
    std::error_code ec;
    fs::create_directories(part.parent_path(), ec);
    if (ec) return io("cannot create " + part.parent_path().string() + ": " + ec.message());
    std::string was;
    {
        std::ifstream m(marker_of(part), std::ios::binary);
        std::getline(m, was);
    }
    auto st = stat_of(part);
    if (st && was == source) return st->size;
    std::ofstream m(marker_of(part), std::ios::binary | std::ios::trunc);
    m << source << "\n";
    if (!m) return io("cannot write " + marker_of(part));
    if (auto t = truncate(part); !t) return t.error();
    return uint64_t{0};
}

catalog_result<void> append(const fs::path& part, const std::string& bytes) {
    std::ofstream f(part, std::ios::binary | std::ios::app);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) return io("cannot write " + part.string());
    return {};
}

catalog_result<void> truncate(const fs::path& part) {
    std::ofstream f(part, std::ios::binary | std::ios::trunc);
    if (!f) return io("cannot write " + part.string());
    return {};
}

catalog_result<uint64_t> file_size(const fs::path& p) {
    auto st = stat_of(p);
    if (!st || !st->regular) return io("cannot read " + p.string());
    return st->size;
}

catalog_result<uint64_t> copy_chunk(const fs::path& from, const fs::path& part, uint64_t offset,
                                    uint64_t max) {
    std::ifstream in(from, std::ios::binary);
    if (!in) return io("cannot read " + from.string());
    in.seekg(static_cast<std::streamoff>(offset));
    std::string buf(max, '\0');
    in.read(buf.data(), static_cast<std::streamsize>(max));
    if (in.bad()) return io("cannot read " + from.string());
    buf.resize(static_cast<size_t>(in.gcount()));
    if (buf.empty()) return uint64_t{0};
    if (auto a = append(part, buf); !a) return a.error();
    return static_cast<uint64_t>(buf.size());
}

catalog_result<catalog::catalog_entry> install(const fs::path& part, const fs::path& dest,
                                               const std::string& sha256, catalog::model_name n,
                                               const std::string& source, uint64_t& hashed) {
    auto discard = [&] {
        std::error_code ec;
        fs::remove(part, ec);
        fs::remove(marker_of(part), ec);
    };
    auto e = describe(part, std::move(n), false, hashed);
    if (!e && e.error().code == catalog_errc::bad_model) {
        discard();
        return catalog_error{catalog_errc::bad_model,
                             "the download from " + source + " is not a GGUF model"};
    }
    if (!e) return e.error();
    if (!sha256.empty() && e->sha256 != sha256) {
        discard();
        return catalog_error{catalog_errc::checksum_mismatch,
                             "the download's sha256 is " + e->sha256 + ", not the " + sha256 +
                                 " asked for; it was discarded"};
    }
    std::error_code ec;
    if (fs::exists(dest, ec)) {
        discard();
        return catalog_error{catalog_errc::duplicate, dest.string() + " already exists"};
    }
    fs::rename(part, dest, ec);
    if (ec) return io("cannot rename into " + dest.string() + ": " + ec.message());
    fs::remove(marker_of(part), ec);
    e->path = dest.string();
    e->source = source;
    if (auto st = stat_of(dest)) e->mtime_ns = st->mtime_ns;
    return e;
}

catalog_result<void> remove_file(const fs::path& p) {
    std::error_code ec;
    if (!fs::remove(p, ec) && ec) return io("cannot remove " + p.string() + ": " + ec.message());
    return {};
}

}  // namespace llorch::pool::catalog_files
