// The key explorer in a real browser: headless Chromium, driven over
// WebDriver (webdriver.h), loads the explorer's pages (web/key.html,
// branches.html, log.html) from a real nginx + kvs-fcgi (ServerStack). Each
// test builds a history over HTTP, uses the page as a person would (clicks,
// Enter on a focused node, typing), and checks what the page shows and what
// the server holds afterwards, read back through the JSON API.
//
// One browser serves every test case; each starts its own ServerStack on a
// new port, a new origin, so no page, localStorage or cache carries over.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/form.h"
#include "tests/harness/apache_stack.h"
#include "tests/harness/server_stack.h"
#include "tests/harness/webdriver.h"

namespace kvs::server::test {
namespace {

using nlohmann::json;

// WebDriver's key codes (U+E015, U+E011), in UTF-8.
constexpr const char* kArrowDownKey = "\xEE\x80\x95";
constexpr const char* kHomeKey = "\xEE\x80\x91";

WebDriver& Browser() {
  static WebDriver browser;
  return browser;
}

std::string Origin(const ServerStack& stack) {
  return "http://127.0.0.1:" + std::to_string(stack.port());
}

std::string KeyPageUrl(const ServerStack& stack, const std::string& key,
                       const std::string& mount = "") {
  return Origin(stack) + mount + "/_ui/keys/" + PercentEncode(key);
}

// POST /_create: a version of key with these parents; returns its id.
// more_query: further parameters ("&deleted=true").
std::string Create(const ServerStack& stack, const std::string& key, const std::string& value,
                   const std::vector<std::string>& parents = {},
                   const std::string& more_query = "") {
  std::string path = "/_create?key=" + PercentEncode(key) + more_query;
  for (const std::string& parent : parents) path += "&prev=" + parent;
  httplib::Response res =
      Answer(stack.Client()->Post(path.c_str(), BearerHeaders(), value, "application/octet-stream"),
             stack);
  INFO(path << " -> " << res.body);
  REQUIRE(res.status == 201);
  return json::parse(res.body)["id"];
}

// POST with the bearer token and a JSON body; requires a 2xx.
json PostJson(const ServerStack& stack, const std::string& path, const std::string& body) {
  httplib::Response res =
      Answer(stack.Client()->Post(path.c_str(), BearerHeaders(), body, "application/json"), stack);
  INFO(path << " -> " << res.body);
  REQUIRE(res.status / 100 == 2);
  return json::parse(res.body);
}

json Heads(const ServerStack& stack, const std::string& key) {
  return MustGetJson(stack, "/_heads?key=" + PercentEncode(key))["heads"];
}

std::string Value(const ServerStack& stack, const std::string& id) {
  httplib::Response res =
      Answer(stack.Client()->Get(("/_versions/" + id + "/value").c_str()), stack);
  REQUIRE(res.status == 200);
  return res.body;
}

// Opens a page of the explorer and waits until its script has loaded it.
void OpenPage(WebDriver& browser, const std::string& url) {
  browser.Navigate(url);
  browser.WaitFor(
      "the page to be ready",
      [&] { return browser.ExecuteScript("return document.body.dataset.ready ?? null"); }, "true");
}

Element Node(WebDriver& browser, const std::string& id) {
  return browser.FindElement("#graph .node[data-id='" + id + "']");
}

// The graph as drawn: node ids top to bottom, and each edge as
// "child>parent".
json GraphNodes(WebDriver& browser) {
  return browser.ExecuteScript(
      "return Array.from(document.querySelectorAll('#graph .node'), n => n.dataset.id)");
}

json GraphEdges(WebDriver& browser) {
  return browser.ExecuteScript(
      "return Array.from(document.querySelectorAll('#graph path.edge'),"
      " e => e.dataset.child + '>' + e.dataset.parent).sort()");
}

std::string TextOf(WebDriver& browser, const std::string& css) {
  return browser.Text(browser.FindElement(css));
}

void WaitForText(WebDriver& browser, const std::string& css, const std::string& text) {
  browser.WaitUntil(css + " to show " + text,
                    [&] { return TextOf(browser, css).find(text) != std::string::npos; });
}

// The two values a drawn difference joins: [old, new], the text outside
// <ins> and the text outside <del>.
json DiffSides(WebDriver& browser, const std::string& css) {
  return browser.ExecuteScript(R"(
    const side = skip => Array.from(document.querySelector(arguments[0]).childNodes)
        .filter(n => n.nodeName.toLowerCase() !== skip).map(n => n.textContent).join('');
    return [side('ins'), side('del')];)",
                               json::array({css}));
}

// The marked runs of a drawn difference: the texts of its <ins> or <del>.
json Marked(WebDriver& browser, const std::string& css) {
  return browser.ExecuteScript(
      "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)",
      json::array({css}));
}

void CheckNoScriptErrors(WebDriver& browser) { CHECK(browser.ScriptErrors() == ""); }

// A key written once, then edited twice from there: two heads.
struct Fork {
  std::string base, left, right;
};

Fork WriteFork(const ServerStack& stack, const std::string& key, const std::string& base,
               const std::string& left, const std::string& right) {
  Fork ids;
  ids.base = Create(stack, key, base);
  ids.left = Create(stack, key, left, {ids.base});
  ids.right = Create(stack, key, right, {ids.base});
  return ids;
}

// The forkdb example: a, two edits of it (a fork), and their merge.
struct ForkAndMerge {
  std::string a, upper, mixed, merge;
};

ForkAndMerge WriteForkAndMerge(const ServerStack& stack, const std::string& key) {
  const Fork fork = WriteFork(stack, key, "beep boop", "BEEP BOOP", "BeEp BoOp");
  ForkAndMerge ids{fork.base, fork.left, fork.right, ""};
  ids.merge = Create(stack, key, "beepity boop", {ids.upper, ids.mixed});
  return ids;
}

}  // namespace

