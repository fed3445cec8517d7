"""Embeds the UI (gateway/web/) into the mdgw binary: writes a C++ file that defines
mdgw::web_assets(), one entry per file, its URL path, content type and bytes.

usage: python3 embed_web.py OUT.cpp WEB_ROOT FILE...

Rationale: embedding at build time makes the binary self-contained (scripts/demo and the
tests work from any directory, no --web-root to get wrong) and makes path traversal
impossible by construction: the server only looks names up in this fixed table.
"""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def main() -> None:
    out, root, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    lines = ['#include "web_assets.hpp"', "", "namespace mdgw {", "", "namespace {", ""]
    entries = []
    for i, path in enumerate(sorted(files)):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        ext = os.path.splitext(rel)[1]
        if ext not in TYPES:
            sys.exit(f"embed_web.py: no content type for {rel}")
        data = open(path, "rb").read()
        body = ",".join(str(b) for b in data)
        lines.append(f"constexpr unsigned char d{i}[] = {{{body},0}};")
        entries.append(f'  {{"/{rel}", "{TYPES[ext]}", std::string_view(reinterpret_cast<const char*>(d{i}), {len(data)})}},')
    lines += ["", "} // namespace", "", "std::span<const web_asset> web_assets() {",
              "  static const web_asset table[] = {"] + entries + [
              "  };", "  return table;", "}", "", "} // namespace mdgw", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
