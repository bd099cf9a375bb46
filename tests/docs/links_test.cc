// Every link in the README and docs/ resolves inside the repository: a
// relative path names a file or folder that exists, and a #anchor names a
// heading of that file, as GitHub makes anchors of headings. Links to other
// sites are not followed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kvs::docs::test {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lines of markdown outside fenced code blocks.
std::vector<std::string> ProseLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("```")) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) lines.push_back(line);
  }
  return lines;
}

// GitHub's anchor for a heading: lower case, spaces to '-', every other
// character but letters, digits, '-' and '_' dropped (bytes of UTF-8
// letters kept), "-1", "-2" ... for repeats.
std::set<std::string> Anchors(const std::string& text) {
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  for (const std::string& line : ProseLines(text)) {
    if (!line.starts_with('#')) continue;
    std::string title = line.substr(line.find_first_not_of('#'));
    std::string slug;
    for (char c : title) {
      unsigned char u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '-' || c == '_' || u >= 0x80) {
        slug += static_cast<char>(std::tolower(u));
      } else if (c == ' ') {
        slug += '-';
      }
    }
    while (slug.starts_with('-')) slug.erase(0, 1);
    int repeat = seen[slug]++;
    anchors.insert(repeat == 0 ? slug : slug + "-" + std::to_string(repeat));
  }
  return anchors;
}

// The targets of [text](target) links on the prose lines, outside `code`.
std::vector<std::string> LinkTargets(const std::string& text) {
  std::vector<std::string> targets;
  for (std::string line : ProseLines(text)) {
    // Inline code holds examples, not links.
    for (size_t tick = line.find('`'); tick != std::string::npos; tick = line.find('`')) {
      size_t end = line.find('`', tick + 1);
      if (end == std::string::npos) break;
      line.erase(tick, end - tick + 1);
    }
    for (size_t at = line.find("]("); at != std::string::npos; at = line.find("](", at + 2)) {
      size_t end = line.find(')', at + 2);
      if (end == std::string::npos) break;
      targets.push_back(line.substr(at + 2, end - at - 2));
    }
  }
  return targets;
}

}  // namespace

TEST_CASE("every link in the README and docs/ resolves inside the repository") {
  const fs::path root = fs::path(KVS_SOURCE_DIR);
  std::vector<fs::path> pages = {root / "README.md"};
  for (const auto& entry : fs::directory_iterator(root / "docs")) {
    if (entry.path().extension() == ".md") pages.push_back(entry.path());
  }
  REQUIRE(pages.size() > 5);
  size_t checked = 0;
  for (const fs::path& page : pages) {
    const std::string text = ReadText(page);
    for (const std::string& target : LinkTargets(text)) {
      INFO(page.filename().string() << ": (" << target << ")");
      if (target.starts_with("http://") || target.starts_with("https://")) continue;
      CHECK(target.find("shared/") == std::string::npos);
      const size_t hash = target.find('#');
      const std::string path = target.substr(0, hash);
      const fs::path file = path.empty() ? page : (page.parent_path() / path).lexically_normal();
      REQUIRE(fs::exists(file));
      const std::string relative = fs::relative(file, root).string();
      CHECK_FALSE(relative.starts_with(".."));  // inside the repository
      if (hash != std::string::npos) {
        CHECK(Anchors(ReadText(file)).count(target.substr(hash + 1)) == 1);
      }
      ++checked;
    }
  }
  CHECK(checked > 50);
}

}  // namespace kvs::docs::test
