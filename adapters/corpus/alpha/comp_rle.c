/* Two run-length coders: a PackBits-style coder (literal and repeat packets)
 * and an escape-byte coder. Both must round-trip several synthetic inputs. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define DATA_LEN 3000
#define OUT_CAP (DATA_LEN * 2 + 16)
#define ESCAPE 0xA7u

enum pattern { PAT_RUNS, PAT_NOISE, PAT_RAMP, PAT_SPARSE, PAT_MIXED, PAT_COUNT };

static uint8_t input[DATA_LEN];
static uint8_t packed[OUT_CAP];
static uint8_t unpacked[DATA_LEN + 256];
static uint32_t seed = 0xBADC0DEu;

static uint32_t next_u32(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

static void make_input(enum pattern p, size_t n)
{
    size_t i = 0;
    switch (p) {
    case PAT_RUNS:
        while (i < n) {
            uint8_t v = (uint8_t)next_u32();
            size_t run = 1 + next_u32() % 300u;
            while (run-- && i < n)
                input[i++] = v;
        }
        break;
    case PAT_NOISE:
        for (i = 0; i < n; i++)
            input[i] = (uint8_t)(next_u32() >> 7);
        break;
    case PAT_RAMP:
        for (i = 0; i < n; i++)
            input[i] = (uint8_t)(i / 5u);
        break;
    case PAT_SPARSE:
        for (i = 0; i < n; i++)
            input[i] = (next_u32() % 37u == 0) ? (uint8_t)ESCAPE : 0u;
        break;
    default:
        while (i < n) {
            if (next_u32() & 1u) {
                size_t run = 2 + next_u32() % 9u;
                uint8_t v = (uint8_t)(next_u32() % 4u + ESCAPE - 1u);
                while (run-- && i < n)
                    input[i++] = v;
            } else {
                input[i++] = (uint8_t)next_u32();
            }
        }
        break;
    }
}

static size_t run_length_at(const uint8_t *src, size_t pos, size_t n, size_t limit)
{
    size_t r = 1;
    while (pos + r < n && r < limit && src[pos + r] == src[pos])
        r++;
    return r;
}

/* header h: 0..127 -> h+1 literals follow; 129..255 -> repeat next byte 257-h times */
static size_t packbits_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t pos = 0, out = 0;
    while (pos < n) {
        size_t run = run_length_at(src, pos, n, 128);
        if (run >= 3) {
            dst[out++] = (uint8_t)(257u - run);
            dst[out++] = src[pos];
            pos += run;
        } else {
            size_t count = 0;
            size_t header = out++;
            while (pos < n && count < 128) {
                if (run_length_at(src, pos, n, 3) >= 3)
                    break;
                dst[out++] = src[pos++];
                count++;
            }
            dst[header] = (uint8_t)(count - 1u);
        }
    }
    return out;
}

static size_t packbits_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, int *err)
{
    size_t in = 0, out = 0;
    *err = 0;
    while (in < n) {
        uint8_t h = src[in++];
        if (h < 128u) {
            size_t count = (size_t)h + 1u;
            if (in + count > n || out + count > cap) {
                *err = 1;
                return out;
            }
            memcpy(dst + out, src + in, count);
            in += count;
            out += count;
        } else if (h > 128u) {
            size_t count = 257u - h;
            if (in >= n || out + count > cap) {
                *err = 1;
                return out;
            }
            memset(dst + out, src[in++], count);
            out += count;
        }
        /* 128 is a no-op marker */
    }
    return out;
}

/* escape coder: ESCAPE count value encodes a run of count (>=4) bytes, or a
 * literal ESCAPE when count == 0 */
static size_t escape_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t pos = 0, out = 0;
    while (pos < n) {
        size_t run = run_length_at(src, pos, n, 255);
        if (run >= 4) {
            dst[out++] = ESCAPE;
            dst[out++] = (uint8_t)run;
            dst[out++] = src[pos];
            pos += run;
        } else if (src[pos] == ESCAPE) {
            dst[out++] = ESCAPE;
            dst[out++] = 0;
            pos++;
        } else {
            dst[out++] = src[pos++];
        }
    }
    return out;
}

static size_t escape_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, int *err)
{
    size_t in = 0, out = 0;
    *err = 0;
    while (in < n) {
        uint8_t b = src[in++];
        if (b != ESCAPE) {
            if (out >= cap) {
                *err = 1;
                break;
            }
            dst[out++] = b;
            continue;
        }
        if (in >= n) {
            *err = 1;
            break;
        }
        b = src[in++];
        if (b == 0) {
            if (out >= cap) {
                *err = 1;
                break;
            }
            dst[out++] = ESCAPE;
        } else {
            if (in >= n || out + b > cap) {
                *err = 1;
                break;
            }
            memset(dst + out, src[in++], b);
            out += b;
        }
    }
    return out;
}

static uint32_t digest(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

int main(void)
{
    uint32_t checksum = 0;
    int failed = 0;
    int p, round;

    for (round = 0; round < 2; round++) {
        for (p = 0; p < PAT_COUNT; p++) {
            size_t n = DATA_LEN - (size_t)round * 333u - (size_t)p;
            size_t plen, ulen;
            int err;

            make_input((enum pattern)p, n);

            plen = packbits_encode(input, n, packed);
            ulen = packbits_decode(packed, plen, unpacked, sizeof unpacked, &err);
            if (err || ulen != n || memcmp(input, unpacked, n) != 0)
                failed = 1;
            checksum = checksum * 33u + (uint32_t)plen;
            checksum ^= digest(packed, plen);

            plen = escape_encode(input, n, packed);
            ulen = escape_decode(packed, plen, unpacked, sizeof unpacked, &err);
            if (err || ulen != n || memcmp(input, unpacked, n) != 0)
                failed = 1;
            checksum = checksum * 33u + (uint32_t)plen;
            checksum ^= digest(packed, plen) << 1;
        }
    }

    /* corrupted stream must be rejected, not overrun */
    {
        static const uint8_t bad[] = { 5u, 1u, 2u };
        int err;
        size_t got = packbits_decode(bad, sizeof bad, unpacked, sizeof unpacked, &err);
        if (!err)
            failed = 1;
        checksum = checksum * 33u + (uint32_t)got;
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "comp_rle", (unsigned)checksum);
    return failed ? 1 : 0;
}
