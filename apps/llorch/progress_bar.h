#pragma once
// A one-line progress bar on a terminal ("reload gpu-a/main [#######-----] starting 3.2 s"),
// redrawn in place; where the stream is not a terminal, one line per new label instead, so that
// logs stay readable. Used by the commands that wait on something (llorch reload).

#include <ostream>
#include <string>

namespace llorch::cli {

class progress_bar {
  public:
    // `enabled` false draws nothing (--json output).
    progress_bar(std::ostream& out, std::string title, bool enabled);
    // `fraction` in [0, 1].
    void show(double fraction, const std::string& label, double seconds);
    void finish(bool ok, const std::string& label, double seconds);

  private:
    std::ostream& out_;
    std::string title_;
    bool enabled_;
    bool tty_;
    std::string last_label_;
};

// A byte count as people read it: "812 B", "3.1 KiB", "12.0 MiB", "1.25 GiB".
std::string human_bytes(double n);

}  // namespace llorch::cli
