// What the REST face's handlers share (faces/rest/rest.h).
#include "faces/rest/rest.h"

#include <variant>

#include "common/json_value.h"
#include "faces/rest/rest_args.h"
#include "http/key_errors.h"

namespace kvs::server {

std::string ForkOf(const RestPath& path, const Service& service) {
  return path.fork.value_or(service.config.default_branch);
}

std::optional<HttpError> CheckKeyAndFork(const RestPath& path, const Service& service) {
  if (auto error = CheckKey(path.key, service.config.limits)) return error;
  if (path.fork) return CheckForkName(*path.fork);
  return std::nullopt;
}

}  // namespace kvs::server
