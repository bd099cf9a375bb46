// The index page in a real browser: headless Chromium, driven over WebDriver
// (webdriver.h), loads the page from a real nginx + kvs-fcgi (ServerStack),
// and each test checks what a user sees on the page and what the server then
// holds, read back over HTTP.
//
// One browser serves every test case (Chromium takes a second or two to
// start). Each test case starts its own ServerStack on a new port, which is a
// new origin for the browser: no page, localStorage or cache carries over.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "http/form.h"
#include "tests/harness/server_stack.h"
#include "tests/harness/webdriver.h"

namespace kvs::server::test {
namespace {

using nlohmann::json;

// The browser, started by the first test that needs it and ended at exit.
WebDriver& Browser() {
  static WebDriver browser;
  return browser;
}

std::string PageUrl(const ServerStack& stack, const std::string& mount = "") {
  return "http://127.0.0.1:" + std::to_string(stack.port()) + mount + "/";
}

// Writes the urlencoded fields with the secret, as curl would; requires a 200.
void PostFields(const ServerStack& stack, const std::string& fields,
                const std::string& mount = "") {
  auto res = stack.Client()->Post((mount + "/").c_str(), AuthField() + "&" + fields,
                                  "application/x-www-form-urlencoded");
  INFO(stack.Logs());
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

// GET ?k=key over HTTP (and any further query parameters).
httplib::Result ReadKey(const ServerStack& stack, const std::string& key,
                        const std::string& mount = "", const std::string& more_query = "") {
  auto res = stack.Client()->Get((mount + "/?k=" + PercentEncode(key) + more_query).c_str());
  INFO(stack.Logs());
  REQUIRE(res);
  return res;
}

// The table as the user sees it, one object per row. Read in one script, so
// a table reload between two cells cannot mix two tables; a missing cell
// reads as null.
json Rows(WebDriver& browser) {
  return browser.ExecuteScript(R"(
    const text = (row, name) => {
      const cell = row.querySelector('td.' + name);
      return cell ? cell.innerText : null;
    };
    return Array.from(document.querySelectorAll('#keys tbody tr'), row => ({
      key: row.getAttribute('data-key'),
      keyText: text(row, 'key'),
      value: text(row, 'value'),
      updated: text(row, 'updated'),
      title: row.querySelector('td.updated')?.title ?? null,
      revision: text(row, 'revision'),
    }));)");
}

json RowKeys(WebDriver& browser) {
  json keys = json::array();
  for (const json& row : Rows(browser)) keys.push_back(row["key"]);
  return keys;
}

// Waits until the table lists exactly these keys, in this order.
void WaitForKeys(WebDriver& browser, const json& keys) {
  browser.WaitFor(
      "the table to list " + keys.dump(), [&] { return RowKeys(browser); }, keys);
}

// Waits until the page has loaded an empty store: no rows, #empty shown.
void WaitForEmptyPage(WebDriver& browser) {
  browser.WaitUntil("#empty to be shown", [&] {
    return browser.IsDisplayed(browser.FindElement("#empty")) && RowKeys(browser).empty();
  });
}

// Opens the index page of an empty store and waits until it has loaded.
void OpenEmptyPage(WebDriver& browser, const std::string& url) {
  browser.Navigate(url);
  WaitForEmptyPage(browser);
}

// Fills the set-key form and submits it; types the secret when given one.
void SubmitSetForm(WebDriver& browser, const std::string& key, const std::string& value,
                   const std::optional<std::string>& secret) {
  browser.SendKeys(browser.FindElement("#set-key"), key);
  browser.SendKeys(browser.FindElement("#set-value"), value);
  if (secret) browser.SendKeys(browser.FindElement("#secret"), *secret);
  browser.Click(browser.FindElement("#set-submit"));
}

void WaitForSetStatus(WebDriver& browser, const std::string& status) {
  browser.WaitFor(
      "#set-status to say " + status,
      [&] { return browser.Text(browser.FindElement("#set-status")); }, status);
}

json StoredSecret(WebDriver& browser) {
  return browser.ExecuteScript("return localStorage.getItem('kvs-secret')");
}

// Whether the page shows a field to type the secret in.
bool AsksForSecret(WebDriver& browser) {
  return browser.IsDisplayed(browser.FindElement("#secret"));
}

// "keys 51–100": the first and last row number of the page shown.
std::string PageInfo(WebDriver& browser) { return browser.Text(browser.FindElement("#page-info")); }

json KeyRange(int first, int end) {
  json keys = json::array();
  for (int i = first; i < end; ++i) {
    char key[16];
    snprintf(key, sizeof key, "key%03d", i);
    keys.push_back(key);
  }
  return keys;
}

// No uncaught JavaScript error on the current page.
void CheckNoScriptErrors(WebDriver& browser) { CHECK(browser.ScriptErrors() == ""); }

}  // namespace

TEST_CASE("the browser harness drives a page of its own") {
  WebDriver& browser = Browser();
  browser.Navigate(
      "data:text/html;charset=utf-8,<p id=greeting>h%C3%A9llo</p><input id=name>"
      "<textarea id=area></textarea><button id=go disabled>go</button><p id=out hidden>x</p>"
      "<script>console.log('loaded');"
      "document.getElementById('name').addEventListener('keydown', e => {"
      "  if (e.key === 'Enter') document.getElementById('out').hidden = false; });"
      "setTimeout(() => { throw new Error('late boom'); }, 100);</script>");
  CHECK(browser.Text(browser.FindElement("#greeting")) == "héllo");
  CHECK(browser.FindElements("p").size() == 2);
  CHECK(browser.FindElements("table").empty());
  CHECK_FALSE(browser.IsEnabled(browser.FindElement("#go")));
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#out")));
  Element area = browser.FindElement("#area");
  browser.SendKeys(area, "replaced");
  browser.SendKeys(area, "héllo ☃\nline two");
  CHECK(browser.Property(area, "value") == "héllo ☃\nline two");
  browser.SendKeys(browser.FindElement("#name"), std::string("x") + kEnterKey);
  browser.WaitUntil("#out to be shown",
                    [&] { return browser.IsDisplayed(browser.FindElement("#out")); });
  CHECK(browser.Attribute(browser.FindElement("#name"), "id") == "name");
  CHECK(browser.Attribute(browser.FindElement("#name"), "title") == std::nullopt);
  CHECK(browser.ExecuteScript("return arguments[0] + 1", json::array({41})) == 42);
  browser.WaitUntil("the late error", [&] { return !browser.ScriptErrors().empty(); });
  CHECK_THAT(browser.ScriptErrors(), Catch::Contains("late boom"));
  CHECK_THAT(browser.ConsoleLog(), Catch::Contains("loaded"));
  CHECK_THROWS_WITH(browser.FindElement("#nothing"), Catch::Contains("no such element"));
}

TEST_CASE("the index page of an empty store says there are no keys") {
  ServerStack stack;
  WebDriver& browser = Browser();
  OpenEmptyPage(browser, PageUrl(stack));
  CHECK_FALSE(browser.IsEnabled(browser.FindElement("#next-page")));
  CheckNoScriptErrors(browser);
}

TEST_CASE("keys written over HTTP are listed with their values and a relative time") {
  ServerStack stack;
  const std::string long_value(500, 'x');
  PostFields(stack, "alpha=one&beta=two+words&gamma=h%C3%A9llo+%E2%98%83&long=" + long_value);
  PostFields(stack, "alpha=uno");
  WebDriver& browser = Browser();
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {"alpha", "beta", "gamma", "long"});
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#empty")));

