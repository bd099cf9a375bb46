#include "tests/harness/webdriver.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;

// Generous: Chromium starts slowly on a busy machine.
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr int kPollMilliseconds = 50;
// The key under which W3C WebDriver names an element in JSON.
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

// The browser's switches: headless, nothing that phones home or pops up, and
// an English locale so relative times read as the tests expect. Tests run as
// root in CI, where Chromium refuses to start without --no-sandbox.
std::vector<std::string> ChromiumArgs(const std::string& profile_dir) {
  return {"--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--user-data-dir=" + profile_dir,
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-default-apps",
          "--disable-extensions",
          "--disable-sync",
          "--no-first-run",
          "--no-default-browser-check",
          "--no-proxy-server",
          "--password-store=basic",
          "--lang=en-US",
          "--window-size=" + std::to_string(WebDriver::kWidth) + "," +
              std::to_string(WebDriver::kHeight)};
}

// chromedriver on port, in a shell that ends its whole process group (the
// browser too) when this test process dies without unwinding: a crash, a
// sanitizer abort, SIGPIPE from `| head`. The destructor's group kill covers
// every other end; chromedriver alone, killed, would leave the browser running.
std::vector<std::string> DriverCommand(int port) {
  return {KVS_SETPRIV_BINARY,
          "--pdeathsig",
          "TERM",
          "--",
          "/bin/sh",
          "-c",
          "trap 'trap - TERM; kill 0' TERM; \"$0\" \"$@\" & wait",
          KVS_CHROMEDRIVER_BINARY,
          "--port=" + std::to_string(port)};
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

Element ToElement(const nlohmann::json& value) {
  if (!value.is_object() || !value.contains(kElementKey)) {
    throw WebDriverError("unexpected answer", "not an element: " + value.dump());
  }
  return Element{value[kElementKey].get<std::string>()};
}

}  // namespace

WebDriver::WebDriver() {
  StartDriver();
  StartSession();
}

WebDriver::~WebDriver() {
  if (!session_.empty()) {
    // A hung chromedriver must not hold the test up: the group kill below
    // ends it anyway.
    http_->set_read_timeout(10, 0);
    http_->Delete(("/session/" + session_).c_str());
  }
  if (driver_) driver_->Stop();
}

void WebDriver::StartDriver() {
  // The port may be taken between FreePort and chromedriver's bind: try again.
  for (int attempt = 0;; ++attempt) {
    int port = FreePort();
    driver_ = std::make_unique<ChildProcess>(DriverCommand(port), dir_.Sub("chromedriver.log"));
    http_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    http_->set_connection_timeout(5, 0);
    // Above the page-load and script timeouts of the session, so the browser
    // reports those itself.
    http_->set_read_timeout(60, 0);
    http_->set_write_timeout(10, 0);
    auto deadline = Clock::now() + kStartTimeout;
    while (!driver_->Exited() && Clock::now() < deadline) {
      if (auto res = http_->Get("/status"); res && res->status == 200) {
        auto status = nlohmann::json::parse(res->body, nullptr, false);
        if (!status.is_discarded() && status["value"]["ready"] == true) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMilliseconds));
    }
    INFO("chromedriver log:\n" << DriverLog());
    bool port_taken = DriverLog().find("Address already in use") != std::string::npos;
    REQUIRE((driver_->Exited() && port_taken && attempt < 5));
    driver_->Stop();
  }
}

void WebDriver::StartSession() {
  nlohmann::json capabilities = {
      {"browserName", "chrome"},
      {"goog:chromeOptions",
       {{"binary", KVS_CHROMIUM_BINARY}, {"args", ChromiumArgs(dir_.Sub("profile"))}}},
      {"goog:loggingPrefs", {{"browser", "ALL"}}},
      {"timeouts", {{"implicit", 0}, {"pageLoad", 20000}, {"script", 20000}}},
  };
  try {
    nlohmann::json value =
        Send("POST", "/session", {{"capabilities", {{"alwaysMatch", capabilities}}}});
    session_ = value.at("sessionId").get<std::string>();
  } catch (const std::exception& e) {
    FAIL("starting Chromium failed: " << e.what() << "\nchromedriver log:\n" << DriverLog());
  }
}

nlohmann::json WebDriver::Send(const std::string& method, const std::string& path,
                               const nlohmann::json& body) {
  auto send = [&]() -> httplib::Result {
    if (method == "GET") return http_->Get(path.c_str());
    if (method == "DELETE") return http_->Delete(path.c_str());
    // W3C commands without parameters still take an empty JSON object.
    return http_->Post(path.c_str(), body.is_null() ? "{}" : body.dump(), "application/json");
  };
  httplib::Result res = send();
  std::string command = method + " " + path;
  if (!res) {
    throw WebDriverError("no answer", command + ": chromedriver did not answer (" +
                                          httplib::to_string(res.error()) +
                                          ")\nchromedriver log:\n" + Tail(DriverLog(), 2000));
  }
  auto answer = nlohmann::json::parse(res->body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("value")) {
    throw WebDriverError("unexpected answer", command + ": HTTP " + std::to_string(res->status) +
                                                  ", not a WebDriver answer: " + res->body);
  }
  nlohmann::json& value = answer["value"];
  if (res->status != 200 || (value.is_object() && value.contains("error"))) {
    std::string code = value.value("error", "unknown error");
    throw WebDriverError(
        code, command + ": " + code + ": " + FirstLine(value.value("message", std::string())));
  }
  return value;
}

