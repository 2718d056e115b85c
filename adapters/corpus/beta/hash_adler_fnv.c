/* Classic non-cryptographic checksums: Adler-32 (per-byte and chunked,
 * rolling window and combination of two halves), Fletcher-16/32, FNV-1a in
 * 32 and 64 bits, a djb2 variant and a polynomial rolling hash. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define ADLER_MOD 65521u
#define ADLER_CHUNK 5552u
#define DATA_LEN 6000
#define WINDOW 48

static uint8_t data[DATA_LEN];
static uint32_t lcg_state = 0x7F4A7C15u;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 134775813u + 1u;
    return lcg_state;
}

static uint32_t adler_simple(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        a = (a + p[i]) % ADLER_MOD;
        b = (b + a) % ADLER_MOD;
    }
    return (b << 16) | a;
}

/* Defers the modulo: ADLER_CHUNK bytes cannot overflow 32-bit sums. */
static uint32_t adler_chunked(uint32_t adler, const uint8_t *p, size_t n)
{
    uint32_t a = adler & 0xFFFFu, b = adler >> 16;
    while (n > 0) {
        size_t take = n < ADLER_CHUNK ? n : ADLER_CHUNK;
        size_t i = 0;
        n -= take;
        for (; i + 4 <= take; i += 4) {
            a += p[i];
            b += a;
            a += p[i + 1];
            b += a;
            a += p[i + 2];
            b += a;
            a += p[i + 3];
            b += a;
        }
        for (; i < take; i++) {
            a += p[i];
            b += a;
        }
        p += take;
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    return (b << 16) | a;
}

/* checksum of X||Y from checksums of X and Y and the length of Y */
static uint32_t adler_combine(uint32_t first, uint32_t second, size_t len_second)
{
    uint64_t a1 = first & 0xFFFFu, b1 = first >> 16;
    uint64_t a2 = second & 0xFFFFu, b2 = second >> 16;
    uint64_t len = (uint64_t)len_second % ADLER_MOD;
    uint64_t a = (a1 + a2 + ADLER_MOD - 1u) % ADLER_MOD;
    uint64_t b = (b1 + b2 + len * ((a1 + ADLER_MOD - 1u) % ADLER_MOD)) % ADLER_MOD;
    return (uint32_t)((b << 16) | a);
}

/* slide a window one byte: drop `out`, append `in` */
static uint32_t adler_roll(uint32_t adler, size_t window, uint8_t out, uint8_t in)
{
    uint32_t a = adler & 0xFFFFu, b = adler >> 16;
    uint32_t w = (uint32_t)(window % ADLER_MOD);
    a = (a + ADLER_MOD - out + in) % ADLER_MOD;
    b = (b + ADLER_MOD * 2u - (w * out) % ADLER_MOD - 1u + a) % ADLER_MOD;
    return (b << 16) | a;
}

static uint16_t fletcher16(const uint8_t *p, size_t n)
{
    uint32_t s1 = 0, s2 = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        s1 = (s1 + p[i]) % 255u;
        s2 = (s2 + s1) % 255u;
    }
    return (uint16_t)((s2 << 8) | s1);
}

static uint32_t fletcher32(const uint8_t *p, size_t n)
{
    uint32_t s1 = 0xFFFFu, s2 = 0xFFFFu;
    size_t i;
    for (i = 0; i + 1 < n; i += 2) {
        uint32_t word = (uint32_t)p[i] | ((uint32_t)p[i + 1] << 8);
        s1 = (s1 + word) % 65535u;
        s2 = (s2 + s1) % 65535u;
    }
    if (n & 1u) {
        s1 = (s1 + p[n - 1]) % 65535u;
        s2 = (s2 + s1) % 65535u;
    }
    return (s2 << 16) | s1;
}

static uint32_t fnv1a32(const uint8_t *p, size_t n)
{
    uint32_t h = 0x811C9DC5u;
    while (n--) {
        h ^= *p++;
        h *= 0x01000193u;
    }
    return h;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    while (n--) {
        h ^= *p++;
        h *= 0x100000001B3ull;
    }
    return h;
}

