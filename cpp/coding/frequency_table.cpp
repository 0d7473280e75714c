#include "coding/frequency_table.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

namespace edgequant::coding {
namespace {

int ceil_log2(uint64_t value) {
  int bits = 0;
  while ((uint64_t{1} << bits) < value) ++bits;
  return bits;
}

int bit_width(uint32_t value) { return value == 0 ? 0 : 32 - __builtin_clz(value); }

// Which symbols to escape: a symbol stays in the table when its entry (a gap and a frequency,
// about entry_bits) plus its coded cost c·log2(N/c) is cheaper than sending it raw, c·(raw_bits
// + cost of the escape entry). The escape entry's cost depends on how much is escaped, so the
// decision is iterated a few times from a guess; it is a heuristic, never a correctness matter.
std::vector<bool> choose_escapes(const entropy::SymbolCounts& counts, int raw_bits) {
  const size_t distinct = counts.symbols.size();
  const double total = static_cast<double>(counts.total);
  const uint32_t span = static_cast<uint32_t>(counts.symbols.back()) - static_cast<uint32_t>(counts.symbols.front());
  const double entry_bits = 8.0 * (varint_bytes(span / distinct) + 1);
  std::vector<bool> escaped(distinct, false);
  double escape_bits = 4.0;
  for (int round = 0; round < 3; ++round) {
    uint64_t escaped_total = 0;
    for (size_t i = 0; i < distinct; ++i) {
      const double c = static_cast<double>(counts.counts[i]);
      const double in_table = entry_bits + c * std::log2(total / c);
      const double raw = c * (raw_bits + escape_bits);
      escaped[i] = raw < in_table;
      if (escaped[i]) escaped_total += counts.counts[i];
    }
    if (escaped_total == 0) break;
    escape_bits = std::log2(total / static_cast<double>(escaped_total));
  }
  // A table of at most kMaxTableSymbols entries: escape the rarest beyond that.
  std::vector<size_t> kept;
  for (size_t i = 0; i < distinct; ++i) if (!escaped[i]) kept.push_back(i);
  if (static_cast<int64_t>(kept.size()) > kMaxTableSymbols) {
    std::nth_element(kept.begin(), kept.begin() + kMaxTableSymbols, kept.end(), [&](size_t a, size_t b) {
      return counts.counts[a] > counts.counts[b];
    });
    for (size_t k = static_cast<size_t>(kMaxTableSymbols); k < kept.size(); ++k) escaped[kept[k]] = true;
  }
  return escaped;
}

}  // namespace

std::vector<uint32_t> quantise_frequencies(const std::vector<uint64_t>& counts, int scale_bits) {
  const uint64_t total_freq = uint64_t{1} << scale_bits;
  const size_t n = counts.size();
  require(n >= 1 && n <= total_freq, "quantise_frequencies: need 1..2^scale_bits counts");
  unsigned __int128 total = 0;
  for (uint64_t c : counts) total += c;
  std::vector<uint32_t> freqs(n);
  std::vector<uint64_t> remainder(n, 0);  // priority for rounding up; 0 for those forced to 1
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned __int128 scaled = static_cast<unsigned __int128>(counts[i]) * total_freq;
    const uint64_t floor = static_cast<uint64_t>(scaled / total);
    freqs[i] = static_cast<uint32_t>(std::max<uint64_t>(floor, 1));
    if (floor > 0) remainder[i] = static_cast<uint64_t>(scaled % total);
    sum += freqs[i];
  }
  if (sum < total_freq) {  // deficit < n: one more for the largest remainders
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    const size_t deficit = static_cast<size_t>(total_freq - sum);
    std::partial_sort(order.begin(), order.begin() + deficit, order.end(),
                      [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
    for (size_t k = 0; k < deficit; ++k) ++freqs[order[k]];
  } else if (sum > total_freq) {
    // Symbols forced up to 1 took slots: take them back one at a time where the coded size
    // grows least, c·log2(f/(f-1)).
    auto cost = [&](size_t i) { return static_cast<double>(counts[i]) * std::log2(freqs[i] / (freqs[i] - 1.0)); };
    using Item = std::pair<double, size_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> cheapest;
    for (size_t i = 0; i < n; ++i) if (freqs[i] > 1) cheapest.emplace(cost(i), i);
    for (uint64_t excess = sum - total_freq; excess > 0; --excess) {
      const size_t i = cheapest.top().second;
      cheapest.pop();
      --freqs[i];
      if (freqs[i] > 1) cheapest.emplace(cost(i), i);
    }
  }
  return freqs;
}

FrequencyTable build_frequency_table(const entropy::SymbolCounts& counts) {
  require(!counts.symbols.empty(), "build_frequency_table: no symbols");
  FrequencyTable table;
  const uint32_t span = static_cast<uint32_t>(counts.symbols.back()) - static_cast<uint32_t>(counts.symbols.front());
  const int raw_bits = bit_width(span);
  const std::vector<bool> escaped = choose_escapes(counts, raw_bits);
  std::vector<uint64_t> kept_counts;
  uint64_t escaped_count = 0;
  for (size_t i = 0; i < counts.symbols.size(); ++i) {
    if (escaped[i]) {
      escaped_count += counts.counts[i];
    } else {
      table.symbols.push_back(counts.symbols[i]);
      kept_counts.push_back(counts.counts[i]);
    }
  }
  table.has_escape = escaped_count > 0;
  if (table.has_escape) {
    kept_counts.push_back(escaped_count);
    table.escape_base = counts.symbols.front();
    table.raw_bits = raw_bits;
  }
  // 64 slots per entry or more: symbols forced up to frequency 1 then waste < 1/64 of the range.
  table.scale_bits = std::clamp(ceil_log2(kept_counts.size()) + 6, kMinScaleBits, kMaxScaleBits);
  table.freqs = quantise_frequencies(kept_counts, table.scale_bits);
  return table;
}

void write_frequency_table(const FrequencyTable& table, ByteWriter& out) {
  out.put_u8(static_cast<uint8_t>(table.scale_bits));
  out.put_u8(static_cast<uint8_t>(table.raw_bits));
  out.put_varint(table.symbols.size());
  for (size_t i = 0; i < table.symbols.size(); ++i) {
    if (i == 0) out.put_signed(table.symbols[0]);
    else out.put_varint(static_cast<uint64_t>(int64_t{table.symbols[i]} - table.symbols[i - 1] - 1));
  }
  for (uint32_t freq : table.freqs) out.put_varint(freq - 1);
  if (table.has_escape) out.put_signed(table.escape_base);
}

FrequencyTable read_frequency_table(ByteReader& in, bool has_escape) {
  FrequencyTable table;
  table.has_escape = has_escape;
  table.scale_bits = in.u8();
  if (table.scale_bits < kMinScaleBits || table.scale_bits > kMaxScaleBits) in.fail("frequency scale out of range");
  table.raw_bits = in.u8();
  if (table.raw_bits > 32 || (!has_escape && table.raw_bits != 0)) in.fail("escape width out of range");
  const uint64_t total_freq = uint64_t{1} << table.scale_bits;
  // Every entry takes at least two bytes (symbol or gap, frequency): bounds the allocation.
  const uint64_t count = in.varint_at_most(std::min<uint64_t>(kMaxTableSymbols, in.remaining() / 2), "table size");
  if (count + has_escape == 0) in.fail("empty frequency table");
  table.symbols.resize(count);
  int64_t previous = 0;
  for (uint64_t i = 0; i < count; ++i) {
    int64_t symbol = i == 0 ? in.signed32() : previous + 1 + static_cast<int64_t>(in.varint_at_most(0xffffffffu, "symbol gap"));
    if (symbol > INT32_MAX) in.fail("symbols exceed the int32 range");
    table.symbols[i] = static_cast<int32_t>(symbol);
    previous = symbol;
  }
  table.freqs.resize(count + has_escape);
  uint64_t sum = 0;
  for (uint32_t& freq : table.freqs) {
    freq = static_cast<uint32_t>(in.varint_at_most(total_freq - 1, "frequency") + 1);
    sum += freq;
  }
  if (sum != total_freq) in.fail("frequencies do not sum to the scale");
  if (has_escape) table.escape_base = in.signed32();
  return table;
}

}  // namespace edgequant::coding
