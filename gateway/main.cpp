// mdgw: wires the feeds, the publication and the gateway server. Explicit wiring, no
// singletons: everything is constructed here and destroyed in reverse order.
#include "config.hpp"
#include "crypto_setup.hpp"
#include "server.hpp"
#include "simulator_feed.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  mdgw::gateway_config cfg;
  try {
    cfg = mdgw::parse_config(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const mdgw::config_error& e) {
    std::fprintf(stderr, "mdgw: %s\n", e.what());
    return 2;
  }
  if (cfg.help) {
    std::fputs(mdgw::usage().c_str(), stdout);
    return 0;
  }
  try {
    mdgw::simulator_config sc;
    sc.seed = cfg.sim_seed;
    sc.instruments = cfg.sim_instruments;
    sc.rate = cfg.sim_rate;
    sc.max_events = cfg.sim_events;
    mdgw::publication pub(cfg.io_threads, std::max<std::size_t>(cfg.sim_instruments, 1) +
                                              mdgw::crypto_instrument_count(cfg.crypto) + 16);
    mdgw::simulator_feed sim(sc, pub);
    const auto crypto_feeds = mdgw::make_crypto_feeds(cfg.crypto, pub);
    std::vector<mdgw::feed*> feeds{&sim};
    for (const auto& f : crypto_feeds) feeds.push_back(f.get());
    mdgw::server srv(cfg, pub, feeds);
    // Every feed publishes its initial books before the port opens: no client ever sees
    // an instrument without a state (live crypto instruments start `resyncing`).
    for (mdgw::feed* f : feeds) f->start();
    const auto ready_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (mdgw::feed* f : feeds) {
      while (f->status().state == "starting") {
        if (std::chrono::steady_clock::now() > ready_by) throw std::runtime_error("feed " + f->status().name + " did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    const auto port = srv.start();
    std::printf("mdgw: listening on %s:%u (http/ws%s)\n", cfg.bind.c_str(), static_cast<unsigned>(port),
                cfg.cert_file.empty() ? "" : " and https/wss");
    std::fflush(stdout);
    srv.run_until_signal();
    for (auto it = feeds.rbegin(); it != feeds.rend(); ++it) (*it)->stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw: %s\n", e.what());
    return 1;
  }
  return 0;
}
