// The history face's reads on abstract requests: heads, tails, versions and
// their values, links, history and future walks, concestors and the list of
// all versions, with read access, paths and every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/history_tree.h"
#include "faces/routes.h"
#include "http/form.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

Request GraphRequest(std::string path, std::string query = "") {
  Request request = GetRequest(std::move(query));
  request.path_info = std::move(path);
  return request;
}

// The answer's JSON; requires a 200.
nlohmann::json MustGet(Service& service, std::string path, std::string query = "") {
  Response response = Route(GraphRequest(path, query), service);
  INFO(path << "?" << query << " -> " << response.body);
  REQUIRE(response.status == 200);
  CHECK(response.headers.Get("Content-Type") == "application/json");
  return nlohmann::json::parse(response.body);
}

VersionId Create(Service& service, const std::string& key, const std::string& value,
                 std::vector<VersionId> parents, const std::string& branch = "main") {
  WriteBatch batch;
  batch.branch = branch;
  batch.writes.push_back({key, value, std::move(parents), std::nullopt, std::nullopt});
  auto written = service.store->Write(batch);
  INFO(written.status().ToString());
  REQUIRE(written.ok());
  return written->versions[0];
}

std::vector<std::string> Ids(const nlohmann::json& versions) {
  std::vector<std::string> ids;
  for (const auto& version : versions) ids.push_back(version["id"]);
  return ids;
}

// forkdb's README example: beep boop, two edits of it, their merge.
struct Blorp {
  ServiceFixture fixture;
  Service& service = fixture.service();
  VersionId base = Create(service, "blorp", "beep boop\n", {});
  VersionId upper = Create(service, "blorp", "BEEP BOOP\n", {base});
  VersionId mixed = Create(service, "blorp", "BeEp BoOp\n", {base});
  VersionId merge = Create(service, "blorp", "BEEPITY BOOPITY\n", {upper, mixed});
};

// The real store, except that ResolveVersion finds two versions for one
// prefix: an ambiguity no test could make with real SHA-256 ids.
class AmbiguousPrefixStore : public Store {
 public:
  AmbiguousPrefixStore(std::unique_ptr<Store> store, std::string prefix)
      : store_(std::move(store)), prefix_(std::move(prefix)) {}
  Result<VersionId> ResolveVersion(std::string_view hex) override {
    if (hex == prefix_) return Status::Ambiguous("two versions");
    return store_->ResolveVersion(hex);
  }
  ReplicaId replica_id() const override { return store_->replica_id(); }
  RecoveryInfo recovery_info() const override { return store_->recovery_info(); }
  Result<uint64_t> Revision() override { return store_->Revision(); }
  Result<WriteResult> Write(const WriteBatch& b) override { return store_->Write(b); }
  Status Checkpoint() override { return store_->Checkpoint(); }
  Result<WriteResult> CopyKey(std::string_view key, std::string_view from,
                              std::string_view to) override {
    return store_->CopyKey(key, from, to);
  }
  Result<WriteResult> ResetBranch(std::string_view name, const CommitId& to) override {
    return store_->ResetBranch(name, to);
  }
  Result<WriteResult> ApplyReplicated(const ReplicationBatch& b) override {
    return store_->ApplyReplicated(b);
  }
  Result<std::string> Checkpoint(std::string_view peer) override {
    return store_->Checkpoint(peer);
  }
  Result<std::vector<std::pair<std::string, std::string>>> Checkpoints(
      std::string_view prefix) override {
    return store_->Checkpoints(prefix);
  }
  Result<std::vector<std::optional<Version>>> GetVersions(const std::vector<VersionId>& ids,
                                                          bool with_values) override {
    return store_->GetVersions(ids, with_values);
  }
  Result<Changes> ChangesSince(const ChangesOptions& options) override {
    return store_->ChangesSince(options);
  }
  Result<KeyState> Get(std::string_view branch, std::string_view key,
                       const ReadPoint& at) override {
    return store_->Get(branch, key, at);
  }
  Result<std::vector<KeyState>> ListKeys(std::string_view branch,
                                         const KeyListOptions& o) override {
    return store_->ListKeys(branch, o);
  }
  Result<std::vector<KeyPresence>> Presence(std::string_view branch,
                                            const std::vector<std::string>& keys) override {
    return store_->Presence(branch, keys);
  }
  Result<Version> GetVersion(const VersionId& id, bool with_value) override {
    return store_->GetVersion(id, with_value);
  }
  Result<std::vector<Version>> History(const VersionId& id, size_t skip, size_t limit,
                                       bool with_values) override {
    return store_->History(id, skip, limit, with_values);
  }
  Result<std::vector<Version>> Children(const VersionId& id) override {
    return store_->Children(id);
  }
  Result<std::vector<Version>> CommonAncestors(const std::vector<VersionId>& ids) override {
    return store_->CommonAncestors(ids);
  }
  Result<std::vector<Version>> Tails(std::string_view key) override { return store_->Tails(key); }
  Result<std::vector<Version>> ListVersions(const VersionListOptions& o) override {
    return store_->ListVersions(o);
  }
  Result<BranchInfo> CreateBranch(std::string_view name, std::string_view from,
                                  const ReadPoint& at) override {
    return store_->CreateBranch(name, from, at);
  }
  Result<std::vector<BranchInfo>> ListBranches() override { return store_->ListBranches(); }
  Result<BranchInfo> GetBranch(std::string_view name) override { return store_->GetBranch(name); }
  Status DeleteBranch(std::string_view name) override { return store_->DeleteBranch(name); }
  Result<CommitInfo> GetCommit(const CommitId& id) override { return store_->GetCommit(id); }
  Result<std::vector<DiffEntry>> Diff(std::string_view fb, const ReadPoint& fa, std::string_view tb,
                                      const ReadPoint& ta) override {
    return store_->Diff(fb, fa, tb, ta);
  }
  Result<CompactStats> Compact(const CompactOptions& o) override { return store_->Compact(o); }
  Result<uint64_t> DataBytes() override { return store_->DataBytes(); }
  Result<SpaceInfo> Space() override { return store_->Space(); }
  GroupCommitStats GroupCommits() override { return store_->GroupCommits(); }
  Result<CheckReport> Check() override { return store_->Check(); }
  Status Health() override { return store_->Health(); }
  Result<CopyInfo> CopyTo(const std::string& dir, const CopyOptions& o) override {
    return store_->CopyTo(dir, o);
  }

