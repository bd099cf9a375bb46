// The route index of docs/http-api.md against the route table the router
// dispatches by: the same routes, methods and order, so the reference can
// neither miss a route nor name one the server does not have.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "faces/routes.h"

namespace kvs::server::test {
namespace {

// "| `/_heads/KEY` | GET, HEAD | ... |" -> {"/_heads/KEY", "GET, HEAD"}.
std::vector<std::pair<std::string, std::string>> DocumentedRoutes(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::pair<std::string, std::string>> routes;
  std::string line;
  bool in_index = false;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) in_index = line == "## Route index";
    if (!in_index || !line.starts_with("| `")) continue;
    const size_t pattern_end = line.find("` |", 3);
    REQUIRE(pattern_end != std::string::npos);
    const size_t methods_end = line.find(" |", pattern_end + 3);
    REQUIRE(methods_end != std::string::npos);
    routes.emplace_back(line.substr(3, pattern_end - 3),
                        line.substr(pattern_end + 4, methods_end - pattern_end - 4));
  }
  return routes;
}

}  // namespace

TEST_CASE("the route index in docs/http-api.md lists the route table, in its order") {
  const auto documented = DocumentedRoutes(std::string(KVS_SOURCE_DIR) + "/docs/http-api.md");
  std::vector<std::pair<std::string, std::string>> table;
  for (const RouteSpec& route : RouteTable()) {
    table.emplace_back(std::string(route.pattern), route.methods);
  }
  REQUIRE_FALSE(documented.empty());
  CHECK(documented == table);
}

}  // namespace kvs::server::test
