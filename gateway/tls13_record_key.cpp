#include "tls13_record_key.hpp"

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

// The nonce of the record with sequence number `seq` (RFC 8446 5.3).
void nonce_for(const unsigned char* iv, std::uint64_t seq, unsigned char* nonce) {
  std::memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(seq >> (8 * i));
}

} // namespace

std::size_t tls13_record_key::secret_from_keylog(const char* line, const char* label, unsigned char* out) {
  const std::size_t label_len = std::strlen(label);
  if (std::strncmp(line, label, label_len) != 0 || line[label_len] != ' ') return 0;
  const char* hex = std::strchr(line + label_len + 1, ' '); // after the client random
  if (hex == nullptr) return 0;
  ++hex;
  const std::size_t digits = std::strlen(hex);
  if (digits == 0 || digits % 2 != 0 || digits / 2 > kMaxSecret) return 0;
  const auto value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < digits / 2; ++i) {
    const int hi = value(hex[2 * i]);
    const int lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(out, kMaxSecret);
      return 0;
    }
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return digits / 2;
}

std::unique_ptr<tls13_record_key> tls13_record_key::make(std::uint16_t suite, const unsigned char* secret,
                                                 std::size_t secret_len, std::uint64_t seq, bool opening) {
  suite_params p{};
  if (!params_of(suite, p) || secret_len != static_cast<std::size_t>(EVP_MD_get_size(p.md))) return nullptr;
  std::unique_ptr<tls13_record_key> s(new tls13_record_key);
  s->md_ = p.md;
  s->opening_ = opening;
  s->secret_len_ = secret_len;
  s->key_len_ = p.key_len;
  s->seq_ = seq;
  std::memcpy(s->secret_, secret, secret_len);
  s->ctx_ = EVP_CIPHER_CTX_new();
  if (s->ctx_ == nullptr || EVP_CipherInit_ex(s->ctx_, p.cipher, nullptr, nullptr, nullptr, opening ? 0 : 1) != 1 ||
      !s->derive()) {
    return nullptr;
  }
  return s;
}

tls13_record_key::~tls13_record_key() {
  OPENSSL_cleanse(secret_, sizeof secret_);
  OPENSSL_cleanse(iv_, sizeof iv_);
  EVP_CIPHER_CTX_free(ctx_); // clears the key schedule
}

bool tls13_record_key::derive() {
  unsigned char key[32];
  const bool ok = expand_label(md_, secret_, secret_len_, "key", key, key_len_) &&
                  expand_label(md_, secret_, secret_len_, "iv", iv_, sizeof iv_) &&
                  EVP_CipherInit_ex(ctx_, nullptr, nullptr, key, nullptr, opening_ ? 0 : 1) == 1;
  OPENSSL_cleanse(key, sizeof key);
  return ok;
}

bool tls13_record_key::update_key() {
  unsigned char next[kMaxSecret];
  if (!expand_label(md_, secret_, secret_len_, "traffic upd", next, secret_len_)) return false;
  std::memcpy(secret_, next, secret_len_);
  OPENSSL_cleanse(next, sizeof next);
  seq_ = 0;
  return derive();
}

long tls13_record_key::open(const unsigned char* header, const unsigned char* body, std::size_t len,
                            unsigned char* out, unsigned char& type) {
  if (!opening_ || len < kTag + 1 || len > kMaxPlaintext + 256) return -1;
  unsigned char nonce[12];
  nonce_for(iv_, seq_, nonce);
  unsigned char tag[kTag];
  std::memcpy(tag, body + len - kTag, kTag);
  int n = 0;
  int fin = 0;
  const int inner = static_cast<int>(len - kTag);
  if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_DecryptUpdate(ctx_, nullptr, &n, header, 5) != 1 || EVP_DecryptUpdate(ctx_, out, &n, body, inner) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTag), tag) != 1 ||
      EVP_DecryptFinal_ex(ctx_, out + n, &fin) != 1 || n + fin != inner) {
    return -1;
  }
  ++seq_;
  long end = inner; // the content, then the type, then zeros (RFC 8446 5.4)
  while (end > 0 && out[end - 1] == 0) --end;
  if (end == 0) return -1;
  type = out[end - 1];
  return end - 1;
}

std::size_t tls13_record_key::seal(unsigned char type, const piece* pieces, std::size_t n, unsigned char* out) {
  if (opening_) return 0;
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
  nonce_for(iv_, seq_, nonce);
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
