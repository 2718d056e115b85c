/* graph_toposort: topological ordering of a generated DAG two ways (Kahn's
 * BFS with a FIFO queue, and an iterative DFS producing reverse postorder),
 * a critical-path computation over the order, multi-source BFS levels and
 * cycle detection after a back edge is injected.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define NV 320
#define MAXE 2000

struct dag {
    uint32_t nv, ne;
    uint32_t src[MAXE], dst[MAXE];
    uint32_t first[NV + 1];
    uint32_t adj[MAXE];
    uint32_t cost[NV];
};

static uint32_t xs = 0xC0FFEE11u;

static uint32_t xorshift(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 17;
    xs ^= xs << 5;
    return xs;
}

static uint32_t mixin(uint32_t h, uint32_t v)
{
    h ^= v + 0x9E3779B9u + (h << 6) + (h >> 2);
    return h;
}

static void build_csr(struct dag *d)
{
    uint32_t fill[NV];
    uint32_t i;
    memset(d->first, 0, sizeof d->first);
    for (i = 0; i < d->ne; i++)
        d->first[d->src[i] + 1u]++;
    for (i = 0; i < d->nv; i++)
        d->first[i + 1u] += d->first[i];
    for (i = 0; i < d->nv; i++)
        fill[i] = d->first[i];
    for (i = 0; i < d->ne; i++)
        d->adj[fill[d->src[i]]++] = d->dst[i];
}

static void generate(struct dag *d, uint32_t nv, uint32_t ne)
{
    uint32_t rank_to_node[NV];
    uint32_t i;
    d->nv = nv;
    for (i = 0; i < nv; i++)
        rank_to_node[i] = i;
    for (i = nv - 1u; i > 0u; i--) {
        uint32_t j = xorshift() % (i + 1u), t = rank_to_node[i];
        rank_to_node[i] = rank_to_node[j];
        rank_to_node[j] = t;
    }
    d->ne = 0;
    while (d->ne < ne) {
        uint32_t a = xorshift() % nv, span = 1u + xorshift() % 24u;
        uint32_t b = a + span;
        if (b >= nv)
            continue;
        d->src[d->ne] = rank_to_node[a];
        d->dst[d->ne] = rank_to_node[b];
        d->ne++;
    }
    for (i = 0; i < nv; i++)
        d->cost[i] = 1u + xorshift() % 17u;
    build_csr(d);
}

/* Kahn's algorithm.  Returns the number of nodes output (< nv means cycle). */
static uint32_t kahn(const struct dag *d, uint32_t *order)
{
    uint32_t indeg[NV];
    uint32_t queue[NV];
    uint32_t head = 0, tail = 0, i, e;
    memset(indeg, 0, sizeof indeg);
    for (i = 0; i < d->ne; i++)
        indeg[d->dst[i]]++;
    for (i = 0; i < d->nv; i++)
        if (indeg[i] == 0u)
            queue[tail++] = i;
    while (head < tail) {
        uint32_t u = queue[head++];
        order[head - 1u] = u;
        for (e = d->first[u]; e < d->first[u + 1u]; e++)
            if (--indeg[d->adj[e]] == 0u)
                queue[tail++] = d->adj[e];
    }
    return head;
}

/* Iterative DFS; writes reverse postorder.  Returns 1 if a cycle was seen. */
static int dfs_order(const struct dag *d, uint32_t *order)
{
    enum { WHITE, GREY, BLACK };
    uint8_t color[NV];
    uint32_t stack_node[NV], stack_edge[NV];
    uint32_t sp, out = d->nv, root;
    int cyclic = 0;
    memset(color, WHITE, sizeof color);
    for (root = 0; root < d->nv; root++) {
        if (color[root] != WHITE)
            continue;
        sp = 0;
        stack_node[sp] = root;
        stack_edge[sp] = d->first[root];
        sp++;
        color[root] = GREY;
        while (sp > 0u) {
            uint32_t u = stack_node[sp - 1u];
            if (stack_edge[sp - 1u] < d->first[u + 1u]) {
                uint32_t v = d->adj[stack_edge[sp - 1u]++];
                switch (color[v]) {
                case WHITE:
                    color[v] = GREY;
                    stack_node[sp] = v;
                    stack_edge[sp] = d->first[v];
                    sp++;
                    break;
                case GREY:
                    cyclic = 1;
                    break;
                default:
                    break;
                }
            } else {
                color[u] = BLACK;
                order[--out] = u;
                sp--;
            }
        }
    }
    return cyclic;
}

