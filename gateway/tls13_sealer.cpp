#include "tls13_sealer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace mdgw {

namespace {

constexpr std::size_t kTag = 16;

struct suite_params {
  const EVP_CIPHER* cipher;
  const EVP_MD* md;
  std::size_t key_len;
};

bool params_of(std::uint16_t suite, suite_params& p) {
  switch (suite) {
  case 0x1301:
    p = {EVP_aes_128_gcm(), EVP_sha256(), 16};
    return true;
  case 0x1302:
    p = {EVP_aes_256_gcm(), EVP_sha384(), 32};
    return true;
  case 0x1303:
    p = {EVP_chacha20_poly1305(), EVP_sha256(), 32};
    return true;
  default:
    return false;
  }
}

// HKDF-Expand-Label(secret, label, "", len) for len up to the hash's length: one HMAC
// of the HkdfLabel and the counter byte 1 (RFC 8446 7.1, RFC 5869 2.3).
bool expand_label(const EVP_MD* md, const unsigned char* secret, std::size_t secret_len, const char* label,
                  unsigned char* out, std::size_t len) {
  unsigned char info[2 + 1 + 6 + 32 + 1 + 1];
  const std::size_t label_len = std::strlen(label);
  if (label_len > 32 || len > EVP_MAX_MD_SIZE) return false;
  std::size_t n = 0;
  info[n++] = static_cast<unsigned char>(len >> 8);
  info[n++] = static_cast<unsigned char>(len);
  info[n++] = static_cast<unsigned char>(6 + label_len);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = 0; // empty context
  info[n++] = 1; // T(1)
  unsigned char t[EVP_MAX_MD_SIZE];
  unsigned int t_len = 0;
  if (HMAC(md, secret, static_cast<int>(secret_len), info, n, t, &t_len) == nullptr || t_len < len) return false;
  std::memcpy(out, t, len);
  OPENSSL_cleanse(t, sizeof t);
  return true;
}

} // namespace

std::unique_ptr<tls13_sealer> tls13_sealer::make(std::uint16_t suite, const unsigned char* secret,
                                                 std::size_t secret_len, std::uint64_t seq) {
  suite_params p{};
  if (!params_of(suite, p) || secret_len != static_cast<std::size_t>(EVP_MD_get_size(p.md))) return nullptr;
  std::unique_ptr<tls13_sealer> s(new tls13_sealer);
  s->suite_ = suite;
  s->secret_len_ = secret_len;
  s->key_len_ = p.key_len;
  s->seq_ = seq;
  std::memcpy(s->secret_, secret, secret_len);
  s->ctx_ = EVP_CIPHER_CTX_new();
  if (s->ctx_ == nullptr || EVP_EncryptInit_ex(s->ctx_, p.cipher, nullptr, nullptr, nullptr) != 1 || !s->derive()) {
    return nullptr;
  }
  return s;
}

tls13_sealer::~tls13_sealer() {
  OPENSSL_cleanse(secret_, sizeof secret_);
  OPENSSL_cleanse(iv_, sizeof iv_);
  EVP_CIPHER_CTX_free(ctx_); // clears the key schedule
}

bool tls13_sealer::derive() {
  suite_params p{};
  if (!params_of(suite_, p)) return false;
  unsigned char key[32];
  const bool ok = expand_label(p.md, secret_, secret_len_, "key", key, key_len_) &&
                  expand_label(p.md, secret_, secret_len_, "iv", iv_, sizeof iv_) &&
                  EVP_EncryptInit_ex(ctx_, nullptr, nullptr, key, nullptr) == 1;
  OPENSSL_cleanse(key, sizeof key);
  return ok;
}

bool tls13_sealer::update_key() {
  suite_params p{};
  unsigned char next[kMaxSecret];
  if (!params_of(suite_, p) || !expand_label(p.md, secret_, secret_len_, "traffic upd", next, secret_len_)) {
    return false;
  }
  std::memcpy(secret_, next, secret_len_);
  OPENSSL_cleanse(next, sizeof next);
  seq_ = 0;
  return derive();
}

std::size_t tls13_sealer::seal(unsigned char type, const piece* pieces, std::size_t n, unsigned char* out) {
  std::size_t size = 0;
  for (std::size_t i = 0; i < n; ++i) size += pieces[i].size;
  if (size > kMaxPlaintext) return 0;
  const std::size_t body = size + 1 + kTag; // TLSInnerPlaintext's content type, the tag
  out[0] = kApplicationData;                // the outer type of every protected record
  out[1] = 0x03;
  out[2] = 0x03;
  out[3] = static_cast<unsigned char>(body >> 8);
  out[4] = static_cast<unsigned char>(body);
  unsigned char nonce[12];
  std::memcpy(nonce, iv_, sizeof nonce);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(seq_ >> (8 * i));
  int len = 0;
  if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_EncryptUpdate(ctx_, nullptr, &len, out, 5) != 1) { // the header is the additional data
    return 0;
  }
  unsigned char* p = out + 5;
  for (std::size_t i = 0; i < n; ++i) {
    if (pieces[i].size == 0) continue;
    if (EVP_EncryptUpdate(ctx_, p, &len, static_cast<const unsigned char*>(pieces[i].data),
                          static_cast<int>(pieces[i].size)) != 1) {
      return 0;
    }
    p += len;
  }
  if (EVP_EncryptUpdate(ctx_, p, &len, &type, 1) != 1) return 0;
  p += len;
  if (EVP_EncryptFinal_ex(ctx_, p, &len) != 1) return 0;
  p += len;
  if (static_cast<std::size_t>(p - out) != 5 + size + 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTag), p) != 1) {
    return 0;
  }
  ++seq_;
  return 5 + body;
}

} // namespace mdgw