 private:
  std::unique_ptr<Store> store_;
  std::string prefix_;
};

}  // namespace

TEST_CASE("heads list a key's forks with their metadata, winner first") {
  Blorp b;
  nlohmann::json merged = MustGet(b.service, "/_heads/blorp");
  CHECK(merged["key"] == "blorp");
  CHECK(merged["branch"] == "main");
  CHECK(merged["conflict"] == false);
  REQUIRE(merged["heads"].size() == 1);
  const nlohmann::json& head = merged["heads"][0];
  CHECK(head["id"] == b.merge.Hex());
  CHECK(head["parents"] == nlohmann::json::array({b.upper.Hex(), b.mixed.Hex()}));
  CHECK(head["size"] == 16);
  CHECK(head["deleted"] == false);

  VersionId fork = Create(b.service, "blorp", "fork", {b.upper});
  nlohmann::json forked = MustGet(b.service, "/_heads/blorp");
  CHECK(forked["conflict"] == true);
  auto state = b.service.store->Get("main", "blorp");
  REQUIRE(state.ok());
  CHECK(Ids(forked["heads"]) ==
        std::vector<std::string>{state->winner.id.Hex(), state->heads[1].id.Hex()});
  CHECK(state->heads[1].id != state->winner.id);
  CHECK((state->winner.id == fork || state->heads[1].id == fork));
}

TEST_CASE("heads of a key with no versions are empty; an unknown branch is 404") {
  Blorp b;
  nlohmann::json none = MustGet(b.service, "/_heads/nothing");
  CHECK(none["heads"].empty());
  CHECK(none["conflict"] == false);

  REQUIRE(b.service.store->CreateBranch("draft", "main").ok());
  VersionId draft = Create(b.service, "blorp", "draft", {b.merge}, "draft");
  CHECK(Ids(MustGet(b.service, "/_heads/blorp", "branch=draft")["heads"]) ==
        std::vector<std::string>{draft.Hex()});
  CHECK(Ids(MustGet(b.service, "/_heads/blorp")["heads"]) ==
        std::vector<std::string>{b.merge.Hex()});

  Response unknown = Route(GraphRequest("/_heads/blorp", "branch=nope"), b.service);
  CHECK(unknown.status == 404);
  CHECK(nlohmann::json::parse(unknown.body)["message"] == "branch 'nope' does not exist");
}

