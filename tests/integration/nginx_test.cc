// The classic face end to end: a real nginx (configured from
// fcgi/nginx.conf.in) in front of the real kvs-fcgi, spoken to over HTTP with
// cpp-httplib and raw sockets.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/form.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

// Requires that the request got an answer at all, and shows the logs if not.
#define REQUIRE_ANSWERED(result, stack) \
  do {                                  \
    INFO((stack).Logs());               \
    REQUIRE(result);                    \
  } while (0)

// Posts body as a form and requires a 200.
void MustPost(const ServerStack& stack, const std::string& body, const std::string& path = "/") {
  auto res = stack.Client()->Post(path.c_str(), body, kForm);
  REQUIRE_ANSWERED(res, stack);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

int GetStatus(const ServerStack& stack, const std::string& path) {
  auto res = stack.Client()->Get(path.c_str());
  REQUIRE_ANSWERED(res, stack);
  return res->status;
}

}  // namespace

TEST_CASE("through nginx, a posted value reads back with its version headers") {
  ServerStack stack;
  auto client = stack.Client();
  auto posted = client->Post("/", AuthField() + "&greeting=hello+world&other=x", kForm);
  REQUIRE_ANSWERED(posted, stack);
  CHECK(posted->status == 200);
  CHECK(posted->body == "revision 1\ngreeting\nother\n");

  auto read = client->Get("/?k=greeting");
  REQUIRE_ANSWERED(read, stack);
  CHECK(read->status == 200);
  CHECK(read->body == "hello world");
  CHECK(read->get_header_value("Content-Type") == "text/plain; charset=utf-8");
  CHECK(read->get_header_value("X-Kvs-Revision") == "1");
  CHECK(read->get_header_value("X-Kvs-Key") == "greeting");
  CHECK(read->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK_THAT(read->get_header_value("Last-Modified"), Catch::EndsWith(" GMT"));
  std::string etag = read->get_header_value("ETag");
  CHECK_THAT(etag, Catch::Matches("\"[0-9a-f]{64}\""));

  auto cached = client->Get("/?k=greeting", httplib::Headers{{"If-None-Match", etag}});
  REQUIRE_ANSWERED(cached, stack);
  CHECK(cached->status == 304);
  CHECK(cached->body.empty());

  auto head = client->Head("/?k=greeting");
  REQUIRE_ANSWERED(head, stack);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(head->get_header_value("ETag") == etag);

  CHECK(GetStatus(stack, "/?k=nothing") == 404);
}

TEST_CASE("through nginx, a value with every byte 0..255 round-trips exactly") {
  ServerStack stack;
  auto client = stack.Client();
  const std::string value = AllBytes() + AllBytes();

  MustPost(stack, AuthField() + "&urlencoded=" + PercentEncode(value));
  httplib::MultipartFormDataItems items = {
      {"auth", kTestSecret, "", ""},
      {"multipart", value, "bytes.bin", "application/octet-stream"},
  };
  auto multipart = client->Post("/", items);
  REQUIRE_ANSWERED(multipart, stack);
  INFO(multipart->body);
  REQUIRE(multipart->status == 200);

  for (const char* key : {"urlencoded", "multipart"}) {
    auto read = client->Get((std::string("/?k=") + key).c_str());
    REQUIRE_ANSWERED(read, stack);
    CHECK(read->status == 200);
    CHECK(read->body == value);
    CHECK(read->get_header_value("Content-Length") == std::to_string(value.size()));
  }
  auto json = client->Get("/?k=multipart&format=json");
  REQUIRE_ANSWERED(json, stack);
  auto parsed = nlohmann::json::parse(json->body);
  CHECK(parsed["encoding"] == "base64");
  CHECK(parsed["value"].get<std::string>().size() == (value.size() + 2) / 3 * 4);
}

TEST_CASE("through nginx, a list of keys reads the most recently updated one") {
  ServerStack stack;
  MustPost(stack, AuthField() + "&a=1");
  MustPost(stack, AuthField() + "&b=2");
  MustPost(stack, AuthField() + "&a=3");
  MustPost(stack, AuthField() + "&c=4");
  auto client = stack.Client();
  auto newest = client->Get("/?k=a,b,missing");
  REQUIRE_ANSWERED(newest, stack);
  CHECK(newest->body == "3");
  CHECK(newest->get_header_value("X-Kvs-Key") == "a");
  CHECK(newest->get_header_value("X-Kvs-Revision") == "3");

  auto json = client->Get("/?k=b,c,a&format=json");
  REQUIRE_ANSWERED(json, stack);
  auto parsed = nlohmann::json::parse(json->body);
  CHECK(parsed["key"] == "c");
  CHECK(parsed["value"] == "4");
  CHECK(parsed["revision"] == 4);

  CHECK(GetStatus(stack, "/?k=x,y,z") == 404);
}

TEST_CASE("through nginx, the secret guards writes") {
  ServerStack stack;
  auto client = stack.Client();
  auto wrong = client->Post("/", "auth=guess&k=v", kForm);
  REQUIRE_ANSWERED(wrong, stack);
  CHECK(wrong->status == 403);
  CHECK(wrong->body == "wrong secret; nothing was changed\n");
  auto missing = client->Post("/", "k=v", kForm);
  REQUIRE_ANSWERED(missing, stack);
  CHECK(missing->status == 403);
  CHECK(GetStatus(stack, "/?k=k") == 404);

  auto bearer = client->Post(
      "/", httplib::Headers{{"Authorization", std::string("Bearer ") + kTestSecret}}, "k=v", kForm);
  REQUIRE_ANSWERED(bearer, stack);
  CHECK(bearer->status == 200);
  CHECK(GetStatus(stack, "/?k=k") == 200);
}

TEST_CASE("through nginx, a server without a secret refuses writes and says why") {
  StackOptions options;
  options.secret = std::nullopt;
  ServerStack stack(options);
  auto res = stack.Client()->Post("/?format=json", "auth=&k=v", kForm);
  REQUIRE_ANSWERED(res, stack);
  CHECK(res->status == 403);
  auto parsed = nlohmann::json::parse(res->body);
  CHECK(parsed["error"] == "forbidden");
  CHECK_THAT(parsed["message"].get<std::string>(), Catch::Contains("auth_file"));
}

TEST_CASE("through nginx, the placeholder secret's refusal names no server path; the log does") {
  StackOptions options;
  options.secret = "yourauthorizationhere";
  ServerStack stack(options);
  for (const char* path : {"/", "/?format=json", "/k", "/_txn", "/_create?key=k"}) {
    auto res = std::string(path) == "/k"
                   ? stack.Client()->Put(path, BearerHeaders(), "v", kForm)
                   : stack.Client()->Post(path, BearerHeaders(), "k=v", kForm);
    REQUIRE_ANSWERED(res, stack);
    INFO(path << " -> " << res->body);
    CHECK(res->status == 403);
    CHECK_THAT(res->body, Catch::Contains("placeholder of auth_sample.txt"));
    CHECK(res->body.find(stack.dir()) == std::string::npos);
    CHECK(res->body.find("auth.txt") == std::string::npos);
  }
  CHECK_THAT(stack.Logs(), Catch::Contains(stack.dir() + "/auth.txt"));
}

TEST_CASE("through nginx, bad input is a 4xx with a message and writes nothing") {
  ServerStack stack;
  auto client = stack.Client();
  struct Case {
    std::string path;
    std::string content_type;
    std::string body;
    int status;
    std::string message;
  };
  std::vector<Case> cases = {
      {"/", kForm, AuthField() + "&ok=1&ok=2", 400, "'ok' appears twice"},
      {"/", kForm, AuthField() + "&ok=1&_sys=2", 400, "reserved"},
      {"/", kForm, AuthField() + "&ok=1&k=%zz", 400, "bad percent-encoding"},
      {"/", kForm, AuthField() + "&ok=1&=v", 400, "empty key"},
      {"/", "text/plain", AuthField() + "&ok=1", 400, "not a form"},
      {"/", "multipart/form-data; boundary=zz", "--zz\r\nbroken", 400, "multipart"},
      {"/", kForm, AuthField() + "&ok=1&" + std::string(101, 'k') + "=v", 400, "max_key_bytes"},
      {"/", kForm, AuthField() + "&ok=1&k=" + std::string(100001, 'v'), 413, "max_value_bytes"},
      {"/", kForm, AuthField() + "&ok=1&k=" + std::string(400000, 'v'), 413, "max_body_bytes"},
      {"/?format=%zz", kForm, AuthField() + "&ok=1", 400, "query string"},
      // The body limit holds on every route, before the handler runs.
      {"/_create?key=big", "text/plain", std::string(400000, 'v'), 413, "max_body_bytes"},
  };
  std::string many = AuthField();
  for (int i = 0; i < 21; ++i) many += "&k" + std::to_string(i) + "=v";
  cases.push_back({"/", kForm, many, 400, "max_keys_per_transaction"});
  for (const Case& c : cases) {
    auto res = client->Post(c.path.c_str(), c.body, c.content_type.c_str());
    REQUIRE_ANSWERED(res, stack);
    INFO(c.path << " " << c.content_type << " " << c.body.substr(0, 100));
    CHECK(res->status == c.status);
    CHECK_THAT(res->body, Catch::Contains(c.message));
  }
  CHECK(GetStatus(stack, "/?k=ok") == 404);
  CHECK(GetStatus(stack, "/?k=k0") == 404);

  auto bad_query = client->Get("/?k=%zz");
  REQUIRE_ANSWERED(bad_query, stack);
  CHECK(bad_query->status == 400);
  CHECK_THAT(bad_query->body, Catch::Contains("bad percent-encoding"));
  CHECK(GetStatus(stack, "/?k=") == 400);
  CHECK(GetStatus(stack, "/?k=_reserved") == 400);
}

TEST_CASE(
    "through nginx, a query parameter the classic face does not know is a 400, not the page") {
  ServerStack stack;
  MustPost(stack, AuthField() + "&greeting=hello");
  auto client = stack.Client();
  const std::pair<const char*, const char*> cases[] = {
      {"/?key=greeting", "unknown parameter 'key' (known here: format, k, auth)\n"},
      {"/?hello", "unknown parameter 'hello' (known here: format, k, auth)\n"},
      {"/?k=greeting&format=json&format=text", "parameter 'format' is given twice"},
  };
  for (const auto& [path, message] : cases) {
    auto res = client->Get(path);
    REQUIRE_ANSWERED(res, stack);
    INFO(path << " -> " << res->body);
    CHECK(res->status == 400);
    CHECK_THAT(res->body, Catch::Contains(message));
  }
  CHECK(GetStatus(stack, "/") == 200);
  CHECK(GetStatus(stack, "/?k=greeting") == 200);
}

TEST_CASE("through nginx, a key that is not UTF-8 is a 400 on every face, shown escaped") {
  ServerStack stack;
  MustPost(stack, AuthField() + "&ok=1");
  const uint64_t revision = ServedStoreRevision(stack);
  auto client = stack.Client();
  const httplib::Headers bearer = BearerHeaders();
  struct Case {
    std::string method;
    std::string path;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"GET", "/?k=%FF", ""},
      {"GET", "/?k=ok,a%FFb", ""},
      {"GET", "/?k=%C3&format=json", ""},
      {"POST", "/", AuthField() + "&ok=2&%FF=v"},
      {"GET", "/%FF", ""},
      {"GET", "/%FF/info", ""},
      {"PUT", "/%FF", "v"},
      {"DELETE", "/%FF", ""},
      {"GET", "/_heads/%FF", ""},
      {"GET", "/_heads?key=%FF", ""},
      {"GET", "/_tails/%FF", ""},
      {"POST", "/_create?key=%FF", "v"},
      {"GET", "/_keys?prefix=%FF", ""},
      {"GET", "/_keys?gt=%FF", ""},
      {"GET", "/keys?prefix=%FF", ""},
      {"GET", "/keys?after=%FF", ""},
      {"GET", "/_versions/%FF", ""},
      {"POST", "/_txn", "{\"set\": {\"\xff\": \"v\"}}"},
  };
  for (const Case& c : cases) {
    const char* type = c.method == "POST" && c.path == "/" ? kForm : "text/plain";
    auto res = c.method == "POST"     ? client->Post(c.path.c_str(), bearer, c.body, type)
               : c.method == "PUT"    ? client->Put(c.path.c_str(), bearer, c.body, type)
               : c.method == "DELETE" ? client->Delete(c.path.c_str(), bearer)
                                      : client->Get(c.path.c_str());
    REQUIRE_ANSWERED(res, stack);
    INFO(c.method << " " << c.path << " -> " << res->body);
    CHECK(res->status == 400);
    // The bytes are named, escaped: never sent raw, never replaced by U+FFFD.
    CHECK_THAT(res->body, Catch::Contains("\\xff") || Catch::Contains("\\xc3"));
    CHECK(res->body.find("\xef\xbf\xbd") == std::string::npos);
    CHECK(res->body.find('\xff') == std::string::npos);
  }
  CHECK(ServedStoreRevision(stack) == revision);
}

