/* eq_rans_decode_s8 against its inverse written here from the rANS formulas (64-bit states in
 * [2^31, 2^63), 32-bit renormalisation, four interleaved states, escape values as raw bits
 * LSB-first): random frequency tables (one entry, skewed, with and without the escape entry), block
 * lengths that do not divide the count, an empty stream, and inconsistent streams (short, misaligned,
 * truncated, a trailing word, a corrupt state, a value outside int8) that must return -1. */
#include <stdio.h>
#include <string.h>

#include "eq_rans_decode.h"
#include "eq_test.h"

#define STATES 4
#define LOW ((uint64_t)1 << 31)
#define MAX_SYMBOLS 3000
#define MAX_ENTRIES 40
#define MAX_BLOCKS 64
#define MAX_BYTES (MAX_BLOCKS * (8 * STATES + 8) + 8 * MAX_SYMBOLS)

typedef struct {
    eq_rans_stream stream;
    int32_t symbols[MAX_ENTRIES];
    uint32_t starts[MAX_ENTRIES + 1], rans_bytes[MAX_BLOCKS], escape_bytes[MAX_BLOCKS];
    uint8_t data[MAX_BYTES];
} coded;

static void put_le(uint8_t *p, uint64_t value, int bytes) {
    int i;
    for (i = 0; i < bytes; ++i) {
        p[i] = (uint8_t)(value >> (8 * i));
    }
}

/* Codes values[first .. first + count) (entry[] says which table entry each takes) as one block at out;
 * returns the bytes written and sets the block's two sizes. */
static uint32_t encode_block(const eq_rans_stream *s, const int32_t *entry, const int8_t *values, int32_t count,
                             uint8_t *out, uint32_t *rans_size, uint32_t *escape_size) {
    static uint32_t words[MAX_SYMBOLS + STATES];
    uint64_t x[STATES];
    int32_t i, nwords = 0, bits = 0;
    uint64_t buffer = 0;
    uint32_t escape_pos = 0;
    for (i = 0; i < STATES; ++i) {
        x[i] = LOW;
    }
    for (i = count - 1; i >= 0; --i) { /* rANS codes backwards: the decoder reads forwards */
        uint64_t *state = &x[i % STATES];
        const uint32_t start = s->starts[entry[i]], frequency = s->starts[entry[i] + 1] - start;
        if (*state >= ((LOW >> s->scale_bits) << 32) * frequency) {
            words[nwords++] = (uint32_t)*state;
            *state >>= 32;
        }
        *state = ((*state / frequency) << s->scale_bits) + *state % frequency + start;
    }
    for (i = 0; i < STATES; ++i) {
        put_le(out + 8 * i, x[i], 8);
    }
    for (i = 0; i < nwords; ++i) {
        put_le(out + 8 * STATES + 4 * i, words[nwords - 1 - i], 4);
    }
    *rans_size = (uint32_t)(8 * STATES + 4 * nwords);
    for (i = 0; i < count; ++i) { /* escapes in decoding order */
        if (s->has_escape && entry[i] == s->entries - 1) {
            buffer |= (uint64_t)(uint32_t)(values[i] - s->escape_base) << bits;
            bits += s->raw_bits;
            while (bits >= 8) {
                out[*rans_size + escape_pos++] = (uint8_t)buffer;
                buffer >>= 8;
                bits -= 8;
            }
        }
    }
    if (bits > 0) {
        out[*rans_size + escape_pos++] = (uint8_t)buffer;
    }
    *escape_size = escape_pos;
    return *rans_size + escape_pos;
}

