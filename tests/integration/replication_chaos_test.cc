// Replication on a hostile network: three servers in a ring (A syncs with C,
// B with A, C with B), each link through a TcpProxy, all written to at once
// on the same few keys while the proxies partition, delay and cut
// connections (some in the middle of a message), and one kvs-fcgi is killed
// with SIGKILL during a transfer and started again. Once the network heals,
// the three must agree exactly: the same versions, the same heads and
// winners for every key, clean stores, and every write any of them
// acknowledged present everywhere with its value.
//
// The schedule of faults and writes comes from one seed, shown on failure;
// KVS_CHAOS_SEED=N runs that schedule again (thread timing still varies).
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/harness/server_stack.h"
#include "tests/harness/service_fixture.h"
#include "tests/harness/tcp_proxy.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kForm = "application/x-www-form-urlencoded";
// Few keys, so that writes on different sides collide and fork.
constexpr int kKeys = 5;
// Each chaos phase; the kill and restart come between the two.
constexpr auto kChaosPhase = std::chrono::seconds(6);
// Bounds on waits for the servers, generous for a sanitizer build: a link
// that failed a few times in a row waits up to 32 s before its next run.
constexpr auto kTransferTimeout = std::chrono::seconds(60);
constexpr auto kConvergeTimeout = std::chrono::seconds(150);

std::string KeyName(int i) { return "k" + std::to_string(i); }

// The config lines that make a server sync with the server behind the
// proxy on proxy_port: every second, or live (long polls).
std::string SyncWith(int proxy_port, const std::string& secret_file, bool live) {
  return "replication:\n  - url: http://127.0.0.1:" + std::to_string(proxy_port) +
         "\n    mode: sync\n    interval: 1s\n    secret_file: " + secret_file +
         (live ? "\n    live: true\n" : "\n");
}

// A write a server answered with success: the version it made.
struct AckedWrite {
  std::string side;  // "A", "B" or "C"
  std::string key;
  std::string value;
  std::string id;
};

// The writes the writer threads had acknowledged, and what else they saw.
class WriteLog {
 public:
  void Acked(AckedWrite write) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_.push_back(std::move(write));
  }
  void Answered(const std::string& side, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++answers_[side + " " + std::to_string(status)];
  }
  std::vector<AckedWrite> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  // "A 200: 120, A 502: 3, ..." (status 0: no answer).
  std::string Summary() {
    std::lock_guard<std::mutex> lock(mu_);
    std::ostringstream out;
    for (const auto& [what, count] : answers_) out << what << ": " << count << ", ";
    return out.str();
  }

 private:
  std::mutex mu_;
  std::vector<AckedWrite> acked_;       // guarded by mu_
  std::map<std::string, int> answers_;  // guarded by mu_
};