TEST_CASE("heads at a past revision, time or commit are the heads the key had then") {
  Blorp b;  // revisions 1 to 4: base, upper, mixed, merge
  CHECK(MustGet(b.service, "/_heads/blorp", "at=1")["heads"].size() == 1);
  CHECK(Ids(MustGet(b.service, "/_heads/blorp", "at=1")["heads"]) ==
        std::vector<std::string>{b.base.Hex()});
  nlohmann::json forked = MustGet(b.service, "/_heads/blorp", "at=3");
  CHECK(forked["conflict"] == true);
  CHECK(forked["heads"].size() == 2);
  CHECK(Ids(MustGet(b.service, "/_heads/blorp", "at=4")["heads"]) ==
        std::vector<std::string>{b.merge.Hex()});
  // Before the key existed: no heads. At a time far in the future: now.
  Create(b.service, "later", "x", {});
  CHECK(MustGet(b.service, "/_heads/later", "at=2")["heads"].empty());
  CHECK(Ids(MustGet(b.service, "/_heads/blorp", "at=2200-01-01T00:00:00Z")["heads"]) ==
        std::vector<std::string>{b.merge.Hex()});

  using Case = std::pair<std::string, int>;
  for (const auto& [query, status] :
       {Case{"at=yesterday", 400}, Case{"at=0", 400}, Case{"at=99", 400}, Case{"at=1&at=2", 400},
        Case{"at=" + std::string(64, 'a'), 404}}) {
    Response refused = Route(GraphRequest("/_heads/blorp", query), b.service);
    INFO(query << " -> " << refused.body);
    CHECK(refused.status == status);
  }
}

TEST_CASE("the key is the rest of the path, slashes and all, or key= in the query") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  VersionId slashed = Create(service, "a/b/", "v", {});
  VersionId dotted = Create(service, ".hidden", "v", {});
  VersionId percent = Create(service, "100%41", "v", {});
  CHECK(Ids(MustGet(service, "/_heads/a/b/")["heads"]) == std::vector<std::string>{slashed.Hex()});
  CHECK(Ids(MustGet(service, "/_heads", "key=.hidden")["heads"]) ==
        std::vector<std::string>{dotted.Hex()});
  // PATH_INFO comes decoded from the web server and is not decoded again.
  CHECK(Ids(MustGet(service, "/_heads/100%41")["heads"]) ==
        std::vector<std::string>{percent.Hex()});
  CHECK(Ids(MustGet(service, "/_tails", "key=a%2Fb%2F")["tails"]) ==
        std::vector<std::string>{slashed.Hex()});

  struct Case {
    std::string path;
    std::string query;
    std::string message;
  };
  for (const Case& c :
       {Case{"/_heads", "", "name the key: /_heads/KEY or /_heads?key=KEY"},
        Case{"/_heads/", "", "empty key"}, Case{"/_heads/a", "key=a", "named twice"},
        Case{"/_tails/_keys", "", "reserved"},
        Case{"/_tails", "key=" + std::string(1025, 'k'), "max_key_bytes"}}) {
    Response response = Route(GraphRequest(c.path, c.query), service);
    INFO(c.path << "?" << c.query.substr(0, 20) << " -> " << response.body);
    CHECK(response.status == 400);
    CHECK_THAT(nlohmann::json::parse(response.body)["message"].get<std::string>(),
               Catch::Contains(c.message));
  }
}

TEST_CASE("tails are a key's versions without parents, by id") {
  Blorp b;
  CHECK(Ids(MustGet(b.service, "/_tails/blorp")["tails"]) ==
        std::vector<std::string>{b.base.Hex()});
  VersionId second = Create(b.service, "blorp", "another start", {});
  auto [low, high] = std::minmax(b.base, second);
  nlohmann::json tails = MustGet(b.service, "/_tails/blorp");
  CHECK(tails["key"] == "blorp");
  CHECK(Ids(tails["tails"]) == std::vector<std::string>{low.Hex(), high.Hex()});
  CHECK(MustGet(b.service, "/_tails/nothing")["tails"].empty());
}

