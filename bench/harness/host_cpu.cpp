#include "host_cpu.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

namespace mdgw::bench {

std::optional<cpu_ticks> parse_cpu_ticks(std::string_view text) {
  const std::string_view line = text.substr(0, text.find('\n'));
  if (!line.starts_with("cpu ")) return std::nullopt;
  std::uint64_t fields[8] = {};
  std::size_t n = 0;
  const char* p = line.data() + 3;
  const char* const end = line.data() + line.size();
  while (n < 8) {
    while (p != end && *p == ' ') ++p;
    if (p == end) break;
    const auto [next, ec] = std::from_chars(p, end, fields[n]);
    if (ec != std::errc{} || (next != end && *next != ' ')) return std::nullopt;
    p = next;
    ++n;
  }
  if (n < 4) return std::nullopt;
  cpu_ticks t;
  for (std::size_t i = 0; i < n; ++i) t.total += fields[i];
  t.steal = n > 7 ? fields[7] : 0;
  return t;
}

cpu_ticks read_cpu_ticks() {
  // No allocation: the replay benchmark reads this around passes that must allocate
  // nothing. The first line is well under 256 bytes.
  char buf[256];
  const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return {};
  return parse_cpu_ticks(std::string_view(buf, static_cast<std::size_t>(n))).value_or(cpu_ticks{});
}

cpu_ticks ticks_between(const cpu_ticks& before, const cpu_ticks& after) {
  if (before.total == 0 || after.total < before.total || after.steal < before.steal ||
      after.steal - before.steal > after.total - before.total) {
    return {};
  }
  return {after.steal - before.steal, after.total - before.total};
}

double steal_share(const cpu_ticks& span) {
  return span.total == 0 ? 0.0 : static_cast<double>(span.steal) / static_cast<double>(span.total);
}

double steal_share(const cpu_ticks& before, const cpu_ticks& after) { return steal_share(ticks_between(before, after)); }

void warn_if_stolen(std::FILE* out, double share, std::string_view what, std::string_view during) {
  if (share <= kStealWarn) return;
  std::fprintf(out, "# warning: %.*s: the host took %.0f%% of this machine's CPU time (steal) during %.*s: its figures are "
                    "not comparable\n",
               static_cast<int>(what.size()), what.data(), share * 100, static_cast<int>(during.size()), during.data());
}

}  // namespace mdgw::bench