static uint32_t check_order(const struct dag *d, const uint32_t *order)
{
    uint32_t pos[NV];
    uint32_t i, bad = 0;
    for (i = 0; i < d->nv; i++)
        pos[i] = 0xFFFFFFFFu;
    for (i = 0; i < d->nv; i++) {
        if (pos[order[i]] != 0xFFFFFFFFu) bad++;
        pos[order[i]] = i;
    }
    for (i = 0; i < d->ne; i++)
        if (pos[d->src[i]] >= pos[d->dst[i]]) bad++;
    return bad;
}

static uint32_t critical_path(const struct dag *d, const uint32_t *order, uint32_t *finish)
{
    uint32_t i, e, best = 0;
    for (i = 0; i < d->nv; i++)
        finish[i] = 0;
    for (i = 0; i < d->nv; i++) {
        uint32_t u = order[i];
        uint32_t f = finish[u] + d->cost[u];
        finish[u] = f;
        if (f > best) best = f;
        for (e = d->first[u]; e < d->first[u + 1u]; e++)
            if (f > finish[d->adj[e]])
                finish[d->adj[e]] = f; /* start time of successor */
    }
    return best;
}

static uint32_t bfs_levels(const struct dag *d, uint32_t *level)
{
    uint32_t indeg[NV], queue[NV];
    uint32_t head = 0, tail = 0, i, e, maxl = 0;
    memset(indeg, 0, sizeof indeg);
    for (i = 0; i < d->ne; i++)
        indeg[d->dst[i]]++;
    for (i = 0; i < d->nv; i++) {
        level[i] = 0xFFFFFFFFu;
        if (indeg[i] == 0u) {
            level[i] = 0;
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        uint32_t u = queue[head++];
        for (e = d->first[u]; e < d->first[u + 1u]; e++) {
            uint32_t v = d->adj[e];
            if (level[v] == 0xFFFFFFFFu) {
                level[v] = level[u] + 1u;
                if (level[v] > maxl) maxl = level[v];
                queue[tail++] = v;
            }
        }
    }
    return maxl;
}

int main(void)
{
    static struct dag d;
    static uint32_t o1[NV], o2[NV], fin[NV], lvl[NV];
    uint32_t h = 0, bad = 0, round, i;

    for (round = 0; round < 6; round++) {
        uint32_t nv = 120u + round * 40u;
        uint32_t ne = nv * (2u + round % 3u);
        uint32_t n1, cp1, cp2;
        generate(&d, nv, ne);
        n1 = kahn(&d, o1);
        if (n1 != nv) bad++;
        if (dfs_order(&d, o2)) bad++;
        bad += check_order(&d, o1);
        bad += check_order(&d, o2);
        cp1 = critical_path(&d, o1, fin);
        cp2 = critical_path(&d, o2, fin);
        if (cp1 != cp2) bad++;
        h = mixin(h, cp1);
        h = mixin(h, bfs_levels(&d, lvl));
        for (i = 0; i < nv; i++) {
            h = mixin(h, o1[i] * 2654435761u ^ o2[i]);
            h = mixin(h, lvl[i] + fin[i]);
        }
        /* inject a back edge along a path: dst of the first edge -> its src */
        d.src[d.ne] = d.dst[0];
        d.dst[d.ne] = d.src[0];
        d.ne++;
        build_csr(&d);
        n1 = kahn(&d, o1);
        if (n1 >= nv) bad++;
        if (!dfs_order(&d, o2)) bad++;
        h = mixin(h, n1);
    }
    h = mixin(h, bad);
    printf("%s %08" PRIx32 "\n", "graph_toposort", h);
    return bad == 0u ? 0 : 1;
}
