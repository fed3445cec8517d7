// Shared by the config tests: the message parse_config stops with ("" when it accepts).
#pragma once

#include "config.hpp"

#include <string>
#include <vector>

namespace mdgw {

inline std::string error_of(const std::vector<std::string>& args) {
  try {
    (void)parse_config(args);
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

} // namespace mdgw
