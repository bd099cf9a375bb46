// kvs behind a real Apache, installed the way the htaccess at the repository
// root tells users: the program and that file in a directory Apache serves,
// nothing else configured for kvs. Each way Apache runs programs (mod_cgi,
// mod_cgid, mod_fcgid) gets one server, on which every behaviour below is
// checked; a failure prints that server's logs when it stops.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/config.h"
#include "http/form.h"
#include "tests/harness/apache_stack.h"
#include "tests/harness/server_stack.h"
#include "tests/store/blocks.h"

namespace kvs::server::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

std::string Mounted(const std::string& path) { return kApacheMount + path; }

// Every byte value, over and over: more than mod_fcgid's default
// FcgidMaxRequestLen of 128 KiB, so the server config's raised limit counts.
std::string BigBinaryValue() {
  std::string value;
  while (value.size() < 200000) value += AllBytes();
  return value;
}

// A form post, with the form field auth, and a multipart post of a binary
// value read back byte for byte; JSON carries it as base64.
void CheckValuesRoundTrip(const ApacheStack& stack) {
  auto client = stack.Client();
  auto posted = client->Post(Mounted("/").c_str(), AuthField() + "&greeting=hello+world", kForm);
  REQUIRE(posted);
  CHECK(posted->status == 200);
  CHECK(posted->body == "revision 1\ngreeting\n");

  auto read = client->Get(Mounted("/?k=greeting").c_str());
  REQUIRE(read);
  CHECK(read->status == 200);
  CHECK(read->body == "hello world");
  CHECK(read->get_header_value("Content-Type") == "text/plain; charset=utf-8");
  CHECK(read->get_header_value("X-Kvs-Revision") == "1");
  CHECK(read->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK_THAT(read->get_header_value("ETag"), Catch::Matches("\"[0-9a-f]{64}\""));
  // mod_unique_id's id, not one kvs made (32 hex digits).
  CHECK_THAT(read->get_header_value("X-Request-Id"), Catch::Matches("[A-Za-z0-9@_-]{20,64}"));
  CHECK_THAT(read->get_header_value("X-Request-Id"), !Catch::Matches("[0-9a-f]{32}"));

  const std::string value = BigBinaryValue();
  auto urlencoded = client->Post(Mounted("/").c_str(),
                                 AuthField() + "&urlencoded=" + PercentEncode(value), kForm);
  REQUIRE(urlencoded);
  CHECK(urlencoded->status == 200);
  httplib::MultipartFormDataItems items = {
      {"auth", kTestSecret, "", ""},
      {"multipart", value, "bytes.bin", "application/octet-stream"},
  };
  auto multipart = client->Post(Mounted("/").c_str(), items);
  REQUIRE(multipart);
  CHECK(multipart->status == 200);
  for (const char* key : {"urlencoded", "multipart"}) {
    INFO(key);
    auto back = client->Get(Mounted(std::string("/?k=") + key).c_str());
    REQUIRE(back);
    CHECK(back->status == 200);
    CHECK(back->body == value);
  }

  auto json = client->Get(Mounted("/?k=multipart&format=json").c_str());
  REQUIRE(json);
  CHECK(json->status == 200);
  auto parsed = nlohmann::json::parse(json->body);
  CHECK(parsed["key"] == "multipart");
  CHECK(parsed["encoding"] == "base64");
  CHECK(parsed["value"].get<std::string>().size() == (value.size() + 2) / 3 * 4);
  CHECK(parsed["revision"] == 3);

  auto missing = client->Get(Mounted("/?k=missing").c_str());
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->body == "key 'missing' does not exist\n");
}

// Apache hands the Authorization header to the program (CGIPassAuth), and
// a wrong secret changes nothing.
void CheckSecretGuardsWrites(const ApacheStack& stack) {
  auto client = stack.Client();
  auto bearer =
      client->Post(Mounted("/").c_str(),
                   httplib::Headers{{"Authorization", std::string("Bearer ") + kTestSecret}},
                   "by_bearer=yes", kForm);
  REQUIRE(bearer);
  CHECK(bearer->status == 200);
  auto read = client->Get(Mounted("/?k=by_bearer").c_str());
  REQUIRE(read);
  CHECK(read->body == "yes");

  auto wrong_field = client->Post(Mounted("/").c_str(), "auth=guess&refused=1", kForm);
  REQUIRE(wrong_field);
  CHECK(wrong_field->status == 403);
  CHECK(wrong_field->body == "wrong secret; nothing was changed\n");
  auto wrong_bearer =
      client->Post(Mounted("/").c_str(), httplib::Headers{{"Authorization", "Bearer guess"}},
                   "refused=1", kForm);
  REQUIRE(wrong_bearer);
  CHECK(wrong_bearer->status == 403);
  CHECK(wrong_bearer->body == "wrong secret; nothing was changed\n");
  auto refused = client->Get(Mounted("/?k=refused").c_str());
  REQUIRE(refused);
  CHECK(refused->status == 404);
}

