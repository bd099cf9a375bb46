// A small WebDriver client for the browser tests: it starts chromedriver and
// one headless Chromium session, and speaks the W3C WebDriver protocol (JSON
// over HTTP) to it with cpp-httplib.
//
// It exists so that the index page is tested the way a user meets it: a real
// browser loads the page from the real nginx + kvs-fcgi stack, runs its
// JavaScript, and the test types, clicks and reads what is rendered.
//
// chromedriver runs in a process group of its own (ChildProcess), and the
// browser it starts stays in that group, so the destructor's group kill ends
// both, also when a test fails. When the test process dies without unwinding
// (a crash, SIGPIPE), the kernel signals a watcher shell (setpriv
// --pdeathsig), which ends the group. That signal comes when the thread that
// started the browser ends: start it on the thread that runs the tests. The
// browser profile lives in a private temporary directory, removed afterwards.
//
// A command the browser refuses (no such element, a stale element, a script
// error) throws WebDriverError naming the command and the browser's answer;
// Catch2 reports it as the test's failure. The waits fail the test with what
// they waited for, the page's text and the browser console.
#ifndef KVS_TESTS_HARNESS_WEBDRIVER_H_
#define KVS_TESTS_HARNESS_WEBDRIVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/harness/child_process.h"
#include "tests/store/test_util.h"

namespace httplib {
class Client;
}

namespace kvs::server::test {

// A command the browser answered with an error.
class WebDriverError : public std::runtime_error {
 public:
  // code: the W3C error code ("no such element", ...), or "no answer" when
  // chromedriver did not answer at all.
  WebDriverError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// An element of the current page, as the browser names it. It goes stale when
// the page replaces the element (a table reload): commands on it then throw
// "stale element reference".
struct Element {
  std::string id;
};

// The Enter key, for SendKeys (WebDriver's key code U+E007, in UTF-8).
inline constexpr const char* kEnterKey = "\xEE\x80\x87";

// How long the waits poll unless told otherwise: generous, for a sanitizer
// build on a busy machine; a wait that succeeds returns as soon as it can.
inline constexpr std::chrono::milliseconds kDefaultWait = std::chrono::seconds(20);

class WebDriver {
 public:
  // Starts chromedriver on a free 127.0.0.1 port and a headless Chromium
  // session; fails the test when either does not come up.
  WebDriver();
  // Ends the session, then stops chromedriver's process group. Never throws.
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  // Loads url and waits until its document has loaded (not for the fetches
  // its scripts start). Forgets the console messages of the previous page.
  void Navigate(const std::string& url);

  // The first element matching the CSS selector; throws "no such element".
  Element FindElement(const std::string& css);
  // Every element matching the CSS selector, in document order.
  std::vector<Element> FindElements(const std::string& css);

  // The element's rendered text, as a user sees it.
  std::string Text(const Element& element);
  // The element's attribute; nullopt when it has none.
  std::optional<std::string> Attribute(const Element& element, const std::string& name);
  // The element's DOM property (like "value" of an input).
  nlohmann::json Property(const Element& element, const std::string& name);
  bool IsDisplayed(const Element& element);
  bool IsEnabled(const Element& element);

  void Click(const Element& element);
  // Clears the input or textarea, then types text (which may hold kEnterKey).
  void SendKeys(const Element& element, const std::string& text);
  // Focuses the element (any focusable one: a button, a node of an SVG with
  // tabindex) and presses the keys of text on it, clearing nothing, as a
  // keyboard user does.
  void PressKeys(const Element& element, const std::string& text);

  // Resizes the browser window (CSS pixels), as a phone's or a desktop's.
  void SetWindowSize(int width, int height);
  // The size the browser starts at.
  static constexpr int kWidth = 1280;
  static constexpr int kHeight = 1024;

  // Runs js as the body of a function with args as its arguments and returns
  // what it returns (elements come back as {"element-6066-...": id}).
  nlohmann::json ExecuteScript(const std::string& js,
                               const nlohmann::json& args = nlohmann::json::array());

  // Polls done() until it returns true; fails the test after timeout with
  // description, the page's text and its console. A done() that throws "no
  // such element" or "stale element reference" (the page is still changing)
  // counts as not done yet.
  void WaitUntil(const std::string& description, const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = kDefaultWait);
  // Polls probe() until it returns want; the failure also says what probe()
  // returned last.
  void WaitFor(const std::string& description, const std::function<nlohmann::json()>& probe,
               const nlohmann::json& want, std::chrono::milliseconds timeout = kDefaultWait);

  // The console messages (and uncaught errors) of the current page, one per
  // line as "LEVEL source: message".
  std::string ConsoleLog();
  // The uncaught JavaScript errors of the current page, one per line.
  std::string ScriptErrors();
  // The page's URL, text and console, for failure messages. Never throws.
  std::string Diagnostics();

 private:
  void StartDriver();
  void StartSession();
  // Sends one command to chromedriver (path below the server root) and
  // returns the "value" of its answer; throws WebDriverError on an error.
  nlohmann::json Send(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr);
  // Send for a command of this session (path below /session/ID).
  nlohmann::json Command(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
  // Moves the browser's new log entries into console_.
  void FetchConsole();
  // Polls done() until true or timeout; true when done. Sets *last_error to
  // the last retried WebDriverError's message.
  bool Poll(const std::function<bool()>& done, std::chrono::milliseconds timeout,
            std::string* last_error);
  std::string DriverLog() const;

  // Declared first, destroyed last: chromedriver and the browser are gone
  // before their directory (profile, log) is removed.
  kvs::test::TempDir dir_;
  std::unique_ptr<ChildProcess> driver_;
  std::unique_ptr<httplib::Client> http_;
  std::string session_;
  // The current page's browser log entries, as returned by chromedriver.
  nlohmann::json console_ = nlohmann::json::array();
};

// The browser's window at another size until scope exit, and at its own
// again after, also when a test fails: the browser is shared by the tests.
class ScopedWindowSize {
 public:
  ScopedWindowSize(WebDriver& browser, int width, int height) : browser_(browser) {
    browser_.SetWindowSize(width, height);
  }
  ~ScopedWindowSize() {
    try {
      browser_.SetWindowSize(WebDriver::kWidth, WebDriver::kHeight);
    } catch (...) {
    }
  }
  ScopedWindowSize(const ScopedWindowSize&) = delete;
  ScopedWindowSize& operator=(const ScopedWindowSize&) = delete;

 private:
  WebDriver& browser_;
};

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_WEBDRIVER_H_
