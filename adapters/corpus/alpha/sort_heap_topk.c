/* Heap based algorithms: streaming top-k with a bounded min-heap, an in-place
 * heapsort used as a reference, and a k-way merge of sorted runs. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define STREAM_LEN 3000
#define MAX_K 64
#define RUNS 8
#define RUN_LEN 150

struct item {
    uint32_t score;
    uint32_t id;
};

struct min_heap {
    struct item slots[MAX_K];
    size_t size;
    size_t capacity;
};

static struct item stream[STREAM_LEN];
static struct item sorted_copy[STREAM_LEN];
static uint32_t runs[RUNS][RUN_LEN];
static uint32_t merged[RUNS * RUN_LEN];
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next_random(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Ordering: lower score first; ties broken by higher id being "smaller". */
static int item_less(const struct item *a, const struct item *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    return a->id > b->id;
}

static void swap_items(struct item *a, struct item *b)
{
    struct item t = *a;
    *a = *b;
    *b = t;
}

static void heap_sift_up(struct min_heap *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_less(&h->slots[i], &h->slots[parent]))
            break;
        swap_items(&h->slots[i], &h->slots[parent]);
        i = parent;
    }
}

static void heap_sift_down(struct item *a, size_t n, size_t i, int max_heap)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t best = i;
        if (max_heap) {
            if (l < n && item_less(&a[best], &a[l]))
                best = l;
            if (r < n && item_less(&a[best], &a[r]))
                best = r;
        } else {
            if (l < n && item_less(&a[l], &a[best]))
                best = l;
            if (r < n && item_less(&a[r], &a[best]))
                best = r;
        }
        if (best == i)
            return;
        swap_items(&a[i], &a[best]);
        i = best;
    }
}

static void topk_offer(struct min_heap *h, const struct item *it)
{
    if (h->size < h->capacity) {
        h->slots[h->size] = *it;
        heap_sift_up(h, h->size);
        h->size++;
    } else if (item_less(&h->slots[0], it)) {
        h->slots[0] = *it;
        heap_sift_down(h->slots, h->size, 0, 0);
    }
}

/* Pops everything; output ends up in descending order. */
static size_t topk_drain(struct min_heap *h, struct item *out)
{
    size_t n = h->size;
    size_t i = n;
    while (h->size > 0) {
        out[--i] = h->slots[0];
        h->size--;
        h->slots[0] = h->slots[h->size];
        heap_sift_down(h->slots, h->size, 0, 0);
    }
    return n;
}

static void heapsort_items(struct item *a, size_t n)
{
    size_t i;
    if (n < 2)
        return;
    for (i = n / 2; i-- > 0;)
        heap_sift_down(a, n, i, 1);
    for (i = n - 1; i > 0; i--) {
        swap_items(&a[0], &a[i]);
        heap_sift_down(a, i, 0, 1);
    }
}

struct run_cursor {
    uint32_t value;
    uint32_t run;
    uint32_t pos;
};

static int cursor_less(const struct run_cursor *a, const struct run_cursor *b)
{
    if (a->value != b->value)
        return a->value < b->value;
    return a->run < b->run;
}

static void cursor_sift_down(struct run_cursor *c, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        struct run_cursor t;
        if (l < n && cursor_less(&c[l], &c[best]))
            best = l;
        if (r < n && cursor_less(&c[r], &c[best]))
            best = r;
        if (best == i)
            return;
        t = c[i];
        c[i] = c[best];
        c[best] = t;
        i = best;
    }
}

static size_t kway_merge(uint32_t *out)
{
    struct run_cursor heap[RUNS];
    size_t n = 0, produced = 0, i;

    for (i = 0; i < RUNS; i++) {
        heap[n].value = runs[i][0];
        heap[n].run = (uint32_t)i;
        heap[n].pos = 0;
        n++;
    }
    for (i = n / 2; i-- > 0;)
        cursor_sift_down(heap, n, i);
    while (n > 0) {
        out[produced++] = heap[0].value;
        heap[0].pos++;
        if (heap[0].pos < RUN_LEN) {
            heap[0].value = runs[heap[0].run][heap[0].pos];
        } else {
            heap[0] = heap[n - 1];
            n--;
        }
        cursor_sift_down(heap, n, 0);
    }
    return produced;
}

static uint32_t fold(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x2C1B3C6Du;
    return h ^ (h >> 16);
}

int main(void)
{
    static const size_t ks[4] = { 1, 10, 37, MAX_K };
    struct item top[MAX_K];
    uint32_t checksum = 0xC0FFEE11u;
    int failed = 0;
    size_t i, r;

    for (i = 0; i < STREAM_LEN; i++) {
        stream[i].score = next_random() % 5000u;
        stream[i].id = (uint32_t)i;
    }
    memcpy(sorted_copy, stream, sizeof stream);
    heapsort_items(sorted_copy, STREAM_LEN);
    for (i = 1; i < STREAM_LEN; i++) {
        if (item_less(&sorted_copy[i], &sorted_copy[i - 1]))
            failed = 1;
    }

    for (r = 0; r < 4; r++) {
        struct min_heap h;
        size_t got;
        h.size = 0;
        h.capacity = ks[r];
        for (i = 0; i < STREAM_LEN; i++)
            topk_offer(&h, &stream[i]);
        got = topk_drain(&h, top);
        if (got != ks[r])
            failed = 1;
        for (i = 0; i < got; i++) {
            const struct item *expect = &sorted_copy[STREAM_LEN - 1 - i];
            if (top[i].score != expect->score || top[i].id != expect->id)
                failed = 1;
            checksum = fold(checksum, top[i].score);
            checksum = fold(checksum, top[i].id);
        }
    }

    for (r = 0; r < RUNS; r++) {
        uint32_t v = next_random() % 100u;
        for (i = 0; i < RUN_LEN; i++) {
            v += next_random() % (uint32_t)(r + 3);
            runs[r][i] = v;
        }
    }
    if (kway_merge(merged) != RUNS * RUN_LEN)
        failed = 1;
    for (i = 1; i < RUNS * RUN_LEN; i++) {
        if (merged[i] < merged[i - 1])
            failed = 1;
    }
    for (i = 0; i < RUNS * RUN_LEN; i += 3)
        checksum = fold(checksum, merged[i]);
    for (i = 0; i < STREAM_LEN; i += 11)
        checksum = fold(checksum, sorted_copy[i].score + (sorted_copy[i].id << 16));

    checksum = fold(checksum, (uint32_t)failed);
    printf("%s %08x\n", "sort_heap_topk", (unsigned)checksum);
    return failed ? 1 : 0;
}