TEST_CASE("through nginx, unknown paths are 404 and other methods 405") {
  ServerStack stack;
  auto client = stack.Client();
  CHECK(GetStatus(stack, "/no/such/route") == 404);
  // Under /_ every error is JSON, the index page's files included.
  for (const char* path : {"/_static/", "/_static/nope.js", "/_static", "/_nope"}) {
    auto res = client->Get(path);
    REQUIRE_ANSWERED(res, stack);
    INFO(path << " -> " << res->body);
    CHECK(res->status == 404);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK(nlohmann::json::parse(res->body)["error"] == "not_found");
  }
  auto put = client->Put("/", "x", "text/plain");
  REQUIRE_ANSWERED(put, stack);
  CHECK(put->status == 405);
  CHECK(put->get_header_value("Allow") == "GET, HEAD, POST");

  auto index = client->Get("/");
  REQUIRE_ANSWERED(index, stack);
  CHECK(index->status == 200);
  CHECK(index->get_header_value("Content-Type") == "text/html; charset=utf-8");
}

TEST_CASE("through nginx, an HTTP/1.0 request without a Host header works") {
  ServerStack stack;
  MustPost(stack, AuthField() + "&old=timer");
  std::string answer = RawExchange(stack.port(), "GET /?k=old HTTP/1.0\r\n\r\n");
  INFO(answer);
  CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(answer, Catch::EndsWith("\r\n\r\ntimer"));

  std::string body = AuthField() + "&new=value";
  std::string post = RawExchange(
      stack.port(),
      "POST / HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
  INFO(post);
  CHECK_THAT(post, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK(GetStatus(stack, "/?k=new") == 200);
}

TEST_CASE("requests nginx refuses itself are answered with one line of text, not its HTML page") {
  StackOptions options;
  options.mount = "/kvs";
  ServerStack stack(options);
  struct Case {
    std::string request;
    std::string status_line;
    std::string message;
  };
  const std::string end = "Host: x\r\nConnection: close\r\n\r\n";
  const std::vector<Case> cases = {
      {"GET /kvs/%zz HTTP/1.1\r\n" + end, "400 Bad Request",
       "bad request: nginx could not read it"},
      {"\x01\x02 hello\r\n\r\n", "400 Bad Request", "bad request: nginx could not read it"},
      {"POST /kvs/ HTTP/1.1\r\nContent-Length: abc\r\n" + end, "400 Bad Request",
       "bad request: nginx could not read it"},
      {"GET /kvs/ HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n" + end, "400 Bad Request",
       "a header is larger than nginx accepts"},
      {"GET /kvs/" + std::string(20000, 'a') + " HTTP/1.1\r\n" + end, "414 Request-URI Too Large",
       "URI too long"},
      {"POST /kvs/ HTTP/1.1\r\nContent-Length: 2000000\r\n" + end, "413 Request Entity Too Large",
       "the body is larger than nginx accepts"},
      {"TRACE /kvs/ HTTP/1.1\r\n" + end, "405 Not Allowed", "method not allowed"},
      {"POST /kvs/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n" + end, "501 Not Implemented",
       "Transfer-Encoding: chunked"},
      {"GET /kvs/ HTTP/2.0\r\n" + end, "505 HTTP Version Not Supported",
       "HTTP version not supported"},
      {"GET /elsewhere HTTP/1.1\r\n" + end, "404 Not Found", "kvs answers below /kvs/"},
  };
  for (const Case& c : cases) {
    std::string answer = RawExchange(stack.port(), c.request);
    INFO(c.request.substr(0, 80) << "\n -> " << answer);
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 " + c.status_line + "\r\n"));
    CHECK_THAT(answer, Catch::Contains("\r\nContent-Type: text/plain\r\n"));
    const size_t head_end = answer.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    const std::string body = answer.substr(head_end + 4);
    CHECK_THAT(body, Catch::Contains(c.message));
    CHECK_THAT(body, Catch::EndsWith("\n"));
    CHECK(body.find('\n') == body.size() - 1);  // one line
  }
  // kvs's own refusals still pass through as kvs wrote them.
  auto own = stack.Client()->Get("/kvs/?k=%zz&format=json");
  REQUIRE_ANSWERED(own, stack);
  CHECK(own->status == 400);
  CHECK(own->get_header_value("Content-Type") == "application/json");
  CHECK(GetStatus(stack, "/kvs/no/such/route/at/all") == 404);

  // With kvs-fcgi gone, nginx's 502 is one line too.
  stack.KillKvs();
  std::string answer = RawExchange(stack.port(), "GET /kvs/?k=a HTTP/1.1\r\n" + end);
  INFO(answer);
  CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 502 Bad Gateway\r\n"));
  CHECK_THAT(answer, Catch::EndsWith("kvs-fcgi is not answering (it is not running, or its socket "
                                     "is full); nginx's error log says more\n"));
}

TEST_CASE("the secret file, the config and the data directory are never served") {
  ServerStack stack;
  MustPost(stack, AuthField() + "&k=v");
  // Even with a document root at the directory that holds them all.
  std::filesystem::create_directory_symlink(stack.dir(), stack.dir() + "/html");
  test::WriteFile(stack.dir() + "/auth_sample.txt", kTestSecret);
  test::WriteFile(stack.dir() + "/.htaccess", kTestSecret);
  // nginx's deny rules answer 403 before a request reaches kvs-fcgi; the
  // paths no rule names reach it and read as REST keys that do not exist.
  std::vector<std::pair<std::string, int>> paths = {
      {"/auth.txt", 403}, {"/AUTH.TXT", 403},   {"/%61uth.txt", 403}, {"/auth_sample.txt", 403},
      {"/kvs.yaml", 403}, {"/.htaccess", 403},  {"/kvs-data/", 403},  {"/kvs-data", 403},
      {"/data/", 403},    {"/data/STORE", 403}, {"/nginx.conf", 403}, {"/kvs.log", 200},
      {"/error.log", 200}};
  for (const auto& entry : std::filesystem::directory_iterator(stack.dir() + "/kvs-data")) {
    paths.push_back({"/kvs-data/" + entry.path().filename().string(), 403});
  }
  auto client = stack.Client();
  for (const auto& [path, status] : paths) {
    auto res = client->Get(path.c_str());
    REQUIRE_ANSWERED(res, stack);
    INFO(path);
    CHECK(res->status == status);
    if (status == 200) CHECK(res->body == "[]\n");
    if (status == 403) CHECK(res->body.find("never passed to kvs") != std::string::npos);
    CHECK(res->body.find(kTestSecret) == std::string::npos);
  }
}

TEST_CASE("mounted under a prefix, the routes work below it") {
  StackOptions options;
  options.mount = "/kvs";
  ServerStack stack(options);
  MustPost(stack, AuthField() + "&k=mounted", "/kvs/");
  auto read = stack.Client()->Get("/kvs/?k=k");
  REQUIRE_ANSWERED(read, stack);
  CHECK(read->status == 200);
  CHECK(read->body == "mounted");
  CHECK(GetStatus(stack, "/kvs/a/b/c/d/e") == 404);
  CHECK(GetStatus(stack, "/?k=k") == 404);  // outside the mount: not kvs
  CHECK(GetStatus(stack, "/kvs/auth.txt") == 403);
  CHECK(GetStatus(stack, "/kvs/kvs-data/") == 403);
}

TEST_CASE("kvs-fcgi serves nginx over TCP, on a socket from spawn-fcgi and on one from systemd") {
  for (auto transport : {StackOptions::Transport::kTcp, StackOptions::Transport::kSpawnFcgi,
                         StackOptions::Transport::kSystemdSocket}) {
    INFO("transport " << static_cast<int>(transport));
    StackOptions options;
    options.transport = transport;
    ServerStack stack(options);
    MustPost(stack, AuthField() + "&k=v");
    auto read = stack.Client()->Get("/?k=k");
    REQUIRE_ANSWERED(read, stack);
    CHECK(read->body == "v");
  }
}

TEST_CASE("concurrent posts through nginx all land, each in its own revision") {
  ServerStack stack;
  constexpr int kClients = 6;
  constexpr int kPostsEach = 8;
  std::vector<std::thread> clients;
  std::vector<int> failures(kClients, 0);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = stack.Client();
      for (int i = 0; i < kPostsEach; ++i) {
        std::string key = "c" + std::to_string(c) + "-" + std::to_string(i);
        auto res = client->Post("/", AuthField() + "&" + key + "=" + key, kForm);
        if (!res || res->status != 200) ++failures[c];
      }
    });
  }
  for (std::thread& t : clients) t.join();
  INFO(stack.Logs());
  for (int c = 0; c < kClients; ++c) CHECK(failures[c] == 0);
  std::set<std::string> revisions;
  auto client = stack.Client();
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kPostsEach; ++i) {
      std::string key = "c" + std::to_string(c) + "-" + std::to_string(i);
      auto res = client->Get(("/?k=" + key).c_str());
      REQUIRE_ANSWERED(res, stack);
      CHECK(res->body == key);
      revisions.insert(res->get_header_value("X-Kvs-Revision"));
    }
  }
  CHECK(revisions.size() == kClients * kPostsEach);
}

