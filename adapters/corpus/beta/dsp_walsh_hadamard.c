/* Integer transforms built from butterflies: the fast Walsh-Hadamard
 * transform (checked against the Hadamard matrix, used for XOR convolution)
 * and a number-theoretic transform modulo 998244353 (an exact integer FFT)
 * used for polynomial multiplication, checked against schoolbook products. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define WHT_N 256
#define SMALL_N 64
#define NTT_MOD 998244353u
#define NTT_ROOT 3u
#define NTT_N 256
#define POLY_LEN 120

static int32_t signal_a[WHT_N], signal_b[WHT_N], work[WHT_N];
static int64_t conv_fast[SMALL_N], conv_slow[SMALL_N];
static uint32_t poly_a[NTT_N], poly_b[NTT_N], poly_prod[NTT_N], poly_ref[NTT_N];
static uint32_t rng_state = 0x5DEECE66u;

static uint32_t next_rand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void fwht(int32_t *x, size_t n)
{
    size_t len, i, j;
    for (len = 1; len < n; len <<= 1) {
        for (i = 0; i < n; i += len << 1) {
            for (j = i; j < i + len; j++) {
                int32_t u = x[j], v = x[j + len];
                x[j] = u + v;
                x[j + len] = u - v;
            }
        }
    }
}

static void fwht64(int64_t *x, size_t n)
{
    size_t len, i, j;
    for (len = 1; len < n; len <<= 1)
        for (i = 0; i < n; i += len << 1)
            for (j = i; j < i + len; j++) {
                int64_t u = x[j], v = x[j + len];
                x[j] = u + v;
                x[j + len] = u - v;
            }
}

static int parity(uint32_t v)
{
    v ^= v >> 16;
    v ^= v >> 8;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return (int)(v & 1u);
}

static void hadamard_naive(const int32_t *x, int32_t *y, size_t n)
{
    size_t i, j;
    for (i = 0; i < n; i++) {
        int32_t acc = 0;
        for (j = 0; j < n; j++)
            acc += parity((uint32_t)(i & j)) ? -x[j] : x[j];
        y[i] = acc;
    }
}

static void xor_convolution_slow(const int32_t *a, const int32_t *b, int64_t *c, size_t n)
{
    size_t i, j;
    for (i = 0; i < n; i++)
        c[i] = 0;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            c[i ^ j] += (int64_t)a[i] * b[j];
}

static void xor_convolution_fast(const int32_t *a, const int32_t *b, int64_t *c, size_t n)
{
    int64_t fa[SMALL_N], fb[SMALL_N];
    size_t i;
    for (i = 0; i < n; i++) {
        fa[i] = a[i];
        fb[i] = b[i];
    }
    fwht64(fa, n);
    fwht64(fb, n);
    for (i = 0; i < n; i++)
        c[i] = fa[i] * fb[i];
    fwht64(c, n);
    for (i = 0; i < n; i++)
        c[i] /= (int64_t)n;
}

static uint32_t mul_mod(uint32_t a, uint32_t b)
{
    return (uint32_t)((uint64_t)a * b % NTT_MOD);
}

static uint32_t pow_mod(uint32_t base, uint32_t e)
{
    uint32_t r = 1;
    while (e) {
        if (e & 1u)
            r = mul_mod(r, base);
        base = mul_mod(base, base);
        e >>= 1;
    }
    return r;
}

static void bit_reverse(uint32_t *a, size_t n)
{
    size_t i, j = 0;
    for (i = 1; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            uint32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

static void ntt(uint32_t *a, size_t n, int inverse)
{
    size_t len, i, j;
    bit_reverse(a, n);
    for (len = 2; len <= n; len <<= 1) {
        uint32_t w_len = pow_mod(NTT_ROOT, (NTT_MOD - 1u) / (uint32_t)len);
        if (inverse)
            w_len = pow_mod(w_len, NTT_MOD - 2u);
        for (i = 0; i < n; i += len) {
            uint32_t w = 1;
            for (j = 0; j < len / 2; j++) {
                uint32_t u = a[i + j];
                uint32_t v = mul_mod(a[i + j + len / 2], w);
                a[i + j] = (u + v) % NTT_MOD;
                a[i + j + len / 2] = (u + NTT_MOD - v) % NTT_MOD;
                w = mul_mod(w, w_len);
            }
        }
    }
    if (inverse) {
        uint32_t inv_n = pow_mod((uint32_t)n, NTT_MOD - 2u);
        for (i = 0; i < n; i++)
            a[i] = mul_mod(a[i], inv_n);
    }
}

static void poly_mul_schoolbook(const uint32_t *a, const uint32_t *b, uint32_t *c, size_t len)
{
    size_t i, j;
    memset(c, 0, NTT_N * sizeof c[0]);
    for (i = 0; i < len; i++)
        for (j = 0; j < len; j++)
            c[i + j] = (c[i + j] + mul_mod(a[i], b[j])) % NTT_MOD;
}

static uint32_t fold(uint32_t h, uint32_t v)
{
    h += v;
    h ^= h << 10;
    h ^= h >> 6;
    return h;
}

int main(void)
{
    int32_t naive[SMALL_N];
    uint32_t fa[NTT_N], fb[NTT_N];
    uint32_t checksum = 0;
    int failed = 0;
    size_t i;
    int round;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < WHT_N; i++) {
            signal_a[i] = (int32_t)(next_rand() % 2001u) - 1000;
            signal_b[i] = (int32_t)(next_rand() % 101u) - 50;
        }
        /* round trip: H(H(x)) = N x */
        memcpy(work, signal_a, sizeof work);
        fwht(work, WHT_N);
        for (i = 0; i < WHT_N; i++)
            checksum = fold(checksum, (uint32_t)work[i]);
        fwht(work, WHT_N);
        for (i = 0; i < WHT_N; i++)
            if (work[i] != signal_a[i] * WHT_N)
                failed = 1;

        /* fast transform equals the matrix definition */
        memcpy(work, signal_a, SMALL_N * sizeof work[0]);
        fwht(work, SMALL_N);
        hadamard_naive(signal_a, naive, SMALL_N);
        if (memcmp(work, naive, sizeof naive) != 0)
            failed = 1;

        xor_convolution_slow(signal_a, signal_b, conv_slow, SMALL_N);
        xor_convolution_fast(signal_a, signal_b, conv_fast, SMALL_N);
        for (i = 0; i < SMALL_N; i++) {
            if (conv_fast[i] != conv_slow[i])
                failed = 1;
            checksum = fold(checksum, (uint32_t)(uint64_t)conv_fast[i]);
        }

        /* NTT polynomial product vs schoolbook */
        memset(poly_a, 0, sizeof poly_a);
        memset(poly_b, 0, sizeof poly_b);
        for (i = 0; i < POLY_LEN; i++) {
            poly_a[i] = next_rand() % NTT_MOD;
            poly_b[i] = next_rand() % 1000u;
        }
        memcpy(fa, poly_a, sizeof fa);
        memcpy(fb, poly_b, sizeof fb);
        ntt(fa, NTT_N, 0);
        ntt(fb, NTT_N, 0);
        for (i = 0; i < NTT_N; i++)
            poly_prod[i] = mul_mod(fa[i], fb[i]);
        ntt(poly_prod, NTT_N, 1);
        poly_mul_schoolbook(poly_a, poly_b, poly_ref, POLY_LEN);
        if (memcmp(poly_prod, poly_ref, sizeof poly_ref) != 0)
            failed = 1;
        ntt(fa, NTT_N, 1);
        if (memcmp(fa, poly_a, sizeof fa) != 0)
            failed = 1;
        for (i = 0; i < NTT_N; i++)
            checksum = fold(checksum, poly_prod[i]);
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "dsp_walsh_hadamard", (unsigned)checksum);
    return failed ? 1 : 0;
}
