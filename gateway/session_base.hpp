// The transport-independent half of a WebSocket session: requests, subscriptions,
// conflation and batching. ws_session<Stream> adds the socket (plain or TLS).
//
// Conflation: each subscription has a dirty flag and the version last sent. While a
// write is in flight, changes only set flags; when it completes, every dirty
// subscription goes out in ONE message built as a buffer sequence over the channels'
// shared fragments. A session therefore holds at most one pending update per
// subscription plus a bounded queue of control replies: its memory is bounded by its
// subscription count, not by the feed rate.
#pragma once

#include "io_worker.hpp"
#include "protocol.hpp"

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mdgw {

class session_base;

struct subscription {
  session_base* owner = nullptr;
  book_channel* channel = nullptr;
  std::uint64_t last_rec = 0; // the channel record this client's book is at (0: none)
  bool dirty = false;
};

class session_base : public connection {
public:
  // Control replies a client may leave unread before it is closed as abusive.
  static constexpr std::size_t kMaxPendingReplies = 1024;

  explicit session_base(io_worker& worker);
  ~session_base() override;

  void mark_dirty(subscription* s);
  // Starts a write if none is in flight and something is pending.
  void flush();
  bool in_ready_list = false;

protected:
  // Handles one client text frame.
  void on_text(std::string_view text);
  // The transport writes one WebSocket text message made of these buffers and calls
  // on_write_done when it completes. The buffers stay valid until then.
  virtual void write_message(std::span<const net::const_buffer> buffers) = 0;
  // Closes the WebSocket with a code (after pending writes).
  virtual void close_with(websocket::close_code code, std::string_view reason) = 0;
  void on_write_done();
  // The connection is over: leave every channel and the worker's registry.
  void detach();

  io_worker& worker_;
  bool closing_ = false;

private:
  void queue_reply(std::string msg);
  void subscribe(const protocol::request& req);
  void unsubscribe(const protocol::request& req);
  subscription* find(instrument_id id, int depth);

  std::vector<std::unique_ptr<subscription>> subs_;
  std::vector<subscription*> dirty_;
  std::deque<std::string> replies_;
  bool writing_ = false;
  bool attached_ = true;
  // The message in flight: its buffers and what keeps them alive.
  std::string reply_in_flight_;
  std::string prefix_;
  std::vector<net::const_buffer> buffers_;
  std::vector<std::shared_ptr<const std::string>> hold_;
};

} // namespace mdgw