namespace {

// The sockets kvs-fcgi has open: its listening socket, and the connections
// from nginx it holds.
int OpenSockets(pid_t pid) {
  int sockets = 0;
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fds, ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path(), link_ec).string().rfind("socket:", 0) == 0) {
      ++sockets;
    }
  }
  return sockets;
}

// Sends kRequests requests from each of kClients clients at once, half
// reads and half writes; returns how many did not get a 200.
int ManyRequests(const ServerStack& stack, const std::string& round) {
  constexpr int kClients = 8;
  constexpr int kRequests = 40;
  std::vector<std::thread> clients;
  std::vector<int> failures(kClients, 0);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = stack.Client();
      for (int i = 0; i < kRequests; ++i) {
        std::string key = round + "-" + std::to_string(c);
        auto res = i % 2 == 0
                       ? client->Post("/", AuthField() + "&" + key + "=" + std::to_string(i), kForm)
                       : client->Get(("/?k=" + key).c_str());
        if (!res || res->status != 200) ++failures[c];
      }
    });
  }
  for (std::thread& t : clients) t.join();
  int total = 0;
  for (int f : failures) total += f;
  return total;
}

}  // namespace

TEST_CASE("nginx keeps its FastCGI connections, and its pool survives kvs-fcgi's restart") {
  // Two threads for eight clients: nginx keeps more connections than
  // kvs-fcgi has threads, so requests would wait for kvs-fcgi to close an
  // idle connection (10 s each) if every kept connection held a thread.
  StackOptions options;
  options.threads = 2;
  ServerStack stack(options);
  CHECK(ManyRequests(stack, "first") == 0);
  // The connections outlive their requests (nginx closes an idle one after
  // 5 s): kvs-fcgi holds more than its listening socket.
  INFO(stack.Logs());
  CHECK(OpenSockets(stack.kvs_pid()) > 1);

  SECTION("stopped") { stack.StopKvs(); }
  SECTION("killed") { stack.KillKvs(); }
  // nginx drops the connections that ended, and opens new ones to the new
  // kvs-fcgi.
  stack.RestartKvs();
  CHECK(ManyRequests(stack, "second") == 0);
  auto read = stack.Client()->Get("/?k=second-0");
  REQUIRE_ANSWERED(read, stack);
  CHECK(read->body == "38");
}

}  // namespace kvs::server::test

