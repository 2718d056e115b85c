/* Lower-bound searches over sorted tables: binary, interpolation (with a
 * bisection safeguard), exponential/galloping and an Eytzinger (BFS order)
 * layout. All must return the same index; probe counts go into the checksum. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define TABLE_LEN 4000
#define QUERIES 3000

struct search_table {
    uint32_t keys[TABLE_LEN];
    uint32_t eyt[TABLE_LEN + 1];     /* 1-based BFS layout */
    uint16_t eyt_rank[TABLE_LEN + 1]; /* sorted index of each BFS slot */
    size_t n;
};

struct probe_counts {
    uint32_t binary;
    uint32_t interp;
    uint32_t expo;
    uint32_t eytz;
};

static struct search_table table;
static struct probe_counts probes;
static uint64_t rng_s = 0x853C49E6748FEA9Bull;

static uint32_t pcg32(void)
{
    uint64_t old = rng_s;
    uint32_t xorshifted, rot;
    rng_s = old * 6364136223846793005ull + 1442695040888963407ull;
    xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

static void build_keys(struct search_table *t, int shape)
{
    size_t i;
    uint32_t v = 0;
    t->n = TABLE_LEN;
    for (i = 0; i < TABLE_LEN; i++) {
        switch (shape) {
        case 0: /* roughly uniform gaps */
            v += 1u + pcg32() % 2000u;
            break;
        case 1: /* quadratic growth: skewed for interpolation */
            v = (uint32_t)(i * i) + (uint32_t)i * 3u;
            break;
        case 2: /* long runs of duplicates */
            if (pcg32() % 5u == 0)
                v += pcg32() % 100u;
            break;
        default: /* clustered: dense blocks separated by huge jumps */
            v += (i % 500u == 0) ? 50000000u : 1u + (pcg32() & 3u);
            break;
        }
        t->keys[i] = v;
    }
}

static size_t eyt_fill(struct search_table *t, size_t next_sorted, size_t k)
{
    if (k <= t->n) {
        next_sorted = eyt_fill(t, next_sorted, 2 * k);
        t->eyt[k] = t->keys[next_sorted];
        t->eyt_rank[k] = (uint16_t)next_sorted;
        next_sorted++;
        next_sorted = eyt_fill(t, next_sorted, 2 * k + 1);
    }
    return next_sorted;
}

static size_t lb_binary(const uint32_t *a, size_t n, uint32_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        probes.binary++;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t lb_interpolation(const uint32_t *a, size_t n, uint32_t key)
{
    size_t lo, hi;
    unsigned bad_steps = 0;
    if (n == 0)
        return 0;
    probes.interp += 2;
    if (key <= a[0])
        return 0;
    if (key > a[n - 1])
        return n;
    lo = 0;
    hi = n - 1; /* invariant: a[lo] < key <= a[hi] */
    while (hi - lo > 1) {
        size_t pos, width = hi - lo;
        if (bad_steps >= 3) {
            pos = lo + width / 2;
        } else {
            uint64_t num = (uint64_t)(key - a[lo] - 1u) * (uint64_t)(width - 1);
            pos = lo + 1 + (size_t)(num / (uint64_t)(a[hi] - a[lo]));
        }
        probes.interp++;
        if (a[pos] < key)
            lo = pos;
        else
            hi = pos;
        /* a step that removed less than a quarter of the range counts as bad */
        if ((hi - lo) * 4 > width * 3)
            bad_steps++;
        else if (bad_steps > 0)
            bad_steps--;
    }
    return hi;
}

static size_t lb_exponential(const uint32_t *a, size_t n, uint32_t key)
{
    size_t bound = 1, lo, hi;
    if (n == 0)
        return 0;
    while (bound < n) {
        probes.expo++;
        if (a[bound] >= key)
            break;
        bound *= 2;
    }
    lo = bound / 2;
    hi = bound + 1 < n ? bound + 1 : n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        probes.expo++;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t lb_eytzinger(const struct search_table *t, uint32_t key)
{
    size_t k = 1;
    while (k <= t->n) {
        probes.eytz++;
        k = 2 * k + (t->eyt[k] < key ? 1u : 0u);
    }
    /* strip the trailing "went right" steps plus one */
    while (k & 1u)
        k >>= 1;
    k >>= 1;
    return k == 0 ? t->n : t->eyt_rank[k];
}

static uint32_t pick_query(const struct search_table *t, uint32_t r)
{
    switch (r & 3u) {
    case 0:
        return t->keys[(r >> 2) % t->n];
    case 1:
        return t->keys[(r >> 2) % t->n] + 1u;
    case 2:
        return (r >> 2) % (t->keys[t->n - 1] + 2u);
    default:
        return (r & 0x100u) ? 0u : 0xFFFFFFFFu;
    }
}

int main(void)
{
    uint32_t checksum = 0x600DF00Du;
    int failed = 0, shape;
    size_t q;

    for (shape = 0; shape < 4; shape++) {
        build_keys(&table, shape);
        if (eyt_fill(&table, 0, 1) != table.n)
            failed = 1;
        memset(&probes, 0, sizeof probes);
        for (q = 0; q < QUERIES; q++) {
            uint32_t key = pick_query(&table, pcg32());
            size_t b = lb_binary(table.keys, table.n, key);
            size_t i = lb_interpolation(table.keys, table.n, key);
            size_t e = lb_exponential(table.keys, table.n, key);
            size_t z = lb_eytzinger(&table, key);
            if (b != i || b != e || b != z)
                failed = 1;
            if (b < table.n && table.keys[b] < key)
                failed = 1;
            if (b > 0 && table.keys[b - 1] >= key)
                failed = 1;
            checksum = (checksum ^ (uint32_t)b) * 0x01000193u;
        }
        checksum += probes.binary;
        checksum = (checksum << 9 | checksum >> 23) ^ probes.interp;
        checksum = checksum * 7u + probes.expo;
        checksum ^= probes.eytz << 3;
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "sort_interp_search", (unsigned)checksum);
    return failed ? 1 : 0;
}
