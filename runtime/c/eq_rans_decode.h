/* Decoder of edgequant's rANS-coded symbol streams (format of cpp/coding/symbol_stream.h), for weights
 * kept entropy-coded in flash and decoded into the arena just before their layer runs. The
 * exporter splits a stream into its parts (frequency table, block directory, block bytes) and
 * checks it decodes back to the weights; this decoder re-checks every length and final state. */
#ifndef EQ_RANS_DECODE_H
#define EQ_RANS_DECODE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t symbol_count;
    int32_t block_symbols;    /* symbols per block (the last may be shorter) */
    int32_t blocks;
    int32_t scale_bits;       /* frequencies sum to 2^scale_bits */
    int32_t entries;          /* table entries, the escape entry (last) included */
    int32_t has_escape;
    int32_t escape_base, raw_bits;
    const int32_t *symbols;   /* value of each directly coded entry */
    const uint32_t *starts;   /* entries + 1 cumulative frequencies */
    const uint32_t *rans_bytes, *escape_bytes; /* per block */
    const uint8_t *data;      /* the blocks: rANS stream then escape bits, back to back */
} eq_rans_stream;

/* Decodes stream->symbol_count int8 values into dst. Returns 0, or -1 if the stream is inconsistent
 * (then dst holds garbage). Plain loops: its own reference (tested against the C++ coder's decode). */
int eq_rans_decode_s8(const eq_rans_stream *stream, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_RANS_DECODE_H */