TEST_CASE("the key page draws one node per version and both edges of a merge") {
  ServerStack stack;
  const ForkAndMerge ids = WriteForkAndMerge(stack, "blorp");
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "blorp"));

  CHECK(TextOf(browser, "#key-name") == "blorp");
  CHECK(TextOf(browser, "#current-value") == "beepity boop");
  CHECK(TextOf(browser, "#current-version") == ids.merge);
  CHECK(TextOf(browser, "#current-revision") == "4");
  // Newest at the top; the fork's two sides in between, the tail last.
  json nodes = GraphNodes(browser);
  REQUIRE(nodes.size() == 4);
  CHECK(nodes[0] == ids.merge);
  CHECK(nodes[3] == ids.a);
  std::vector<std::string> edges = {ids.merge + ">" + ids.mixed, ids.merge + ">" + ids.upper,
                                    ids.mixed + ">" + ids.a, ids.upper + ">" + ids.a};
  std::sort(edges.begin(), edges.end());
  CHECK(GraphEdges(browser) == json(edges));
  Element merge = Node(browser, ids.merge);
  CHECK_THAT(*browser.Attribute(merge, "class"), Catch::Contains("merge"));
  CHECK_THAT(*browser.Attribute(merge, "aria-label"), Catch::Contains("merges 2 versions"));
  // One Tab stop for the graph; the arrow keys move along it, and a
  // focused node tells its time, replica and size.
  CHECK(browser.Attribute(merge, "tabindex") == "0");
  CHECK(browser.Attribute(Node(browser, ids.a), "tabindex") == "-1");
  browser.PressKeys(merge, kArrowDownKey);
  CHECK(browser.ExecuteScript("return document.activeElement.dataset.id") == nodes[1]);
  CHECK(browser.Attribute(Node(browser, nodes[1]), "tabindex") == "0");
  CHECK(browser.Attribute(merge, "tabindex") == "-1");
  REQUIRE(browser.IsDisplayed(browser.FindElement("#node-info")));
  CHECK_THAT(TextOf(browser, "#node-info"), Catch::Contains("replica "));
  CHECK_THAT(TextOf(browser, "#node-info"), Catch::Contains("size 9 bytes"));
  // The fork's sides stand side by side: two lanes.
  json lanes = browser.ExecuteScript(R"(
    const x = id => document.querySelector(`#graph .node[data-id='${id}'] .dot`).getAttribute('cx');
    return [x(arguments[0]), x(arguments[1])];)",
                                     json::array({ids.upper, ids.mixed}));
  CHECK(lanes[0] != lanes[1]);
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#fork")));
  CheckNoScriptErrors(browser);
}

