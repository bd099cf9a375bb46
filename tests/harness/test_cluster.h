// A kvs cluster on loopback for tests: kvs-fcgi + nginx nodes, each reached
// at its view address through a TcpProxy (so the addresses are known before
// the nodes start), every link from one node to another through a TcpProxy
// of its own (so a test can partition a node), and a front nginx whose
// config kvs-fcgi wrote (--cluster-front). Nodes past the view's start with
// join: true, for view changes to take in.
#ifndef KVS_TESTS_HARNESS_TEST_CLUSTER_H_
#define KVS_TESTS_HARNESS_TEST_CLUSTER_H_

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/cluster_map.h"
#include "tests/harness/child_process.h"
#include "tests/harness/server_stack.h"
#include "tests/harness/tcp_proxy.h"
#include "tests/store/test_util.h"

namespace kvs::server::test {

// The nodes wait this long for a causal context before answering 503.
inline constexpr const char* kCausalWait = "3s";
// Bounds on waits for replication, generous for a sanitizer build.
inline constexpr auto kConvergeTimeout = std::chrono::seconds(60);

struct ClusterAnswer {
  int status = 0;  // 0: no answer
  nlohmann::json body;
  std::string retry_after;
};

// One request to 127.0.0.1:port, with the test secret unless told not to.
ClusterAnswer Send(int port, const std::string& method, const std::string& path,
                   const nlohmann::json& body, bool with_secret = true);
// The seed's bodies.
nlohmann::json Put(const std::string& value,
                   const nlohmann::json& context = nlohmann::json::object());
nlohmann::json WithContext(const nlohmann::json& context);
// Asks port for key until the answer is a 200 with value (or the time is
// up): the last answer.
ClusterAnswer ReadUntil(int port, const std::string& key, const std::string& value);

class TestCluster {
 public:
  // nodes in the view, with repl_factor; joining more that are not in it
  // yet. extra_config: more of every node's cluster: section ("  grace:
  // 2s\n").
  TestCluster(size_t nodes, size_t repl_factor, size_t joining = 0,
              const std::string& extra_config = "");

  // The first map.
  const common::ClusterMap& map() const { return map_; }
  const std::string& address(size_t i) const { return view_[i]; }
  // The view's addresses of nodes, separated by commas (the seed's VIEW).
  std::string ViewOf(const std::vector<size_t>& nodes) const;
  int port(size_t i) const { return addresses_[i]->port(); }
  int front_port() const { return front_port_; }
  ServerStack& stack(size_t i) { return *stacks_[i]; }
  // The nodes that replicate the shard owning key in the first map, in
  // view order.
  std::vector<size_t> Replicas(const std::string& key) const;
  // A node of another shard than key's in the first map.
  size_t NonOwner(const std::string& key) const;
  // Cuts node i off from the other nodes (clients still reach it), or
  // joins it again.
  void Isolate(size_t i, bool isolated);
  std::string Logs() const;

 private:
  std::vector<std::unique_ptr<TcpProxy>> addresses_;
  std::vector<std::string> view_;  // every node's address, joining ones last
  common::ClusterMap map_;
  std::map<std::pair<size_t, size_t>, std::unique_ptr<TcpProxy>> links_;
  std::vector<std::unique_ptr<ServerStack>> stacks_;
  kvs::test::TempDir front_dir_;
  int front_port_ = 0;
  std::unique_ptr<ChildProcess> front_;
};

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_TEST_CLUSTER_H_