std::string Unquote(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

// Writes to one server until stop, each write one of the faces' ways: a
// classic form post of one or two keys (all heads become parents), a REST
// PUT, a create without parents (a new tail: a fork on purpose), or, now and
// then, a REST DELETE (a tombstone, which travels as a version too). Runs on
// its own thread, so it records instead of asserting.
void WriteUntil(const std::atomic<bool>& stop, const std::string& side, int port, uint32_t seed,
                WriteLog* log) {
  std::mt19937 rng(seed);
  auto client = LoopbackClient(port);
  for (int n = 0; !stop; ++n) {
    const std::string value = side + std::to_string(n);
    const std::string key = KeyName(static_cast<int>(rng() % kKeys));
    const int roll = static_cast<int>(rng() % 20);
    if (roll < 10) {
      std::string body = AuthField() + "&" + key + "=" + value;
      const std::string other = KeyName(static_cast<int>(rng() % kKeys));
      if (roll < 4 && other != key) body += "&" + other + "=" + value;
      auto res = client->Post("/?format=json", body, kForm);
      log->Answered(side, res ? res->status : 0);
      if (res && res->status == 200) {
        nlohmann::json written = nlohmann::json::parse(res->body, nullptr, false);
        for (size_t i = 0; written.is_object() && i < written["keys"].size(); ++i) {
          log->Acked({side, written["keys"][i], value, written["versions"][i]});
        }
      }
    } else if (roll < 17) {
      auto res = client->Put("/" + key, BearerHeaders(), value, "text/plain");
      log->Answered(side, res ? res->status : 0);
      if (res && res->status == 200) {
        log->Acked({side, key, value, Unquote(res->get_header_value("ETag"))});
      }
    } else if (roll < 19) {
      auto res = client->Post("/_create?key=" + key, BearerHeaders(), value, "text/plain");
      log->Answered(side, res ? res->status : 0);
      if (res && res->status == 201) {
        nlohmann::json made = nlohmann::json::parse(res->body, nullptr, false);
        if (made.is_object()) log->Acked({side, key, value, made["id"]});
      }
    } else {
      auto res = client->Delete("/" + key, BearerHeaders());
      log->Answered(side, res ? res->status : 0);
    }
    std::this_thread::sleep_for(milliseconds(10 + rng() % 50));
  }
}

// What a replica holds, as replication must make it equal everywhere:
// every version's metadata but its local revision, and each key's heads,
// winner first.
struct ReplicaState {
  std::map<std::string, nlohmann::json> versions;  // by id
  std::map<std::string, std::vector<std::string>> heads;

  bool operator==(const ReplicaState& other) const {
    return versions == other.versions && heads == other.heads;
  }
};

ReplicaState StateOf(const ServerStack& stack) {
  ReplicaState state;
  std::set<std::string> keys;
  std::string after;
  for (bool more = true; more;) {
    nlohmann::json page =
        MustGetJson(stack, "/_list?limit=1000" + (after.empty() ? "" : "&gt=" + after));
    for (nlohmann::json& version : page["versions"]) {
      version.erase("revision");
      after = version["id"];
      keys.insert(version["key"].get<std::string>());
      state.versions[after] = std::move(version);
    }
    more = page["more"].get<bool>();
  }
  for (const std::string& key : keys) {
    const nlohmann::json answer = MustGetJson(stack, "/_heads/" + key);
    for (const nlohmann::json& head : answer["heads"]) state.heads[key].push_back(head["id"]);
  }
  return state;
}

// How state differs from the reference, in a few lines.
std::string Differences(const ReplicaState& reference, const ReplicaState& state) {
  std::ostringstream out;
  out << state.versions.size() << " versions (reference " << reference.versions.size() << ")";
  int shown = 0;
  for (const auto& [id, version] : reference.versions) {
    auto it = state.versions.find(id);
    if (it == state.versions.end()) {
      if (shown++ < 5) out << "\n  lacks " << version.dump();
    } else if (it->second != version) {
      if (shown++ < 5) out << "\n  differs " << it->second.dump() << " vs " << version.dump();
    }
  }
  for (const auto& [id, version] : state.versions) {
    if (!reference.versions.count(id) && shown++ < 10) out << "\n  extra " << version.dump();
  }
  for (const auto& [key, heads] : reference.heads) {
    auto it = state.heads.find(key);
    if (it == state.heads.end() || it->second != heads) {
      out << "\n  heads of " << key << ": "
          << (it == state.heads.end() ? "none" : nlohmann::json(it->second).dump())
          << " (reference " << nlohmann::json(heads).dump() << ")";
    }
  }
  return out.str();
}

// The lines of a stack's kvs-fcgi log where a replication run failed for a
// reason the chaos does not give: anything but a peer that cannot be
// reached (a partition, a cut) or answers 502 (its kvs-fcgi was killed).
// A protocol error that later runs happen to repair is still a bug.
std::vector<std::string> UnexplainedFailures(const ServerStack& stack) {
  std::vector<std::string> lines;
  std::istringstream log(ReadFile(stack.dir() + "/kvs.log"));
  for (std::string line; std::getline(log, line);) {
    if (line.find("kvs-fcgi: replication with ") != 0 && line.find("kvs-fcgi: live ") != 0) {
      continue;
    }
    if (line.find(": cannot reach ") != std::string::npos) continue;
    if (line.find(" answered 502: ") != std::string::npos) continue;
    lines.push_back(line);
  }
  return lines;
}

uint32_t ChaosSeed() {
  if (const char* given = std::getenv("KVS_CHAOS_SEED")) {
    return static_cast<uint32_t>(std::strtoul(given, nullptr, 10));
  }
  return std::random_device{}();
}

// The writer threads, stopped and joined on scope exit (also when the test
// fails) or by Stop.
class Writers {
 public:
  ~Writers() { Stop(); }
  void Start(const std::string& side, int port, uint32_t seed, WriteLog* log) {
    threads_.emplace_back(WriteUntil, std::cref(stop_), side, port, seed, log);
  }
  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// What the network did, with times from the start, for failure messages.
class ChaosLog {
 public:
  void Note(const std::string& what) {
    const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start_).count();
    text_ += std::to_string(ms) + " ms: " + what + "\n";
  }
  const std::string& text() const { return text_; }

 private:
  Clock::time_point start_ = Clock::now();
  std::string text_;
};

// Each link's network for a while, then another, until length is over: most
// of the time it passes, else it is partitioned, slow, or cuts every
// connection after some bytes (a run's messages are a few kilobytes); now
// and then all its open connections are cut at once. A link ends in
// whatever state it was given last.
void Chaos(std::vector<std::unique_ptr<TcpProxy>>& proxies, Clock::duration length,
           std::mt19937& rng, ChaosLog* log) {
  const auto end = Clock::now() + length;
  while (Clock::now() < end) {
    std::string step;
    for (size_t i = 0; i < proxies.size(); ++i) {
      TcpProxy& proxy = *proxies[i];
      const int roll = static_cast<int>(rng() % 20);
      proxy.Pass();
      step += (i == 0 ? "link 0 " : ", link " + std::to_string(i) + " ");
      if (roll < 3) {
        proxy.Drop();
        step += "partitioned";
      } else if (roll < 6) {
        const milliseconds delay(5 + rng() % 40);
        proxy.SetDelay(delay);
        step += "slow (" + std::to_string(delay.count()) + " ms a chunk)";
      } else if (roll < 9) {
        const uint64_t bytes = 100 + rng() % 5000;
        proxy.SetCutAfter(bytes);
        step += "cutting after " + std::to_string(bytes) + " bytes";
      } else {
        step += "passing";
      }
      if (rng() % 4 == 0) {
        proxy.CutAll();
        step += ", its connections cut";
      }
    }
    log->Note(step);
    std::this_thread::sleep_for(milliseconds(300 + rng() % 600));
  }
}

// GET /_replication of each stack, a line each, for failure messages.
std::string ReplicationStatus(const std::vector<std::unique_ptr<ServerStack>>& stacks) {
  std::string text;
  for (const auto& stack : stacks) {
    auto res = stack->Client()->Get("/_replication");
    text += (res ? res->body : "(no answer)") + "\n";
  }
  return text;
}

}  // namespace