  json rows = Rows(browser);
  INFO(rows.dump(2));
  CHECK(rows[0]["keyText"] == "alpha");
  CHECK(rows[0]["value"] == "uno");
  CHECK(rows[0]["revision"] == "2");
  CHECK(rows[1]["value"] == "two words");
  CHECK(rows[1]["revision"] == "1");
  CHECK(rows[2]["value"] == "héllo ☃");
  // A long value is shortened.
  std::string shown = rows[3]["value"];
  CHECK_THAT(shown, Catch::StartsWith(long_value.substr(0, 100)));
  CHECK(shown.size() < long_value.size());

  for (const json& row : rows) {
    CHECK_THAT(row["updated"].get<std::string>(), Catch::Matches("just now|[0-9]+ seconds? ago"));
  }
  // The title holds the absolute time: the time the server reports for the
  // key, to the second (a locale's format may drop the milliseconds).
  auto alpha = ReadKey(stack, "alpha", "", "&format=json");
  std::string updated = json::parse(alpha->body)["updated"];
  json title_ms =
      browser.ExecuteScript("return Date.parse(arguments[0])", json::array({rows[0]["title"]}));
  json updated_ms =
      browser.ExecuteScript("return Date.parse(arguments[0])", json::array({updated}));
  INFO("title " << rows[0]["title"] << ", server's time " << updated);
  REQUIRE(title_ms.is_number());
  CHECK(std::abs(title_ms.get<double>() - updated_ms.get<double>()) < 1000);
  CheckNoScriptErrors(browser);
}

TEST_CASE("a write a concurrent delete hides is listed as a deleted conflict") {
  ServerStack stack;
  // A version, then a write and a delete of it (/_create with prev): the
  // delete, newer, is what reads return. A plain delete hides nothing.
  auto create = [&](const std::string& query, const std::string& body) {
    httplib::Response res = Answer(
        stack.Client()->Post(("/_create?" + query).c_str(), BearerHeaders(), body, "text/plain"),
        stack);
    INFO(query << " -> " << res.body);
    REQUIRE(res.status == 201);
    return json::parse(res.body)["id"].get<std::string>();
  };
  const std::string base = create("key=doc", "first");
  create("key=doc&prev=" + base, "edited");
  create("key=doc&prev=" + base + "&deleted=true", "");
  PostFields(stack, "kept=yes&gone=soon");
  httplib::Response removed = Answer(
      stack.Client()->Post("/_txn", BearerHeaders(), R"({"delete":["gone"]})", "application/json"),
      stack);
  REQUIRE(removed.status == 200);
  json listed = MustGetJson(stack, "/_keys?values=20");
  INFO(listed.dump());
  REQUIRE(listed["keys"].size() == 2);
  CHECK(listed["keys"][0]["key"] == "doc");
  CHECK(listed["keys"][0]["deleted"] == true);
  CHECK(listed["keys"][0]["conflict"] == true);
  CHECK_FALSE(listed["keys"][1].contains("deleted"));

  WebDriver& browser = Browser();
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {"doc", "kept"});
  json rows = Rows(browser);
  INFO(rows.dump(2));
  CHECK_THAT(rows[0]["keyText"].get<std::string>(), Catch::Contains("conflict"));
  CHECK(rows[0]["value"] == "deleted");
  CheckNoScriptErrors(browser);
}