TEST_CASE("picking two versions shows what changed between them, by mouse or keyboard") {
  ServerStack stack;
  const std::string a = Create(stack, "greeting", "hello world");
  const std::string b = Create(stack, "greeting", "hallo, world", {a});
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "greeting"));

  browser.Click(Node(browser, a));
  browser.WaitUntil("the picked version's value",
                    [&] { return TextOf(browser, "#picked-value") == "hello world"; });
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#diff")));
  // The second pick by keyboard: Enter on the focused node.
  browser.PressKeys(Node(browser, b), kEnterKey);
  browser.WaitUntil("the difference",
                    [&] { return browser.IsDisplayed(browser.FindElement("#diff")); });
  browser.WaitUntil("the marked text",
                    [&] { return !browser.FindElements("#diff-output ins").empty(); });
  CHECK(TextOf(browser, "#diff-from") == a.substr(0, 8));
  CHECK(TextOf(browser, "#diff-to") == b.substr(0, 8));
  CHECK(Marked(browser, "#diff-output del") == json::array({"e"}));
  CHECK(Marked(browser, "#diff-output ins") == json::array({"a", ","}));
  CHECK(DiffSides(browser, "#diff-output") == json::array({"hello world", "hallo, world"}));
  CHECK_THAT(*browser.Attribute(browser.FindElement("#diff-output del"), "aria-label"),
             Catch::Contains("deleted"));
  CHECK(browser.Attribute(Node(browser, b), "aria-pressed") == "true");
  CheckNoScriptErrors(browser);
}

TEST_CASE("keeping one head resolves a fork: the key has one head, naming both") {
  ServerStack stack;
  const Fork fork = WriteFork(stack, "doc", "base", "mine", "theirs");
  const std::string& mine = fork.left;
  const std::string& theirs = fork.right;
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "doc"));
  REQUIRE(browser.IsDisplayed(browser.FindElement("#fork")));
  REQUIRE(browser.FindElements("#heads .head-card").size() == 2);
  browser.WaitUntil("both heads' values", [&] {
    return TextOf(browser, "#heads .head-card[data-id='" + mine + "'] pre") == "mine" &&
           TextOf(browser, "#heads .head-card[data-id='" + theirs + "'] pre") == "theirs";
  });
  CHECK_THAT(*browser.Attribute(Node(browser, theirs), "class"), Catch::Contains("winner"));

  browser.SendKeys(browser.FindElement("#fork-secret"), std::string(kTestSecret));
  browser.Click(browser.FindElement("#heads .head-card[data-id='" + mine + "'] button.keep"));
  WaitForText(browser, "#page-status", "one head again");

  json heads = Heads(stack, "doc");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0]["parents"].size() == 2);
  CHECK(Value(stack, heads[0]["id"]) == "mine");
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#fork")));
  CHECK(TextOf(browser, "#current-value") == "mine");
  // The page drew the new version with edges to both heads.
  CHECK(GraphNodes(browser).size() == 4);
  CheckNoScriptErrors(browser);
}

TEST_CASE("keeping a head that deletes, or one written as JSON, keeps it as it was") {
  ServerStack stack;
  const std::string a = Create(stack, "gone", "v");
  Create(stack, "gone", "w", {a});
  const std::string tombstone = Create(stack, "gone", "", {a}, "&deleted=true");
  const std::string doc = Create(stack, "doc", R"({"n":1})", {}, "&json=true");
  const std::string two = Create(stack, "doc", R"({"n":2})", {doc}, "&json=true");
  Create(stack, "doc", R"({"n":3})", {doc}, "&json=true");
  WebDriver& browser = Browser();

  OpenPage(browser, KeyPageUrl(stack, "gone"));
  CHECK_THAT(TextOf(browser, "#current-value"), Catch::Contains("deleted"));
  Element keep = browser.FindElement("#heads .head-card[data-id='" + tombstone + "'] button.keep");
  CHECK(browser.Text(keep) == "Keep the delete");
  browser.SendKeys(browser.FindElement("#fork-secret"), std::string(kTestSecret));
  browser.Click(keep);
  WaitForText(browser, "#page-status", "one head again");
  json heads = Heads(stack, "gone");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0]["deleted"] == true);
  CHECK(heads[0]["parents"].size() == 2);

  OpenPage(browser, KeyPageUrl(stack, "doc"));
  browser.Click(browser.FindElement("#heads .head-card[data-id='" + two + "'] button.keep"));
  WaitForText(browser, "#page-status", "one head again");
  heads = Heads(stack, "doc");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0]["json"] == true);
  CHECK(Value(stack, heads[0]["id"]) == R"({"n":2})");
  CheckNoScriptErrors(browser);
}

