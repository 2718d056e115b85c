/* Introsort on records: median-of-three quicksort with a recursion depth
 * budget that falls back to heapsort, and insertion sort for short ranges.
 * Run on adversarial and random inputs through a comparator callback. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define N_RECORDS 1800
#define SMALL_RANGE 12

struct record {
    int32_t key;
    uint32_t tag;
};

typedef int (*compare_fn)(const struct record *, const struct record *);

struct sort_stats {
    uint32_t compares;
    uint32_t heap_fallbacks;
    uint32_t insertion_runs;
    uint32_t max_depth;
};

static struct record data[N_RECORDS];
static struct sort_stats stats;
static uint32_t rng = 0x31415926u;

static uint32_t rand_next(void)
{
    rng += 0x6D2B79F5u;
    {
        uint32_t z = rng;
        z = (z ^ (z >> 15)) * (z | 1u);
        z ^= z + (z ^ (z >> 7)) * (z | 61u);
        return z ^ (z >> 14);
    }
}

static int by_key_then_tag(const struct record *a, const struct record *b)
{
    stats.compares++;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    if (a->tag != b->tag)
        return a->tag < b->tag ? -1 : 1;
    return 0;
}

static int by_key_desc(const struct record *a, const struct record *b)
{
    stats.compares++;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->tag > b->tag) - (a->tag < b->tag);
}

static void swap_rec(struct record *a, struct record *b)
{
    struct record t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(struct record *a, size_t n, compare_fn cmp)
{
    size_t i, j;
    stats.insertion_runs++;
    for (i = 1; i < n; i++) {
        struct record v = a[i];
        for (j = i; j > 0 && cmp(&v, &a[j - 1]) < 0; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void sift_down(struct record *a, size_t n, size_t i, compare_fn cmp)
{
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(&a[child], &a[child + 1]) < 0)
            child++;
        if (cmp(&a[i], &a[child]) >= 0)
            return;
        swap_rec(&a[i], &a[child]);
        i = child;
    }
}

static void heap_sort(struct record *a, size_t n, compare_fn cmp)
{
    size_t i;
    stats.heap_fallbacks++;
    for (i = n / 2; i-- > 0;)
        sift_down(a, n, i, cmp);
    for (i = n; i-- > 1;) {
        swap_rec(&a[0], &a[i]);
        sift_down(a, i, 0, cmp);
    }
}

static size_t median_of_three(struct record *a, size_t lo, size_t mid, size_t hi, compare_fn cmp)
{
    if (cmp(&a[mid], &a[lo]) < 0)
        swap_rec(&a[mid], &a[lo]);
    if (cmp(&a[hi], &a[lo]) < 0)
        swap_rec(&a[hi], &a[lo]);
    if (cmp(&a[hi], &a[mid]) < 0)
        swap_rec(&a[hi], &a[mid]);
    return mid;
}

/* Hoare partition around the median; returns the split point. */
static size_t partition(struct record *a, size_t n, compare_fn cmp)
{
    size_t m = median_of_three(a, 0, n / 2, n - 1, cmp);
    struct record pivot = a[m];
    size_t i = 0, j = n - 1;
    for (;;) {
        while (cmp(&a[i], &pivot) < 0)
            i++;
        while (cmp(&pivot, &a[j]) < 0)
            j--;
        if (i >= j)
            return j + 1;
        swap_rec(&a[i], &a[j]);
        i++;
        j--;
    }
}

static void intro_loop(struct record *a, size_t n, unsigned depth_left, unsigned depth,
                       compare_fn cmp)
{
    while (n > SMALL_RANGE) {
        size_t split;
        if (depth > stats.max_depth)
            stats.max_depth = depth;
        if (depth_left == 0) {
            heap_sort(a, n, cmp);
            return;
        }
        depth_left--;
        depth++;
        split = partition(a, n, cmp);
        /* recurse into the smaller side, loop on the larger one */
        if (split < n - split) {
            intro_loop(a, split, depth_left, depth, cmp);
            a += split;
            n -= split;
        } else {
            intro_loop(a + split, n - split, depth_left, depth, cmp);
            n = split;
        }
    }
    insertion_sort(a, n, cmp);
}

static void introsort(struct record *a, size_t n, compare_fn cmp, unsigned budget_scale)
{
    unsigned lg = 0;
    size_t t = n;
    while (t > 1) {
        t >>= 1;
        lg++;
    }
    intro_loop(a, n, lg * budget_scale, 0, cmp);
}

static uint32_t multiset_hash(const struct record *a, size_t n)
{
    uint32_t h = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t x = (uint32_t)a[i].key * 0x9E3779B1u ^ a[i].tag;
        x ^= x >> 16;
        x *= 0x85EBCA6Bu;
        h += x ^ (x >> 13);
    }
    return h;
}

static void make_input(int kind, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        int32_t k;
        switch (kind) {
        case 0: k = (int32_t)(rand_next() % 2000001u) - 1000000; break;
        case 1: k = (int32_t)i; break;
        case 2: k = (int32_t)(n - i); break;
        case 3: k = 7; break;
        case 4: k = (int32_t)(i < n / 2 ? i : n - i); break; /* organ pipe */
        case 5: k = (int32_t)(rand_next() % 5u); break;
        default: k = (int32_t)((i * 7919u) % 101u) - 50; break;
        }
        data[i].key = k;
        data[i].tag = (uint32_t)i;
    }
}

static int is_sorted(const struct record *a, size_t n, compare_fn cmp)
{
    size_t i;
    for (i = 1; i < n; i++)
        if (cmp(&a[i], &a[i - 1]) < 0)
            return 0;
    return 1;
}

int main(void)
{
    uint32_t checksum = 0xABCDEF01u;
    int failed = 0, kind, pass;

    for (pass = 0; pass < 2; pass++) {
        compare_fn cmp = pass == 0 ? by_key_then_tag : by_key_desc;
        for (kind = 0; kind < 7; kind++) {
            size_t n = N_RECORDS - (size_t)kind * 61u;
            uint32_t before, after, i;
            memset(&stats, 0, sizeof stats);
            make_input(kind, n);
            before = multiset_hash(data, n);
            /* a tiny budget on some inputs forces the heapsort fallback */
            introsort(data, n, cmp, (kind & 1) ? 0u : 2u);
            after = multiset_hash(data, n);
            if (before != after || !is_sorted(data, n, cmp))
                failed = 1;
            checksum ^= after;
            checksum = checksum * 0x01000193u + stats.compares;
            checksum = checksum * 0x01000193u + stats.heap_fallbacks;
            checksum = checksum * 0x01000193u + stats.insertion_runs;
            checksum = checksum * 0x01000193u + stats.max_depth;
            for (i = 0; i < n; i += 97u)
                checksum = checksum * 31u + (uint32_t)data[i].key + data[i].tag;
        }
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "sort_introsort", (unsigned)checksum);
    return failed ? 1 : 0;
}