// kvs answers exactly the paths below the mount, as its PATH_INFO; the mount
// itself without its slash is redirected there.
void CheckMount(const ApacheStack& stack) {
  auto client = stack.Client();
  auto index = client->Get(Mounted("/").c_str());
  REQUIRE(index);
  CHECK(index->status == 200);
  CHECK_THAT(index->get_header_value("Content-Type"), Catch::StartsWith("text/html"));

  // kvs's 404 names the PATH_INFO it got: the path below the mount, decoded
  // once, with nothing cut at a decoded '?' or '#'. (Five segments are no
  // route of the REST face.)
  auto unknown = client->Get(Mounted("/no/such%3Froute%23x%2541%20y/a/b/c").c_str());
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK_THAT(unknown->body, Catch::Contains(": /no/such?route#x%41 y/a/b/c "));

  auto bare = client->Get(Mounted("?k=greeting").c_str());
  REQUIRE(bare);
  CHECK(bare->status == 301);
  CHECK_THAT(bare->get_header_value("Location"), Catch::EndsWith(Mounted("/?k=greeting")));

  auto outside = client->Get("/?k=greeting");
  REQUIRE(outside);
  CHECK(outside->status != 200);
  CHECK(outside->body.find("hello world") == std::string::npos);
}

// The secret file, the config, the store and dotfiles next to the program
// are refused by the htaccess (403) before kvs runs; the program itself runs
// rather than being sent.
void CheckFilesAreNeverServed(const ApacheStack& stack) {
  const std::string site = stack.site_dir();
  WriteFile(site + "/auth_sample.txt", std::string(kTestSecret) + "\n");
  std::vector<std::string> denied = {
      "/auth.txt",  "/AUTH.TXT", "/%61uth.txt",  "/auth_sample.txt", "/kvs.yaml",
      "/.htaccess", "/kvs-data", "/kvs-data/",   "/data/STORE",      "/KVS-DATA/",
      "/x.conf",    "/x.pem",    "/sub/.hidden", "/kvs.yml"};
  for (const auto& entry : std::filesystem::directory_iterator(site + "/kvs-data")) {
    denied.push_back("/kvs-data/" + entry.path().filename().string());
  }
  REQUIRE(denied.size() > 14);  // the store wrote files
  auto client = stack.Client();
  for (const std::string& path : denied) {
    INFO(Mounted(path));
    auto res = client->Get(Mounted(path).c_str());
    REQUIRE(res);
    CHECK(res->status == 403);
    CHECK(res->body.find("never passed to kvs") != std::string::npos);
    CHECK(res->body.find(kTestSecret) == std::string::npos);
    CHECK(res->body.find("data_dir") == std::string::npos);
  }
  auto program = client->Get(Mounted("/kvs.fcgi").c_str());
  REQUIRE(program);
  CHECK(program->status == 200);
  CHECK(program->body == "[]\n");  // kvs's answer: the REST face has no key "kvs.fcgi"
  CHECK(program->body.find("ELF") == std::string::npos);
}

// A query string without '=' is one Apache's mod_cgi turns into command-line
// arguments (RFC 3875 4.4); kvs-fcgi must not take them as options.
void CheckQueryWordsAreNotOptions(const ApacheStack& stack) {
  auto client = stack.Client();
  // kvs's refusal of a parameter it does not know, not the program's usage.
  auto help = client->Get(Mounted("/?--help").c_str());
  REQUIRE(help);
  CHECK(help->status == 400);
  CHECK(help->body == "unknown parameter '--help' (known here: format, k, auth)\n");
  CHECK(help->get_header_value("X-Content-Type-Options") == "nosniff");

  auto other_config = client->Get(Mounted("/?--config+/nonexistent.yaml").c_str());
  REQUIRE(other_config);
  CHECK(other_config->status == 400);
  CHECK_THAT(other_config->body, Catch::StartsWith("unknown parameter '--config "));

  // Where the program's user may create a socket.
  const std::string socket = stack.site_dir() + "/kvs-data/left-behind.sock";
  auto daemon = client->Get(Mounted("/?--socket+" + socket).c_str());
  REQUIRE(daemon);
  CHECK(daemon->status == 400);
  CHECK_FALSE(std::filesystem::exists(socket));
}

