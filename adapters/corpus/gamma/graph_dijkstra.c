/* graph_dijkstra: single-source shortest paths on a generated sparse
 * directed graph stored in CSR form, using a binary heap with decrease-key.
 * Results are cross-checked against an O(V^2) array-scan Dijkstra and
 * against the edge relaxation invariant.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define NV 400
#define OUT_DEG 5
#define NE (NV * (OUT_DEG + 1))
#define INF 0xFFFFFFFFu

struct graph {
    uint32_t first[NV + 1];
    uint32_t to[NE];
    uint32_t w[NE];
};

struct heap {
    uint32_t node[NV];
    uint32_t key[NV];
    int pos[NV];       /* -1 when not in heap */
    uint32_t size;
};

static uint32_t lcg = 12345u;

static uint32_t next_rand(void)
{
    lcg = lcg * 1103515245u + 12345u;
    return (lcg >> 8) & 0xFFFFFFu;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h += v;
    h ^= h << 10;
    h ^= h >> 6;
    return h;
}

static struct graph g;
static uint32_t esrc[NE], edst[NE], ewt[NE];

static void build_graph(void)
{
    uint32_t cnt[NV + 1];
    uint32_t fill[NV];
    uint32_t e = 0, u, k, i;

    for (u = 0; u < NV; u++) {
        /* a ring edge keeps everything reachable */
        esrc[e] = u; edst[e] = (u + 1u) % NV; ewt[e] = 50u + next_rand() % 200u; e++;
        for (k = 0; k < OUT_DEG; k++) {
            uint32_t v = next_rand() % NV;
            if (v == u) v = (v + 7u) % NV;
            esrc[e] = u; edst[e] = v; ewt[e] = 1u + next_rand() % 100u; e++;
        }
    }
    memset(cnt, 0, sizeof cnt);
    for (i = 0; i < e; i++)
        cnt[esrc[i] + 1u]++;
    for (u = 0; u < NV; u++)
        cnt[u + 1u] += cnt[u];
    memcpy(g.first, cnt, sizeof g.first);
    memcpy(fill, cnt, sizeof fill);
    for (i = 0; i < e; i++) {
        uint32_t at = fill[esrc[i]]++;
        g.to[at] = edst[i];
        g.w[at] = ewt[i];
    }
}

static void heap_swap(struct heap *h, uint32_t a, uint32_t b)
{
    uint32_t tn = h->node[a], tk = h->key[a];
    h->node[a] = h->node[b]; h->key[a] = h->key[b];
    h->node[b] = tn; h->key[b] = tk;
    h->pos[h->node[a]] = (int)a;
    h->pos[h->node[b]] = (int)b;
}

static void sift_up(struct heap *h, uint32_t i)
{
    while (i > 0u) {
        uint32_t p = (i - 1u) / 2u;
        if (h->key[p] <= h->key[i])
            break;
        heap_swap(h, p, i);
        i = p;
    }
}

static void sift_down(struct heap *h, uint32_t i)
{
    for (;;) {
        uint32_t l = 2u * i + 1u, r = l + 1u, m = i;
        if (l < h->size && h->key[l] < h->key[m]) m = l;
        if (r < h->size && h->key[r] < h->key[m]) m = r;
        if (m == i)
            break;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_push_or_decrease(struct heap *h, uint32_t node, uint32_t key)
{
    int p = h->pos[node];
    if (p < 0) {
        uint32_t i = h->size++;
        h->node[i] = node;
        h->key[i] = key;
        h->pos[node] = (int)i;
        sift_up(h, i);
    } else if (key < h->key[p]) {
        h->key[p] = key;
        sift_up(h, (uint32_t)p);
    }
}

static uint32_t heap_pop(struct heap *h)
{
    uint32_t top = h->node[0];
    h->size--;
    if (h->size > 0u) {
        heap_swap(h, 0, h->size);
        sift_down(h, 0);
    }
    h->pos[top] = -1;
    return top;
}

static uint32_t dijkstra_heap(uint32_t src, uint32_t *dist, uint32_t *parent)
{
    static struct heap h;
    uint32_t i, pops = 0;
    for (i = 0; i < NV; i++) {
        dist[i] = INF;
        parent[i] = INF;
        h.pos[i] = -1;
    }
    h.size = 0;
    dist[src] = 0;
    heap_push_or_decrease(&h, src, 0);
    while (h.size > 0u) {
        uint32_t u = heap_pop(&h), e;
        pops++;
        for (e = g.first[u]; e < g.first[u + 1u]; e++) {
            uint32_t v = g.to[e];
            uint32_t nd = dist[u] + g.w[e];
            if (nd < dist[v]) {
                dist[v] = nd;
                parent[v] = u;
                heap_push_or_decrease(&h, v, nd);
            }
        }
    }
    return pops;
}

static void dijkstra_scan(uint32_t src, uint32_t *dist)
{
    static uint8_t done[NV];
    uint32_t i, round;
    for (i = 0; i < NV; i++) {
        dist[i] = INF;
        done[i] = 0;
    }
    dist[src] = 0;
    for (round = 0; round < NV; round++) {
        uint32_t best = INF, u = INF, e;
        for (i = 0; i < NV; i++)
            if (!done[i] && dist[i] < best) {
                best = dist[i];
                u = i;
            }
        if (u == INF)
            break;
        done[u] = 1;
        for (e = g.first[u]; e < g.first[u + 1u]; e++)
            if (dist[u] + g.w[e] < dist[g.to[e]])
                dist[g.to[e]] = dist[u] + g.w[e];
    }
}

static uint32_t path_hops(const uint32_t *parent, uint32_t v)
{
    uint32_t hops = 0;
    while (parent[v] != INF && hops <= NV) {
        v = parent[v];
        hops++;
    }
    return hops;
}

int main(void)
{
    static uint32_t dist[NV], parent[NV], ref[NV];
    uint32_t h = 0, bad = 0, s, v, e;
    static const uint32_t sources[] = {0u, 17u, 123u, 256u, 399u, 42u};

    build_graph();
    for (s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        uint32_t src = sources[s];
        uint32_t pops = dijkstra_heap(src, dist, parent);
        h = mix(h, pops);
        for (v = 0; v < NV; v++) {
            h = mix(h, dist[v]);
            h = mix(h, path_hops(parent, v));
            if (dist[v] == INF) bad++;
        }
        for (v = 0; v < NV; v++)
            for (e = g.first[v]; e < g.first[v + 1u]; e++)
                if (dist[v] + g.w[e] < dist[g.to[e]]) bad++;
        if (s < 3u) {
            dijkstra_scan(src, ref);
            for (v = 0; v < NV; v++)
                if (ref[v] != dist[v]) bad++;
        }
    }
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "graph_dijkstra", h);
    return bad == 0u ? 0 : 1;
}
