/* ds_avl: an AVL tree over a fixed node pool (indices instead of pointers)
 * with insert, delete, lookup, rank counting and in-order traversal.  A
 * presence bitmap serves as the reference; the tree's ordering, heights,
 * balance factors and size are validated periodically.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define KEYSPACE 8192u
#define POOL (KEYSPACE + 1u)
#define NIL 0

struct node {
    uint32_t key;
    uint32_t value;
    int left, right;
    int height;
};

static struct node pool[POOL];
static int free_head;
static int used_nodes;
static uint8_t present[KEYSPACE];

static uint32_t rs = 2463534242u;

static uint32_t xr(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}

static uint32_t mixv(uint32_t h, uint32_t v)
{
    h ^= v * 0xCC9E2D51u;
    h = (h << 13) | (h >> 19);
    return h * 5u + 0xE6546B64u;
}

static void pool_init(void)
{
    int i;
    memset(pool, 0, sizeof pool);
    for (i = 1; i < (int)POOL - 1; i++)
        pool[i].left = i + 1;
    pool[POOL - 1u].left = NIL;
    free_head = 1;
    used_nodes = 0;
}

static int node_alloc(uint32_t key, uint32_t value)
{
    int n = free_head;
    if (n == NIL)
        return NIL;
    free_head = pool[n].left;
    pool[n].key = key;
    pool[n].value = value;
    pool[n].left = pool[n].right = NIL;
    pool[n].height = 1;
    used_nodes++;
    return n;
}

static void node_free(int n)
{
    pool[n].left = free_head;
    free_head = n;
    used_nodes--;
}

static int height(int n) { return n == NIL ? 0 : pool[n].height; }
static int max_int(int a, int b) { return a > b ? a : b; }

static void update(int n)
{
    pool[n].height = 1 + max_int(height(pool[n].left), height(pool[n].right));
}

static int rotate_right(int y)
{
    int x = pool[y].left;
    pool[y].left = pool[x].right;
    pool[x].right = y;
    update(y);
    update(x);
    return x;
}

static int rotate_left(int x)
{
    int y = pool[x].right;
    pool[x].right = pool[y].left;
    pool[y].left = x;
    update(x);
    update(y);
    return y;
}

static int rebalance(int n)
{
    int bf;
    update(n);
    bf = height(pool[n].left) - height(pool[n].right);
    if (bf > 1) {
        if (height(pool[pool[n].left].left) < height(pool[pool[n].left].right))
            pool[n].left = rotate_left(pool[n].left);
        return rotate_right(n);
    }
    if (bf < -1) {
        if (height(pool[pool[n].right].right) < height(pool[pool[n].right].left))
            pool[n].right = rotate_right(pool[n].right);
        return rotate_left(n);
    }
    return n;
}

static int insert(int n, uint32_t key, uint32_t value, int *added)
{
    if (n == NIL) {
        int m = node_alloc(key, value);
        *added = (m != NIL);
        return m;
    }
    if (key < pool[n].key)
        pool[n].left = insert(pool[n].left, key, value, added);
    else if (key > pool[n].key)
        pool[n].right = insert(pool[n].right, key, value, added);
    else {
        pool[n].value = value;
        return n;
    }
    return rebalance(n);
}

static int remove_min(int n, int *min_node)
{
    if (pool[n].left == NIL) {
        *min_node = n;
        return pool[n].right;
    }
    pool[n].left = remove_min(pool[n].left, min_node);
    return rebalance(n);
}

static int erase(int n, uint32_t key, int *removed)
{
    if (n == NIL)
        return NIL;
    if (key < pool[n].key)
        pool[n].left = erase(pool[n].left, key, removed);
    else if (key > pool[n].key)
        pool[n].right = erase(pool[n].right, key, removed);
    else {
        int l = pool[n].left, r = pool[n].right, m;
        *removed = 1;
        node_free(n);
        if (r == NIL)
            return l;
        r = remove_min(r, &m);
        pool[m].left = l;
        pool[m].right = r;
        return rebalance(m);
    }
    return rebalance(n);
}

static int find(int n, uint32_t key)
{
    while (n != NIL && pool[n].key != key)
        n = key < pool[n].key ? pool[n].left : pool[n].right;
    return n;
}

/* number of keys strictly less than key */
static uint32_t count_less(int n, uint32_t key)
{
    uint32_t c = 0;
    while (n != NIL) {
        if (pool[n].key < key) {
            c++;
            /* count the whole left subtree by walking it */
            {
                int stack[64], sp = 0, m = pool[n].left;
                while (m != NIL || sp > 0) {
                    while (m != NIL) { stack[sp++] = m; m = pool[m].left; }
                    m = stack[--sp];
                    c++;
                    m = pool[m].right;
                }
            }
            n = pool[n].right;
        } else {
            n = pool[n].left;
        }
    }
    return c;
}

