// The strict JSON body parser: nlohmann's SAX events into a document.
#include "http/json_body.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kvs::server {
namespace {

using nlohmann::ordered_json;

// nlohmann's parse error without its prefix: "[json.exception.parse_error.101]
// parse error at line 1, column 8: syntax error while parsing object key -
// unexpected '}'; expected string literal" -> what follows "column 8: ".
std::string Reason(std::string_view what) {
  size_t column = what.find("column ");
  size_t colon = column == std::string_view::npos ? column : what.find(": ", column);
  if (colon == std::string_view::npos) return std::string(what);
  return std::string(what.substr(colon + 2));
}

// A JSON Pointer (RFC 6901) reference token: '~' and '/' escaped.
std::string PointerToken(std::string_view name) {
  std::string token;
  for (char c : name) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token.push_back(c);
    }
  }
  return token;
}

// A JSON number's value as decimal digits, without leading or trailing
// zeros, times ten to the exponent; nullopt for an exponent too large to
// matter. Two lexemes are the same number when these are equal.
struct Decimal {
  bool negative = false;
  std::string digits;  // empty for zero
  int64_t exponent = 0;
  bool operator==(const Decimal&) const = default;
};

std::optional<Decimal> DecimalOf(std::string_view number) {
  Decimal d;
  size_t i = 0;
  if (i < number.size() && number[i] == '-') {
    d.negative = true;
    ++i;
  }
  int64_t fraction_digits = 0;
  bool in_fraction = false;
  for (; i < number.size() && number[i] != 'e' && number[i] != 'E'; ++i) {
    if (number[i] == '.') {
      in_fraction = true;
      continue;
    }
    d.digits.push_back(number[i]);
    if (in_fraction) ++fraction_digits;
  }
  int64_t exponent = 0;
  if (i < number.size()) {  // the exponent: [eE][+-]?digits
    ++i;
    bool negative_exponent = false;
    if (i < number.size() && (number[i] == '+' || number[i] == '-')) {
      negative_exponent = number[i++] == '-';
    }
    for (; i < number.size(); ++i) {
      exponent = exponent * 10 + (number[i] - '0');
      if (exponent > 1'000'000'000) return std::nullopt;
    }
    if (negative_exponent) exponent = -exponent;
  }
  d.exponent = exponent - fraction_digits;
  d.digits.erase(0, d.digits.find_first_not_of('0'));
  while (!d.digits.empty() && d.digits.back() == '0') {
    d.digits.pop_back();
    ++d.exponent;
  }
  if (d.digits.empty()) return Decimal{};  // zero, whatever its sign
  return d;
}

// Whether value, written with as many significant digits as number has,
// is number.
bool SameDouble(const Decimal& number, double value) {
  const size_t digits = std::max<size_t>(1, number.digits.size());
  if (digits > 800) return false;  // more than any double's exact expansion
  std::string written(digits + 32, '\0');
  const int n =
      std::snprintf(written.data(), written.size(), "%.*g", static_cast<int>(digits), value);
  if (n < 0 || static_cast<size_t>(n) >= written.size()) return false;
  written.resize(static_cast<size_t>(n));
  return DecimalOf(written) == number;
}

// Builds the document from SAX events and stops at the first problem, which
// error() then says. Invariant: open_ holds the containers being filled,
// outermost first; each points at its place in root_ (a container's
// parent gets no other element while it is open, so the pointer holds).
class StrictBuilder : public nlohmann::json_sax<ordered_json> {
 public:
  bool null() override { return Add(nullptr); }
  bool boolean(bool value) override { return Add(value); }
  bool number_integer(number_integer_t value) override { return Add(value); }
  bool number_unsigned(number_unsigned_t value) override { return Add(value); }
  // A number kvs would not keep as written is refused, not rounded: it is
  // held as a double, which the stored JSON text is then made from. It is
  // kept when the double, written with as many significant digits as the
  // number was (correctly rounded), is that number: 0.1 and 1e5 are, and
  // so is every number a JavaScript or Python program prints; 2^53 + 1
  // and 1.0000000000000000001 are not.
  bool number_float(number_float_t value, const string_t& text) override {
    auto sent = DecimalOf(text);
    if (!sent || !SameDouble(*sent, value)) {
      error_ = "the JSON body holds the number " + text +
               ", which a 64-bit floating-point number cannot hold exactly; send it as a string";
      return false;
    }
    return Add(value);
  }
  bool string(string_t& value) override { return Add(std::move(value)); }
  bool binary(binary_t& value) override { return Add(ordered_json::binary(std::move(value))); }
  bool start_object(std::size_t) override { return Open(ordered_json::object()); }
  bool start_array(std::size_t) override { return Open(ordered_json::array()); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }

  bool key(string_t& name) override {
    OpenContainer& object = open_.back();
    if (!object.names.insert(name).second) {
      error_ = "the JSON body names the member \"" + name + "\" twice in " +
               (open_.size() == 1 ? "the top-level object" : "the object at " + Pointer()) +
               "; name each member once";
      return false;
    }
    object.name = std::move(name);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // position counts the bytes read, the offending one included.
    error_ = "the body is not valid JSON: at byte " + std::to_string(position - 1) + ", " +
             Reason(e.what());
    return false;
  }

  ordered_json& document() { return root_; }
  const std::string& error() const { return error_; }

 private:
  struct OpenContainer {
    ordered_json* value;
    std::unordered_set<std::string> names;  // objects: every member name so far
    std::string name;                       // objects: the member being read
  };

  // Puts value where the document is at: the root, the member just named,
  // or the next element of an array. Returns where it now is.
  ordered_json* Place(ordered_json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    OpenContainer& parent = open_.back();
    if (parent.value->is_object()) return &((*parent.value)[parent.name] = std::move(value));
    parent.value->push_back(std::move(value));
    return &parent.value->back();
  }

  bool Add(ordered_json value) {
    Place(std::move(value));
    return true;
  }

  bool Open(ordered_json container) {
    if (open_.size() == kMaxJsonBodyDepth) {
      error_ = "the JSON body nests containers deeper than " + std::to_string(kMaxJsonBodyDepth) +
               " levels";
      return false;
    }
    ordered_json* placed = Place(std::move(container));
    open_.push_back({placed, {}, {}});
    return true;
  }

  bool Close() {
    open_.pop_back();
    return true;
  }

  // The JSON Pointer of the innermost open container ("/set", "/delete/0").
  std::string Pointer() const {
    std::string pointer;
    for (size_t i = 0; i + 1 < open_.size(); ++i) {
      const OpenContainer& parent = open_[i];
      pointer += "/" + (parent.value->is_object() ? PointerToken(parent.name)
                                                  : std::to_string(parent.value->size() - 1));
    }
    return pointer;
  }

  ordered_json root_;
  std::vector<OpenContainer> open_;
  std::string error_;
};

}  // namespace

std::variant<ordered_json, HttpError> ParseJsonObjectBody(std::string_view body,
                                                          std::string_view example) {
  const std::string expected = "send a JSON object like " + std::string(example);
  if (body.empty()) return HttpError{400, "the body is empty; " + expected};
  StrictBuilder builder;
  if (!ordered_json::sax_parse(body, &builder)) return HttpError{400, builder.error()};
  if (!builder.document().is_object()) {
    return HttpError{400, "the body is JSON but not an object; " + expected};
  }
  return std::move(builder.document());
}

std::optional<HttpError> CheckJsonBody(std::string_view body) {
  StrictBuilder builder;
  if (!ordered_json::sax_parse(body, &builder)) return HttpError{400, builder.error()};
  return std::nullopt;
}

}  // namespace kvs::server
