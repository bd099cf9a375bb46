// The progress bar: "\r" and a redrawn line, newline at the end.
#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace kvs::cli {
namespace {

constexpr int kWidth = 40;

}  // namespace

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1) {}

void ProgressBar::Finish() {
  if (enabled_ && shown_percent_ >= 0) std::fputc('\n', stderr);
  enabled_ = false;
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || total == 0) return;
  int percent = static_cast<int>(std::min<uint64_t>(done, total) * 100 / total);
  if (percent == shown_percent_) return;
  shown_percent_ = percent;
  int filled = percent * kWidth / 100;
  std::string bar = "\r" + label_ + " [" + std::string(filled, '#') +
                    std::string(kWidth - filled, '.') + "] " + std::to_string(percent) + "%";
  std::fwrite(bar.data(), 1, bar.size(), stderr);
  std::fflush(stderr);
}

}  // namespace kvs::cli
