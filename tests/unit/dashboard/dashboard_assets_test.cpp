#include "dashboard/dashboard_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace llorch::dashboard {
namespace {
namespace fs = std::filesystem;

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(dashboard_assets, every_file_of_the_source_tree_is_built_in_byte_for_byte) {
    size_t n = 0;
    for (const auto& f : fs::directory_iterator(LLORCH_DASHBOARD_ASSETS)) {
        auto a = find_asset(f.path().filename().string());
        ASSERT_TRUE(a) << f.path();
        EXPECT_EQ(a->body, read(f.path())) << f.path();
        ++n;
    }
    EXPECT_GE(n, 3u);
    EXPECT_EQ(find_asset("dashboard.js")->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(index_page().content_type, "text/html; charset=utf-8");
    EXPECT_FALSE(find_asset("../CMakeLists.txt"));
    EXPECT_FALSE(find_asset(""));
}

TEST(dashboard_assets, the_page_loads_nothing_from_elsewhere) {
    auto page = std::string(index_page().body);
    std::regex ref(R"((src|href)=\"([^\"]*)\")");
    size_t refs = 0;
    for (std::sregex_iterator it(page.begin(), page.end(), ref), end; it != end; ++it) {
        auto target = (*it)[2].str();
        ASSERT_TRUE(target.starts_with("/ui/")) << target;
        EXPECT_TRUE(find_asset(target.substr(4))) << target;
        ++refs;
    }
    EXPECT_EQ(refs, 2u);
    // No URL but SVG's namespace name (an identifier, never fetched).
    for (const auto* f : {"index.html", "dashboard.js", "dashboard.css"}) {
        auto text = std::regex_replace(std::string(find_asset(f)->body),
                                       std::regex("http://www\\.w3\\.org/2000/svg"), "");
        EXPECT_EQ(text.find("http://"), std::string::npos) << f;
        EXPECT_EQ(text.find("https://"), std::string::npos) << f;
        EXPECT_EQ(text.find("//cdn"), std::string::npos) << f;
    }
}

TEST(prefers_html, a_browser_navigation_prefers_the_page) {
    EXPECT_TRUE(
        prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                     "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"));
    EXPECT_TRUE(prefers_html("text/html"));
    EXPECT_TRUE(prefers_html("TEXT/HTML; charset=utf-8"));
}

TEST(prefers_html, api_clients_and_curl_do_not) {
    EXPECT_FALSE(prefers_html(""));
    EXPECT_FALSE(prefers_html("*/*"));
    EXPECT_FALSE(prefers_html("application/json"));
    EXPECT_FALSE(prefers_html("application/json, text/html;q=0.5"));
    EXPECT_FALSE(prefers_html("text/html;q=0"));
}

}  // namespace
}  // namespace llorch::dashboard
