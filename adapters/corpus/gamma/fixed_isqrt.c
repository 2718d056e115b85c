/* fixed_isqrt: integer square roots (32-bit digit-by-digit, 64-bit Newton),
 * integer cube root (bitwise, 64-bit), Q16.16 square root and a few
 * applications (perfect squares, Pythagorean triples, lattice points in a
 * circle).  Every root is checked for the floor property without overflow.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>

static uint64_t s64 = 0x0123456789ABCDEFull;

static uint64_t rnd64(void)
{
    s64 ^= s64 >> 12;
    s64 ^= s64 << 25;
    s64 ^= s64 >> 27;
    return s64 * 0x2545F4914F6CDD1Dull;
}

static uint32_t mix(uint32_t h, uint64_t v)
{
    h ^= (uint32_t)v;
    h = h * 0x9E3779B1u + (uint32_t)(v >> 32);
    return h ^ (h >> 16);
}

static uint32_t bit_length64(uint64_t v)
{
    uint32_t n = 0;
    while (v) {
        v >>= 1;
        n++;
    }
    return n;
}

/* classic digit-by-digit method on base 4 */
static uint32_t isqrt32(uint32_t n)
{
    uint32_t res = 0, bit = 1u << 30;
    while (bit > n)
        bit >>= 2;
    while (bit != 0u) {
        if (n >= res + bit) {
            n -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return res;
}

/* Newton iteration from an overestimate */
static uint64_t isqrt64(uint64_t n)
{
    uint64_t x, y;
    uint32_t b;
    if (n < 2u)
        return n;
    b = bit_length64(n);
    x = (uint64_t)1 << ((b + 1u) / 2u);
    for (;;) {
        y = (x + n / x) / 2u;
        if (y >= x)
            return x;
        x = y;
    }
}

/* bitwise cube root, three bits of the radicand per step */
static uint64_t icbrt64(uint64_t x)
{
    uint64_t y = 0;
    int s;
    for (s = 63; s >= 0; s -= 3) {
        uint64_t b;
        y <<= 1;
        b = 3u * y * (y + 1u) + 1u;
        if ((x >> s) >= b) {
            x -= b << s;
            y++;
        }
    }
    return y;
}

static int check_sqrt(uint64_t n, uint64_t r)
{
    /* r*r <= n < (r+1)^2, written with divisions to avoid overflow */
    if (r > 0u && r > n / r)
        return 0;
    return (r + 1u) > n / (r + 1u);
}

static int check_cbrt(uint64_t n, uint64_t r)
{
    const uint64_t limit = 2642245u; /* largest r with r^3 < 2^64 */
    if (r > limit || r * r * r > n)
        return 0;
    if (r + 1u > limit)
        return 1;
    return (r + 1u) * (r + 1u) * (r + 1u) > n;
}

/* Q16.16 square root: sqrt(x / 2^16) * 2^16 = sqrt(x * 2^16) */
static uint32_t qsqrt(uint32_t x)
{
    return (uint32_t)isqrt64((uint64_t)x << 16);
}

static uint32_t pythagorean_triples(uint32_t cmax, uint32_t *h)
{
    uint32_t c, a, count = 0;
    for (c = 5; c <= cmax; c++) {
        for (a = 3; 2u * a * a < c * c; a++) {
            uint32_t b2 = c * c - a * a;
            uint32_t b = isqrt32(b2);
            if (b * b == b2) {
                count++;
                *h = mix(*h, (uint64_t)a << 20 | (uint64_t)b << 10 | c);
            }
        }
    }
    return count;
}

static uint64_t lattice_points(uint32_t radius)
{
    /* points (x, y) with x^2 + y^2 <= r^2 */
    uint64_t total = 0;
    uint32_t x, r2 = radius * radius;
    for (x = 0; x <= radius; x++) {
        uint32_t ymax = isqrt32(r2 - x * x);
        total += (x == 0u) ? (2u * ymax + 1u) : 2u * (2u * ymax + 1u);
    }
    return total;
}

int main(void)
{
    static const uint64_t edge[] = {
        0u, 1u, 2u, 3u, 4u, 15u, 16u, 17u, 24u, 25u, 26u, 63u, 64u, 65u,
        0xFFFFFFFFu, 0x100000000ull, 0xFFFFFFFE00000001ull, 0xFFFFFFFFFFFFFFFFull,
        0x7FFFFFFFFFFFFFFFull, 999999999999ull, 1000000000000ull
    };
    uint32_t h = 0, bad = 0, i, cnt;
    uint64_t lp;

    for (i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        uint64_t r = isqrt64(edge[i]), c = icbrt64(edge[i]);
        if (!check_sqrt(edge[i], r)) bad++;
        if (!check_cbrt(edge[i], c)) bad++;
        if (edge[i] <= 0xFFFFFFFFu && isqrt32((uint32_t)edge[i]) != r) bad++;
        h = mix(h, r);
        h = mix(h, c);
    }

    for (i = 0; i < 3000; i++) {
        uint64_t raw = rnd64();
        uint64_t v = raw >> (rnd64() % 64u);
        uint32_t v32 = (uint32_t)(v >> (i % 32u));
        uint64_t r = isqrt64(v), c = icbrt64(v);
        uint32_t r32 = isqrt32(v32);
        if (!check_sqrt(v, r)) bad++;
        if (!check_cbrt(v, c)) bad++;
        if (!check_sqrt(v32, r32)) bad++;
        if (isqrt64(r * r) != r) bad++;
        if (icbrt64(c * c * c) != c) bad++;
        h = mix(h, r ^ (c << 32));
        h = mix(h, r32);
    }

    for (i = 0; i < 2000; i++) {
        uint32_t x = (uint32_t)(i * 2654435761u) >> (i % 12u);
        uint32_t s = qsqrt(x);
        uint64_t sq = (uint64_t)s * s; /* Q32.32 */
        if (sq > (uint64_t)x << 16) bad++;
        if (((uint64_t)s + 1u) * ((uint64_t)s + 1u) <= (uint64_t)x << 16) bad++;
        h = mix(h, s);
    }

    cnt = pythagorean_triples(400, &h);
    h = mix(h, cnt);
    lp = lattice_points(1000);
    if (lattice_points(1) != 5u || lattice_points(2) != 13u || lattice_points(5) != 81u) bad++;
    h = mix(h, lp);

    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "fixed_isqrt", h);
    return bad == 0u ? 0 : 1;
}
