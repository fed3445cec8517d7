// Tests of the send batch need io_uring. A kernel or sandbox that refuses it (a container's
// seccomp profile, io_uring_disabled) is a place where mdgw falls back to one write per
// frame by design: those tests skip there, saying why. Any other failure to set up the
// ring fails them.
#pragma once

#include "send_batch.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace mdgw::test {

inline bool io_uring_refused_here(const char* why) {
  return std::strstr(why, std::strerror(EPERM)) != nullptr || std::strstr(why, std::strerror(ENOSYS)) != nullptr;
}

} // namespace mdgw::test

#define MDGW_REQUIRE_SEND_BATCH(batch)                                                                   \
  do {                                                                                                   \
    if (!(batch).enabled()) {                                                                            \
      if (::mdgw::test::io_uring_refused_here((batch).why_disabled()))                                   \
        GTEST_SKIP() << "io_uring is refused here (" << (batch).why_disabled() << "): mdgw falls back";  \
      FAIL() << "the send batch did not start: " << (batch).why_disabled();                              \
    }                                                                                                    \
  } while (0)