TEST_CASE("a version's metadata is found by its id or a unique prefix of 8 or more digits") {
  Blorp b;
  std::string id = b.mixed.Hex();
  std::string upper_case = id;
  std::transform(upper_case.begin(), upper_case.end(), upper_case.begin(), ::toupper);
  for (std::string name : {id, id.substr(0, 8), id.substr(0, 20), upper_case.substr(0, 12)}) {
    nlohmann::json version = MustGet(b.service, "/_versions/" + name);
    INFO(name);
    CHECK(version["id"] == id);
    CHECK(version["key"] == "blorp");
    CHECK(version["parents"] == nlohmann::json::array({b.base.Hex()}));
    CHECK(version["size"] == 10);
    CHECK(version["deleted"] == false);
    CHECK(version["replica"] == b.service.store->replica_id().Hex());
    CHECK_THAT(version["time"].get<std::string>(), Catch::EndsWith("Z"));
  }
}

TEST_CASE("bad version ids are a 400 or 404 with a message") {
  Blorp b;
  std::string id = b.base.Hex();
  struct Case {
    std::string path;
    int status;
    std::string message;
  };
  for (const Case& c : {
           Case{"/_versions/" + id.substr(0, 7), 400, "give 8 to 64 hex digits"},
           Case{"/_versions/" + id + "0", 400, "give 8 to 64 hex digits"},
           Case{"/_versions/blorpblorp", 400, "'blorpblorp' is not a version id"},
           Case{"/_versions/", 400, "'' is not a version id"},
           Case{"/_versions/0123456789abcdef", 404, "no version id starts with 0123456789abcdef"},
           Case{"/_versions/" + id + "/values", 404, "no such path"},
           Case{"/_versions", 404, "no such path"},
           Case{"/_links/" + id.substr(0, 4), 400, "is not a version id"},
           Case{"/_links", 404, "name a version: /_links/ID"},
           Case{"/_history/xyzxyzxyz", 400, "is not a version id"},
           Case{"/_future/ffffffffff", 404, "no version id starts with"},
       }) {
    Response response = Route(GraphRequest(c.path), b.service);
    INFO(c.path << " -> " << response.body);
    CHECK(response.status == c.status);
    CHECK(response.headers.Get("Content-Type") == "application/json");
    CHECK_THAT(nlohmann::json::parse(response.body)["message"].get<std::string>(),
               Catch::Contains(c.message));
  }
}

TEST_CASE("a prefix two versions share is a 400 that asks for more digits") {
  Blorp b;
  b.service.store = std::make_unique<AmbiguousPrefixStore>(std::move(b.service.store), "abcdef12");
  for (Request request : {GraphRequest("/_versions/ABCDEF12"),
                          GraphRequest("/_concestor", "id=" + b.base.Hex() + "&id=abcdef12")}) {
    Response response = Route(request, b.service);
    INFO(request.path_info << " -> " << response.body);
    CHECK(response.status == 400);
    CHECK_THAT(response.body,
               Catch::Contains("more than one version id starts with abcdef12; give more digits"));
  }
  Request create = PostRequest("text/plain", "v", "key=blorp&prev=abcdef12");
  create.path_info = "/_create";
  create.headers.Set("Authorization", std::string("Bearer ") + kTestSecret);
  Response refused = Route(create, b.service);
  CHECK(refused.status == 400);
  CHECK_THAT(refused.body, Catch::Contains("prev: more than one version id starts with abcdef12"));
}

