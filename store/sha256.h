// SHA-256 through OpenSSL, for version ids, commit ids and the salted check
// on commit records.
#ifndef KVS_STORE_SHA256_H_
#define KVS_STORE_SHA256_H_

#include <string_view>

#include "kvs/store.h"

namespace kvs {

Hash Sha256(std::string_view data);

}  // namespace kvs

#endif  // KVS_STORE_SHA256_H_
