#include "catalog/model_ref.h"

#include <gtest/gtest.h>

namespace llorch::catalog {
namespace {

TEST(model_ref, file_references_name_an_absolute_path) {
    for (const char* text : {"file:/models/a.gguf", "file:///models/a.gguf", "/models/a.gguf"}) {
        auto r = parse_model_ref(text);
        ASSERT_TRUE(r) << text << ": " << r.error().message;
        EXPECT_EQ(r->scheme, ref_scheme::file);
        EXPECT_EQ(r->location, "/models/a.gguf");
        EXPECT_EQ(r->fetch_url(), "/models/a.gguf");
        EXPECT_EQ(r->file_name(), "a.gguf");
    }
}

TEST(model_ref, relative_and_remote_file_references_are_refused) {
    for (const char* text : {"file:a.gguf", "file://host/a.gguf", "models/a.gguf", ""}) {
        auto r = parse_model_ref(text);
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, catalog_errc::invalid_ref) << text;
    }
}

TEST(model_ref, http_urls_keep_their_query_out_of_the_file_name) {
    auto r = parse_model_ref("https://example.org/m/q4.gguf?download=1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->scheme, ref_scheme::https);
    EXPECT_EQ(r->fetch_url(), "https://example.org/m/q4.gguf?download=1");
    EXPECT_EQ(r->file_name(), "q4.gguf");
    auto h = parse_model_ref("http://127.0.0.1:8000/tiny.gguf");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->scheme, ref_scheme::http);
    EXPECT_FALSE(parse_model_ref("http:///tiny.gguf"));
    EXPECT_FALSE(parse_model_ref("http://a b/x.gguf"));
}

TEST(model_ref, hf_maps_to_the_resolve_url_of_the_main_branch) {
    auto r = parse_model_ref("hf:TheOrg/the-repo-GGUF/sub/model.Q4_K_M.gguf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->scheme, ref_scheme::hf);
    EXPECT_EQ(r->fetch_url(),
              "https://huggingface.co/TheOrg/the-repo-GGUF/resolve/main/sub/model.Q4_K_M.gguf");
    EXPECT_EQ(r->file_name(), "model.Q4_K_M.gguf");
}

TEST(model_ref, hf_without_a_file_or_with_a_revision_is_refused_clearly) {
    auto short_ref = parse_model_ref("hf:TheOrg/repo");
    ASSERT_FALSE(short_ref);
    EXPECT_EQ(short_ref.error().code, catalog_errc::invalid_ref);
    EXPECT_FALSE(parse_model_ref("hf:TheOrg/../x.gguf"));
    auto rev = parse_model_ref("hf:TheOrg/repo@v2/x.gguf");
    ASSERT_FALSE(rev);
    EXPECT_EQ(rev.error().code, catalog_errc::unsupported_scheme);
}

TEST(model_ref, other_schemes_are_named_as_unsupported) {
    auto r = parse_model_ref("s3://bucket/x.gguf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, catalog_errc::unsupported_scheme);
    EXPECT_NE(r.error().message.find("'s3:'"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace llorch::catalog
