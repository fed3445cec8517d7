// `mdgw book ...`: print order-by-order ITCH books (see book_command.cpp, docs/itch.md).
#pragma once

#include <string>
#include <vector>

namespace mdgw {

// args: everything after "book". Returns the process exit status.
int run_book_command(const std::vector<std::string>& args);

} // namespace mdgw
