#pragma once
// A model reference as the original contract writes them (`model_ref`), parsed into what a node
// can fetch: `file:/abs/path` (or `file:///abs/path`, or a bare absolute path),
// `http://…`, `https://…`, and `hf:ORG/REPO/FILE.gguf`, which is Hugging Face's
// `https://huggingface.co/ORG/REPO/resolve/main/FILE.gguf` (the file at the repository's main
// branch; FILE may sit in folders). Any other scheme (`s3:`, `ollama:`, …) is
// `unsupported_scheme` with a message naming the schemes this build fetches. Pure.

#include <string>
#include <string_view>

#include "catalog/catalog_error.h"

namespace llorch::catalog {

enum class ref_scheme { file, http, https, hf };

std::string_view to_string(ref_scheme s);

struct model_ref {
    ref_scheme scheme = ref_scheme::file;
    std::string location;  // file: the absolute path; http(s): the URL; hf: ORG/REPO/FILE.gguf

    // What to fetch: the path for file:, the URL for the others (hf: mapped as above).
    std::string fetch_url() const;
    // The file name the reference ends with (e.g. "tiny.gguf"), for a default model name.
    std::string file_name() const;
};

catalog_result<model_ref> parse_model_ref(std::string_view text);

}  // namespace llorch::catalog
