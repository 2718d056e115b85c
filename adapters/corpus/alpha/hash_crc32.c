/* CRC-32 (IEEE, reflected) and CRC-32C (Castagnoli): bitwise, byte table and
 * slicing-by-4 implementations, incremental updates and known check values. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define BUF_LEN 4096
#define POLY_IEEE 0xEDB88320u
#define POLY_CASTAGNOLI 0x82F63B78u

struct crc_tables {
    uint32_t poly;
    uint32_t t[4][256];
};

static struct crc_tables ieee;
static struct crc_tables castagnoli;
static uint8_t buffer[BUF_LEN];

static void crc_init_tables(struct crc_tables *ct, uint32_t poly)
{
    uint32_t i;
    int k;

    ct->poly = poly;
    for (i = 0; i < 256; i++) {
        uint32_t c = i;
        for (k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ poly : c >> 1;
        ct->t[0][i] = c;
    }
    for (i = 0; i < 256; i++) {
        uint32_t c = ct->t[0][i];
        for (k = 1; k < 4; k++) {
            c = ct->t[0][c & 0xFFu] ^ (c >> 8);
            ct->t[k][i] = c;
        }
    }
}

static uint32_t crc_bitwise(uint32_t poly, uint32_t crc, const uint8_t *p, size_t n)
{
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) {
            uint32_t mask = 0u - (crc & 1u);
            crc = (crc >> 1) ^ (poly & mask);
        }
    }
    return ~crc;
}

static uint32_t crc_table(const struct crc_tables *ct, uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc = ct->t[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    }
    return ~crc;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t crc_slice4(const struct crc_tables *ct, uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n >= 4) {
        crc ^= load_le32(p);
        crc = ct->t[3][crc & 0xFFu] ^ ct->t[2][(crc >> 8) & 0xFFu] ^
              ct->t[1][(crc >> 16) & 0xFFu] ^ ct->t[0][crc >> 24];
        p += 4;
        n -= 4;
    }
    while (n--) {
        crc = ct->t[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    }
    return ~crc;
}

static void fill_buffer(uint32_t seed)
{
    size_t i;
    uint32_t s = seed;
    for (i = 0; i < BUF_LEN; i++) {
        s = s * 22695477u + 1u;
        buffer[i] = (uint8_t)(s >> 16);
    }
}

static uint32_t rotl(uint32_t v, unsigned r)
{
    r &= 31u;
    return r ? (v << r) | (v >> (32u - r)) : v;
}

/* Checks one polynomial over a set of lengths and chunkings. */
static int exercise(const struct crc_tables *ct, uint32_t *acc)
{
    static const size_t lengths[] = { 0, 1, 3, 4, 5, 31, 64, 255, 1000, 4093, BUF_LEN };
    int bad = 0;
    size_t li;

    for (li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        size_t len = lengths[li];
        uint32_t a = crc_bitwise(ct->poly, 0, buffer, len);
        uint32_t b = crc_table(ct, 0, buffer, len);
        uint32_t c = crc_slice4(ct, 0, buffer, len);
        uint32_t d = 0;
        size_t pos = 0, step = 1;

        /* incremental: irregular chunk sizes must give the same CRC */
        while (pos < len) {
            size_t take = step;
            if (take > len - pos)
                take = len - pos;
            d = (step & 1u) ? crc_slice4(ct, d, buffer + pos, take)
                            : crc_table(ct, d, buffer + pos, take);
            pos += take;
            step = step * 3 % 97 + 1;
        }
        if (a != b || b != c || c != d)
            bad = 1;
        *acc = rotl(*acc, 5) ^ a;
        *acc += (uint32_t)len;
    }
    return bad;
}

/* Flipping any single bit must change the CRC. */
static int single_bit_sensitivity(const struct crc_tables *ct, uint32_t *acc)
{
    uint8_t msg[48];
    uint32_t base;
    size_t i;
    int bit, bad = 0;

    memcpy(msg, buffer + 100, sizeof msg);
    base = crc_slice4(ct, 0, msg, sizeof msg);
    for (i = 0; i < sizeof msg; i++) {
        for (bit = 0; bit < 8; bit++) {
            uint32_t c;
            msg[i] ^= (uint8_t)(1u << bit);
            c = crc_slice4(ct, 0, msg, sizeof msg);
            if (c == base)
                bad = 1;
            *acc ^= c >> (bit + 1);
            msg[i] ^= (uint8_t)(1u << bit);
        }
    }
    return bad;
}

int main(void)
{
    static const char check_text[] = "123456789";
    const uint8_t *ct = (const uint8_t *)check_text;
    uint32_t checksum = 0;
    int failed = 0;
    uint32_t seed;

    crc_init_tables(&ieee, POLY_IEEE);
    crc_init_tables(&castagnoli, POLY_CASTAGNOLI);

    if (crc_table(&ieee, 0, ct, 9) != 0xCBF43926u)
        failed = 1;
    if (crc_bitwise(POLY_CASTAGNOLI, 0, ct, 9) != 0xE3069283u)
        failed = 1;
    checksum ^= crc_slice4(&ieee, 0, ct, 9);
    checksum = rotl(checksum, 11) ^ crc_slice4(&castagnoli, 0, ct, 9);

    for (seed = 1; seed <= 3; seed++) {
        fill_buffer(seed * 0x9E3779B9u);
        failed |= exercise(&ieee, &checksum);
        failed |= exercise(&castagnoli, &checksum);
        failed |= single_bit_sensitivity(&ieee, &checksum);
    }
    checksum = rotl(checksum, 3) ^ ieee.t[3][0x5Au] ^ castagnoli.t[2][0xA5u];
    checksum ^= (uint32_t)failed;

    printf("%s %08x\n", "hash_crc32", (unsigned)checksum);
    return failed ? 1 : 0;
}