TEST_CASE("saving an edited merged value resolves a fork") {
  ServerStack stack;
  WriteFork(stack, "list", "a", "a\nb", "a\nc");
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "list"));
  browser.SendKeys(browser.FindElement("#merged-value"), "a\nb\nc");
  // Without the secret the page asks for it and writes nothing.
  browser.Click(browser.FindElement("#save-merged"));
  WaitForText(browser, "#fork-status", "secret");
  CHECK(Heads(stack, "list").size() == 2);

  browser.SendKeys(browser.FindElement("#fork-secret"), std::string(kTestSecret));
  browser.Click(browser.FindElement("#save-merged"));
  WaitForText(browser, "#page-status", "one head again");
  json heads = Heads(stack, "list");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0]["parents"].size() == 2);
  CHECK(Value(stack, heads[0]["id"]) == "a\nb\nc");
  // The secret is remembered, as the index page does.
  CHECK(browser.ExecuteScript("return localStorage.getItem('kvs-secret')") ==
        std::string(kTestSecret));
  CheckNoScriptErrors(browser);
}

TEST_CASE("a merged value of JSON heads is saved as JSON and must be JSON to be") {
  ServerStack stack;
  const std::string doc = Create(stack, "doc", R"({"n":1})", {}, "&json=true");
  Create(stack, "doc", R"({"n":2})", {doc}, "&json=true");
  Create(stack, "doc", R"({"n":3})", {doc}, "&json=true");
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "doc"));
  Element as_json = browser.FindElement("#merged-json");
  CHECK(browser.Property(as_json, "checked") == true);
  auto type = [&](const std::string& text) {
    browser.ExecuteScript("document.getElementById('merged-value').value = arguments[0]",
                          json::array({text}));
  };
  browser.SendKeys(browser.FindElement("#fork-secret"), std::string(kTestSecret));
  // Text that is not JSON is refused as JSON, and nothing is written.
  type("n is 2 or 3");
  browser.Click(browser.FindElement("#save-merged"));
  WaitForText(browser, "#fork-status", "JSON");
  CHECK(Heads(stack, "doc").size() == 2);

  type(R"({"n":[2,3]})");
  browser.Click(browser.FindElement("#save-merged"));
  WaitForText(browser, "#page-status", "one head again");
  json heads = Heads(stack, "doc");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0]["json"] == true);
  CHECK(Value(stack, heads[0]["id"]) == R"({"n":[2,3]})");
  // A fork of text values starts unticked: saved as text, as it was.
  WriteFork(stack, "list", "a", "a\nb", "a\nc");
  OpenPage(browser, KeyPageUrl(stack, "list"));
  CHECK(browser.Property(browser.FindElement("#merged-json"), "checked") == false);
  CheckNoScriptErrors(browser);
}

TEST_CASE("markup and bytes that are not UTF-8 show as text") {
  ServerStack stack;
  const std::string markup = "<script>document.title='owned'</script><b>bold</b>";
  const std::string markup_id = Create(stack, "markup", markup);
  Create(stack, "bytes", std::string("\xff\xfehi\x00", 5));
  WebDriver& browser = Browser();

  OpenPage(browser, KeyPageUrl(stack, "markup"));
  CHECK(TextOf(browser, "#current-value") == markup);
  CHECK(browser.FindElements("#current-value *").empty());
  CHECK(browser.ExecuteScript("return document.title") == "kvs: markup");
  browser.Click(Node(browser, markup_id));
  browser.WaitUntil("the picked value", [&] { return TextOf(browser, "#picked-value") == markup; });
  CHECK(browser.FindElements("#picked-value *").empty());

  OpenPage(browser, KeyPageUrl(stack, "bytes"));
  CHECK_THAT(TextOf(browser, "#current-value"), Catch::Contains("binary, 5 bytes"));
  CHECK_THAT(TextOf(browser, "#current-value .lossy"), Catch::Contains("hi"));
  Element download = browser.FindElement("#current-value a");
  CHECK_THAT(*browser.Attribute(download, "href"), Catch::Contains("/_versions/"));
  CHECK(browser.Attribute(download, "download").has_value());
  CheckNoScriptErrors(browser);
}

