// Request bodies in JSON (POST /_txn, POST /_branches, POST /_create with
// json=true), parsed by one parser for every endpoint that takes one.
//
// nlohmann's own parse keeps the last of two members with the same name, so
// {"set": {"a": "1"}, "set": {"b": "2"}} would write b alone and drop a
// without a word; and its error says only that the text is not JSON. This
// parser reads the body with nlohmann's SAX interface instead: a member name
// repeated in one object, at any depth, is a 400 that names it and where it
// is, and a syntax error is a 400 that names the byte offset and what was
// expected there. Nesting is bounded, as no endpoint takes deep documents.
#ifndef KVS_HTTP_JSON_BODY_H_
#define KVS_HTTP_JSON_BODY_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <variant>

#include "http/request.h"

namespace kvs::server {

// Containers nested deeper than this are refused.
inline constexpr size_t kMaxJsonBodyDepth = 32;

// The body as a JSON object, members in the order sent; else a 400 saying
// what is wrong. example (like {"name": "dev"}) shows the shape expected
// when the body is valid JSON but not an object.
std::variant<nlohmann::ordered_json, HttpError> ParseJsonObjectBody(std::string_view body,
                                                                    std::string_view example);

// A 400 saying what is wrong when body is not one JSON value (of any kind)
// that this parser takes; nullopt when it is.
std::optional<HttpError> CheckJsonBody(std::string_view body);

}  // namespace kvs::server

#endif  // KVS_HTTP_JSON_BODY_H_
