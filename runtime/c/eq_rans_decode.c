#include "eq_rans_decode.h"

#define EQ_RANS_STATES 4
#define EQ_RANS_LOW ((uint64_t)1 << 31)

static uint64_t read_u64(const uint8_t *p) {
    uint64_t value = 0;
    int i;
    for (i = 7; i >= 0; --i) {
        value = (value << 8) | p[i];
    }
    return value;
}

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* the table entry whose [start, start + freq) holds slot: binary search of the cumulative starts */
static int32_t find_entry(const eq_rans_stream *s, uint32_t slot) {
    int32_t lo = 0, hi = s->entries; /* starts[lo] <= slot < starts[hi] */
    while (hi - lo > 1) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (s->starts[mid] <= slot) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int decode_block(const eq_rans_stream *s, const uint8_t *rans, uint32_t rans_size, const uint8_t *escapes,
                        uint32_t escape_size, int32_t count, int8_t *dst) {
    const uint8_t *pos = rans + 8 * EQ_RANS_STATES;
    const uint8_t *const end = rans + rans_size;
    const uint64_t mask = ((uint64_t)1 << s->scale_bits) - 1;
    const int32_t escape_entry = s->entries - 1;
    uint64_t states[EQ_RANS_STATES];
    uint64_t bit_buffer = 0;
    int bits_filled = 0;
    uint32_t escape_pos = 0;
    int32_t i;
    if (rans_size < 8 * EQ_RANS_STATES || (rans_size - 8 * EQ_RANS_STATES) % 4 != 0) {
        return -1;
    }
    for (i = 0; i < EQ_RANS_STATES; ++i) {
        states[i] = read_u64(rans + 8 * i);
    }
    for (i = 0; i < count; ++i) {
        uint64_t *x = &states[i % EQ_RANS_STATES];
        const uint32_t slot = (uint32_t)(*x & mask);
        const int32_t entry = find_entry(s, slot);
        int32_t value;
        *x = (uint64_t)(s->starts[entry + 1] - s->starts[entry]) * (*x >> s->scale_bits) + slot - s->starts[entry];
        if (*x < EQ_RANS_LOW) {
            if (pos == end) {
                return -1;
            }
            *x = (*x << 32) | read_u32(pos);
            pos += 4;
        }
        if (s->has_escape && entry == escape_entry) {
            uint32_t raw;
            while (bits_filled < s->raw_bits) {
                if (escape_pos == escape_size) {
                    return -1;
                }
                bit_buffer |= (uint64_t)escapes[escape_pos++] << bits_filled;
                bits_filled += 8;
            }
            raw = (uint32_t)(bit_buffer & (((uint64_t)1 << s->raw_bits) - 1));
            bit_buffer >>= s->raw_bits;
            bits_filled -= s->raw_bits;
            value = (int32_t)((uint32_t)s->escape_base + raw);
        } else {
            value = s->symbols[entry];
        }
        if (value < -128 || value > 127) {
            return -1;
        }
        dst[i] = (int8_t)value;
    }
    for (i = 0; i < EQ_RANS_STATES; ++i) {
        if (states[i] != EQ_RANS_LOW) {
            return -1;
        }
    }
    return pos == end ? 0 : -1;
}

int eq_rans_decode_s8(const eq_rans_stream *s, int8_t *dst) {
    const uint8_t *data = s->data;
    int32_t block;
    for (block = 0; block < s->blocks; ++block) {
        const int32_t first = block * s->block_symbols;
        const int32_t count = (s->symbol_count - first) < s->block_symbols ? (s->symbol_count - first) : s->block_symbols;
        if (decode_block(s, data, s->rans_bytes[block], data + s->rans_bytes[block], s->escape_bytes[block], count,
                         dst + first) != 0) {
            return -1;
        }
        data += s->rans_bytes[block] + s->escape_bytes[block];
    }
    return 0;
}
