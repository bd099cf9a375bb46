// The classic face: the interface of the original small CGI kvs, kept exactly
// for browsers, curl and embedded clients (a Roku channel) that know it.
//
//   GET /?k=KEY          the value's bytes (text/plain), with Last-Modified,
//                        ETag (the version id), X-Kvs-Revision, X-Kvs-Key;
//                        404 when the key does not exist or is deleted;
//                        If-None-Match with the current ETag gives 304
//   GET /?k=K1,K2,...    the value of the most recently written of those keys
//                        (by the time of its winning version); X-Kvs-Key
//                        says which; missing keys are skipped
//   &format=json         {"key","value","updated","revision","version"}, the
//                        value base64 with "encoding":"base64" when it is not
//                        UTF-8 (common/json_value.h)
//   POST / auth=SECRET&k1=v1&k2=v2...
//                        writes every pair but auth in one transaction on the
//                        default branch; urlencoded or multipart/form-data;
//                        the secret may come as "Authorization: Bearer" too
//   GET /                the index page
//
// The query takes k (repeatable), format and auth on a read, format on a
// post; any other parameter, or format twice, is a 400 naming the known
// ones, so a typo never reads as the index page.
//
// Keys are read from k split at the commas as sent: a key that contains a
// comma is named with it encoded (%2C). Keys beginning with '_' are
// reserved for the system: naming one is a 400. Keys written here must be
// UTF-8. Every refusal (4xx) changes nothing.
#ifndef KVS_FACES_CLASSIC_CLASSIC_H_
#define KVS_FACES_CLASSIC_CLASSIC_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// GET and HEAD of "/": a key's value, or the index page when the query has
// no k.
Response ClassicRead(const Request& request, Service& service);

// POST of "/": a form whose pairs are written in one transaction.
Response ClassicWrite(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_CLASSIC_CLASSIC_H_
