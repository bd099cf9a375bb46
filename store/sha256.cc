#include "store/sha256.h"

// OpenSSL's SHA256_* calls hash directly. Its EVP interface, the one not
// deprecated, fetches the algorithm from a provider first, and the first
// fetch of a process loads OpenSSL's config and providers: most of the
// time a plain CGI request or a `kvs` command took (docs/benchmarks.md).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace kvs {

Hash Sha256(std::string_view data) {
  static_assert(sizeof(Hash::bytes) == SHA256_DIGEST_LENGTH);
  Hash h;
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, data.data(), data.size());
  SHA256_Final(h.bytes.data(), &context);
  return h;
}

}  // namespace kvs
