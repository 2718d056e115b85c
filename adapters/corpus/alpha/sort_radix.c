/* LSD radix sort (8-bit digits) of unsigned and signed keys, checked against
 * an insertion sort, followed by lower/upper bound queries on the result. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define N_KEYS 2048
#define N_QUERIES 600
#define RADIX_BITS 8
#define RADIX_SIZE (1u << RADIX_BITS)

static uint32_t keys[N_KEYS];
static uint32_t scratch[N_KEYS];
static uint32_t reference[N_KEYS];
static int32_t signed_keys[N_KEYS];
static uint32_t lcg_state = 12345u;

static uint32_t lcg_next(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state;
}

static void radix_pass(const uint32_t *src, uint32_t *dst, size_t n, unsigned shift)
{
    uint32_t counts[RADIX_SIZE];
    uint32_t total = 0;
    size_t i;
    unsigned d;

    memset(counts, 0, sizeof counts);
    for (i = 0; i < n; i++)
        counts[(src[i] >> shift) & (RADIX_SIZE - 1u)]++;
    for (d = 0; d < RADIX_SIZE; d++) {
        uint32_t c = counts[d];
        counts[d] = total;
        total += c;
    }
    for (i = 0; i < n; i++) {
        unsigned digit = (src[i] >> shift) & (RADIX_SIZE - 1u);
        dst[counts[digit]++] = src[i];
    }
}

/* Sort `data` in place; skips passes where every key shares the digit. */
static unsigned radix_sort_u32(uint32_t *data, uint32_t *tmp, size_t n)
{
    unsigned shift;
    unsigned passes = 0;
    uint32_t *src = data;
    uint32_t *dst = tmp;

    for (shift = 0; shift < 32; shift += RADIX_BITS) {
        uint32_t first, differs = 0;
        size_t i;
        if (n == 0)
            break;
        first = (src[0] >> shift) & (RADIX_SIZE - 1u);
        for (i = 1; i < n; i++) {
            if (((src[i] >> shift) & (RADIX_SIZE - 1u)) != first) {
                differs = 1;
                break;
            }
        }
        if (!differs)
            continue;
        radix_pass(src, dst, n, shift);
        {
            uint32_t *t = src;
            src = dst;
            dst = t;
        }
        passes++;
    }
    if (src != data)
        memcpy(data, src, n * sizeof *data);
    return passes;
}

static void radix_sort_i32(int32_t *data, uint32_t *tmp_a, uint32_t *tmp_b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        tmp_a[i] = (uint32_t)data[i] ^ 0x80000000u;
    radix_sort_u32(tmp_a, tmp_b, n);
    for (i = 0; i < n; i++) {
        uint32_t u = tmp_a[i] ^ 0x80000000u;
        /* convert back without relying on out-of-range conversion */
        data[i] = (u >= 0x80000000u) ? -(int32_t)(0xFFFFFFFFu - u) - 1 : (int32_t)u;
    }
}

static void insertion_sort(uint32_t *a, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint32_t v = a[i];
        j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static size_t lower_bound(const uint32_t *a, size_t n, uint32_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t upper_bound(const uint32_t *a, size_t n, uint32_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h += v * 0x9E3779B1u;
    h = (h << 7) | (h >> 25);
    h ^= h >> 11;
    return h * 0x85EBCA77u;
}

static void fill(uint32_t mask, uint32_t bias)
{
    size_t i;
    for (i = 0; i < N_KEYS; i++)
        keys[i] = (lcg_next() & mask) + bias;
}

int main(void)
{
    static const uint32_t masks[4] = { 0xFFFFFFFFu, 0x0000FFFFu, 0x00FF00FFu, 0x000003FFu };
    uint32_t checksum = 0;
    int failed = 0;
    int round;
    size_t i;

    for (round = 0; round < 4; round++) {
        unsigned passes;
        fill(masks[round], (uint32_t)round * 1000u);
        memcpy(reference, keys, sizeof keys);
        passes = radix_sort_u32(keys, scratch, N_KEYS);
        insertion_sort(reference, N_KEYS);
        if (memcmp(keys, reference, sizeof keys) != 0)
            failed = 1;
        checksum = mix(checksum, passes);
        for (i = 0; i < N_KEYS; i += 7)
            checksum = mix(checksum, keys[i]);

        for (i = 0; i < N_QUERIES; i++) {
            uint32_t q = (i % 3 == 0) ? keys[lcg_next() % N_KEYS]
                                      : (lcg_next() & masks[round]) + (uint32_t)round * 1000u;
            size_t lo = lower_bound(keys, N_KEYS, q);
            size_t hi = upper_bound(keys, N_KEYS, q);
            if (lo > hi || (lo < N_KEYS && keys[lo] < q) || (lo > 0 && keys[lo - 1] >= q))
                failed = 1;
            checksum = mix(checksum, (uint32_t)lo);
            checksum = mix(checksum, (uint32_t)(hi - lo));
        }
    }

    for (i = 0; i < N_KEYS; i++) {
        uint32_t r = lcg_next() % 200001u;
        signed_keys[i] = (int32_t)r - 100000;
    }
    radix_sort_i32(signed_keys, scratch, keys, N_KEYS);
    for (i = 1; i < N_KEYS; i++) {
        if (signed_keys[i - 1] > signed_keys[i])
            failed = 1;
    }
    for (i = 0; i < N_KEYS; i += 5)
        checksum = mix(checksum, (uint32_t)signed_keys[i]);

    checksum = mix(checksum, (uint32_t)failed);
    printf("%s %08x\n", "sort_radix", (unsigned)checksum);
    return failed ? 1 : 0;
}