TEST_CASE("a key with a slash, a percent sign, spaces and non-ASCII opens by its URL") {
  StackOptions options;
  options.mount = "/kvs";
  ServerStack stack(options);
  const std::string key = "dir/sub 100% \xc3\xa9t\xc3\xa9 \xe2\x98\x83";
  httplib::Response res =
      Answer(stack.Client()->Post("/kvs/", AuthField() + "&" + PercentEncode(key) + "=summer",
                                  "application/x-www-form-urlencoded"),
             stack);
  REQUIRE(res.status == 200);
  WebDriver& browser = Browser();

  OpenPage(browser, KeyPageUrl(stack, key, "/kvs"));
  CHECK(TextOf(browser, "#key-name") == key);
  CHECK(TextOf(browser, "#current-value") == "summer");
  CHECK(GraphNodes(browser).size() == 1);

  // The index page links to it.
  browser.Navigate(Origin(stack) + "/kvs/");
  browser.WaitUntil("the key's link",
                    [&] { return browser.FindElements("#keys td.key a").size() == 1; });
  browser.Click(browser.FindElement("#keys td.key a"));
  browser.WaitFor(
      "the key page",
      [&] { return browser.ExecuteScript("return document.body.dataset.ready ?? null"); }, "true");
  CHECK(TextOf(browser, "#key-name") == key);
  CHECK(browser.ExecuteScript("return location.pathname") == "/kvs/_ui/keys/" + PercentEncode(key));

  // A key with a component that web servers refuse in paths opens by ?key=.
  const std::string hidden = "conf/.hidden";
  res = Answer(
      stack.Client()->Post("/kvs/", AuthField() + "&" + PercentEncode(hidden) + "=secret+sauce",
                           "application/x-www-form-urlencoded"),
      stack);
  REQUIRE(res.status == 200);
  OpenPage(browser, Origin(stack) + "/kvs/_ui/keys/?key=" + PercentEncode(hidden));
  CHECK(TextOf(browser, "#current-value") == "secret sauce");
  // Time travel reads it too (through /_heads?at=, not a path).
  browser.SendKeys(browser.FindElement("#travel-at"), std::string("2") + kEnterKey);
  browser.WaitUntil("the value at revision 2",
                    [&] { return TextOf(browser, "#travel-value") == "secret sauce"; });
  CheckNoScriptErrors(browser);
}

TEST_CASE("a delete is a marked node, and JSON values are pretty-printed") {
  ServerStack stack;
  PostJson(stack, "/_txn", R"({"set": {"gone": "soon", "cfg": {"a": 1, "b": [true]}}})");
  PostJson(stack, "/_txn", R"({"delete": ["gone"]})");
  WebDriver& browser = Browser();

  OpenPage(browser, KeyPageUrl(stack, "gone"));
  CHECK_THAT(TextOf(browser, "#current-value"), Catch::Contains("deleted"));
  json nodes = GraphNodes(browser);
  REQUIRE(nodes.size() == 2);
  Element tombstone = Node(browser, nodes[0]);
  CHECK_THAT(*browser.Attribute(tombstone, "class"), Catch::Contains("deleted"));
  CHECK_THAT(*browser.Attribute(tombstone, "aria-label"), Catch::Contains("deleted"));
  CHECK(browser.FindElements("#graph .node.deleted .cross").size() == 1);

  OpenPage(browser, KeyPageUrl(stack, "cfg"));
  CHECK(browser.Property(browser.FindElement("#current-value"), "textContent") ==
        "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}");

  // Text that JavaScript would read as another value is shown as stored:
  // pretty-printing it dropped digits, a member named twice and an escape.
  const std::string exact = R"({"id": 12345678901234567890, "a": 1, "a": 2, "s": "caf\u00e9"})";
  PostJson(stack, "/_txn", json{{"set", {{"jsonish", exact}}}}.dump());
  OpenPage(browser, KeyPageUrl(stack, "jsonish"));
  CHECK(browser.Property(browser.FindElement("#current-value"), "textContent") == exact);
  CheckNoScriptErrors(browser);
}

TEST_CASE("in a phone-sized window the key page fits its width and stacks the heads") {
  ServerStack stack;
  WriteFork(stack, "doc", "base", "mine", "theirs");
  WebDriver& browser = Browser();
  ScopedWindowSize phone(browser, 390, 844);
  OpenPage(browser, KeyPageUrl(stack, "doc"));
  json layout = browser.ExecuteScript(R"(
    const cards = document.querySelectorAll('#heads .head-card');
    return {
      pageFits: document.documentElement.scrollWidth <= window.innerWidth,
      stacked: cards[0].getBoundingClientRect().left === cards[1].getBoundingClientRect().left,
    };)");
  CHECK(layout["pageFits"] == true);
  CHECK(layout["stacked"] == true);
  CheckNoScriptErrors(browser);
}