/* returns subtree size, or -1 when an invariant is broken */
static int validate(int n, uint32_t lo, uint32_t hi)
{
    int ls, rs_, hl, hr;
    if (n == NIL)
        return 0;
    if (pool[n].key < lo || pool[n].key > hi)
        return -1;
    ls = validate(pool[n].left, lo, pool[n].key == 0u ? 0u : pool[n].key - 1u);
    if (pool[n].left != NIL && pool[n].key == 0u) return -1;
    rs_ = validate(pool[n].right, pool[n].key + 1u, hi);
    if (ls < 0 || rs_ < 0)
        return -1;
    hl = height(pool[n].left);
    hr = height(pool[n].right);
    if (pool[n].height != 1 + max_int(hl, hr) || hl - hr > 1 || hr - hl > 1)
        return -1;
    return ls + rs_ + 1;
}

static uint32_t inorder_hash(int root, uint32_t *count)
{
    int stack[64], sp = 0, n = root;
    uint32_t h = 0, prev = 0;
    *count = 0;
    while (n != NIL || sp > 0) {
        while (n != NIL) { stack[sp++] = n; n = pool[n].left; }
        n = stack[--sp];
        h = mixv(h, pool[n].key ^ (pool[n].value << 7) ^ (pool[n].key - prev));
        prev = pool[n].key;
        (*count)++;
        n = pool[n].right;
    }
    return h;
}

int main(void)
{
    int root = NIL;
    uint32_t h = 0, bad = 0, op, expected = 0, i;

    pool_init();
    memset(present, 0, sizeof present);
    for (op = 0; op < 12000u; op++) {
        uint32_t r = xr();
        uint32_t key = (r >> 3) % KEYSPACE;
        int added = 0, removed = 0;
        switch (r % 5u) {
        case 0: case 1: case 2:
            root = insert(root, key, op, &added);
            if (added != !present[key]) bad++;
            if (!present[key]) { present[key] = 1; expected++; }
            break;
        case 3:
            root = erase(root, key, &removed);
            if (removed != present[key]) bad++;
            if (present[key]) { present[key] = 0; expected--; }
            break;
        default:
            if ((find(root, key) != NIL) != present[key]) bad++;
            break;
        }
        if (op % 1500u == 1499u) {
            uint32_t less = 0, k;
            int size = validate(root, 0u, KEYSPACE);
            if (size < 0 || (uint32_t)size != expected || used_nodes != size) bad++;
            for (k = 0; k < key; k++) less += present[k];
            if (count_less(root, key) != less) bad++;
            h = mixv(h, (uint32_t)height(root));
            h = mixv(h, less);
        }
    }
    {
        uint32_t cnt;
        h = mixv(h, inorder_hash(root, &cnt));
        if (cnt != expected) bad++;
    }
    /* drain everything in a scrambled order */
    for (i = 0; i < KEYSPACE; i++) {
        uint32_t key = (i * 2654435761u) % KEYSPACE; /* odd multiplier: permutation */
        int removed = 0;
        root = erase(root, key, &removed);
        if (removed != present[key]) bad++;
        present[key] = 0;
    }
    if (root != NIL || used_nodes != 0) bad++;
    h = mixv(h, bad);
    printf("%s %08" PRIx32 "\n", "ds_avl", h);
    return bad == 0u ? 0 : 1;
}