nlohmann::json WebDriver::Command(const std::string& method, const std::string& path,
                                  const nlohmann::json& body) {
  return Send(method, "/session/" + session_ + path, body);
}

void WebDriver::Navigate(const std::string& url) {
  FetchConsole();
  console_ = nlohmann::json::array();
  Command("POST", "/url", {{"url", url}});
}

Element WebDriver::FindElement(const std::string& css) {
  return ToElement(Command("POST", "/element", {{"using", "css selector"}, {"value", css}}));
}

std::vector<Element> WebDriver::FindElements(const std::string& css) {
  std::vector<Element> elements;
  for (const auto& value :
       Command("POST", "/elements", {{"using", "css selector"}, {"value", css}})) {
    elements.push_back(ToElement(value));
  }
  return elements;
}

std::string WebDriver::Text(const Element& element) {
  return Command("GET", "/element/" + element.id + "/text").get<std::string>();
}

std::optional<std::string> WebDriver::Attribute(const Element& element, const std::string& name) {
  nlohmann::json value = Command("GET", "/element/" + element.id + "/attribute/" + name);
  if (value.is_null()) return std::nullopt;
  return value.get<std::string>();
}

nlohmann::json WebDriver::Property(const Element& element, const std::string& name) {
  return Command("GET", "/element/" + element.id + "/property/" + name);
}

bool WebDriver::IsDisplayed(const Element& element) {
  return Command("GET", "/element/" + element.id + "/displayed").get<bool>();
}

bool WebDriver::IsEnabled(const Element& element) {
  return Command("GET", "/element/" + element.id + "/enabled").get<bool>();
}

void WebDriver::Click(const Element& element) {
  Command("POST", "/element/" + element.id + "/click");
}

void WebDriver::SendKeys(const Element& element, const std::string& text) {
  Command("POST", "/element/" + element.id + "/clear");
  Command("POST", "/element/" + element.id + "/value", {{"text", text}});
}

void WebDriver::PressKeys(const Element& element, const std::string& text) {
  Command("POST", "/element/" + element.id + "/value", {{"text", text}});
}

void WebDriver::SetWindowSize(int width, int height) {
  Command("POST", "/window/rect", {{"width", width}, {"height", height}});
}

nlohmann::json WebDriver::ExecuteScript(const std::string& js, const nlohmann::json& args) {
  return Command("POST", "/execute/sync", {{"script", js}, {"args", args}});
}

bool WebDriver::Poll(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                     std::string* last_error) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    try {
      if (done()) return true;
    } catch (const WebDriverError& e) {
      if (e.code() != "no such element" && e.code() != "stale element reference") throw;
      *last_error = e.what();
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMilliseconds));
  }
}

void WebDriver::WaitUntil(const std::string& description, const std::function<bool()>& done,
                          std::chrono::milliseconds timeout) {
  std::string last_error;
  if (Poll(done, timeout, &last_error)) return;
  FAIL("waited " << timeout.count() << " ms for: " << description
                 << (last_error.empty() ? "" : "\nlast error: " + last_error) << "\n"
                 << Diagnostics());
}

void WebDriver::WaitFor(const std::string& description,
                        const std::function<nlohmann::json()>& probe, const nlohmann::json& want,
                        std::chrono::milliseconds timeout) {
  nlohmann::json last;
  std::string last_error;
  auto done = [&] {
    last = probe();
    return last == want;
  };
  if (Poll(done, timeout, &last_error)) return;
  FAIL("waited " << timeout.count() << " ms for: " << description << "\nwanted:   " << want.dump()
                 << "\nlast saw: " << last.dump()
                 << (last_error.empty() ? "" : "\nlast error: " + last_error) << "\n"
                 << Diagnostics());
}

void WebDriver::FetchConsole() {
  // chromedriver's log command (outside the W3C standard) hands out each
  // entry once.
  for (const auto& entry : Command("POST", "/se/log", {{"type", "browser"}})) {
    console_.push_back(entry);
  }
}

std::string WebDriver::ConsoleLog() {
  FetchConsole();
  std::string log;
  for (const auto& entry : console_) {
    log += entry.value("level", "") + " " + entry.value("source", "") + ": " +
           entry.value("message", "") + "\n";
  }
  return log;
}

std::string WebDriver::ScriptErrors() {
  FetchConsole();
  std::string errors;
  for (const auto& entry : console_) {
    if (entry.value("source", "") == "javascript") errors += entry.value("message", "") + "\n";
  }
  return errors;
}

std::string WebDriver::Diagnostics() {
  std::ostringstream out;
  auto section = [&out](const char* title, const std::function<std::string()>& get) {
    out << "--- " << title << ":\n";
    try {
      out << get() << "\n";
    } catch (const std::exception& e) {
      out << "(unavailable: " << e.what() << ")\n";
    }
  };
  section("page URL", [this] { return Command("GET", "/url").get<std::string>(); });
  section("page text", [this] {
    return Tail(
        ExecuteScript("return document.body ? document.body.innerText : ''").get<std::string>(),
        6000);
  });
  section("browser console", [this] { return Tail(ConsoleLog(), 6000); });
  return out.str();
}

std::string WebDriver::DriverLog() const { return ReadFile(dir_.Sub("chromedriver.log")); }

}  // namespace kvs::server::test
