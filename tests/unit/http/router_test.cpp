#include "http/router.h"

#include <gtest/gtest.h>

namespace llorch::http {
namespace {

handler noop() {
    return [](request) -> asio::awaitable<response> { co_return response::no_content(); };
}

TEST(router, captures_decode_percent_escapes_so_a_cluster_pool_name_fits_one_segment) {
    router r;
    r.add("POST", "/v2/pools/{id}/drain", noop());
    auto m = r.match("POST", "/v2/pools/node1%2Fpool-a/drain");
    ASSERT_NE(m.h, nullptr);
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0], "node1/pool-a");
    // A plain id and a stray '%' stay as they are.
    EXPECT_EQ(r.match("POST", "/v2/pools/tiny/drain").params[0], "tiny");
    EXPECT_EQ(r.match("POST", "/v2/pools/50%/drain").params[0], "50%");
    // An unescaped '/' is still a separator.
    EXPECT_EQ(r.match("POST", "/v2/pools/node1/pool-a/drain").h, nullptr);
}

}  // namespace
}  // namespace llorch::http
