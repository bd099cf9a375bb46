// explorer_bench: how soon the key explorer's page of a key with 1,000
// versions is interactive in a real browser, next to references measured in
// the same run on the same machine and browser:
//
//   - the key page of a key with 10 versions (what the page costs when the
//     history is short);
//   - the index page listing 50 keys (the page every visit starts from);
//   - and, to show the cost does not grow with the history, the key page of
//     a key with 100,000 versions.
//
//   explorer_bench [--runs N]   (default 20)
//
// It starts nginx + kvs-fcgi (tests/harness/server_stack.h) and headless
// Chromium through chromedriver (tests/harness/webdriver.h), as the browser
// tests do, writes the keys over HTTP (a 1,000-version key as a chain of
// /_create, with a fork and a merge every 100 versions), the 100,000
// versions straight into the served store (one transaction each, as a PUT
// makes, without syncs: stores may be opened by several processes, and
// through nginx they would take minutes), then loads each page once
// unmeasured and --runs times in turn. Time to interactive is the page's own
// performance mark "kvs-ready" (set once the page has drawn what it fetched
// and its controls answer) in milliseconds from the navigation's start. It prints the median and
// p90 (nearest rank) per page and the ratio of the medians to the 10-version key. A Catch2 program,
// since the harness reports failures through Catch2; everything it started is stopped on exit.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "http/form.h"
#include "tests/harness/server_stack.h"
#include "tests/harness/webdriver.h"

namespace kvs::server::test {
namespace {

int g_runs = 20;

std::string Create(const ServerStack& stack, const std::string& key, const std::string& value,
                   const std::vector<std::string>& parents) {
  std::string path = "/_create?key=" + PercentEncode(key);
  for (const std::string& parent : parents) path += "&prev=" + parent;
  httplib::Response res =
      Answer(stack.Client()->Post(path.c_str(), BearerHeaders(), value, "application/octet-stream"),
             stack);
  REQUIRE(res.status == 201);
  return nlohmann::json::parse(res.body)["id"];
}

// A key with `versions` versions: a chain of status lines, with a fork of
// two edits and their merge every 100 versions.
void WriteHistory(const ServerStack& stack, const std::string& key, int versions) {
  std::string head = Create(stack, key, "status 0: started", {});
  for (int i = 1; i < versions;) {
    if (i % 100 == 99 && i + 2 < versions) {
      std::string left = Create(stack, key, "status " + std::to_string(i) + ": left", {head});
      std::string right = Create(stack, key, "status " + std::to_string(i) + ": right", {head});
      head = Create(stack, key, "status " + std::to_string(i) + ": merged", {left, right});
      i += 3;
    } else {
      head = Create(stack, key, "status " + std::to_string(i) + ": running", {head});
      i += 1;
    }
  }
}

// Loads url, waits for the page's "kvs-ready" mark and returns its time.
double TimeToInteractive(WebDriver& browser, const std::string& url) {
  browser.Navigate(url);
  nlohmann::json ms;
  browser.WaitUntil("the page's kvs-ready mark", [&] {
    ms = browser.ExecuteScript(
        "const m = performance.getEntriesByName('kvs-ready'); return m.length ? m[0].startTime : "
        "null");
    return !ms.is_null();
  });
  return ms.get<double>();
}

struct Figures {
  double median, p90;
};

// Loads each of urls once unmeasured (caches, the first compile), then
// g_runs times in turn, so that a busy moment of the machine falls on every
// page alike rather than on one.
std::vector<Figures> Measure(WebDriver& browser, const std::vector<std::string>& urls) {
  std::vector<std::vector<double>> times(urls.size());
  for (const std::string& url : urls) TimeToInteractive(browser, url);
  for (int run = 0; run < g_runs; ++run) {
    for (size_t i = 0; i < urls.size(); ++i) {
      times[i].push_back(TimeToInteractive(browser, urls[i]));
    }
  }
  std::vector<Figures> figures;
  for (std::vector<double>& page : times) {
    std::sort(page.begin(), page.end());
    auto rank = [&](double q) {
      size_t at = static_cast<size_t>(q * page.size() + 0.999999);
      return page[std::clamp<size_t>(at, 1, page.size()) - 1];
    };
    figures.push_back({rank(0.5), rank(0.9)});
  }
  return figures;
}

}  // namespace

TEST_CASE("explorer time to interactive") {
  ServerStack stack;
  WriteHistory(stack, "long", 1000);
  WriteHistory(stack, "short", 10);
  for (int i = 0; i < 50; ++i) {
    char key[16];
    snprintf(key, sizeof key, "key%02d", i);
    Create(stack, key, "value of " + std::string(key), {});
  }
  REQUIRE(MustGetJson(stack, "/_graph/long?limit=1000")["versions"].size() == 1000);
  {
    Options unsynced;
    unsynced.sync = SyncMode::kNone;
    auto store = Store::Open(stack.dir() + "/kvs-data", unsynced);
    REQUIRE(store.ok());
    for (int i = 0; i < 100000; ++i) {
      WriteBatch batch;
      batch.Put("huge", "reading " + std::to_string(i));
      REQUIRE((*store)->Write(batch).ok());
    }
  }
  WebDriver browser;
  const std::string origin = "http://127.0.0.1:" + std::to_string(stack.port());

  const std::vector<Figures> figures =
      Measure(browser, {origin + "/_ui/keys/long", origin + "/_ui/keys/short", origin + "/",
                        origin + "/_ui/keys/huge"});
  const Figures& short_key = figures[1];
  printf("explorer_bench: time to interactive, headless Chromium, %d loads each (ms)\n", g_runs);
  printf("  %-34s %8s %8s %8s\n", "page", "median", "p90", "ratio");
  auto row = [&](const char* name, const Figures& f) {
    printf("  %-34s %8.1f %8.1f %8.2f\n", name, f.median, f.p90, f.median / short_key.median);
  };
  row("key page, 1,000 versions", figures[0]);
  row("key page, 10 versions (reference)", figures[1]);
  row("index page, 50 keys (reference)", figures[2]);
  row("key page, 100,000 versions", figures[3]);
}

}  // namespace kvs::server::test

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0) kvs::server::test::g_runs = std::atoi(argv[i + 1]);
  }
  if (kvs::server::test::g_runs < 1) {
    fprintf(stderr, "usage: explorer_bench [--runs N]  (N >= 1)\n");
    return 2;
  }
  // Catch2 reports the harness's failures; it gets no arguments of ours.
  char* catch_argv[] = {argv[0], nullptr};
  return Catch::Session().run(1, catch_argv);
}
