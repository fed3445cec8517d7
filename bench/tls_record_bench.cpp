// One TLS 1.3 record of a ui-sized message (4 KiB), sealed and opened two ways: by
// OpenSSL 3.0's record layer (SSL_write / SSL_read on a connection set up in memory, the
// server configured as the gateway's: buffers released when idle) and by
// tls13_record_key, as mdgw's tls_fd_stream and mdgw-bench now do
// (gateway/tls13_record_key.hpp).
//
//   BM_tls_record_openssl_write   the gateway's old path: the frame copied into one buffer,
//                                 SSL_write_ex, the record taken out of the BIO
//   BM_tls_record_own_seal/suite  head and body sealed into the send batch's storage
//   BM_tls_record_openssl_write_read, BM_tls_record_own_seal_open/suite: the same plus
//                                 the client's side (the harness's read)
//
// suite: 0x1301 AES-128-GCM, 0x1302 AES-256-GCM (what OpenSSL negotiates between its
// own client and server), 0x1303 ChaCha20-Poly1305.
#include "self_signed.hpp"
#include "tls13_record_key.hpp"

#include <benchmark/benchmark.h>

#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kHead = 4;

struct ssl_pair {
  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL* server = nullptr;
  SSL* client = nullptr;
  BIO* client_end = nullptr; // the client's end of the pair: what the server wrote
  bool ok = false;

  ssl_pair() {
    const mdgw::test::self_signed s = mdgw::test::make_self_signed();
    if (s.cert == nullptr || SSL_CTX_use_certificate(server_ctx, s.cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(server_ctx, s.key.get()) != 1) {
      return;
    }
    SSL_CTX_set_mode(server_ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_num_tickets(server_ctx, 0);
    server = SSL_new(server_ctx);
    client = SSL_new(client_ctx);
    BIO* server_end = nullptr;
    if (BIO_new_bio_pair(&server_end, 1 << 17, &client_end, 1 << 17) != 1) return;
    SSL_set_bio(server, server_end, server_end);
    SSL_set_bio(client, client_end, client_end);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    for (int i = 0; i < 100; ++i) {
      const int c = SSL_do_handshake(client);
      const int v = SSL_do_handshake(server);
      if (c == 1 && v == 1) {
        ok = true;
        return;
      }
    }
  }
  ~ssl_pair() {
    SSL_free(server); // frees the pair's ends
    SSL_free(client);
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
  }
};

std::unique_ptr<mdgw::tls13_record_key> key_for(std::uint16_t suite, bool opening) {
  unsigned char secret[48];
  std::memset(secret, 0x5a, sizeof secret); // the same for the sealing and the opening key
  const std::size_t len = suite == 0x1302 ? 48 : 32;
  return mdgw::tls13_record_key::make(suite, secret, len, 0, opening);
}

void BM_tls_record_openssl_write(benchmark::State& state) {
  ssl_pair p;
  if (!p.ok) {
    state.SkipWithError("in-memory TLS handshake failed");
    return;
  }
  const std::size_t size = std::size_t(state.range(0));
  const std::string head(kHead, 'h'), body(size - kHead, 'b');
  std::vector<char> scratch(16384);
  std::string storage;
  std::vector<char> drain(1 << 16);
  for (auto _ : state) {
    std::memcpy(scratch.data(), head.data(), head.size());
    std::memcpy(scratch.data() + head.size(), body.data(), body.size());
    std::size_t n = 0;
    if (SSL_write_ex(p.server, scratch.data(), size, &n) != 1) {
      state.SkipWithError("SSL_write_ex failed");
      return;
    }
    const int k = BIO_read(p.client_end, drain.data(), int(drain.size()));
    storage.assign(drain.data(), std::size_t(k)); // the capture's copy into the batch
    benchmark::DoNotOptimize(storage.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
  state.SetLabel(SSL_CIPHER_get_name(SSL_get_current_cipher(p.server)));
}

void BM_tls_record_own_seal(benchmark::State& state) {
  const auto key = key_for(std::uint16_t(state.range(1)), false);
  if (!key) {
    state.SkipWithError("tls13_record_key::make failed");
    return;
  }
  const std::size_t size = std::size_t(state.range(0));
  const std::string head(kHead, 'h'), body(size - kHead, 'b');
  std::string storage(16384 + 64, '\0');
  for (auto _ : state) {
    const mdgw::tls13_record_key::piece pieces[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
    const std::size_t k = key->seal(mdgw::tls13_record_key::kApplicationData, pieces, 2,
                                    reinterpret_cast<unsigned char*>(storage.data()));
    benchmark::DoNotOptimize(k);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

void BM_tls_record_openssl_write_read(benchmark::State& state) {
  ssl_pair p;
  if (!p.ok) {
    state.SkipWithError("in-memory TLS handshake failed");
    return;
  }
  const std::size_t size = std::size_t(state.range(0));
  const std::string msg(size, 'm');
  std::vector<char> out(size);
  for (auto _ : state) {
    std::size_t n = 0;
    if (SSL_write_ex(p.server, msg.data(), size, &n) != 1 || SSL_read_ex(p.client, out.data(), size, &n) != 1) {
      state.SkipWithError("SSL_write_ex or SSL_read_ex failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
  state.SetLabel(SSL_CIPHER_get_name(SSL_get_current_cipher(p.server)));
}

void BM_tls_record_own_seal_open(benchmark::State& state) {
  const std::uint16_t suite = std::uint16_t(state.range(1));
  const auto sealer = key_for(suite, false);
  const auto opener = key_for(suite, true);
  if (!sealer || !opener) {
    state.SkipWithError("tls13_record_key::make failed");
    return;
  }
  const std::size_t size = std::size_t(state.range(0));
  const std::string msg(size, 'm');
  std::string record(16384 + 64, '\0');
  std::vector<unsigned char> out(16384 + 64);
  for (auto _ : state) {
    const mdgw::tls13_record_key::piece piece{msg.data(), msg.size()};
    auto* r = reinterpret_cast<unsigned char*>(record.data());
    const std::size_t k = sealer->seal(mdgw::tls13_record_key::kApplicationData, &piece, 1, r);
    unsigned char type = 0;
    if (k == 0 || opener->open(r, r + 5, k - 5, out.data(), type) != long(size)) {
      state.SkipWithError("seal or open failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

} // namespace

BENCHMARK(BM_tls_record_openssl_write)->Arg(4096);
BENCHMARK(BM_tls_record_own_seal)->Args({4096, 0x1301})->Args({4096, 0x1302})->Args({4096, 0x1303});
BENCHMARK(BM_tls_record_openssl_write_read)->Arg(4096);
BENCHMARK(BM_tls_record_own_seal_open)->Args({4096, 0x1301})->Args({4096, 0x1302})->Args({4096, 0x1303});
