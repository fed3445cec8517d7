// mdgw: wires the feeds, the publication and the gateway server. Explicit wiring, no
// singletons: everything is constructed here and destroyed in reverse order.
//
//   mdgw [options]      the gateway (see --help)
//   mdgw book ...       print ITCH books (see `mdgw book --help`, docs/itch.md)
//   mdgw capture ...    inspect a recording (see `mdgw capture --help`, docs/recording.md)
#include "book_command.hpp"
#include "capture_command.hpp"
#include "config.hpp"
#include "crypto_setup.hpp"
#include "itch_feed.hpp"
#include "recording_writer.hpp"
#include "replay_feed.hpp"
#include "server.hpp"
#include "simulator_feed.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

std::unique_ptr<mdgw::itch::itch_feed> make_itch_feed(const mdgw::gateway_config& cfg, mdgw::publication& pub) {
  if (cfg.itch_file.empty() && cfg.itch_mold_group.empty()) return nullptr;
  mdgw::itch::itch_feed_config ic;
  ic.source.file = cfg.itch_file;
  ic.source.speed = cfg.itch_speed;
  ic.source.progress = true;
  ic.source.mold_group = cfg.itch_mold_group;
  ic.source.mold_interface = cfg.itch_mold_interface;
  ic.source.mold_retrans = cfg.itch_mold_retrans;
  ic.source.mold_request_timeout = cfg.itch_mold_timeout;
  ic.venue = cfg.itch_venue;
  ic.midnight_ns = mdgw::itch::midnight_new_york(cfg.itch_date);
  ic.max_symbols = cfg.itch_max_symbols;
  try {
    return std::make_unique<mdgw::itch::itch_feed>(ic, pub);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(cfg.itch_file.empty() ? "--itch-mold-group: " : "--itch-file: ") + e.what());
  }
}

// Starts every feed and waits until each has published its initial state, so no client
// ever sees an instrument without one (live crypto instruments start `resyncing`).
void start_feeds(const std::vector<mdgw::feed*>& feeds) {
  for (mdgw::feed* f : feeds) f->start();
  const auto ready_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (mdgw::feed* f : feeds) {
    while (f->status().state == "starting") {
      if (std::chrono::steady_clock::now() > ready_by) throw std::runtime_error("feed " + f->status().name + " did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "book") return mdgw::run_book_command({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "capture") return mdgw::run_capture_command({args.begin() + 1, args.end()});
  mdgw::gateway_config cfg;
  try {
    cfg = mdgw::parse_config(args);
  } catch (const mdgw::config_error& e) {
    std::fprintf(stderr, "mdgw: %s\n", e.what());
    return 2;
  }
  if (cfg.help) {
    std::fputs(mdgw::usage().c_str(), stdout);
    return 0;
  }
  try {
    const bool itch = !cfg.itch_file.empty() || !cfg.itch_mold_group.empty();
    // The recording to replay is read whole first: its instruments count into the
    // capacity, and a bad file stops startup here.
    std::optional<mdgw::recording::capture_summary> replay_scan;
    if (!cfg.replay_file.empty()) {
      try {
        replay_scan = mdgw::recording::scan_capture(cfg.replay_file);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("--replay ") + e.what());
      }
    }
    const std::size_t capacity = cfg.sim_instruments + (itch ? cfg.itch_max_symbols : 0) +
                                 mdgw::crypto_instrument_count(cfg.crypto) +
                                 (replay_scan ? replay_scan->instruments.size() : 0) + 16;
    // Before the publication: its producers' recorders point into the writer.
    std::unique_ptr<mdgw::recording::recording_writer> recorder;
    if (!cfg.record_file.empty()) {
      try {
        recorder = std::make_unique<mdgw::recording::recording_writer>(cfg.record_file, MDGW_VERSION);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("--record ") + e.what());
      }
    }
    mdgw::publication pub(cfg.io_threads, capacity, cfg.trade_history);
    if (recorder) pub.set_recorder(*recorder);
    std::vector<mdgw::feed*> feeds;
    std::unique_ptr<mdgw::simulator_feed> sim;
    if (cfg.sim_instruments > 0) {
      mdgw::simulator_config sc;
      sc.seed = cfg.sim_seed;
      sc.instruments = cfg.sim_instruments;
      sc.rate = cfg.sim_rate;
      sc.max_events = cfg.sim_events;
      sim = std::make_unique<mdgw::simulator_feed>(sc, pub);
      feeds.push_back(sim.get());
    }
    auto itch_feed = make_itch_feed(cfg, pub);
    if (itch_feed) feeds.push_back(itch_feed.get());
    const auto crypto_feeds = mdgw::make_crypto_feeds(cfg.crypto, pub);
    for (const auto& f : crypto_feeds) feeds.push_back(f.get());
    std::unique_ptr<mdgw::recording::replay_feed> replay;
    if (replay_scan) {
      mdgw::recording::replay_config rc;
      rc.file = cfg.replay_file;
      rc.rate = cfg.replay_rate;
      rc.loop = cfg.replay_loop;
      replay = std::make_unique<mdgw::recording::replay_feed>(rc, *replay_scan, pub);
      feeds.push_back(replay.get());
    }
    mdgw::server srv(cfg, pub, feeds);
    start_feeds(feeds);
    const auto port = srv.start();
    std::printf("mdgw: listening on %s:%u (http/ws%s)\n", cfg.bind.c_str(), static_cast<unsigned>(port),
                cfg.cert_file.empty() ? "" : " and https/wss");
    std::fflush(stdout);
    srv.run_until_signal();
    for (auto it = feeds.rbegin(); it != feeds.rend(); ++it) (*it)->stop();
    if (recorder) {
      // The feeds are stopped: nothing more is published, the recording is complete.
      const std::string error = recorder->close();
      if (!error.empty()) {
        std::fprintf(stderr, "mdgw: --record %s\n", error.c_str());
        return 1;
      }
      std::printf("mdgw: recorded %llu batches (%llu bytes) to %s\n",
                  static_cast<unsigned long long>(recorder->batches()),
                  static_cast<unsigned long long>(recorder->bytes()), recorder->path().c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw: %s\n", e.what());
    return 1;
  }
  return 0;
}