// A request Apache refuses itself after reading the htaccess (a broken
// chunked body, a body over LimitRequestBody, 1 GiB by default) gets the
// htaccess's one line, not Apache's HTML page; kvs's own refusals pass
// through as kvs wrote them.
void CheckApacheRefusalsAreOneLine(const ApacheStack& stack) {
  const std::string end = "Host: x\r\nConnection: close\r\n\r\n";
  struct Case {
    std::string request;
    std::string status_line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"POST " + Mounted("/") + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" + end + "zz\r\n",
       "400 Bad Request", "bad request: Apache could not read it"},
      {"POST " + Mounted("/") + " HTTP/1.1\r\nContent-Length: 2000000000\r\n" + end,
       "413 Request Entity Too Large", "too large: the body is larger than Apache accepts"},
  };
  for (const Case& c : cases) {
    std::string answer = RawExchange(stack.port(), c.request);
    INFO(c.request << "\n -> " << answer);
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 " + c.status_line + "\r\n"));
    const size_t head_end = answer.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    const std::string body = answer.substr(head_end + 4);
    CHECK_THAT(body, Catch::StartsWith(c.message));
    CHECK(body.find('\n') == std::string::npos);  // one line
    CHECK(body.find('<') == std::string::npos);   // no markup
  }
  auto own = stack.Client()->Get(Mounted("/?k=%zz").c_str());
  REQUIRE(own);
  CHECK(own->status == 400);
  CHECK_THAT(own->body, Catch::StartsWith("query string: bad percent-encoding"));
}

// A chunked body (a streamed upload: curl -T -, a client library that
// streams) reaches kvs whole. Apache's CGI passes it without CONTENT_LENGTH,
// which kvs took as no body: a 200, and an empty value stored.
void CheckChunkedBodyArrives(const ApacheStack& stack) {
  const std::string value(20000, 'c');
  std::string request = "PUT " + Mounted("/streamed") +
                        " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
                        std::string(kTestSecret) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < value.size(); at += 4096) {
    const std::string chunk = value.substr(at, 4096);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    request += std::string(size) + "\r\n" + chunk + "\r\n";
  }
  request += "0\r\n\r\n";
  std::string answer = RawExchange(stack.port(), request);
  INFO(answer.substr(0, 300));
  CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200"));
  auto stored = stack.Client()->Get(Mounted("/streamed").c_str());
  REQUIRE(stored);
  CHECK(stored->body == "[\"" + value + "\",[]]\n");
}

void CheckDeployment(ApacheOptions options) {
  ApacheStack stack(options);
  CheckValuesRoundTrip(stack);
  CheckSecretGuardsWrites(stack);
  CheckMount(stack);
  CheckFilesAreNeverServed(stack);
  CheckQueryWordsAreNotOptions(stack);
  CheckChunkedBodyArrives(stack);
  // mod_fcgid reads the body itself and hands kvs what it got of a broken
  // one (nothing), so Apache answers no such error there.
  if (options.runner != ApacheOptions::Runner::kFcgid) CheckApacheRefusalsAreOneLine(stack);
}

