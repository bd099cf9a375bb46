// The answers the cluster face's routes share (faces/cluster/kv_store.h,
// faces/cluster/view_change.h): the seed's error shape, answers that carry
// a causal context, and the check of a route's authorization.
#ifndef KVS_FACES_CLUSTER_ANSWERS_H_
#define KVS_FACES_CLUSTER_ANSWERS_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cluster/cluster_node.h"
#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// The seed's error shape: {"error": what, "message": "Error in METHOD"}, and
// "status": "error" as every kvs error answer has it.
nlohmann::ordered_json SeedErrorBody(const std::string& what, const Request& request);

// A seed error answer; detail, when given, says more than the seed's words.
Response SeedError(int status, const std::string& what, const Request& request,
                   const std::string& detail = "");

// An answer with body and the causal context it carries.
Response ContextAnswer(int status, nlohmann::ordered_json body,
                       const cluster::CausalContext& context);

// A store error, in JSON.
Response StoreFailure(const Status& status);

// The query a cluster route takes: none (a secret for reads where reads
// need one), checked with its authorization; the refusal, if any.
std::optional<Response> RefuseQuery(const Request& request, const Service& service, bool writes);

}  // namespace kvs::server

#endif  // KVS_FACES_CLUSTER_ANSWERS_H_
