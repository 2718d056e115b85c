/* graph_kruskal: minimum spanning forest with Kruskal (counting sort of edge
 * weights + union-find with path halving and union by rank), checked against
 * Prim's O(V^2) algorithm on the adjacency matrix of the same graph.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define MAXV 160
#define MAXE 1400
#define MAXW 256u
#define NOEDGE 0xFFFFu

struct edge {
    uint16_t u, v;
    uint16_t w;
};

struct dsu {
    uint16_t parent[MAXV];
    uint8_t rank[MAXV];
    uint32_t sets;
};

static uint32_t state = 88172645u;

static uint32_t rand32(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint32_t hmix(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x27D4EB2Du;
    return h ^ (h >> 15);
}

static void dsu_init(struct dsu *d, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        d->parent[i] = (uint16_t)i;
        d->rank[i] = 0;
    }
    d->sets = n;
}

static uint32_t dsu_find(struct dsu *d, uint32_t x)
{
    while (d->parent[x] != x) {
        d->parent[x] = d->parent[d->parent[x]];
        x = d->parent[x];
    }
    return x;
}

static int dsu_union(struct dsu *d, uint32_t a, uint32_t b)
{
    a = dsu_find(d, a);
    b = dsu_find(d, b);
    if (a == b)
        return 0;
    if (d->rank[a] < d->rank[b]) {
        uint32_t t = a; a = b; b = t;
    }
    d->parent[b] = (uint16_t)a;
    if (d->rank[a] == d->rank[b])
        d->rank[a]++;
    d->sets--;
    return 1;
}

/* stable counting sort by weight */
static void sort_edges(const struct edge *in, struct edge *out, uint32_t m)
{
    uint32_t count[MAXW + 1u];
    uint32_t i;
    memset(count, 0, sizeof count);
    for (i = 0; i < m; i++)
        count[in[i].w + 1u]++;
    for (i = 0; i < MAXW; i++)
        count[i + 1u] += count[i];
    for (i = 0; i < m; i++)
        out[count[in[i].w]++] = in[i];
}

static uint32_t kruskal(const struct edge *sorted, uint32_t n, uint32_t m,
                        uint32_t *components, uint32_t *h)
{
    struct dsu d;
    uint32_t i, total = 0, taken = 0;
    dsu_init(&d, n);
    for (i = 0; i < m && taken + 1u < n; i++) {
        if (dsu_union(&d, sorted[i].u, sorted[i].v)) {
            total += sorted[i].w;
            taken++;
            *h = hmix(*h, (uint32_t)sorted[i].u << 16 | sorted[i].v);
        }
    }
    *components = d.sets;
    return total;
}

static uint16_t mat[MAXV][MAXV];

static uint32_t prim(uint32_t n, uint32_t *components)
{
    uint32_t key[MAXV];
    uint8_t in_tree[MAXV];
    uint32_t total = 0, added = 0, i;
    *components = 0;
    memset(in_tree, 0, sizeof in_tree);
    for (i = 0; i < n; i++)
        key[i] = 0xFFFFFFFFu;
    while (added < n) {
        uint32_t best = 0xFFFFFFFFu, u = n;
        for (i = 0; i < n; i++)
            if (!in_tree[i] && key[i] < best) {
                best = key[i];
                u = i;
            }
        if (u == n) {
            /* start a new tree at the first unreached vertex */
            for (i = 0; i < n; i++)
                if (!in_tree[i]) { u = i; break; }
            best = 0;
            (*components)++;
        }
        in_tree[u] = 1;
        added++;
        total += best;
        for (i = 0; i < n; i++)
            if (!in_tree[i] && mat[u][i] != NOEDGE && mat[u][i] < key[i])
                key[i] = mat[u][i];
    }
    return total;
}

int main(void)
{
    static struct edge edges[MAXE], sorted[MAXE];
    uint32_t h = 0, bad = 0, trial;

    for (trial = 0; trial < 8; trial++) {
        uint32_t n = 40u + trial * 15u;
        uint32_t m = n * (1u + trial % 4u) + trial * 3u;
        uint32_t i, j, kc, pc, kw, pw, e = 0;
        if (m > MAXE) m = MAXE;
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++)
                mat[i][j] = NOEDGE;
        while (e < m) {
            uint32_t u = rand32() % n, v = rand32() % n;
            uint32_t w = 1u + rand32() % (MAXW - 1u);
            if (u == v)
                continue;
            edges[e].u = (uint16_t)u;
            edges[e].v = (uint16_t)v;
            edges[e].w = (uint16_t)w;
            if (w < mat[u][v]) {
                mat[u][v] = (uint16_t)w;
                mat[v][u] = (uint16_t)w;
            }
            e++;
        }
        sort_edges(edges, sorted, m);
        for (i = 1; i < m; i++)
            if (sorted[i - 1u].w > sorted[i].w) bad++;
        kw = kruskal(sorted, n, m, &kc, &h);
        pw = prim(n, &pc);
        if (kw != pw || kc != pc) bad++;
        h = hmix(h, kw);
        h = hmix(h, kc);
    }
    h = hmix(h, bad);
    printf("%s %08" PRIx32 "\n", "graph_kruskal", h);
    return bad == 0u ? 0 : 1;
}