TEST_CASE("a version's value is its exact bytes, cached for good under its full id") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  VersionId id = Create(service, "bytes", AllBytes(), {});
  Response full = Route(GraphRequest("/_versions/" + id.Hex() + "/value"), service);
  REQUIRE(full.status == 200);
  CHECK(full.body == AllBytes());
  CHECK(full.headers.Get("Content-Type") == "text/plain");
  CHECK(full.headers.Get("ETag") == "\"" + id.Hex() + "\"");
  CHECK(full.headers.Get("Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(full.headers.Get("X-Kvs-Key") == "bytes");
  CHECK_THAT(std::string(full.headers.Get("Last-Modified").value_or("")), Catch::EndsWith(" GMT"));

  // A prefix could name another version one day: revalidate.
  Response prefix = Route(GraphRequest("/_versions/" + id.Hex().substr(0, 8) + "/value"), service);
  CHECK(prefix.body == AllBytes());
  CHECK(prefix.headers.Get("Cache-Control") == "no-cache");

  Request cached = GraphRequest("/_versions/" + id.Hex() + "/value");
  cached.headers.Set("If-None-Match", "\"" + id.Hex() + "\"");
  Response not_modified = Route(cached, service);
  CHECK(not_modified.status == 304);
  CHECK(not_modified.body.empty());

  VersionId text = Create(service, "text", "h\xc3\xa9llo", {});
  CHECK(Route(GraphRequest("/_versions/" + text.Hex() + "/value"), service)
            .headers.Get("Content-Type") == "text/plain; charset=utf-8");
}

TEST_CASE("a delete's value is 404; its metadata says deleted") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Create(service, "gone", "v", {});
  WriteBatch batch;
  batch.Delete("gone");
  auto written = service.store->Write(batch);
  REQUIRE(written.ok());
  std::string id = written->versions[0].Hex();
  CHECK(MustGet(service, "/_versions/" + id)["deleted"] == true);
  Response value = Route(GraphRequest("/_versions/" + id + "/value"), service);
  CHECK(value.status == 404);
  CHECK_THAT(value.body, Catch::Contains("a delete has no value"));
}

TEST_CASE("links are the versions naming one as a parent") {
  Blorp b;
  auto [first, second] = std::minmax(b.upper, b.mixed);
  nlohmann::json links = MustGet(b.service, "/_links/" + b.base.Hex().substr(0, 8));
  CHECK(links["id"] == b.base.Hex());
  CHECK(Ids(links["links"]) == std::vector<std::string>{first.Hex(), second.Hex()});
  CHECK(Ids(MustGet(b.service, "/_links/" + b.upper.Hex())["links"]) ==
        std::vector<std::string>{b.merge.Hex()});
  CHECK(MustGet(b.service, "/_links/" + b.merge.Hex())["links"].empty());
}

TEST_CASE("history walks back from a merge through both parents, as JSON or forkdb's text") {
  Blorp b;
  nlohmann::json history = MustGet(b.service, "/_history/" + b.merge.Hex());
  CHECK(history["id"] == b.merge.Hex());
  CHECK(history["limit"] == 1000);
  CHECK(history["complete"] == true);
  CHECK(history["continue_from"].empty());
  const nlohmann::json& tree = history["tree"];
  CHECK(Ids(tree["versions"]) == std::vector<std::string>{b.merge.Hex()});
  REQUIRE(tree["branches"].size() == 2);
  CHECK(Ids(tree["branches"][0]["versions"]) ==
        std::vector<std::string>{b.upper.Hex(), b.base.Hex()});
  CHECK(Ids(tree["branches"][1]["versions"]) ==
        std::vector<std::string>{b.mixed.Hex(), b.base.Hex()});

  Response text = Route(GraphRequest("/_history/" + b.merge.Hex(), "format=text"), b.service);
  REQUIRE(text.status == 200);
  CHECK(text.headers.Get("Content-Type") == "text/plain; charset=utf-8");
  CHECK(text.body == "+- blorp :: " + b.merge.Hex() + "\n" +  //
                         " +- blorp :: " + b.upper.Hex() + "\n" + " |- blorp :: " + b.base.Hex() +
                         "\n" + " +- blorp :: " + b.mixed.Hex() + "\n" +
                         " |- blorp :: " + b.base.Hex() + "\n");
}

TEST_CASE("future walks forward from the tail into both edits and the merge") {
  Blorp b;
  auto [first, second] = std::minmax(b.upper, b.mixed);
  nlohmann::json future = MustGet(b.service, "/_future/" + b.base.Hex());
  const nlohmann::json& tree = future["tree"];
  CHECK(Ids(tree["versions"]) == std::vector<std::string>{b.base.Hex()});
  REQUIRE(tree["branches"].size() == 2);
  CHECK(Ids(tree["branches"][0]["versions"]) ==
        std::vector<std::string>{first.Hex(), b.merge.Hex()});
  CHECK(Ids(tree["branches"][1]["versions"]) ==
        std::vector<std::string>{second.Hex(), b.merge.Hex()});
  CHECK(Ids(MustGet(b.service, "/_future/" + b.merge.Hex())["tree"]["versions"]) ==
        std::vector<std::string>{b.merge.Hex()});
}

