#include "net.hpp"

#include <cstdio>

namespace mdgw {

bool benign(const error_code& ec) {
  return ec == net::error::operation_aborted || ec == websocket::error::closed || ec == net::error::eof ||
         ec == http::error::end_of_stream || ec == ssl::error::stream_truncated ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe || ec == beast::error::timeout;
}

void fail(const error_code& ec, const char* what) {
  if (benign(ec)) return;
  std::fprintf(stderr, "mdgw: %s: %s\n", what, ec.message().c_str());
}

} // namespace mdgw