TEST_CASE("behind Apache the key page opens by its path, a key with a slash by ?key=") {
  ApacheStack stack;
  auto http = stack.Client();
  const std::string site = "http://127.0.0.1:" + std::to_string(stack.port()) + kApacheMount;
  auto posted = http->Post((std::string(kApacheMount) + "/").c_str(),
                           AuthField() + "&plain=one&" + PercentEncode("a/b") + "=two",
                           "application/x-www-form-urlencoded");
  INFO(stack.Logs());
  REQUIRE(posted);
  REQUIRE(posted->status == 200);
  // Two edits of "plain" through Apache with the bearer token: a fork.
  const std::string base = json::parse(
      http->Get((std::string(kApacheMount) + "/_heads/plain").c_str())->body)["heads"][0]["id"];
  for (const char* value : {"uno", "eins"}) {
    auto forked =
        http->Post((std::string(kApacheMount) + "/_create?key=plain&prev=" + base).c_str(),
                   BearerHeaders(), value, "application/octet-stream");
    REQUIRE(forked);
    REQUIRE(forked->status == 201);
  }
  WebDriver& browser = Browser();

  OpenPage(browser, site + "/_ui/keys/plain");
  CHECK(GraphNodes(browser).size() == 3);
  // Apache refuses %2F in a path (AllowEncodedSlashes Off); key= names any key.
  OpenPage(browser, site + "/_ui/keys/?key=" + PercentEncode("a/b"));
  CHECK(TextOf(browser, "#current-value") == "two");

  // The page's writes reach kvs through Apache too (the htaccess passes the
  // bearer token): a fork resolved by its button.
  OpenPage(browser, site + "/_ui/keys/plain");
  browser.SendKeys(browser.FindElement("#fork-secret"), std::string(kTestSecret));
  browser.Click(browser.FindElement("#heads .head-card button.keep"));
  WaitForText(browser, "#page-status", "one head again");
  CHECK(GraphNodes(browser).size() == 4);
  CheckNoScriptErrors(browser);
}

TEST_CASE("when reads need the secret the pages ask for it, then read with it") {
  StackOptions options;
  options.extra_config += "read_access: secret\n";
  ServerStack stack(options);
  Create(stack, "private", "eyes only");
  WebDriver& browser = Browser();
  // Opens url, answers the page's question for the secret, waits until the
  // page has read with it, and forgets the secret again.
  auto unlock = [&](const std::string& url) {
    INFO(url);
    browser.Navigate(url);
    browser.WaitUntil("the question",
                      [&] { return browser.IsDisplayed(browser.FindElement("#read-secret")); });
    browser.SendKeys(browser.FindElement("#read-secret"), std::string(kTestSecret) + kEnterKey);
    browser.WaitFor(
        "the page to be ready",
        [&] { return browser.ExecuteScript("return document.body.dataset.ready ?? null"); },
        "true");
    CHECK(browser.FindElements("#read-secret").empty());
    CHECK(browser.ExecuteScript("return localStorage.getItem('kvs-secret')") ==
          std::string(kTestSecret));
    browser.ExecuteScript("localStorage.removeItem('kvs-secret')");
  };
  unlock(KeyPageUrl(stack, "private"));
  CHECK(TextOf(browser, "#current-value") == "eyes only");
  unlock(Origin(stack) + "/_ui/log");
  CHECK(browser.FindElements("#commits > li").size() == 1);
  unlock(Origin(stack) + "/_ui/branches?from=main&into=main");
  CheckNoScriptErrors(browser);
}

TEST_CASE("time travel shows the key as it was at a revision") {
  ServerStack stack;
  const std::string one = Create(stack, "t", "one");
  const std::string two = Create(stack, "t", "two", {one});
  Create(stack, "t", "three", {two});
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "t"));
  browser.SendKeys(browser.FindElement("#travel-at"), std::string("2") + kEnterKey);
  browser.WaitUntil("the value at revision 2",
                    [&] { return TextOf(browser, "#travel-value") == "two"; });
  CHECK_THAT(TextOf(browser, "#travel-facts"), Catch::Contains(two.substr(0, 8)));
  // The graph marks the version shown.
  CHECK(browser.FindElements("#graph .node.travelled").size() == 1);
  CHECK_THAT(*browser.Attribute(Node(browser, two), "class"), Catch::Contains("travelled"));
  // The slider moves over the key's revisions, by keyboard.
  Element slider = browser.FindElement("#travel-slider");
  browser.PressKeys(slider, kHomeKey);
  browser.WaitUntil("the value at revision 1",
                    [&] { return TextOf(browser, "#travel-value") == "one"; });
  CHECK(browser.Property(browser.FindElement("#travel-at"), "value") == "1");
  CheckNoScriptErrors(browser);
}

