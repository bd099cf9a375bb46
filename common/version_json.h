// Version metadata as JSON, the same in every face that shows versions: the
// HTTP history endpoints (/_versions/ID, /_heads/KEY, ...) and `kvs get`.
//
//   {"id":"9c0564...","key":"blorp","parents":["..."],"time":"2026-11-22T07:33:39.123Z",
//    "replica":"5f1c...","size":10,"deleted":false,"revision":3}
//
// "time" is the writer's clock (common/time.h); "revision" is the local
// revision that stored the version in this store (it differs between
// replicas). A version whose value was written as JSON (POST /_txn) adds
// "json":true. The value itself is never included.
#ifndef KVS_COMMON_VERSION_JSON_H_
#define KVS_COMMON_VERSION_JSON_H_

#include <nlohmann/json.hpp>

#include "kvs/store.h"

namespace kvs::common {

nlohmann::ordered_json VersionJson(const Version& version);

}  // namespace kvs::common

#endif  // KVS_COMMON_VERSION_JSON_H_