TEST_CASE("in a phone-sized window the index page gives the key and its value room") {
  ServerStack stack;
  PostFields(stack, "greeting=hello+world&lang=en");
  WebDriver& browser = Browser();
  ScopedWindowSize phone(browser, 390, 844);
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {"greeting", "lang"});
  json layout = browser.ExecuteScript(R"(
    const cells = document.querySelector('#keys tbody tr').cells;
    return {key: cells[0].getBoundingClientRect().width,
            value: cells[1].getBoundingClientRect().width,
            page: document.documentElement.scrollWidth,
            window: window.innerWidth};)");
  INFO(layout.dump());
  CHECK(layout["key"].get<double>() >= 80);
  CHECK(layout["value"].get<double>() >= 100);
  CHECK(layout["page"].get<double>() <= layout["window"].get<double>());
  CheckNoScriptErrors(browser);
}

TEST_CASE("stored markup is shown as text and never runs") {
  ServerStack stack;
  const std::string script = "<script>window.pwned=1</script>";
  const std::string img = "<img src=x onerror=\"window.pwned=1\">";
  const std::string markup_key = "<i>key</i>";
  PostFields(stack, "script=" + PercentEncode(script) + "&img=" + PercentEncode(img) + "&" +
                        PercentEncode(markup_key) + "=plain");
  WebDriver& browser = Browser();
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {markup_key, "img", "script"});

  json rows = Rows(browser);
  INFO(rows.dump(2));
  CHECK(rows[0]["keyText"] == markup_key);
  CHECK(rows[1]["value"] == img);
  CHECK(rows[2]["value"] == script);
  CHECK(browser.FindElements("#keys script, #keys img, #keys i").empty());
  CHECK(browser.ExecuteScript("return typeof window.pwned") == "undefined");
  CheckNoScriptErrors(browser);
}