TEST_CASE("a walk cut by limit names where to continue, and continuing shows the rest") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  std::vector<VersionId> chain{Create(service, "k", "0", {})};
  for (int i = 1; i < 10; ++i)
    chain.push_back(Create(service, "k", std::to_string(i), {chain.back()}));

  nlohmann::json first = MustGet(service, "/_history/" + chain[9].Hex(), "limit=4");
  CHECK(first["complete"] == false);
  CHECK(first["tree"]["cut"] == true);
  CHECK(first["tree"]["versions"].size() == 4);
  CHECK(first["continue_from"] == nlohmann::json::array({chain[6].Hex()}));

  nlohmann::json rest = MustGet(service, "/_history/" + chain[6].Hex(), "limit=10");
  CHECK(rest["complete"] == true);
  std::vector<std::string> expected;
  for (int i = 6; i >= 0; --i) expected.push_back(chain[i].Hex());
  CHECK(Ids(rest["tree"]["versions"]) == expected);

  Response text = Route(GraphRequest("/_future/" + chain[0].Hex(), "limit=2&format=text"), service);
  CHECK_THAT(text.body, Catch::EndsWith("|- ...\n"));

  for (std::string query :
       {"limit=0", "limit=10001", "limit=x", "limit=1&limit=2", "format=yaml", "depth=3"}) {
    Response response = Route(GraphRequest("/_history/" + chain[9].Hex(), query), service);
    INFO(query << " -> " << response.body);
    CHECK(response.status == 400);
  }
  Response bad_text =
      Route(GraphRequest("/_history/" + chain[9].Hex(), "limit=0&format=text"), service);
  CHECK(bad_text.status == 400);
  CHECK(bad_text.headers.Get("Content-Type") == "text/plain; charset=utf-8");
}

TEST_CASE("the concestor of two forks is their fork point; unrelated versions have none") {
  Blorp b;
  nlohmann::json concestor = MustGet(b.service, "/_concestor",
                                     "id=" + b.upper.Hex() + "&id=" + b.mixed.Hex().substr(0, 8));
  CHECK(concestor["ids"] == nlohmann::json::array({b.upper.Hex(), b.mixed.Hex()}));
  CHECK(Ids(concestor["concestors"]) == std::vector<std::string>{b.base.Hex()});
  CHECK(Ids(MustGet(b.service, "/_concestor",
                    "id=" + b.merge.Hex() + "&id=" + b.upper.Hex())["concestors"]) ==
        std::vector<std::string>{b.upper.Hex()});

  VersionId stranger = Create(b.service, "other", "x", {});
  CHECK(MustGet(b.service, "/_concestor",
                "id=" + b.merge.Hex() + "&id=" + stranger.Hex())["concestors"]
            .empty());

  std::string many;
  for (int i = 0; i < 101; ++i) many += "id=" + b.base.Hex() + "&";
  struct Case {
    std::string query;
    int status;
    std::string message;
  };
  for (const Case& c : {Case{"", 400, "name the versions"}, Case{many, 400, "at most 100"},
                        Case{"id=" + b.base.Hex() + "&id=nothex!!", 400, "id: 'nothex!!'"},
                        Case{"id=deadbeefdeadbeef", 404, "id: no version id starts with"},
                        Case{"ids=" + b.base.Hex(), 400, "unknown parameter 'ids'"}}) {
    Response response = Route(GraphRequest("/_concestor", c.query), b.service);
    INFO(c.query.substr(0, 80) << " -> " << response.body);
    CHECK(response.status == c.status);
    CHECK_THAT(response.body, Catch::Contains(c.message));
  }
}

