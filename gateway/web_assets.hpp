// The UI's static files (gateway/web/), embedded into the binary at build time by
// gateway/embed_web.py.
//
// Rationale: a self-contained binary serves the same screen from any working directory,
// and a lookup in a fixed table cannot be led outside it (no path traversal to defend
// against on a file system). The files are small (tens of kB); they are served from
// read-only memory off the hot path (HTTP requests only).
#pragma once

#include <span>
#include <string_view>

namespace mdgw {

struct web_asset {
  std::string_view path;          // URL path, e.g. "/index.html", "/client/mdgw.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

// Every embedded file (defined in the generated web_assets.cpp).
[[nodiscard]] std::span<const web_asset> web_assets();

// The asset served at `path` ("/" is "/index.html"); nullptr when none. Only exact names
// of the table match, so no path ("..", "%2e", a backslash, a NUL) reaches anything else.
[[nodiscard]] const web_asset* find_web_asset(std::string_view path);

} // namespace mdgw