TEST_CASE("a key set through the form is saved, listed and reads back exactly") {
  ServerStack stack;
  WebDriver& browser = Browser();
  OpenEmptyPage(browser, PageUrl(stack));

  // Characters a form encoding can get wrong: +, &, =, %, non-ASCII.
  const std::string value = "héllo ☃ 1+1=2 & 100%";
  SubmitSetForm(browser, "greeting", value, kTestSecret);
  WaitForSetStatus(browser, "Saved revision 1.");
  WaitForKeys(browser, {"greeting"});
  CHECK(Rows(browser)[0]["value"] == value);
  CHECK_FALSE(browser.IsDisplayed(browser.FindElement("#empty")));
  auto read = ReadKey(stack, "greeting");
  CHECK(read->status == 200);
  CHECK(read->body == value);

  // A non-ASCII key and a value of several lines.
  SubmitSetForm(browser, "clé", "one\ntwo\n", std::nullopt);
  WaitForSetStatus(browser, "Saved revision 2.");
  WaitForKeys(browser, {"clé", "greeting"});
  auto lines = ReadKey(stack, "clé");
  CHECK(lines->status == 200);
  CHECK(lines->body == "one\ntwo\n");
  CheckNoScriptErrors(browser);
}

TEST_CASE("a wrong secret shows the server's refusal and writes nothing") {
  ServerStack stack;
  // What the server says to a wrong secret, as the page should show it.
  auto refusal =
      stack.Client()->Post("/?format=json", "auth=guess&k=v", "application/x-www-form-urlencoded");
  REQUIRE(refusal);
  std::string message = json::parse(refusal->body)["message"];
  CHECK_THAT(message, Catch::Contains("secret"));

  WebDriver& browser = Browser();
  OpenEmptyPage(browser, PageUrl(stack));
  SubmitSetForm(browser, "greeting", "hello", "guess");
  WaitForSetStatus(browser, message);
  CHECK(ReadKey(stack, "greeting")->status == 404);
  CHECK(StoredSecret(browser) == nullptr);
  CHECK(AsksForSecret(browser));
  WaitForEmptyPage(browser);
  CheckNoScriptErrors(browser);
}

TEST_CASE("the secret is remembered across a reload until forgotten") {
  ServerStack stack;
  WebDriver& browser = Browser();
  OpenEmptyPage(browser, PageUrl(stack));
  SubmitSetForm(browser, "first", "1", kTestSecret);
  WaitForSetStatus(browser, "Saved revision 1.");
  CHECK(StoredSecret(browser) == kTestSecret);

  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {"first"});
  // Either the field is filled in, or it is hidden and the page offers to
  // forget the secret.
  Element secret = browser.FindElement("#secret");
  if (browser.IsDisplayed(secret)) {
    CHECK(browser.Property(secret, "value") == kTestSecret);
  } else {
    CHECK(browser.IsDisplayed(browser.FindElement("#forget-secret")));
  }
  SubmitSetForm(browser, "second", "2", std::nullopt);
  WaitForSetStatus(browser, "Saved revision 2.");
  CHECK(ReadKey(stack, "second")->body == "2");

  browser.Click(browser.FindElement("#forget-secret"));
  CHECK(StoredSecret(browser) == nullptr);
  CHECK(AsksForSecret(browser));
  CHECK(browser.Property(browser.FindElement("#secret"), "value") == "");
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {"first", "second"});
  CHECK(AsksForSecret(browser));
  CHECK(browser.Property(browser.FindElement("#secret"), "value") == "");
  CheckNoScriptErrors(browser);
}

