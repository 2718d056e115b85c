/* Open-addressing hash map (linear probing, backward-shift deletion, growth
 * by rehashing) driven by a random operation stream and checked against a
 * direct-mapped shadow table. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define MAX_CAPACITY 4096u
#define KEY_SPACE 3000u
#define OPS 20000

enum op_kind { OP_INSERT, OP_DELETE, OP_LOOKUP, OP_ADD };

struct slot {
    uint32_t key; /* 0 means empty */
    uint32_t value;
};

struct table {
    struct slot slots[MAX_CAPACITY];
    uint32_t capacity; /* power of two */
    uint32_t count;
    uint32_t probes;
    uint32_t grows;
};

static struct table map;
static struct slot rehash_tmp[MAX_CAPACITY];
static uint32_t shadow_value[KEY_SPACE + 1];
static uint8_t shadow_present[KEY_SPACE + 1];
static uint32_t rng_x = 0x12345678u, rng_y = 0x9ABCDEF0u;

static uint32_t rng_next(void)
{
    uint32_t t = rng_x ^ (rng_x << 11);
    rng_x = rng_y;
    rng_y = rng_y ^ (rng_y >> 19) ^ t ^ (t >> 8);
    return rng_y;
}

static uint32_t hash_key(uint32_t k)
{
    k ^= k >> 16;
    k *= 0x7FEB352Du;
    k ^= k >> 15;
    k *= 0x846CA68Bu;
    k ^= k >> 16;
    return k;
}

static void table_init(struct table *t, uint32_t capacity)
{
    memset(t->slots, 0, sizeof t->slots);
    t->capacity = capacity;
    t->count = 0;
    t->probes = 0;
    t->grows = 0;
}

static uint32_t find_index(struct table *t, uint32_t key, int *found)
{
    uint32_t mask = t->capacity - 1u;
    uint32_t i = hash_key(key) & mask;
    for (;;) {
        t->probes++;
        if (t->slots[i].key == 0) {
            *found = 0;
            return i;
        }
        if (t->slots[i].key == key) {
            *found = 1;
            return i;
        }
        i = (i + 1u) & mask;
    }
}

static void table_put_raw(struct table *t, uint32_t key, uint32_t value)
{
    int found;
    uint32_t i = find_index(t, key, &found);
    if (!found) {
        t->slots[i].key = key;
        t->count++;
    }
    t->slots[i].value = value;
}

static void table_grow(struct table *t)
{
    uint32_t old_cap = t->capacity, i;
    if (old_cap >= MAX_CAPACITY)
        return;
    memcpy(rehash_tmp, t->slots, old_cap * sizeof(struct slot));
    memset(t->slots, 0, sizeof t->slots);
    t->capacity = old_cap * 2u;
    t->count = 0;
    for (i = 0; i < old_cap; i++) {
        if (rehash_tmp[i].key != 0)
            table_put_raw(t, rehash_tmp[i].key, rehash_tmp[i].value);
    }
    t->grows++;
}

static void table_put(struct table *t, uint32_t key, uint32_t value)
{
    /* keep the load factor at or below 3/4 */
    if ((t->count + 1u) * 4u > t->capacity * 3u)
        table_grow(t);
    table_put_raw(t, key, value);
}

static int table_get(struct table *t, uint32_t key, uint32_t *value)
{
    int found;
    uint32_t i = find_index(t, key, &found);
    if (found)
        *value = t->slots[i].value;
    return found;
}

static int table_delete(struct table *t, uint32_t key)
{
    int found;
    uint32_t mask = t->capacity - 1u;
    uint32_t hole = find_index(t, key, &found);
    uint32_t j;

    if (!found)
        return 0;
    t->slots[hole].key = 0;
    t->count--;
    j = hole;
    /* backward shift: move later entries of the cluster into the hole */
    for (;;) {
        uint32_t home, dist_hole, dist_j;
        j = (j + 1u) & mask;
        if (t->slots[j].key == 0)
            break;
        home = hash_key(t->slots[j].key) & mask;
        dist_j = (j - home) & mask;
        dist_hole = (hole - home) & mask;
        if (dist_hole < dist_j) {
            t->slots[hole] = t->slots[j];
            t->slots[j].key = 0;
            hole = j;
        }
    }
    return 1;
}

static uint32_t table_digest(const struct table *t)
{
    uint32_t h = 0, i;
    /* order independent digest of contents */
    for (i = 0; i < t->capacity; i++) {
        if (t->slots[i].key != 0)
            h += hash_key(t->slots[i].key ^ (t->slots[i].value * 0x9E3779B9u));
    }
    return h;
}

static uint32_t shadow_digest(void)
{
    uint32_t h = 0, k;
    for (k = 1; k <= KEY_SPACE; k++) {
        if (shadow_present[k])
            h += hash_key(k ^ (shadow_value[k] * 0x9E3779B9u));
    }
    return h;
}

int main(void)
{
    uint32_t checksum = 0x1F2E3D4Cu;
    uint32_t hits = 0, misses = 0, shadow_count = 0;
    int failed = 0;
    int op;

    table_init(&map, 16u);
    memset(shadow_present, 0, sizeof shadow_present);

    for (op = 0; op < OPS; op++) {
        uint32_t r = rng_next();
        uint32_t key = 1u + (r >> 8) % KEY_SPACE;
        uint32_t value = rng_next();
        uint32_t got = 0;
        enum op_kind kind;

        /* bias towards inserts early and deletes later */
        switch (r & 7u) {
        case 0: case 1: case 2:
            kind = (op < OPS / 2) ? OP_INSERT : OP_DELETE;
            break;
        case 3:
            kind = OP_DELETE;
            break;
        case 4:
            kind = OP_ADD;
            break;
        default:
            kind = OP_LOOKUP;
            break;
        }

        switch (kind) {
        case OP_INSERT:
            table_put(&map, key, value);
            if (!shadow_present[key])
                shadow_count++;
            shadow_present[key] = 1;
            shadow_value[key] = value;
            break;
        case OP_DELETE:
            if (table_delete(&map, key) != (int)shadow_present[key])
                failed = 1;
            if (shadow_present[key])
                shadow_count--;
            shadow_present[key] = 0;
            break;
        case OP_ADD:
            if (table_get(&map, key, &got))
                got += value & 0xFFu;
            else
                got = value & 0xFFu;
            table_put(&map, key, got);
            shadow_value[key] = shadow_present[key] ? shadow_value[key] + (value & 0xFFu)
                                                    : (value & 0xFFu);
            if (!shadow_present[key])
                shadow_count++;
            shadow_present[key] = 1;
            break;
        case OP_LOOKUP:
            if (table_get(&map, key, &got)) {
                hits++;
                if (!shadow_present[key] || shadow_value[key] != got)
                    failed = 1;
                checksum ^= got + key;
            } else {
                misses++;
                if (shadow_present[key])
                    failed = 1;
            }
            break;
        }
        if ((op & 1023) == 1023) {
            if (map.count != shadow_count || table_digest(&map) != shadow_digest())
                failed = 1;
            checksum = (checksum << 3 | checksum >> 29) ^ table_digest(&map);
        }
    }

    checksum = checksum * 31u + hits;
    checksum = checksum * 31u + misses;
    checksum = checksum * 31u + map.count;
    checksum = checksum * 31u + map.capacity;
    checksum = checksum * 31u + map.grows;
    checksum = checksum * 31u + map.probes;
    checksum ^= (uint32_t)failed;

    printf("%s %08x\n", "hash_openaddr", (unsigned)checksum);
    return failed ? 1 : 0;
}
