// A fresh self-signed P-256 certificate for "localhost" and its key, for tests that need
// a TLS server end (tests/gateway/tls_direct_test.cpp, tests/bench/tls_read_test.cpp).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace mdgw::test {

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};

struct self_signed {
  std::unique_ptr<EVP_PKEY, pkey_free> key;
  std::unique_ptr<X509, x509_free> cert;
};

// Valid for an hour from now; cert is null if signing failed.
inline self_signed make_self_signed() {
  self_signed s;
  s.key.reset(EVP_EC_gen("P-256"));
  s.cert.reset(X509_new());
  X509* x = s.cert.get();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, s.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, s.key.get(), EVP_sha256()) <= 0) s.cert.reset();
  return s;
}

}  // namespace mdgw::test