// The most logged blocks in a row in the store's live data file: what the
// next process to open it may have to replay.
size_t LongestLoggedRun(const std::string& store_dir, const std::string& file) {
  size_t longest = 0, run = 0;
  for (const kvs::test::BlockInfo& block : kvs::test::Blocks(store_dir, file)) {
    run = block.kind == format::kKindLogged ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

// Polls until done() or the deadline; whether done() held.
bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  for (auto deadline = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < deadline;) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Plain CGI has no server process to checkpoint an idle store or compact it:
// a CGI request that wrote does both, the first by its short log window,
// the second in a process detached from Apache, which ends the CGI program
// once the request is done.
void CheckCgiLooksAfterTheStore(ApacheOptions::Runner runner) {
  ApacheOptions options;
  options.runner = runner;
  options.more_config = "retention:\n  garbage_ratio: off\n";
  ApacheStack stack(options);
  const std::string store = stack.config_dir() + "/kvs-data";
  auto client = stack.Client();
  std::map<std::string, std::string> latest;
  int writes = 0;
  auto write = [&] {
    const std::string key = "k" + std::to_string(writes % 7);
    const std::string value = std::to_string(writes++);
    auto posted = client->Post(Mounted("/").c_str(), AuthField() + "&" + key + "=" + value, kForm);
    REQUIRE(posted);
    REQUIRE(posted->status == 200);
    latest[key] = value;
  };
  // More writes than a window: a CGI request replays at most that many.
  while (writes < static_cast<int>(config::kOneShotCheckpointBlocks) + 60) write();
  const size_t longest = LongestLoggedRun(store, "data.000001");
  CHECK(longest < config::kOneShotCheckpointBlocks);
  CHECK(longest >= config::kOneShotCheckpointBlocks - 2);

  // Now compacting by itself, on little garbage.
  stack.WriteKvsConfig("retention:\n  garbage_ratio: 0.2\n  min_garbage_bytes: 32KiB\n");
  const std::string compacted = store + "/data.000002";
  while (writes < 1000 && !std::filesystem::exists(compacted)) write();
  INFO(writes << " writes");
  CHECK(WaitUntil([&] { return std::filesystem::exists(compacted); }, std::chrono::seconds(30)));
  CHECK(WaitUntil([&] { return stack.ProgramProcesses().empty(); }, std::chrono::seconds(30)));
  CHECK_FALSE(std::filesystem::exists(store + "/data.000001"));
  for (const auto& [key, value] : latest) {
    auto read = client->Get(Mounted("/?k=" + key).c_str());
    REQUIRE(read);
    CHECK(read->body == value);
  }
  std::unique_ptr<Store> opened = kvs::test::OpenStore(store);
  auto check = opened->Check();
  REQUIRE(check.ok());
  CHECK(check->problems.empty());
  CHECK(check->versions == static_cast<uint64_t>(writes));  // all history kept
}

}  // namespace

TEST_CASE("Apache runs kvs as a CGI program (mod_cgi) from the htaccess alone") {
  CheckDeployment({ApacheOptions::Runner::kCgi});
}

TEST_CASE("Apache runs kvs as a CGI program through mod_cgid under the event MPM") {
  CheckDeployment({ApacheOptions::Runner::kCgid});
}

TEST_CASE("Apache runs kvs under mod_fcgid, with the least AllowOverride the htaccess needs") {
  ApacheOptions options;
  options.runner = ApacheOptions::Runner::kFcgid;
  options.allow_override = "FileInfo AuthConfig Options=ExecCGI,SymLinksIfOwnerMatch";
  CheckDeployment(options);
}

TEST_CASE("A store served as plain CGI keeps its log short and compacts by itself") {
  SECTION("mod_cgi") { CheckCgiLooksAfterTheStore(ApacheOptions::Runner::kCgi); }
  SECTION("mod_cgid") { CheckCgiLooksAfterTheStore(ApacheOptions::Runner::kCgid); }
}

TEST_CASE("KVS_CONFIG set as the htaccess describes moves config, secret and store elsewhere") {
  for (auto runner : {ApacheOptions::Runner::kCgi, ApacheOptions::Runner::kFcgid}) {
    ApacheOptions options;
    options.runner = runner;
    options.config_outside_web_tree = true;
    ApacheStack stack(options);
    INFO((runner == ApacheOptions::Runner::kCgi ? "CGI" : "mod_fcgid"));
    auto client = stack.Client();
    auto posted = client->Post(Mounted("/").c_str(), AuthField() + "&where=private", kForm);
    REQUIRE(posted);
    CHECK(posted->status == 200);
    auto read = client->Get(Mounted("/?k=where").c_str());
    REQUIRE(read);
    CHECK(read->body == "private");
    CHECK(std::filesystem::exists(stack.config_dir() + "/kvs-data/STORE"));
    CHECK_FALSE(std::filesystem::exists(stack.site_dir() + "/kvs-data"));
  }
}

}  // namespace kvs::server::test
