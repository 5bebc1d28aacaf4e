#include "catalog/catalog_entry.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace llorch::catalog {

namespace {

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool valid_part(std::string_view s, size_t max) {
    return !s.empty() && s.size() <= max && s.front() != '.' && s.front() != '-' &&
           std::all_of(s.begin(), s.end(), name_char);
}

}  // namespace

std::string_view file_type_name(int64_t t) {
    // llama.cpp's llama_ftype numbering (include/llama.h), by the names its tools print.
    static const std::map<int64_t, std::string_view> names{
        {0, "F32"},      {1, "F16"},      {2, "Q4_0"},      {3, "Q4_1"},    {7, "Q8_0"},
        {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},     {11, "Q3_K_S"}, {12, "Q3_K_M"},
        {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},   {16, "Q5_K_S"}, {17, "Q5_K_M"},
        {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},   {21, "Q2_K_S"}, {22, "IQ3_XS"},
        {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},   {26, "IQ3_S"},  {27, "IQ3_M"},
        {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},   {31, "IQ1_M"},  {32, "BF16"},
        {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"}};
    auto it = names.find(t);
    return it == names.end() ? std::string_view() : it->second;
}

catalog_result<gguf_summary> summarize(const model::gguf_reader& r) {
    auto h = r.hparams();
    if (!h) return catalog_error{catalog_errc::bad_model, h.error().message};
    gguf_summary s;
    s.architecture = h->architecture;
    s.context_length = h->context_length;
    s.block_count = h->block_count;
    s.head_count = h->head_count;
    s.head_count_kv = h->head_count_kv;
    s.embedding_length = h->embedding_length;
    s.chat_template = r.find("tokenizer.chat_template") != nullptr;
    // Bytes per tensor type, for a file that does not name its file type.
    std::map<model::tensor_type, uint64_t> bytes_by_type;
    for (const auto& t : r.tensors()) {
        s.parameter_count += t.element_count();
        bytes_by_type[t.type] += t.n_bytes;
    }
    if (const auto* ft = r.find("general.file_type"))
        if (auto v = ft->get_uint()) s.file_type = static_cast<int64_t>(*v);
    s.quantization = std::string(file_type_name(s.file_type));
    if (s.quantization.empty() && !bytes_by_type.empty()) {
        auto main = std::max_element(bytes_by_type.begin(), bytes_by_type.end(),
                                     [](auto& a, auto& b) { return a.second < b.second; });
        if (auto info = model::tensor_type_info(main->first)) {
            s.quantization = std::string(info->name);
            std::transform(s.quantization.begin(), s.quantization.end(), s.quantization.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        }
    }
    return s;
}

catalog_result<model_name> parse_model_name(std::string_view text) {
    auto colon = text.find(':');
    model_name n;
    n.name = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) n.tag = std::string(text.substr(colon + 1));
    if (!valid_part(n.name, 128))
        return catalog_error{catalog_errc::invalid_name,
                             "model name '" + std::string(text.substr(0, 200)) +
                                 "': 1 to 128 of A-Z a-z 0-9 . _ - (not starting with . or -), "
                                 "optionally :tag"};
    if (!valid_part(n.tag, 64))
        return catalog_error{catalog_errc::invalid_name,
                             "model tag '" + n.tag.substr(0, 200) +
                                 "': 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -)"};
    return n;
}

catalog_result<model_name> name_of_file(std::string_view file_name) {
    constexpr std::string_view ext = ".gguf";
    if (!file_name.ends_with(ext) || file_name.size() == ext.size())
        return catalog_error{catalog_errc::invalid_name,
                             "'" + std::string(file_name) + "' is not a .gguf file"};
    return parse_model_name(file_name.substr(0, file_name.size() - ext.size()));
}

bool valid_sha256(std::string_view hex) {
    return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

}  // namespace llorch::catalog