static uint32_t djb2_xor(const uint8_t *p, size_t n)
{
    uint32_t h = 5381u;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h * 33u) ^ p[i];
    return h;
}

static uint32_t poly_hash(const uint8_t *p, size_t n, uint32_t base)
{
    uint32_t h = 0;
    size_t i;
    for (i = 0; i < n; i++)
        h = h * base + p[i] + 1u;
    return h;
}

static uint32_t pow_u32(uint32_t b, size_t e)
{
    uint32_t r = 1;
    while (e) {
        if (e & 1u)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

static const uint8_t *bytes(const char *s)
{
    return (const uint8_t *)s;
}

static int known_vectors(uint32_t *acc)
{
    int bad = 0;
    if (adler_simple(bytes("Wikipedia"), 9) != 0x11E60398u)
        bad = 1;
    if (fnv1a32(bytes(""), 0) != 0x811C9DC5u || fnv1a32(bytes("a"), 1) != 0xE40C292Cu ||
        fnv1a32(bytes("foobar"), 6) != 0xBF9CF968u)
        bad = 1;
    if (fnv1a64(bytes("a"), 1) != 0xAF63DC4C8601EC8Cull ||
        fnv1a64(bytes("foobar"), 6) != 0x85944171F73967E8ull)
        bad = 1;
    *acc ^= fletcher16(bytes("abcdefgh"), 8);
    *acc = *acc * 3u + fletcher32(bytes("abcde"), 5);
    return bad;
}

int main(void)
{
    uint32_t checksum = 0;
    uint32_t base = 257u, top, rolling, adler_win;
    int failed = 0;
    size_t i, split;

    failed |= known_vectors(&checksum);

    for (i = 0; i < DATA_LEN; i++) {
        uint32_t r = lcg();
        data[i] = (i % 100u < 30u) ? (uint8_t)(r >> 24) : (uint8_t)0xFFu;
    }

    /* whole-buffer digests and chunked vs simple Adler */
    if (adler_simple(data, DATA_LEN) != adler_chunked(1u, data, DATA_LEN))
        failed = 1;
    checksum ^= adler_simple(data, DATA_LEN);
    checksum = checksum * 31u + fletcher16(data, DATA_LEN);
    checksum = checksum * 31u + fletcher32(data, DATA_LEN - 1);
    checksum ^= fnv1a32(data, DATA_LEN);
    checksum ^= (uint32_t)(fnv1a64(data, DATA_LEN) >> 29);
    checksum += djb2_xor(data, DATA_LEN);

    /* combination of prefix and suffix digests */
    for (split = 0; split <= DATA_LEN; split += 997u) {
        uint32_t left = adler_chunked(1u, data, split);
        uint32_t right = adler_chunked(1u, data + split, DATA_LEN - split);
        uint32_t both = adler_combine(left, right, DATA_LEN - split);
        if (both != adler_simple(data, DATA_LEN))
            failed = 1;
        checksum = (checksum << 1 | checksum >> 31) ^ left;
    }

    /* rolling window hashes vs recomputation */
    top = pow_u32(base, WINDOW - 1);
    rolling = poly_hash(data, WINDOW, base);
    adler_win = adler_simple(data, WINDOW);
    for (i = 0; i + WINDOW < DATA_LEN; i++) {
        rolling = (rolling - (data[i] + 1u) * top) * base + data[i + WINDOW] + 1u;
        adler_win = adler_roll(adler_win, WINDOW, data[i], data[i + WINDOW]);
        if (i % 61u == 0) {
            if (rolling != poly_hash(data + i + 1, WINDOW, base) ||
                adler_win != adler_simple(data + i + 1, WINDOW))
                failed = 1;
        }
        checksum += rolling ^ adler_win;
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "hash_adler_fnv", (unsigned)checksum);
    return failed ? 1 : 0;
}
