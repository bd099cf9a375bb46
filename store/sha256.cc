#include "store/sha256.h"

#include <openssl/sha.h>

namespace kvs {

Hash Sha256(std::string_view data) {
  Hash h;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), h.bytes.data());
  return h;
}

}  // namespace kvs
