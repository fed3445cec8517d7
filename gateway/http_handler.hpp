// Plain HTTP endpoints: /health, /instruments, /book/<SYM>, /status/<SYM>, and the UI
// (gateway/web/, embedded: see web_assets.hpp) at / and /client/mdgw.js.
#pragma once

#include "feed.hpp"
#include "net.hpp"
#include "publication.hpp"

#include <chrono>
#include <vector>

namespace mdgw {

class io_worker;

struct http_context {
  publication& pub;
  std::vector<feed*> feeds;
  std::vector<io_worker*> workers;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

[[nodiscard]] http::response<http::string_body> handle_http(const http_context& ctx,
                                                            const http::request<http::string_body>& req);

} // namespace mdgw
