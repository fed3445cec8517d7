#include "capture_reader.hpp"

#include "crypto/crc32.hpp"
#include "recording.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mdgw::recording {

namespace schema_ns = mdgw::recording::schema;

namespace {

std::uint32_t get_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

capnp::ReaderOptions reader_options() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = kMaxRecordBytes / sizeof(capnp::word) * 2; // a record's content, read once
  o.nestingLimit = 16;
  return o;
}

// The record's words as a Cap'n Proto message, checked to span exactly `len` bytes.
// The caller catches kj::Exception.
const capnp::word* words_of(const unsigned char* msg) { return reinterpret_cast<const capnp::word*>(msg); }

bool valid_side(schema_ns::Side s) { return s == schema_ns::Side::BID || s == schema_ns::Side::ASK; }
side from_wire(schema_ns::Side s) { return s == schema_ns::Side::BID ? side::bid : side::ask; }

} // namespace

capture_reader::capture_reader(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(path + ": cannot stat: " + std::strerror(e));
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  if (size_ < sizeof kMagic) {
    ::close(fd);
    throw std::runtime_error(path + ": not an mdgw recording (" + std::to_string(size_) + " bytes, no header)");
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) throw std::runtime_error(path + ": cannot map: " + std::strerror(e));
  data_ = static_cast<const unsigned char*>(p);
  (void)::madvise(p, size_, MADV_SEQUENTIAL);
  if (std::memcmp(data_, kMagic, sizeof kMagic) != 0) {
    ::munmap(p, size_);
    throw std::runtime_error(path + ": not an mdgw recording (no MDGWREC magic at byte offset 0)");
  }
  offset_ = sizeof kMagic;
  const unsigned char* msg = nullptr;
  std::uint32_t len = 0;
  std::string why;
  if (frame(msg, len) == status::ok) {
    try {
      capnp::FlatArrayMessageReader r(kj::arrayPtr(words_of(msg), len / sizeof(capnp::word)), reader_options());
      const auto h = r.getRoot<schema_ns::Header>();
      header_.format_version = h.getFormatVersion();
      header_.created_ns = h.getCreatedNs();
      header_.mdgw_version = h.getMdgwVersion();
      if (header_.format_version != kFormatVersion) {
        why = "format version " + std::to_string(header_.format_version) + " (this mdgw reads version " +
              std::to_string(kFormatVersion) + ")";
      }
    } catch (const kj::Exception& ex) {
      why = "corrupt header: " + std::string(ex.getDescription().cStr());
    }
    offset_ += kRecordPrefix + len;
  } else {
    why = error_;
  }
  if (!why.empty()) {
    ::munmap(p, size_);
    throw std::runtime_error(why.rfind(path, 0) == 0 ? why : path + ": byte offset 8: " + why);
  }
  first_batch_ = offset_;
}

capture_reader::~capture_reader() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
}

void capture_reader::rewind() noexcept {
  offset_ = first_batch_;
  sticky_ = status::ok;
  error_.clear();
  known_.clear();
}

capture_reader::status capture_reader::fail(status s, const std::string& why) {
  sticky_ = s;
  error_ = path_ + ": " + (s == status::truncated ? "truncated" : "corrupt") + " record at byte offset " +
           std::to_string(offset_) + ": " + why;
  return s;
}

capture_reader::status capture_reader::frame(const unsigned char*& msg, std::uint32_t& len) {
  const std::uint64_t left = size_ - offset_;
  if (left == 0) return status::end;
  if (left < kRecordPrefix) return fail(status::truncated, std::to_string(left) + " bytes left, a record prefix is 8");
  len = get_u32(data_ + offset_);
  const std::uint32_t crc = get_u32(data_ + offset_ + 4);
  if (len == 0 || len % 8 != 0 || len > kMaxRecordBytes) {
    return fail(status::corrupt, "bad record length " + std::to_string(len));
  }
  if (len > left - kRecordPrefix) {
    return fail(status::truncated, "the record needs " + std::to_string(len) + " bytes, the file has " +
                                       std::to_string(left - kRecordPrefix));
  }
  msg = data_ + offset_ + kRecordPrefix;
  if (crypto::crc32(msg, len) != crc) return fail(status::corrupt, "CRC-32 mismatch");
  return status::ok;
}

capture_reader::status capture_reader::next(recorded_batch& out) {
  if (sticky_ != status::ok) return sticky_;
  const unsigned char* msg = nullptr;
  std::uint32_t len = 0;
  const status s = frame(msg, len);
  if (s != status::ok) return s;
  out.clear();
  std::string why;
  bool good = false;
  try {
    good = decode(msg, len, out, why);
  } catch (const kj::Exception& ex) {
    why = "malformed Cap'n Proto message: " + std::string(ex.getDescription().cStr());
  }
  if (!good) {
    out.clear();
    return fail(status::corrupt, why);
  }
  offset_ += kRecordPrefix + len;
  return status::ok;
}