TEST_CASE("a long history opens a page at a time") {
  ServerStack stack;
  std::string id = Create(stack, "counter", "0");
  for (int i = 1; i < 150; ++i) id = Create(stack, "counter", std::to_string(i), {id});
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "counter"));
  CHECK(GraphNodes(browser).size() == 100);
  CHECK(browser.FindElements("#graph path.edge.more").size() == 1);
  browser.Click(browser.FindElement("#more-versions"));
  browser.WaitUntil("every version", [&] { return GraphNodes(browser).size() == 150; });
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#more-versions")));
  CHECK(browser.FindElements("#graph path.edge.more").empty());
  CHECK(browser.FindElements("#graph path.edge").size() == 149);
  CheckNoScriptErrors(browser);
}

TEST_CASE("a history with more open sides than a page can name still pages to its end") {
  ServerStack stack;
  // 250 versions without parents: 250 heads, each its own side.
  for (int i = 0; i < 250; ++i) Create(stack, "wide", "v" + std::to_string(i));
  WebDriver& browser = Browser();
  OpenPage(browser, KeyPageUrl(stack, "wide"));
  CHECK(GraphNodes(browser).size() == 100);
  // The first page leaves 150 heads to go on from; _graph takes 100 at a time.
  browser.Click(browser.FindElement("#more-versions"));
  browser.WaitUntil("the second page", [&] { return GraphNodes(browser).size() == 200; });
  browser.Click(browser.FindElement("#more-versions"));
  browser.WaitUntil("every version", [&] { return GraphNodes(browser).size() == 250; });
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#more-versions")));
  CheckNoScriptErrors(browser);
}

TEST_CASE("branches: switch on the index page, see the diff, preview and merge") {
  ServerStack stack;
  PostJson(stack, "/_txn", R"({"set": {"title": "draft", "same": "x"}})");
  PostJson(stack, "/_branches", R"({"name": "dev"})");
  PostJson(stack, "/_txn", R"({"branch": "dev", "set": {"title": "from dev", "new": "y"}})");
  WebDriver& browser = Browser();

  browser.Navigate(Origin(stack) + "/");
  browser.WaitUntil("the branches", [&] {
    return browser.FindElements("#branch-select option[value='dev']").size() == 1;
  });
  browser.Click(browser.FindElement("#branch-select option[value='dev']"));
  browser.WaitUntil("dev's keys",
                    [&] { return browser.FindElements("#keys tr[data-key='new']").size() == 1; });
  CHECK_THAT(*browser.Attribute(browser.FindElement("#keys tr[data-key='new'] a"), "href"),
             Catch::EndsWith("_ui/keys/new?branch=dev"));

  // The key's page switches between the branches.
  OpenPage(browser, KeyPageUrl(stack, "title") + "?branch=dev");
  CHECK(TextOf(browser, "#current-value") == "from dev");
  CHECK(browser.Property(browser.FindElement("#branch"), "value") == "dev");
  browser.Click(browser.FindElement("#branch option[value='main']"));
  browser.WaitUntil("main's value", [&] {
    return browser.ExecuteScript("return location.search") == "?branch=main" &&
           TextOf(browser, "#current-value") == "draft";
  });

  OpenPage(browser, Origin(stack) + "/_ui/branches?from=dev&into=main");
  CHECK(browser.FindElements("#diff-added li[data-key='new']").size() == 1);
  CHECK(browser.FindElements("#diff-removed li").empty());
  REQUIRE(browser.FindElements("#diff-modified li[data-key='title']").size() == 1);
  browser.Click(browser.FindElement("#diff-modified li[data-key='title'] summary"));
  browser.WaitUntil("the value's difference", [&] {
    return browser.FindElements("#diff-modified li[data-key='title'] ins").size() > 0;
  });
  CHECK(DiffSides(browser, "#diff-modified li[data-key='title'] pre") ==
        json::array({"draft", "from dev"}));

  browser.SendKeys(browser.FindElement("#secret"), std::string(kTestSecret));
  browser.Click(browser.FindElement("#preview-merge"));
  browser.WaitUntil("the plan", [&] { return browser.FindElements("#plan tbody tr").size() == 2; });
  CHECK(TextOf(browser, "#plan tr[data-key='title'] .outcome") == "fast forward");
  CHECK(MustGetJson(stack, "/_diff?from=main&to=dev")["modified"].size() == 1);  // a dry run
  REQUIRE(browser.IsEnabled(browser.FindElement("#run-merge")));
  browser.Click(browser.FindElement("#run-merge"));
  WaitForText(browser, "#merge-status", "Merged");
  httplib::Response title = Answer(stack.Client()->Get("/?k=title"), stack);
  CHECK(title.body == "from dev");
  browser.WaitUntil("no differences left",
                    [&] { return browser.FindElements("#diff-modified li").empty(); });
  CheckNoScriptErrors(browser);

  // The index page's form writes on the branch it shows.
  browser.Navigate(Origin(stack) + "/#branch=dev");
  browser.WaitUntil("dev's keys",
                    [&] { return browser.FindElements("#keys tr[data-key='new']").size() == 1; });
  browser.SendKeys(browser.FindElement("#set-key"), "only-dev");
  browser.SendKeys(browser.FindElement("#set-value"), "here");
  browser.Click(browser.FindElement("#set-submit"));
  WaitForText(browser, "#set-status", "Saved revision");
  CHECK(MustGetJson(stack, "/_heads/only-dev?branch=dev")["heads"].size() == 1);
  CHECK(MustGetJson(stack, "/_heads/only-dev")["heads"].empty());
}