TEST_CASE("three replicas on a failing network, one killed mid-transfer, converge losing nothing") {
  const uint32_t seed = ChaosSeed();
  INFO("seed " << seed << " (KVS_CHAOS_SEED=" << seed << " replays the schedule)");
  std::mt19937 rng(seed);
  const std::string kvs = KVS_CLI_BINARY;
  const std::vector<std::string> sides = {"A", "B", "C"};

  // Every stack has the test secret, so one file holds each one's peer's.
  kvs::test::TempDir shared;
  const std::string peer_secret = shared.Sub("peer-secret.txt");
  WriteFile(peer_secret, std::string(kTestSecret) + "\n");

  // Link i: stack i's replication, through proxies[i], to stack (i + 2) % 3
  // (A to C, B to A, C to B). A stack's config names its proxy, so the
  // proxies come first; each gets its target once that stack runs (until
  // then it refuses: A's first run fails and is retried). B's link is live,
  // the others run every second.
  std::vector<std::unique_ptr<TcpProxy>> proxies;
  for (int i = 0; i < 3; ++i) proxies.push_back(std::make_unique<TcpProxy>());
  std::vector<std::unique_ptr<ServerStack>> stacks;
  for (int i = 0; i < 3; ++i) {
    StackOptions options;
    options.extra_config += SyncWith(proxies[i]->port(), peer_secret, /*live=*/i == 1);
    stacks.push_back(std::make_unique<ServerStack>(options));
    proxies[(i + 1) % 3]->SetTarget(stacks[i]->port());
  }

  WriteLog writes;
  Writers writers;
  for (int i = 0; i < 3; ++i) writers.Start(sides[i], stacks[i]->port(), seed + 1 + i, &writes);
  ChaosLog chaos;
  Chaos(proxies, kChaosPhase, rng, &chaos);

  // The kill: both links of the victim pass, slowly, and its kvs-fcgi dies
  // once some bytes have moved on them (its own run, or a peer's run
  // against it): in the middle of an exchange.
  const int victim = static_cast<int>(rng() % 3);
  const std::vector<int> links = {victim, (victim + 1) % 3};
  for (int i : links) {
    proxies[i]->Pass();
    proxies[i]->SetDelay(milliseconds(20));
  }
  const uint64_t kill_after = 200 + rng() % 5000;
  chaos.Note("links " + std::to_string(links[0]) + " and " + std::to_string(links[1]) +
             " passing (20 ms a chunk) until " + std::to_string(kill_after) +
             " bytes have moved on them");
  auto moved = [&] {
    return proxies[links[0]]->bytes_forwarded() + proxies[links[1]]->bytes_forwarded();
  };
  const uint64_t before = moved();
  for (const auto deadline = Clock::now() + kTransferTimeout; moved() - before < kill_after;) {
    if (Clock::now() >= deadline) {
      FAIL("no transfer on the links of " << sides[victim] << "\n"
                                          << chaos.text() << ReplicationStatus(stacks));
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  stacks[victim]->KillKvs();
  chaos.Note("kvs-fcgi of " + sides[victim] + " killed");
  std::this_thread::sleep_for(milliseconds(100 + rng() % 900));
  stacks[victim]->RestartKvs();
  chaos.Note("kvs-fcgi of " + sides[victim] + " restarted");

  Chaos(proxies, kChaosPhase, rng, &chaos);
  writers.Stop();
  for (auto& proxy : proxies) proxy->Pass();
  chaos.Note("every link healed, writes stopped");
  INFO(chaos.text());
  INFO("writes answered: " << writes.Summary());

  // Converged: the three hold the same, and so nothing is left to send.
  std::vector<ReplicaState> states(3);
  for (const auto deadline = Clock::now() + kConvergeTimeout;;) {
    for (int i = 0; i < 3; ++i) states[i] = StateOf(*stacks[i]);
    if (states[0] == states[1] && states[0] == states[2]) break;
    if (Clock::now() >= deadline) {
      FAIL("the replicas did not converge\nB against A: "
           << Differences(states[0], states[1])
           << "\nC against A: " << Differences(states[0], states[2]) << "\n/_replication:\n"
           << ReplicationStatus(stacks));
    }
    std::this_thread::sleep_for(milliseconds(250));
  }

  // Every side wrote, and every side's writes went everywhere.
  const std::vector<AckedWrite> acked = writes.acked();
  std::set<std::string> replicas;
  for (const auto& [id, version] : states[0].versions) replicas.insert(version["replica"]);
  CHECK(replicas.size() == 3);
  for (const std::string& side : sides) {
    CHECK(std::count_if(acked.begin(), acked.end(),
                        [&](const AckedWrite& w) { return w.side == side; }) > 0);
  }

  // The same winner read everywhere: the first head (404 if it is a
  // tombstone).
  for (const auto& [key, heads] : states[0].heads) {
    const bool deleted = states[0].versions.at(heads.front())["deleted"].get<bool>();
    httplib::Response first;
    for (int i = 0; i < 3; ++i) {
      httplib::Response res = Answer(stacks[i]->Client()->Get("/?k=" + key), *stacks[i]);
      INFO(sides[i] << " reads " << key << ": " << res.status << " " << res.body);
      CHECK(res.status == (deleted ? 404 : 200));
      if (!deleted) CHECK(res.get_header_value("ETag") == "\"" + heads.front() + "\"");
      if (i == 0) first = res;
      CHECK(res.body == first.body);
    }
  }

  for (int i = 0; i < 3; ++i) {
    INFO(sides[i] << "'s replication runs");
    CHECK(UnexplainedFailures(*stacks[i]).empty());
  }

  // Clean stores, checked by kvs beside the running servers.
  for (int i = 0; i < 3; ++i) {
    ProgramRun run = RunProgram({kvs, "-d", stacks[i]->dir() + "/kvs-data", "check"}, "",
                                std::map<std::string, std::string>());
    INFO(sides[i] << ": kvs check said\n" << run.output << run.log);
    CHECK(run.exit_code == 0);
    CHECK(run.log.empty());
  }

  // Every acknowledged write, as a version of its key holding its value.
  for (int i = 0; i < 3; ++i) {
    auto client = stacks[i]->Client();
    for (const AckedWrite& write : acked) {
      INFO(sides[i] << " and the write of " << write.key << "=" << write.value << " on "
                    << write.side << " (" << write.id << ")");
      auto it = states[i].versions.find(write.id);
      REQUIRE(it != states[i].versions.end());
      CHECK(it->second["key"] == write.key);
      httplib::Response value =
          Answer(client->Get("/_versions/" + write.id + "/value"), *stacks[i]);
      CHECK(value.status == 200);
      CHECK(value.body == write.value);
    }
  }
}

}  // namespace kvs::server::test
