// The server's TLS 1.3 record protection for application traffic (RFC 8446 5.2 and 7.3),
// done here instead of inside OpenSSL once the handshake is over (tls_fd_stream.hpp).
//
// Rationale: in the tls scenario (1,000 wss clients on one core, one record of ~4 KiB per
// message) OpenSSL 3.0's SSL_write cost mdgw about as much around the cipher as in it:
// libssl's record layer and the EVP provider lookups it makes per record (IV length,
// mode, tag, each through OSSL_PARAM name searches), a write buffer allocated and freed
// per record (SSL_MODE_RELEASE_BUFFERS, which idle connections need), a copy of the frame
// into one buffer for SSL_write and a copy of the record out of OpenSSL's. Here a record
// is sealed with one EVP context, set up once per key, straight from the frame's pieces
// into the buffer it is sent from.
//
// What it does: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 records under a traffic
// secret, the per-record nonce (the IV xor the 64-bit sequence number), the inner content
// type, no padding; and the next secret for a KeyUpdate ("traffic upd"). A key made for
// opening does the reverse: mdgw-bench reads the gateway's records with it, for the same
// reason (bench/harness/load_worker.cpp). What it does not do: anything of the
// handshake, TLS 1.2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_md_st EVP_MD;

namespace mdgw {

class tls13_record_key {
public:
  // Record content types (RFC 8446 5.1) that the server writes.
  static constexpr unsigned char kAlert = 21;
  static constexpr unsigned char kHandshake = 22;
  static constexpr unsigned char kApplicationData = 23;
  // Header (5), inner content type (1), tag (16).
  static constexpr std::size_t kOverhead = 5 + 1 + 16;
  static constexpr std::size_t kMaxPlaintext = 16384;
  static constexpr std::size_t kMaxSecret = 48;

  struct piece {
    const void* data;
    std::size_t size;
  };

  // suite: the negotiated TLS 1.3 suite's two-byte id (0x1301 AES-128-GCM-SHA256, 0x1302
  // AES-256-GCM-SHA384, 0x1303 CHACHA20-POLY1305-SHA256); secret: the current
  // application traffic secret of the side that seals (its hash's length); seq: records
  // already sealed under it; opening: a key that opens records instead of sealing them.
  // Null when the suite is not one of these or OpenSSL cannot set the key.
  static std::unique_ptr<tls13_record_key> make(std::uint16_t suite, const unsigned char* secret,
                                                std::size_t secret_len, std::uint64_t seq, bool opening = false);
  ~tls13_record_key();
  tls13_record_key(const tls13_record_key&) = delete;
  tls13_record_key& operator=(const tls13_record_key&) = delete;

  // Seals the concatenation of `n` pieces (at most kMaxPlaintext bytes in all) as one
  // record of content type `type` into `out`, which has room for their size + kOverhead.
  // Returns the record's size, or 0 if OpenSSL failed (nothing may be sent then).
  [[nodiscard]] std::size_t seal(unsigned char type, const piece* pieces, std::size_t n, unsigned char* out);

  // Opens one protected record: `header` its 5 bytes, `body` the `len` after them, into
  // `out` (room for len bytes). Returns the content's size (without the inner content
  // type and padding) and sets `type`; -1 when the record does not authenticate or is
  // malformed.
  [[nodiscard]] long open(const unsigned char* header, const unsigned char* body, std::size_t len, unsigned char* out,
                          unsigned char& type);

  // Moves to the next traffic secret (after sending a KeyUpdate under this one). False if
  // OpenSSL failed.
  [[nodiscard]] bool update_key();

  // The secret of a keylog line (SSL_CTX_set_keylog_callback: "<label> <client random>
  // <secret>", in hex) with this label, into `out` (kMaxSecret bytes): its length, or 0
  // when the line has another label or is malformed.
  [[nodiscard]] static std::size_t secret_from_keylog(const char* line, const char* label, unsigned char* out);

  // RFC 8446 5.5: AES-GCM keys must be updated before about 2^24.5 records; a KeyUpdate
  // is due at this many (chosen well below for every suite).
  static constexpr std::uint64_t kRecordsPerKey = std::uint64_t{1} << 24;
  [[nodiscard]] bool key_update_due() const noexcept { return seq_ >= records_per_key_; }
  // For tests: a KeyUpdate due after `n` records.
  void set_records_per_key(std::uint64_t n) noexcept { records_per_key_ = n; }

private:
  tls13_record_key() = default;
  [[nodiscard]] bool derive();

  EVP_CIPHER_CTX* ctx_ = nullptr;
  const EVP_MD* md_ = nullptr; // the suite's hash, for HKDF
  bool opening_ = false;
  std::size_t secret_len_ = 0;
  std::size_t key_len_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t records_per_key_ = kRecordsPerKey;
  unsigned char secret_[kMaxSecret] = {};
  unsigned char iv_[12] = {};
};

} // namespace mdgw
