// itch_decoder and binary_file_reader: bad input is counted per kind, reported once per
// kind and skipped; random bytes never crash (this binary also runs under ASan+UBSan);
// BinaryFILE framing, including zero and wrong length prefixes, plain and gzip; and the
// RITCH sample's message counts (../shared/data/README.md).
#include "itch_decoder.hpp"
#include "itch_messages.hpp"
#include "itch_test_util.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace mdgw::itch {
namespace {

using itch_test::raw;

struct log_capture {
  std::vector<std::string> lines;
  log_fn fn() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
  [[nodiscard]] std::size_t count(std::string_view needle) const {
    std::size_t n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
};

std::size_t visits(itch_decoder& d, const std::uint8_t* p, std::size_t len, decode_status& st) {
  std::size_t n = 0;
  st = d.decode(p, len, [&n](const auto&) { ++n; });
  return n;
}

TEST(ItchDecoder, TruncatedMessagesOfEveryTypeAreCountedReportedOnceAndSkipped) {
  log_capture log;
  itch_decoder d(log.fn());
  for (msg_type t : kAllMessageTypes) {
    const std::size_t len = message_size(t);
    std::vector<std::uint8_t> buf(len, 0x5A);
    buf[0] = static_cast<std::uint8_t>(t);
    // Every shorter length, from the tag byte alone to one byte short. The buffer is
    // copied into one of exactly that size so ASan sees any read past it.
    for (std::size_t n = 1; n < len; ++n) {
      std::vector<std::uint8_t> cut(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      decode_status st{};
      EXPECT_EQ(visits(d, cut.data(), cut.size(), st), 0U);
      EXPECT_EQ(st, decode_status::truncated);
    }
    EXPECT_EQ(d.truncated(static_cast<std::uint8_t>(t)), len - 1) << static_cast<char>(t);
    decode_status st{};
    EXPECT_EQ(visits(d, buf.data(), buf.size(), st), 1U);
    EXPECT_EQ(st, decode_status::ok);
  }
  EXPECT_EQ(d.decoded_total(), 23U);
  EXPECT_EQ(log.count("truncated"), 23U) << "one report per message type";
  EXPECT_EQ(d.reports(), 23U);
}

TEST(ItchDecoder, UnknownTypesAndEmptyRangesAreCountedPerKind) {
  log_capture log;
  itch_decoder d(log.fn());
  std::size_t unknown_tags = 0;
  for (int t = 0; t < 256; ++t) {
    if (message_size(static_cast<std::uint8_t>(t)) != 0) continue;
    ++unknown_tags;
    std::vector<std::uint8_t> buf(64, 0);
    buf[0] = static_cast<std::uint8_t>(t);
    for (int k = 0; k < 3; ++k) {
      decode_status st{};
      EXPECT_EQ(visits(d, buf.data(), buf.size(), st), 0U);
      EXPECT_EQ(st, decode_status::unknown_type);
    }
    EXPECT_EQ(d.unknown(static_cast<std::uint8_t>(t)), 3U);
  }
  EXPECT_EQ(unknown_tags, 256U - 23U);
  EXPECT_EQ(d.unknown_total(), 3 * unknown_tags);
  EXPECT_EQ(log.count("unknown message type"), unknown_tags);

  decode_status st{};
  EXPECT_EQ(visits(d, nullptr, 0, st), 0U);
  EXPECT_EQ(st, decode_status::empty);
  EXPECT_EQ(visits(d, nullptr, 0, st), 0U);
  EXPECT_EQ(d.empty(), 2U);
  EXPECT_EQ(log.count("empty"), 1U);
  EXPECT_EQ(d.errors(), 3 * unknown_tags + 2);
  EXPECT_EQ(d.decoded_total(), 0U);
}

TEST(ItchDecoder, LongerMessagesAreDecodedAndCounted) {
  log_capture log;
  itch_decoder d(log.fn());
  raw m = itch_test::delete_msg(7, 1000, 42);
  m.b.resize(40, 0xEE);
  for (int k = 0; k < 2; ++k) {
    std::uint64_t ref = 0;
    const decode_status st = d.decode(m.data(), m.size(), [&ref](const auto& x) {
      if constexpr (std::is_same_v<std::decay_t<decltype(x)>, order_delete>) ref = x.order_reference_number.get();
    });
    EXPECT_EQ(st, decode_status::ok);
    EXPECT_EQ(ref, 42U);
  }
  EXPECT_EQ(d.oversize('D'), 2U);
  EXPECT_EQ(d.errors(), 0U);
  EXPECT_EQ(log.count("longer"), 1U);
}

// Random bytes, random lengths, through the decoder and the book: nothing may crash or
// read out of bounds (ASan), every call is accounted for exactly once.
TEST(ItchDecoder, RandomBytesNeverCrash) {
  std::mt19937_64 rng(20240601);
  itch_decoder d([](std::string_view) {});
  itch_book book(book_config{0, 64, [](std::string_view) {}});
  null_sink sink;
  std::uint64_t calls = 0;
  std::uint64_t visited = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::size_t len = rng() % 64;
    std::vector<std::uint8_t> buf(len);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    // Half the time a real tag, so the length checks and field reads are exercised.
    if (len > 0 && (rng() & 1) != 0) buf[0] = static_cast<std::uint8_t>(kAllMessageTypes[rng() % 23]);
    decode_status st{};
    visited += visits(d, buf.data(), buf.size(), st);
    (void)book.apply(buf.data(), buf.size(), sink);
    ++calls;
  }
  EXPECT_EQ(d.decoded_total() + d.errors(), calls);
  EXPECT_EQ(d.decoded_total(), visited);
  EXPECT_GT(d.decoded_total(), 10000U);
  EXPECT_EQ(book.decoder().decoded_total() + book.decoder().errors(), calls);
  EXPECT_EQ(book.counters().level_errors, 0U);
}

// ------------------------------------------------------------------ BinaryFILE reader

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "itch_" + std::to_string(::getpid()) + "_" + name;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile gz = ::gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(::gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(::gzclose(gz), Z_OK);
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void append(std::vector<std::uint8_t>& out, const raw& m, std::size_t prefix) {
  out.push_back(static_cast<std::uint8_t>(prefix >> 8));
  out.push_back(static_cast<std::uint8_t>(prefix & 0xff));
  out.insert(out.end(), m.b.begin(), m.b.end());
}

std::vector<std::vector<std::uint8_t>> read_all(binary_file_reader& r) {
  std::vector<std::vector<std::uint8_t>> out;
  r.for_each([&out](std::span<const std::uint8_t> m) { out.emplace_back(m.begin(), m.end()); });
  return out;
}

TEST(BinaryFileReader, FramesByPrefixAndByTypeWhenThePrefixIsZeroOrWrong) {
  const raw a = itch_test::add_msg(1, 10, 100, 'B', 300, 1000);
  const raw e = itch_test::exec_msg(1, 11, 100, 100);
  const raw d = itch_test::delete_msg(1, 12, 100);
  std::vector<std::uint8_t> bytes;
  append(bytes, a, 36); // right
  append(bytes, e, 0);  // zero
  append(bytes, d, 0);  // zero
  append(bytes, a, 50); // wrong: the type's 36 wins
  append(bytes, e, 31);
  const std::string path = temp_path("frames");
  write_file(path, bytes);
  log_capture log;
  binary_file_reader r(path, log.fn());
  const auto msgs = read_all(r);
  ASSERT_EQ(msgs.size(), 5U);
  EXPECT_EQ(msgs[0], a.b);
  EXPECT_EQ(msgs[1], e.b);
  EXPECT_EQ(msgs[2], d.b);
  EXPECT_EQ(msgs[3], a.b);
  EXPECT_EQ(msgs[4], e.b);
  EXPECT_EQ(r.stats().messages, 5U);
  EXPECT_EQ(r.stats().zero_prefix, 2U);
  EXPECT_EQ(r.stats().mismatched_prefix, 1U);
  EXPECT_EQ(r.stats().bytes, bytes.size());
  EXPECT_FALSE(r.failed());
  EXPECT_FALSE(r.gzip());
  EXPECT_EQ(log.count("zero length prefix"), 1U);
  EXPECT_EQ(log.count("disagrees"), 1U);
  std::remove(path.c_str());
}

TEST(BinaryFileReader, UnknownTypesAreFramedByTheirPrefixOrStopTheReader) {
  const raw a = itch_test::add_msg(1, 10, 100, 'B', 300, 1000);
  raw unknown('z', 12, 1, 0, 5);
  std::vector<std::uint8_t> bytes;
  append(bytes, a, 36);
  append(bytes, unknown, 12); // framed by its prefix, delivered (the decoder counts it)
  append(bytes, a, 0);
  append(bytes, unknown, 0); // no way to frame: stop
  append(bytes, a, 36);      // never reached
  const std::string path = temp_path("unknown");
  write_file(path, bytes);
  log_capture log;
  binary_file_reader r(path, log.fn());
  const auto msgs = read_all(r);
  ASSERT_EQ(msgs.size(), 3U);
  EXPECT_EQ(msgs[1], unknown.b);
  EXPECT_EQ(r.stats().unknown_framed, 1U);
  EXPECT_EQ(r.stats().unframeable, 1U);
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(log.count("reading stopped"), 1U);
  std::span<const std::uint8_t> m;
  EXPECT_FALSE(r.next(m)) << "a failed reader stays at its end";
  std::remove(path.c_str());
}

TEST(BinaryFileReader, TruncatedTailIsCountedNotDelivered) {
  const raw a = itch_test::add_msg(1, 10, 100, 'B', 300, 1000);
  std::vector<std::uint8_t> bytes;
  append(bytes, a, 36);
  append(bytes, a, 36);
  bytes.erase(bytes.end() - 5, bytes.end()); // (not resize: gcc 12 -Wstringop-overflow false positive)
  const std::string path = temp_path("tail");
  write_file(path, bytes);
  log_capture log;
  binary_file_reader r(path, log.fn());
  EXPECT_EQ(read_all(r).size(), 1U);
  EXPECT_EQ(r.stats().truncated_tail, 1U);
  EXPECT_EQ(log.count("ends inside"), 1U);
  std::remove(path.c_str());
}

TEST(BinaryFileReader, MessagesAcrossBufferRefillsAndGzipInput) {
  // Enough messages to refill the smallest buffer many times, at every misalignment.
  std::vector<std::uint8_t> bytes;
  std::vector<std::vector<std::uint8_t>> want;
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const raw m = (i % 3 == 0) ? itch_test::add_msg(1, i, i, 'S', 100, 5000)
                  : (i % 3 == 1) ? itch_test::exec_msg(2, i, i, 7)
                                 : itch_test::delete_msg(3, i, i);
    append(bytes, m, i % 2 == 0 ? 0 : m.size());
    want.push_back(m.b);
  }
  const std::string plain = temp_path("refill");
  const std::string gz = temp_path("refill.gz");
  write_file(plain, bytes);
  write_gzip(gz, bytes);
  for (const std::string& path : {plain, gz}) {
    binary_file_reader r(path, [](std::string_view) {}, binary_file_reader::kMinBuffer);
    EXPECT_EQ(r.gzip(), path == gz);
    EXPECT_EQ(read_all(r), want) << path;
    EXPECT_EQ(r.stats().zero_prefix, 10000U);
    EXPECT_FALSE(r.failed());
    EXPECT_EQ(r.input_offset(), r.input_size());
  }
  // In batches: the same messages, and every span of a batch still holds its message
  // when the batch is done (they are copied only then) and after the next call too, which
  // refills the buffer now and then (a caller reads a batch ahead of the one it applies).
  for (const std::string& path : {plain, gz}) {
    binary_file_reader r(path, [](std::string_view) {}, binary_file_reader::kMinBuffer);
    std::vector<std::vector<std::uint8_t>> got;
    std::span<const std::uint8_t> batches[2][7];
    std::size_t prev_n = 0;
    std::size_t prev_first = 0;
    std::size_t held_over = 0;
    for (std::size_t k = 0, n; (n = r.next_batch(batches[k & 1], std::size(batches[k & 1]))) != 0; ++k) {
      const std::size_t first = got.size();
      for (std::size_t i = 0; i < n; ++i) got.emplace_back(batches[k & 1][i].begin(), batches[k & 1][i].end());
      for (std::size_t i = 0; i < prev_n; ++i) {
        const std::span<const std::uint8_t> m = batches[(k + 1) & 1][i];
        ASSERT_TRUE(std::equal(m.begin(), m.end(), want[prev_first + i].begin(), want[prev_first + i].end()))
            << path << ": message " << prev_first + i << " changed under the next call";
        ++held_over;
      }
      prev_n = n;
      prev_first = first;
    }
    EXPECT_EQ(got, want) << path;
    EXPECT_EQ(held_over, want.size() - prev_n);
    EXPECT_EQ(r.stats().messages, want.size());
    EXPECT_EQ(r.stats().zero_prefix, 10000U);
    EXPECT_FALSE(r.failed());
  }
  std::remove(plain.c_str());
  std::remove(gz.c_str());
}

TEST(BinaryFileReader, RandomFilesNeverCrash) {
  std::mt19937_64 rng(7);
  for (int f = 0; f < 20; ++f) {
    std::vector<std::uint8_t> bytes(1 + rng() % 200000);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    // Mostly real tags after short prefixes, so framing gets far before it stops.
    for (std::size_t i = 0; i + 3 < bytes.size(); i += 2 + rng() % 60) {
      if (rng() % 4 != 0) bytes[i + 2] = static_cast<std::uint8_t>(kAllMessageTypes[rng() % 23]);
    }
    const std::string path = temp_path("random");
    write_file(path, bytes);
    binary_file_reader r(path, [](std::string_view) {});
    itch_book book(book_config{0, 64, [](std::string_view) {}});
    null_sink sink;
    std::uint64_t n = r.for_each([&](std::span<const std::uint8_t> m) { (void)book.apply(m.data(), m.size(), sink); });
    EXPECT_EQ(n, r.stats().messages);
    EXPECT_LE(r.stats().bytes, bytes.size());
    std::remove(path.c_str());
  }
}

TEST(BinaryFileReader, MissingFileThrowsAtStartup) {
  EXPECT_THROW(binary_file_reader("/nonexistent/itch/file", [](std::string_view) {}), std::runtime_error);
}

// ------------------------------------------------------------------ the RITCH sample

TEST(RitchSample, MessageCountsMatchTheDataReadme) {
  log_capture log;
  binary_file_reader r(itch_test::sample_path(), log.fn());
  itch_decoder d(log.fn());
  std::uint64_t n = r.for_each([&d](std::span<const std::uint8_t> m) {
    EXPECT_EQ(d.decode(m.data(), m.size(), [](const auto&) {}), decode_status::ok);
  });
  EXPECT_EQ(n, 12012U);
  const std::map<char, std::uint64_t> want = {{'A', 4997}, {'P', 5000}, {'D', 1745}, {'E', 198}, {'X', 45},
                                              {'U', 12},   {'F', 3},    {'R', 3},    {'H', 3},   {'S', 6}};
  std::uint64_t sum = 0;
  for (const auto& [tag, count] : want) {
    EXPECT_EQ(d.decoded(static_cast<std::uint8_t>(tag)), count) << tag;
    sum += count;
  }
  EXPECT_EQ(sum, 12012U);
  EXPECT_EQ(d.decoded_total(), 12012U);
  EXPECT_EQ(d.errors(), 0U);
  // Every prefix in the sample is zero; the reader says so exactly once.
  EXPECT_EQ(r.stats().zero_prefix, 12012U);
  EXPECT_EQ(r.stats().mismatched_prefix, 0U);
  EXPECT_EQ(r.stats().truncated_tail, 0U);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.stats().bytes, r.input_size());
  EXPECT_EQ(log.count("zero length prefix"), 1U);
  EXPECT_EQ(log.lines.size(), 1U);
}

TEST(RitchSample, GzipCopyReadsTheSameMessages) {
  binary_file_reader plain(itch_test::sample_path(), [](std::string_view) {});
  const auto want = read_all(plain);
  const std::string gz = temp_path("sample.gz");
  write_gzip(gz, read_file(itch_test::sample_path()));
  binary_file_reader r(gz, [](std::string_view) {});
  EXPECT_TRUE(r.gzip());
  EXPECT_EQ(read_all(r), want);
  EXPECT_EQ(r.stats().zero_prefix, 12012U);
  std::remove(gz.c_str());
}

} // namespace
} // namespace mdgw::itch