/* A random table and count values drawn from it, coded into c; the values go to values. */
static void random_stream(coded *c, int8_t *values, int case_id) {
    static int32_t entry[MAX_SYMBOLS];
    eq_rans_stream *s = &c->stream;
    int32_t i, direct, remaining, block;
    uint32_t offset = 0;
    memset(s, 0, sizeof(*s));
    s->symbol_count = case_id == 0 ? 0 : eq_test_random_in(1, MAX_SYMBOLS);
    s->block_symbols = eq_test_random_in(case_id % 3 == 0 ? 1 : 50, MAX_SYMBOLS);
    while ((s->symbol_count + s->block_symbols - 1) / s->block_symbols > MAX_BLOCKS) {
        s->block_symbols *= 2;
    }
    s->blocks = (s->symbol_count + s->block_symbols - 1) / s->block_symbols;
    s->scale_bits = eq_test_random_in(6, 16);
    s->has_escape = case_id % 2;
    direct = case_id % 5 == 1 ? 1 : eq_test_random_in(1, 30);
    s->entries = direct + s->has_escape;
    s->raw_bits = eq_test_random_in(1, 7);
    s->symbols = c->symbols;
    s->starts = c->starts;
    s->rans_bytes = c->rans_bytes;
    s->escape_bytes = c->escape_bytes;
    s->data = c->data;
    s->escape_base = eq_test_random_in(-128, 128 - (1 << s->raw_bits));
    for (i = 0; i < direct; ++i) {
        c->symbols[i] = eq_test_random_in(-128, 127);
    }
    /* frequencies: each at least 1, the rest shared out unevenly (skewed tables) */
    remaining = (1 << s->scale_bits) - s->entries;
    c->starts[0] = 0;
    for (i = 0; i < s->entries; ++i) {
        const int32_t share = i == s->entries - 1 ? remaining : eq_test_random_in(0, remaining / 2);
        c->starts[i + 1] = c->starts[i] + 1 + (uint32_t)share;
        remaining -= share;
    }
    for (i = 0; i < s->symbol_count; ++i) {
        const uint32_t slot = eq_test_random() & ((1u << s->scale_bits) - 1);
        int32_t e = 0;
        while (c->starts[e + 1] <= slot) {
            ++e;
        }
        entry[i] = e;
        values[i] = (int8_t)(s->has_escape && e == s->entries - 1
                                 ? s->escape_base + (int32_t)(eq_test_random() & ((1u << s->raw_bits) - 1))
                                 : c->symbols[e]);
    }
    for (block = 0; block < s->blocks; ++block) {
        const int32_t first = block * s->block_symbols;
        const int32_t count = eq_min_i32(s->symbol_count - first, s->block_symbols);
        offset += encode_block(s, entry + first, values + first, count, c->data + offset, &c->rans_bytes[block],
                               &c->escape_bytes[block]);
    }
}

static void inconsistent_streams(const coded *c, const int8_t *values, int8_t *got, int case_id) {
    eq_rans_stream s = c->stream;
    uint32_t sizes[MAX_BLOCKS];
    if (s.blocks != 1) {
        return;
    }
    s.rans_bytes = sizes;
    sizes[0] = c->rans_bytes[0] - 1; /* not the states plus whole words */
    eq_test_check(eq_rans_decode_s8(&s, got) == -1, "rans misaligned block accepted", case_id);
    sizes[0] = 8 * STATES - 4; /* shorter than the states */
    eq_test_check(eq_rans_decode_s8(&s, got) == -1, "rans short block accepted", case_id);
    if (c->rans_bytes[0] > 8 * STATES && !s.has_escape) {
        sizes[0] = c->rans_bytes[0] - 4; /* the last word missing */
        eq_test_check(eq_rans_decode_s8(&s, got) == -1, "rans truncated block accepted", case_id);
    }
    if (!s.has_escape) {
        static uint8_t flipped[MAX_BYTES];
        memcpy(flipped, c->data, sizeof(flipped));
        flipped[0] ^= 1; /* the first state's lowest bit */
        s.data = flipped;
        sizes[0] = c->rans_bytes[0];
        /* a corrupt state must show: refused, or (the decoder cannot catch every one) other values; with
         * a one-entry table the values cannot change, so only the final-state check can refuse it */
        eq_test_check(eq_rans_decode_s8(&s, got) == -1 ||
                          (s.entries > 1 && memcmp(got, values, (size_t)s.symbol_count) != 0),
                      "rans block with a corrupt state accepted", case_id);
        s.data = c->data;
        sizes[0] = c->rans_bytes[0] + 4; /* a word nothing reads */
        eq_test_check(eq_rans_decode_s8(&s, got) == -1, "rans block with a trailing word accepted", case_id);
    }
    if (s.has_escape && c->escape_bytes[0] > 0) { /* some value is escaped: make it 128 or more */
        s.rans_bytes = c->rans_bytes;
        s.escape_base = 128;
        eq_test_check(eq_rans_decode_s8(&s, got) == -1, "rans value outside int8 accepted", case_id);
    }
}

int main(void) {
    static coded c;
    static int8_t values[MAX_SYMBOLS], got[MAX_SYMBOLS + 16];
    int i;
    for (i = 0; i < 400; ++i) {
        random_stream(&c, values, i);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        eq_test_check(eq_rans_decode_s8(&c.stream, got) == 0, "rans decode of a consistent stream failed", i);
        eq_test_expect_s8("rans_decode", i, got, values, c.stream.symbol_count);
        eq_test_check(got[c.stream.symbol_count] == EQ_TEST_SENTINEL, "rans wrote past its output", i);
        inconsistent_streams(&c, values, got, i);
    }
    return eq_test_finish();
}
