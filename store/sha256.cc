#include "store/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace kvs {

Hash Sha256(std::string_view data) {
  // OpenSSL 3 looks the algorithm up on every one-shot call unless it is
  // fetched once; the lookup cost more than the hash itself.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) std::abort();  // libcrypto without SHA-256: nothing can work
  Hash h;
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), h.bytes.data(), &size, md, nullptr) != 1 ||
      size != h.bytes.size()) {
    std::abort();
  }
  return h;
}

}  // namespace kvs
