/* ds_skiplist: a skip list over a fixed node pool with levels drawn from a
 * deterministic xorshift generator (p = 1/4): insert-or-update, erase, find,
 * range sums, floor queries and a full structural audit, all compared with a
 * direct-indexed reference table.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define MAX_LEVEL 12
#define KEYSPACE 4096u
#define POOL ((int)KEYSPACE + 1)
#define HEAD 0
#define NIL (-1)

struct node {
    uint32_t key, value;
    int level;
    int next[MAX_LEVEL];
};

struct skiplist {
    struct node n[POOL];
    int level;      /* levels in use, >= 1 */
    int free_list;
    uint32_t size;
    uint32_t steps; /* pointer hops, for the checksum */
};

static uint32_t xs = 0x1F2E3D4Cu;

static uint32_t xorshift32(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 17;
    xs ^= xs << 5;
    return xs;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v + 0x9E3779B9u + (h << 6) + (h >> 2);
    return h;
}

static int random_level(void)
{
    uint32_t r = xorshift32();
    int lvl = 1;
    while (lvl < MAX_LEVEL && (r & 3u) == 0u) {
        lvl++;
        r >>= 2;
    }
    return lvl;
}

static void sl_init(struct skiplist *s)
{
    int i, l;
    memset(s, 0, sizeof *s);
    for (l = 0; l < MAX_LEVEL; l++)
        s->n[HEAD].next[l] = NIL;
    s->n[HEAD].level = MAX_LEVEL;
    s->level = 1;
    for (i = 1; i < POOL; i++)
        s->n[i].next[0] = i + 1 < POOL ? i + 1 : NIL;
    s->free_list = 1;
}

/* fills update[] with the last node before key on every level */
static int search(struct skiplist *s, uint32_t key, int *update)
{
    int x = HEAD, l;
    for (l = s->level - 1; l >= 0; l--) {
        int y = s->n[x].next[l];
        while (y != NIL && s->n[y].key < key) {
            x = y;
            y = s->n[x].next[l];
            s->steps++;
        }
        if (update) update[l] = x;
    }
    x = s->n[x].next[0];
    return (x != NIL && s->n[x].key == key) ? x : NIL;
}

static int sl_insert(struct skiplist *s, uint32_t key, uint32_t value)
{
    int update[MAX_LEVEL], x, lvl, l;
    x = search(s, key, update);
    if (x != NIL) {
        s->n[x].value = value;
        return 0;
    }
    if (s->free_list == NIL)
        return -1;
    x = s->free_list;
    s->free_list = s->n[x].next[0];
    lvl = random_level();
    for (l = s->level; l < lvl; l++)
        update[l] = HEAD;
    if (lvl > s->level)
        s->level = lvl;
    s->n[x].key = key;
    s->n[x].value = value;
    s->n[x].level = lvl;
    for (l = 0; l < lvl; l++) {
        s->n[x].next[l] = s->n[update[l]].next[l];
        s->n[update[l]].next[l] = x;
    }
    s->size++;
    return 1;
}

static int sl_erase(struct skiplist *s, uint32_t key)
{
    int update[MAX_LEVEL], x, l;
    x = search(s, key, update);
    if (x == NIL)
        return 0;
    for (l = 0; l < s->n[x].level; l++)
        if (s->n[update[l]].next[l] == x)
            s->n[update[l]].next[l] = s->n[x].next[l];
    while (s->level > 1 && s->n[HEAD].next[s->level - 1] == NIL)
        s->level--;
    s->n[x].next[0] = s->free_list;
    s->free_list = x;
    s->size--;
    return 1;
}

static uint64_t sl_range_sum(struct skiplist *s, uint32_t lo, uint32_t hi, uint32_t *count)
{
    uint64_t sum = 0;
    int update[MAX_LEVEL], x;
    search(s, lo, update);
    x = s->n[update[0]].next[0];
    *count = 0;
    while (x != NIL && s->n[x].key <= hi) {
        sum += s->n[x].value;
        (*count)++;
        x = s->n[x].next[0];
    }
    return sum;
}

/* greatest key <= key, or KEYSPACE if none */
static uint32_t sl_floor(struct skiplist *s, uint32_t key)
{
    int update[MAX_LEVEL], x = search(s, key, update);
    if (x != NIL) return key;
    return update[0] == HEAD ? KEYSPACE : s->n[update[0]].key;
}

static uint32_t audit(const struct skiplist *s)
{
    uint32_t bad = 0, count = 0;
    int l, x;
    for (l = 0; l < MAX_LEVEL; l++) {
        uint32_t prev = 0;
        int first = 1;
        if (l >= s->level && s->n[HEAD].next[l] != NIL) bad++;
        for (x = s->n[HEAD].next[l]; x != NIL; x = s->n[x].next[l]) {
            if (!first && s->n[x].key <= prev) bad++;
            if (s->n[x].level <= l) bad++;
            prev = s->n[x].key;
            first = 0;
            if (l == 0) count++;
        }
    }
    return bad + (count != s->size);
}

static struct skiplist sl;
static uint32_t ref_val[KEYSPACE];
static uint8_t ref_has[KEYSPACE];

int main(void)
{
    uint32_t h = 0, bad = 0, ref_size = 0, op;
    sl_init(&sl);
    memset(ref_has, 0, sizeof ref_has);

    for (op = 0; op < 16000u; op++) {
        uint32_t r = xorshift32();
        uint32_t key = (r >> 4) % KEYSPACE;
        switch (r & 7u) {
        case 0: case 1: case 2: {
            int res = sl_insert(&sl, key, op);
            if (res < 0) { bad++; break; }
            if (res != !ref_has[key]) bad++;
            if (!ref_has[key]) ref_size++;
            ref_has[key] = 1;
            ref_val[key] = op;
            break;
        }
        case 3: case 4: {
            int res = sl_erase(&sl, key);
            if (res != ref_has[key]) bad++;
            if (ref_has[key]) ref_size--;
            ref_has[key] = 0;
            break;
        }
        case 5: {
            int x = search(&sl, key, NULL);
            if ((x != NIL) != ref_has[key]) bad++;
            if (x != NIL && sl.n[x].value != ref_val[key]) bad++;
            break;
        }
        case 6: {
            uint32_t hi = key + (r >> 20) % 200u, cnt, rc = 0, k;
            uint64_t sum = sl_range_sum(&sl, key, hi, &cnt), rs = 0;
            for (k = key; k <= hi && k < KEYSPACE; k++)
                if (ref_has[k]) { rs += ref_val[k]; rc++; }
            if (sum != rs || cnt != rc) bad++;
            h = mix(h, (uint32_t)sum);
            break;
        }
        default: {
            uint32_t f = sl_floor(&sl, key), k = key + 1u;
            uint32_t expect = KEYSPACE;
            while (k > 0u) {
                k--;
                if (ref_has[k]) { expect = k; break; }
            }
            if (f != expect) bad++;
            h = mix(h, f);
            break;
        }
        }
        if (sl.size != ref_size) bad++;
        if ((op & 1023u) == 1023u) {
            bad += audit(&sl);
            h = mix(h, (uint32_t)sl.level);
        }
    }
    bad += audit(&sl);
    h = mix(h, sl.size);
    h = mix(h, sl.steps);
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "ds_skiplist", h);
    return bad == 0u ? 0 : 1;
}
