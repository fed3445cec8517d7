// `mdgw capture info|dump FILE`: what a recording holds, and its events as JSON lines
// (see capture_command.cpp, docs/recording.md).
#pragma once

#include <string>
#include <vector>

namespace mdgw {

// args: everything after "capture". Returns the process exit status.
int run_capture_command(const std::vector<std::string>& args);

} // namespace mdgw
