/* ds_lru: a request ring buffer feeding an LRU cache.  The cache is a chained
 * hash index plus an intrusive doubly linked recency list over a fixed entry
 * array; a brute-force timestamp LRU serves as the reference model and must
 * agree on every hit, miss and eviction.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define CAP 96
#define NBUCKETS 128
#define KEYS 1024u
#define RING 64u
#define NIL (-1)

struct entry {
    uint32_t key, value;
    int prev, next;  /* recency list: head = most recent */
    int chain;       /* next entry in the same bucket */
    int live;
};

struct lru {
    struct entry e[CAP];
    int bucket[NBUCKETS];
    int head, tail, free_list, size;
    uint32_t hits, misses, evictions;
};

struct ring {
    uint32_t buf[RING];
    uint32_t rd, wr; /* free-running counters */
    uint32_t overflows;
};

struct ref_model {
    uint32_t key[CAP], stamp[CAP];
    int used;
    uint32_t clock;
};

static uint32_t z = 0x7A3F9E21u;

static uint32_t rnd(void)
{
    z ^= z << 7;
    z ^= z >> 9;
    z ^= z << 8;
    return z;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h = (h + v) * 0x2545F491u;
    return h ^ (h >> 17);
}

static uint32_t bucket_of(uint32_t key)
{
    return (key * 2654435761u) >> 25; /* top 7 bits: 0..127 */
}

static uint32_t compute_value(uint32_t key)
{
    uint32_t v = key * 0x9E3779B1u;
    return v ^ (v >> 13) ^ 0xA5A5u;
}

static void lru_init(struct lru *c)
{
    int i;
    memset(c, 0, sizeof *c);
    for (i = 0; i < NBUCKETS; i++) c->bucket[i] = NIL;
    for (i = 0; i < CAP; i++) c->e[i].next = i + 1 < CAP ? i + 1 : NIL;
    c->free_list = 0;
    c->head = c->tail = NIL;
}

static void list_unlink(struct lru *c, int i)
{
    struct entry *x = &c->e[i];
    if (x->prev != NIL) c->e[x->prev].next = x->next; else c->head = x->next;
    if (x->next != NIL) c->e[x->next].prev = x->prev; else c->tail = x->prev;
}

static void list_push_front(struct lru *c, int i)
{
    c->e[i].prev = NIL;
    c->e[i].next = c->head;
    if (c->head != NIL) c->e[c->head].prev = i;
    c->head = i;
    if (c->tail == NIL) c->tail = i;
}

static int find(const struct lru *c, uint32_t key)
{
    int i = c->bucket[bucket_of(key)];
    while (i != NIL && c->e[i].key != key)
        i = c->e[i].chain;
    return i;
}

static void unhash(struct lru *c, int i)
{
    uint32_t b = bucket_of(c->e[i].key);
    int *link = &c->bucket[b];
    while (*link != i)
        link = &c->e[*link].chain;
    *link = c->e[i].chain;
}

static void drop(struct lru *c, int i)
{
    unhash(c, i);
    list_unlink(c, i);
    c->e[i].live = 0;
    c->e[i].next = c->free_list;
    c->free_list = i;
    c->size--;
}

/* returns the value; *evicted gets the evicted key or KEYS if none */
static uint32_t lru_get(struct lru *c, uint32_t key, int *hit, uint32_t *evicted)
{
    int i = find(c, key);
    uint32_t b;
    *evicted = KEYS;
    if (i != NIL) {
        c->hits++;
        *hit = 1;
        list_unlink(c, i);
        list_push_front(c, i);
        return c->e[i].value;
    }
    c->misses++;
    *hit = 0;
    if (c->free_list == NIL) {
        *evicted = c->e[c->tail].key;
        drop(c, c->tail);
        c->evictions++;
    }
    i = c->free_list;
    c->free_list = c->e[i].next;
    c->e[i].key = key;
    c->e[i].value = compute_value(key);
    c->e[i].live = 1;
    b = bucket_of(key);
    c->e[i].chain = c->bucket[b];
    c->bucket[b] = i;
    list_push_front(c, i);
    c->size++;
    return c->e[i].value;
}

static int lru_invalidate(struct lru *c, uint32_t key)
{
    int i = find(c, key);
    if (i == NIL) return 0;
    drop(c, i);
    return 1;
}

/* ---- reference model ---------------------------------------------------------- */

static int ref_get(struct ref_model *r, uint32_t key, uint32_t *evicted)
{
    int i, oldest = 0;
    *evicted = KEYS;
    r->clock++;
    for (i = 0; i < r->used; i++)
        if (r->key[i] == key) {
            r->stamp[i] = r->clock;
            return 1;
        }
    if (r->used < CAP) {
        i = r->used++;
    } else {
        for (i = 1; i < CAP; i++)
            if (r->stamp[i] < r->stamp[oldest]) oldest = i;
        i = oldest;
        *evicted = r->key[i];
    }
    r->key[i] = key;
    r->stamp[i] = r->clock;
    return 0;
}

static int ref_invalidate(struct ref_model *r, uint32_t key)
{
    int i;
    for (i = 0; i < r->used; i++)
        if (r->key[i] == key) {
            r->used--;
            r->key[i] = r->key[r->used];
            r->stamp[i] = r->stamp[r->used];
            return 1;
        }
    return 0;
}

/* ---- ring buffer ------------------------------------------------------------- */

static int ring_push(struct ring *q, uint32_t v)
{
    if (q->wr - q->rd == RING) { q->overflows++; return 0; }
    q->buf[q->wr++ % RING] = v;
    return 1;
}

static int ring_pop(struct ring *q, uint32_t *v)
{
    if (q->wr == q->rd) return 0;
    *v = q->buf[q->rd++ % RING];
    return 1;
}

static uint32_t next_key(void)
{
    uint32_t r = rnd();
    switch (r & 3u) {
    case 0: case 1: return (r >> 8) % 48u;            /* hot set */
    case 2: return 48u + (r >> 8) % 160u;             /* warm set */
    default: return (r >> 8) % KEYS;                  /* cold scan */
    }
}

static struct lru cache;
static struct ref_model ref;
static struct ring ring;

int main(void)
{
    uint32_t h = 0, bad = 0, round, v;
    lru_init(&cache);
    memset(&ref, 0, sizeof ref);
    memset(&ring, 0, sizeof ring);

    for (round = 0; round < 3000u; round++) {
        uint32_t burst = 1u + rnd() % 24u, i, drain = 1u + rnd() % 20u;
        for (i = 0; i < burst; i++)
            ring_push(&ring, next_key());
        for (i = 0; i < drain && ring_pop(&ring, &v); i++) {
            int hit, rhit;
            uint32_t ev, rev, val;
            if ((v & 63u) == 5u && (rnd() & 1u)) {
                if (lru_invalidate(&cache, v) != ref_invalidate(&ref, v)) bad++;
                continue;
            }
            val = lru_get(&cache, v, &hit, &ev);
            rhit = ref_get(&ref, v, &rev);
            if (hit != rhit || ev != rev || val != compute_value(v)) bad++;
            h = mix(h, val ^ (uint32_t)hit);
            if (ev != KEYS) h = mix(h, ev);
        }
        if (cache.size != ref.used) bad++;
    }
    h = mix(h, cache.hits);
    h = mix(h, cache.misses);
    h = mix(h, cache.evictions);
    h = mix(h, ring.overflows);
    h = mix(h, ring.wr - ring.rd);
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "ds_lru", h);
    return bad == 0u ? 0 : 1;
}