namespace kvs::server::test {

TEST_CASE("through nginx, an answer's request id is nginx's, in its access log too") {
  ServerStack stack;
  auto res = stack.Client()->Get("/?k=nothing");
  REQUIRE_ANSWERED(res, stack);
  const std::string id = res->get_header_value("X-Request-Id");
  CHECK_THAT(id, Catch::Matches("[0-9a-f]{32}"));
  CHECK(stack.Client()->Get("/?k=nothing")->get_header_value("X-Request-Id") != id);
  // nginx writes its buffered access log within a second (flush=1s), or
  // later on a busy machine: waited for up to 30 s.
  std::string log;
  for (int i = 0; i < 300 && log.find(id) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = ReadFile(stack.dir() + "/access.log");
  }
  CHECK_THAT(log, Catch::Contains("\"GET /?k=nothing HTTP/1.1\" 404"));
  CHECK_THAT(log, Catch::Contains(id));
}

TEST_CASE("through nginx, health answers without the secret") {
  StackOptions options;
  options.extra_config += "read_access: secret\n";
  ServerStack stack(options);
  auto res = stack.Client()->Get("/_health");
  REQUIRE_ANSWERED(res, stack);
  CHECK(res->status == 200);
  CHECK(res->body == "{\"status\":\"ok\"}\n");
  CHECK(GetStatus(stack, "/?k=anything") == 403);  // the data stays guarded
}

}  // namespace kvs::server::test
