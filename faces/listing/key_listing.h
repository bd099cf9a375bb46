// GET /_keys: the keys of a branch with their current state, in key order,
// a page at a time. The index page reads it; scripts may too.
//
//   GET /_keys?prefix=P&gt=K&lt=K&limit=N&values=BYTES&branch=B&delimiter=D
//
//   prefix   only keys starting with P
//   gt, lt   only keys after gt / before lt (byte order); a page's last key
//            as gt gives the next page
//   limit    keys per page, 1..1000 (default 50)
//   values   include the first BYTES bytes of each value (default 0: none),
//            cut at a UTF-8 character boundary
//   branch   default: the configured default branch
//   delimiter  list keys as folders (faces/listing/key_namespace.h): keys below
//            prefix holding D further on appear once, as the sub-prefix up
//            to and including D, in "prefixes"; a page's last entry (key or
//            sub-prefix) as gt gives the next page
//
// The answer is JSON:
//   {"keys": [{"key", "value", "encoding" (only "base64", for values that
//              are not UTF-8), "truncated", "size", "updated", "revision",
//              "version", "conflict"}],
//    "prefixes": [sub-prefixes] (only with delimiter),
//    "more": true when keys beyond this page match,
//    "now": the server's time, so a client can say "3 minutes ago" without
//           trusting its own clock}
// Deleted keys are left out. "value" and "truncated" appear only when values
// was asked for. Unknown or repeated parameters, bad numbers, and prefix,
// gt, lt or delimiter that are not UTF-8 (no key is) are a 400 naming them.
#ifndef KVS_FACES_LISTING_KEY_LISTING_H_
#define KVS_FACES_LISTING_KEY_LISTING_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response ListKeys(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_LISTING_KEY_LISTING_H_