TEST_CASE("list pages through every version by id") {
  Blorp b;
  Create(b.service, "other", "x", {});
  auto all = b.service.store->ListVersions({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 5);
  std::vector<std::string> ids;
  for (const Version& v : *all) ids.push_back(v.id.Hex());

  nlohmann::json whole = MustGet(b.service, "/_list");
  CHECK(Ids(whole["versions"]) == ids);
  CHECK(whole["more"] == false);
  CHECK(whole["versions"][0].contains("parents"));

  nlohmann::json first = MustGet(b.service, "/_list", "limit=2");
  CHECK(Ids(first["versions"]) == std::vector<std::string>{ids[0], ids[1]});
  CHECK(first["more"] == true);
  nlohmann::json next = MustGet(b.service, "/_list", "limit=2&gt=" + ids[1]);
  CHECK(Ids(next["versions"]) == std::vector<std::string>{ids[2], ids[3]});
  nlohmann::json last = MustGet(b.service, "/_list", "limit=2&gt=" + ids[3]);
  CHECK(Ids(last["versions"]) == std::vector<std::string>{ids[4]});
  CHECK(last["more"] == false);

  std::string upper_bound = ids[2];
  std::transform(upper_bound.begin(), upper_bound.end(), upper_bound.begin(), ::toupper);
  CHECK(Ids(MustGet(b.service, "/_list", "lt=" + upper_bound)["versions"]) ==
        std::vector<std::string>{ids[0], ids[1]});

  for (const std::string& query :
       std::vector<std::string>{"gt=zz", "lt=" + std::string(65, 'a'), "gt=b&lt=a", "gt=ab&lt=ab",
                                "limit=0", "limit=1001", "after=ab", "gt=a&gt=b"}) {
    Response response = Route(GraphRequest("/_list", query), b.service);
    INFO(query << " -> " << response.body);
    CHECK(response.status == 400);
    CHECK(nlohmann::json::parse(response.body)["error"] == "bad_request");
  }
}

TEST_CASE("with read_access: secret, every read of the graph needs the secret") {
  ServiceFixture fixture(std::string(kTestSecret), Limits(), ReadAccess::kSecret);
  Service& service = fixture.service();
  VersionId id = Create(service, "k", "v", {});
  for (const std::string& path : std::vector<std::string>{
           "/_heads/k", "/_tails/k", "/_versions/" + id.Hex(), "/_versions/" + id.Hex() + "/value",
           "/_links/" + id.Hex(), "/_history/" + id.Hex(), "/_future/" + id.Hex(), "/_list"}) {
    INFO(path);
    CHECK(Route(GraphRequest(path), service).status == 403);
    CHECK(Route(GraphRequest(path, "auth=wrong"), service).status == 403);
    CHECK(Route(GraphRequest(path, AuthField()), service).status == 200);
    Request bearer = GraphRequest(path);
    bearer.headers.Set("Authorization", std::string("Bearer ") + kTestSecret);
    CHECK(Route(bearer, service).status == 200);
  }
  CHECK(Route(GraphRequest("/_concestor", "id=" + id.Hex()), service).status == 403);
  CHECK(Route(GraphRequest("/_concestor", "id=" + id.Hex() + "&" + AuthField()), service).status ==
        200);
  // Kept for good, but by the reader's own cache only: a shared one would
  // hand the value to readers without the secret.
  Response value = Route(GraphRequest("/_versions/" + id.Hex() + "/value", AuthField()), service);
  CHECK(value.headers.Get("Cache-Control") == "private, max-age=31536000, immutable");
}

TEST_CASE("the graph's reads are GET and HEAD only; unknown paths below /_ are 404") {
  Blorp b;
  for (const std::string& path :
       std::vector<std::string>{"/_heads/blorp", "/_tails/blorp", "/_versions/" + b.base.Hex(),
                                "/_links/" + b.base.Hex(), "/_history/" + b.base.Hex(),
                                "/_future/" + b.base.Hex(), "/_concestor", "/_list"}) {
    Request post = PostRequest("text/plain", "x");
    post.path_info = path;
    Response response = Route(post, b.service);
    INFO(path);
    CHECK(response.status == 405);
    CHECK(response.headers.Get("Allow") == "GET, HEAD");
    CHECK(nlohmann::json::parse(response.body)["error"] == "method_not_allowed");
  }
  for (std::string path : {"/_list/x", "/_concestor/x", "/_create/x", "/_headsblorp", "/_nope"}) {
    Response response = Route(GraphRequest(path), b.service);
    INFO(path);
    CHECK(response.status == 404);
    CHECK(nlohmann::json::parse(response.body)["error"] == "not_found");
  }
}

}  // namespace kvs::server::test
