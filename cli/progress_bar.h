// A one-line progress bar on stderr for long commands (kvs compact), drawn
// only when stderr is a terminal, so that scripts and logs get no control
// characters.
#ifndef KVS_CLI_PROGRESS_BAR_H_
#define KVS_CLI_PROGRESS_BAR_H_

#include <cstdint>
#include <string>

namespace kvs::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar() { Finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // done of total units; redraws when the shown percentage changes.
  void Update(uint64_t done, uint64_t total);
  // Ends the line when anything was drawn, so that what follows on stderr
  // starts on a line of its own. Idempotent.
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  int shown_percent_ = -1;
};

}  // namespace kvs::cli

#endif  // KVS_CLI_PROGRESS_BAR_H_