TEST_CASE("120 keys are shown 50 at a time") {
  ServerStack stack;
  // 20 keys a post: the stack's max_keys_per_transaction.
  for (int post = 0; post < 6; ++post) {
    std::string fields;
    for (const json& key : KeyRange(post * 20, post * 20 + 20)) {
      fields += (fields.empty() ? "" : "&") + key.get<std::string>() + "=v";
    }
    PostFields(stack, fields);
  }
  WebDriver& browser = Browser();
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, KeyRange(0, 50));
  CHECK_THAT(PageInfo(browser), Catch::Contains("1–50"));
  CHECK(browser.IsEnabled(browser.FindElement("#next-page")));

  browser.Click(browser.FindElement("#next-page"));
  WaitForKeys(browser, KeyRange(50, 100));
  CHECK_THAT(PageInfo(browser), Catch::Contains("51–100"));
  CHECK(browser.IsEnabled(browser.FindElement("#next-page")));

  browser.Click(browser.FindElement("#next-page"));
  WaitForKeys(browser, KeyRange(100, 120));
  CHECK_THAT(PageInfo(browser), Catch::Contains("101–120"));
  CHECK_FALSE(browser.IsEnabled(browser.FindElement("#next-page")));

  browser.Click(browser.FindElement("#first-page"));
  WaitForKeys(browser, KeyRange(0, 50));
  CHECK_THAT(PageInfo(browser), Catch::Contains("1–50"));
  CheckNoScriptErrors(browser);
}

TEST_CASE("the prefix filter shows only the keys that start with it") {
  ServerStack stack;
  PostFields(stack, "ap=0&apple=1&apricot=2&banana=3&b%2Fa=4");
  WebDriver& browser = Browser();
  browser.Navigate(PageUrl(stack));
  WaitForKeys(browser, {"ap", "apple", "apricot", "b/a", "banana"});

  Element prefix = browser.FindElement("#prefix");
  browser.SendKeys(prefix, std::string("ap") + kEnterKey);
  WaitForKeys(browser, {"ap", "apple", "apricot"});
  browser.SendKeys(prefix, std::string("b") + kEnterKey);
  WaitForKeys(browser, {"b/a", "banana"});
  browser.SendKeys(prefix, std::string("zzz") + kEnterKey);
  WaitForKeys(browser, json::array());
  browser.SendKeys(prefix, kEnterKey);
  WaitForKeys(browser, {"ap", "apple", "apricot", "b/a", "banana"});
  CheckNoScriptErrors(browser);
}

TEST_CASE("the page works mounted under a prefix") {
  StackOptions options;
  options.mount = "/kvs";
  ServerStack stack(options);
  PostFields(stack, "before=1", "/kvs");
  WebDriver& browser = Browser();
  // nginx redirects the mount without its slash to the page.
  browser.Navigate("http://127.0.0.1:" + std::to_string(stack.port()) + "/kvs");
  WaitForKeys(browser, {"before"});
  CHECK(browser.ExecuteScript("return location.pathname") == "/kvs/");

  SubmitSetForm(browser, "after", "2", kTestSecret);
  WaitForSetStatus(browser, "Saved revision 2.");
  WaitForKeys(browser, {"after", "before"});
  auto read = ReadKey(stack, "after", "/kvs");
  CHECK(read->status == 200);
  CHECK(read->body == "2");
  CheckNoScriptErrors(browser);
}

}  // namespace kvs::server::test
