// The test cluster (tests/harness/test_cluster.h).
#include "tests/harness/test_cluster.h"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/harness/service_fixture.h"

namespace kvs::server::test {

using Json = nlohmann::json;

ClusterAnswer Send(int port, const std::string& method, const std::string& path, const Json& body,
                   bool with_secret) {
  auto client = LoopbackClient(port);
  // A view change waits up to 40 s for keys to move.
  client->set_read_timeout(60, 0);
  httplib::Request request;
  request.method = method;
  request.path = path;
  if (!body.is_null()) {
    request.body = body.dump();
    request.set_header("Content-Type", "application/json");
  }
  if (with_secret) request.set_header("Authorization", std::string("Bearer ") + kTestSecret);
  httplib::Result result = client->send(request);
  ClusterAnswer answer;
  if (!result) return answer;
  answer.status = result->status;
  answer.body = Json::parse(result->body, nullptr, false);
  answer.retry_after = result->get_header_value("Retry-After");
  return answer;
}

Json Put(const std::string& value, const Json& context) {
  return {{"value", value}, {"causal-context", context}};
}

Json WithContext(const Json& context) { return {{"causal-context", context}}; }

ClusterAnswer ReadUntil(int port, const std::string& key, const std::string& value) {
  const auto deadline = std::chrono::steady_clock::now() + kConvergeTimeout;
  ClusterAnswer answer;
  do {
    answer = Send(port, "GET", "/kv-store/keys/" + key, Json());
    if (answer.status == 200 && answer.body["value"] == value) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return answer;
}

TestCluster::TestCluster(size_t nodes, size_t repl_factor, size_t joining,
                         const std::string& extra_config) {
  const size_t all = nodes + joining;
  for (size_t i = 0; i < all; ++i) {
    addresses_.push_back(std::make_unique<TcpProxy>());
    view_.push_back("127.0.0.1:" + std::to_string(addresses_.back()->port()));
  }
  const std::vector<std::string> first(view_.begin(), view_.begin() + static_cast<long>(nodes));
  map_ = common::ClusterMap::FromView(first, repl_factor).value();
  std::string view_list;
  for (const std::string& address : first) view_list += "\n    - " + address;
  for (size_t i = 0; i < all; ++i) {
    std::string links;
    for (size_t j = 0; j < all; ++j) {
      if (i == j) continue;
      auto link = std::make_unique<TcpProxy>(addresses_[j]->port());
      links += "\n    " + view_[j] + ": http://127.0.0.1:" + std::to_string(link->port());
      links_[{i, j}] = std::move(link);
    }
    StackOptions options;
    options.extra_config +=
        "cluster:\n  self: " + view_[i] + "\n  view:" + view_list +
        "\n  repl_factor: " + std::to_string(repl_factor) + "\n  causal_wait: " + kCausalWait +
        "\n" + (i >= nodes ? "  join: true\n" : "") + extra_config + "  links:" + links + "\n";
    stacks_.push_back(std::make_unique<ServerStack>(options));
    addresses_[i]->SetTarget(stacks_.back()->port());
    addresses_[i]->Pass();
  }
  // The front, as an operator makes it.
  ProgramRun front = RunProgram(
      {KVS_FCGI_BINARY, "--config", stacks_[0]->dir() + "/kvs.yaml", "--cluster-front", "@LISTEN@"},
      "");
  INFO(front.log);
  REQUIRE(front.exit_code == 0);
  front_ = StartNginx(front_dir_.path(), front.output, &front_port_);
}

std::string TestCluster::ViewOf(const std::vector<size_t>& nodes) const {
  std::string view;
  for (size_t i : nodes) view += (view.empty() ? "" : ",") + view_[i];
  return view;
}

std::vector<size_t> TestCluster::Replicas(const std::string& key) const {
  std::vector<size_t> nodes;
  const auto& replicas = map_.shards()[map_.ShardOfKey(key)].replicas;
  for (size_t i = 0; i < view_.size(); ++i) {
    if (std::find(replicas.begin(), replicas.end(), view_[i]) != replicas.end()) {
      nodes.push_back(i);
    }
  }
  return nodes;
}

size_t TestCluster::NonOwner(const std::string& key) const {
  for (size_t i = 0; i < map_.view().size(); ++i) {
    if (map_.ShardOfNode(view_[i]) != map_.ShardOfKey(key)) return i;
  }
  FAIL("every node owns " << key);
  return 0;
}

void TestCluster::Isolate(size_t i, bool isolated) {
  for (auto& [pair, link] : links_) {
    if (pair.first != i && pair.second != i) continue;
    if (isolated) {
      link->Drop();
    } else {
      link->Pass();
    }
  }
}

std::string TestCluster::Logs() const {
  std::string logs;
  for (const auto& stack : stacks_) logs += stack->Logs();
  return logs;
}

}  // namespace kvs::server::test
