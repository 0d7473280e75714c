// Bindings of the entropy coder: int32 symbols -> bytes -> int32 symbols, GIL released.
#include <algorithm>
#include <memory>
#include <vector>

#include "bindings/buffers.h"
#include "coding/symbol_stream.h"

namespace edgequant::bindings {
using namespace edgequant::coding;

namespace {

py::dict info_to_dict(const StreamInfo& info) {
  py::dict d;
  d["symbol_count"] = info.symbol_count;
  d["block_symbols"] = info.block_symbols;
  d["blocks"] = info.blocks;
  d["scale_bits"] = info.scale_bits;
  d["table_symbols"] = info.table_symbols;
  d["has_escape"] = info.has_escape;
  d["raw_bits"] = info.raw_bits;
  d["header_bytes"] = info.header_bytes;
  d["table_bytes"] = info.table_bytes;
  d["directory_bytes"] = info.directory_bytes;
  d["rans_bytes"] = info.rans_bytes;
  d["escape_bytes"] = info.escape_bytes;
  return d;
}

template <class T>
Array<T> to_array(const std::vector<T>& values) {
  Array<T> array(static_cast<py::ssize_t>(values.size()));
  std::copy(values.begin(), values.end(), array.mutable_data());
  return array;
}

}  // namespace

void register_coding(py::module_& m) {
  m.def("coding_encode", [](const Array<int32_t>& symbols) {
        const int32_t* in = input_data(symbols);
        std::vector<uint8_t> coded;
        {
          py::gil_scoped_release release;
          coded = encode_symbols(in, symbols.size());
        }
        return py::bytes(reinterpret_cast<const char*>(coded.data()), coded.size());
      }, py::arg("symbols").noconvert(), "rANS-code a contiguous int32 array (see coding/symbol_stream.h).");
  m.def("coding_decode", [](const Array<uint8_t>& data, int64_t max_symbols) {
        const uint8_t* bytes = input_data(data);
        const size_t size = static_cast<size_t>(data.size());
        std::unique_ptr<StreamReader> reader;
        {
          py::gil_scoped_release release;
          reader = std::make_unique<StreamReader>(bytes, size, max_symbols);
        }
        Array<int32_t> symbols(static_cast<py::ssize_t>(reader->symbol_count()));
        int32_t* out = symbols.mutable_data();
        {
          py::gil_scoped_release release;
          reader->decode(out);
        }
        return symbols;
      }, py::arg("data").noconvert(), py::arg("max_symbols") = StreamReader::kNoLimit,
      "Decode a coded stream (uint8 array) to int32 symbols; refuse more than max_symbols (>= 0).");
  m.def("coding_info", [](const Array<uint8_t>& data) {
        const uint8_t* bytes = input_data(data);
        const size_t size = static_cast<size_t>(data.size());
        StreamInfo info;
        {
          py::gil_scoped_release release;
          info = StreamReader(bytes, size).info();
        }
        return info_to_dict(info);
      }, py::arg("data").noconvert(), "Validate a coded stream's header, table and layout; describe it.");
  m.def("coding_layout", [](const Array<uint8_t>& data) {
        const uint8_t* bytes = input_data(data);
        const size_t size = static_cast<size_t>(data.size());
        std::unique_ptr<StreamReader> reader;
        {
          py::gil_scoped_release release;
          reader = std::make_unique<StreamReader>(bytes, size);
        }
        const StreamInfo& info = reader->info();
        const FrequencyTable& table = reader->table();
        py::dict d = info_to_dict(info);
        d["symbols"] = to_array(table.symbols);
        d["freqs"] = to_array(table.freqs);
        d["escape_base"] = table.escape_base;
        d["block_rans_bytes"] = to_array(reader->block_rans_bytes());
        d["block_escape_bytes"] = to_array(reader->block_escape_bytes());
        d["payload_offset"] = info.header_bytes + info.table_bytes + info.directory_bytes;
        return d;
      }, py::arg("data").noconvert(),
      "Validate a coded stream and return its layout: coding_info's fields, the frequency table (symbols, "
      "freqs with the escape's last, escape_base), each block's rANS and escape byte counts and where the "
      "blocks' data starts (payload_offset).");
}

}  // namespace edgequant::bindings