TEST_CASE("a merge preview names the conflicts and offers the merge only without them") {
  ServerStack stack;
  PostJson(stack, "/_txn", R"({"set": {"title": "draft"}})");
  PostJson(stack, "/_branches", R"({"name": "dev"})");
  PostJson(stack, "/_txn", R"({"set": {"title": "main's"}})");
  PostJson(stack, "/_txn", R"({"branch": "dev", "set": {"title": "dev's"}})");
  WebDriver& browser = Browser();
  OpenPage(browser, Origin(stack) + "/_ui/branches?from=dev&into=main");
  browser.SendKeys(browser.FindElement("#secret"), std::string(kTestSecret) + kEnterKey);
  browser.WaitUntil("the plan", [&] { return browser.FindElements("#plan tbody tr").size() == 1; });
  CHECK(TextOf(browser, "#plan tr[data-key='title'] .outcome") == "conflict");
  CHECK_FALSE(browser.IsEnabled(browser.FindElement("#run-merge")));

  browser.Click(browser.FindElement("#strategy option[value='lww']"));
  browser.Click(browser.FindElement("#preview-merge"));
  browser.WaitUntil("the new plan", [&] {
    return TextOf(browser, "#plan tr[data-key='title'] .outcome") == "merged";
  });
  CHECK(TextOf(browser, "#plan tr[data-key='title'] td.value") == "dev's");
  REQUIRE(browser.IsEnabled(browser.FindElement("#run-merge")));
  browser.Click(browser.FindElement("#run-merge"));
  WaitForText(browser, "#merge-status", "Merged");
  CHECK(Answer(stack.Client()->Get("/?k=title"), stack).body == "dev's");
  CheckNoScriptErrors(browser);
}

TEST_CASE("the log lists a branch's commits newest first, with their keys, a page at a time") {
  ServerStack stack;
  for (int i = 0; i < 30; ++i) {
    PostJson(stack, "/_txn", R"({"set": {"k)" + std::to_string(i) + R"(": "v"}})");
  }
  WebDriver& browser = Browser();
  OpenPage(browser, Origin(stack) + "/_ui/log");
  auto keys = [&] {
    return browser.ExecuteScript(
        "return Array.from(document.querySelectorAll('#commits > li .keys'), k => k.innerText)");
  };
  json first = keys();
  REQUIRE(first.size() == 25);
  CHECK(first[0] == "k29");
  browser.Click(browser.FindElement("#older"));
  browser.WaitUntil("the older page", [&] { return keys().size() == 5; });
  CHECK(keys()[4] == "k0");
  CHECK_FALSE(browser.IsEnabled(browser.FindElement("#older")));
  CheckNoScriptErrors(browser);
}

}  // namespace kvs::server::test