bool capture_reader::decode(const unsigned char* msg, std::uint32_t len, recorded_batch& out, std::string& why) {
  const std::size_t nwords = len / sizeof(capnp::word);
  capnp::FlatArrayMessageReader r(kj::arrayPtr(words_of(msg), nwords), reader_options());
  if (r.getEnd() != words_of(msg) + nwords) {
    why = "the message does not fill its record";
    return false;
  }
  const auto batch = r.getRoot<schema_ns::Batch>();
  out.recv_ts = batch.getRecvTs();
  const auto known = [this](std::uint32_t id) { return id < known_.size() && known_[id] != 0; };
  const auto unknown = [&why](std::uint32_t id, const char* what) {
    why = std::string(what) + " names instrument " + std::to_string(id) + ", not announced before";
    return false;
  };
  for (const auto ev : batch.getEvents()) {
    switch (ev.which()) {
    case schema_ns::Event::INSTRUMENT: {
      const auto x = ev.getInstrument();
      instrument_info in;
      in.id = x.getId();
      in.symbol = x.getSymbol();
      in.venue = x.getVenue();
      in.price_scale = x.getPriceScale();
      in.qty_scale = x.getQtyScale();
      in.tick_size = x.getTickSize();
      in.lot_size = x.getLotSize();
      if (in.symbol.empty() || in.price_scale < 0 || in.price_scale > 18 || in.qty_scale < 0 || in.qty_scale > 18 ||
          in.id >= (1u << 24)) {
        why = "instrument " + std::to_string(in.id) + " '" + in.symbol + "' is malformed";
        return false;
      }
      if (in.id >= known_.size()) known_.resize(in.id + 1, 0);
      known_[in.id] = 1;
      out.add_instrument(in);
      break;
    }
    case schema_ns::Event::BOOK: {
      const auto x = ev.getBook();
      if (!known(x.getInstrument())) return unknown(x.getInstrument(), "a book change");
      if (x.getQuality() > static_cast<std::uint8_t>(data_quality::resyncing) ||
          x.getReason() > static_cast<std::uint8_t>(quality_reason::data_lost)) {
        why = "a book change has an unknown quality or reason";
        return false;
      }
      recorded_book b;
      b.instrument = x.getInstrument();
      b.version = x.getVersion();
      b.exch_ts = x.getExchTs();
      b.recv_ts = x.getRecvTs();
      b.quality = static_cast<data_quality>(x.getQuality());
      b.reason = static_cast<quality_reason>(x.getReason());
      b.first_level = static_cast<std::uint32_t>(out.levels.size());
      const auto levels = x.getLevels();
      if (levels.size() > 8 * kMaxDepth) {
        why = "a book change has " + std::to_string(levels.size()) + " levels";
        return false;
      }
      for (const auto l : levels) {
        if (!valid_side(l.getSide()) || !level_detail::valid_price(l.getPrice()) || l.getQty() < 0) {
          why = "a book change has a bad level (side, price or quantity)";
          return false;
        }
        out.levels.push_back({from_wire(l.getSide()), l.getPrice(), l.getQty(), l.getOrders()});
      }
      out.add_book(b);
      break;
    }
    case schema_ns::Event::TRADE: {
      const auto x = ev.getTrade();
      if (!known(x.getInstrument())) return unknown(x.getInstrument(), "a trade");
      if (!valid_side(x.getAggressor())) {
        why = "a trade has an unknown aggressor side";
        return false;
      }
      out.add_trade({x.getInstrument(), from_wire(x.getAggressor()), x.getPrice(), x.getQty(), x.getTradeSeq(),
                     x.getExchTs(), x.getRecvTs()});
      break;
    }
    case schema_ns::Event::STATE: {
      const auto x = ev.getState();
      if (!known(x.getInstrument())) return unknown(x.getInstrument(), "a state");
      instrument_state s;
      s.version = x.getVersion();
      s.exch_ts = x.getExchTs();
      s.recv_ts = x.getRecvTs();
      s.trading_state = static_cast<char>(x.getTradingState());
      const auto reason = x.getReason();
      if (reason.size() != sizeof s.reason) {
        why = "a state's reason is not 4 bytes";
        return false;
      }
      std::memcpy(s.reason, reason.begin(), sizeof s.reason);
      s.short_sale = static_cast<char>(x.getShortSale());
      s.mwcb_breached = static_cast<char>(x.getMwcbBreached());
      s.has_luld = x.getHasLuld() ? 1 : 0;
      s.luld_reference = x.getLuldReference();
      s.luld_upper = x.getLuldUpper();
      s.luld_lower = x.getLuldLower();
      s.has_imbalance = x.getHasImbalance() ? 1 : 0;
      s.imbalance_direction = static_cast<char>(x.getImbalanceDirection());
      s.cross_type = static_cast<char>(x.getCrossType());
      s.price_variation = static_cast<char>(x.getPriceVariation());
      s.paired_qty = x.getPairedQty();
      s.imbalance_qty = x.getImbalanceQty();
      s.far_price = x.getFarPrice();
      s.near_price = x.getNearPrice();
      s.reference_price = x.getReferencePrice();
      s.imbalance_ts = x.getImbalanceTs();
      out.add_state(x.getInstrument(), s);
      break;
    }
    default:
      why = "an event of an unknown kind";
      return false;
    }
  }
  return true;
}

capture_summary scan_capture(const std::string& path) {
  capture_reader r(path);
  capture_summary s;
  s.header = r.header();
  s.bytes = r.size();
  recorded_batch b;
  capture_reader::status st;
  while ((st = r.next(b)) == capture_reader::status::ok) {
    if (s.batches == 0) s.first_recv_ts = b.recv_ts;
    s.last_recv_ts = b.recv_ts;
    ++s.batches;
    s.books += b.books.size();
    s.trades += b.trades.size();
    s.states += b.states.size();
    s.levels += b.levels.size();
    for (const instrument_info& in : b.instruments) s.instruments.push_back(in);
  }
  s.end = st;
  if (st != capture_reader::status::end) {
    s.error_offset = r.offset();
    s.error = r.error();
  }
  return s;
}

} // namespace mdgw::recording
