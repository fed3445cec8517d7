// The embedded UI (gateway/web/ → web_assets.cpp): what / and /client/mdgw.js serve, and
// that no spelling of a path outside the table finds anything.
#include "web_assets.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mdgw {
namespace {

TEST(WebAssets, ServesTheScreenAndTheClientWithTheirContentTypes) {
  const web_asset* index = find_web_asset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index, find_web_asset("/index.html"));
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<script type=\"module\" src=\"/app.js\">"), std::string_view::npos);

  const web_asset* client = find_web_asset("/client/mdgw.js");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(client->body.find("export class MdgwClient"), std::string_view::npos);

  ASSERT_NE(find_web_asset("/app.css"), nullptr);
  EXPECT_EQ(find_web_asset("/app.css")->content_type, "text/css; charset=utf-8");
  ASSERT_NE(find_web_asset("/app.js"), nullptr);
}

TEST(WebAssets, EveryFileIsWhole) {
  ASSERT_EQ(web_assets().size(), 4u);
  for (const web_asset& a : web_assets()) {
    EXPECT_TRUE(a.path.starts_with('/')) << a.path;
    ASSERT_FALSE(a.body.empty()) << a.path;
    EXPECT_NE(a.body.back(), '\0') << a.path << ": the terminator is not part of the body";
    EXPECT_EQ(a.body.find('\0'), std::string_view::npos) << a.path;
  }
}

TEST(WebAssets, RefusesPathsOutsideTheTable) {
  for (const char* p : {"", "index.html", "/../index.html", "/client/../index.html", "/./index.html",
                        "/client/./mdgw.js", "/..", "/client/..", "/%2e%2e/index.html", "/client%2fmdgw.js",
                        "/client\\mdgw.js", "/web/index.html", "/embed_web.py", "/client/", "/index.html/",
                        "//index.html", "/INDEX.HTML", "/health", "/book/SIM:AAPL"}) {
    EXPECT_EQ(find_web_asset(p), nullptr) << p;
  }
  EXPECT_EQ(find_web_asset(std::string_view("/index.html\0x", 13)), nullptr);
}

} // namespace
} // namespace mdgw
