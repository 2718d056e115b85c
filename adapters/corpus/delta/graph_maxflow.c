/* graph_maxflow: Edmonds-Karp maximum flow (BFS augmenting paths on a
 * residual capacity matrix).  Each result is certified by an s-t cut of
 * equal capacity found from the final residual graph, plus capacity and
 * conservation checks; a textbook network with a known answer is included.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define MAXN 64

struct network {
    int n;
    int32_t cap[MAXN][MAXN];
    int32_t res[MAXN][MAXN];
};

struct stats {
    uint32_t augmentations;
    uint32_t bfs_visits;
    uint32_t path_len_sum;
};

static uint32_t st = 0x0BADF00Du;

static uint32_t rnd(void)
{
    st = st * 1664525u + 1013904223u;
    return st >> 7;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x5BD1E995u;
    h ^= h >> 15;
    return h;
}

static void net_clear(struct network *g, int n)
{
    memset(g, 0, sizeof *g);
    g->n = n;
}

static void add_edge(struct network *g, int u, int v, int32_t c)
{
    if (u == v)
        return;
    g->cap[u][v] += c;
}

static int bfs(const struct network *g, int s, int t, int *parent, struct stats *stt)
{
    int queue[MAXN];
    int head = 0, tail = 0, v;
    for (v = 0; v < g->n; v++)
        parent[v] = -1;
    parent[s] = s;
    queue[tail++] = s;
    while (head < tail) {
        int u = queue[head++];
        stt->bfs_visits++;
        for (v = 0; v < g->n; v++) {
            if (parent[v] == -1 && g->res[u][v] > 0) {
                parent[v] = u;
                if (v == t)
                    return 1;
                queue[tail++] = v;
            }
        }
    }
    return 0;
}

static int32_t max_flow(struct network *g, int s, int t, struct stats *stt)
{
    int parent[MAXN];
    int32_t flow = 0;
    memcpy(g->res, g->cap, sizeof g->res);
    while (bfs(g, s, t, parent, stt)) {
        int32_t b = INT32_MAX;
        int v;
        uint32_t len = 0;
        for (v = t; v != s; v = parent[v]) {
            int u = parent[v];
            if (g->res[u][v] < b)
                b = g->res[u][v];
            len++;
        }
        for (v = t; v != s; v = parent[v]) {
            int u = parent[v];
            g->res[u][v] -= b;
            g->res[v][u] += b;
        }
        flow += b;
        stt->augmentations++;
        stt->path_len_sum += len;
    }
    return flow;
}

/* capacity of the cut (reachable set from s in the residual graph) */
static int32_t min_cut(const struct network *g, int s, uint8_t *side)
{
    int stack[MAXN], sp = 0, u, v;
    int32_t cut = 0;
    memset(side, 0, MAXN);
    side[s] = 1;
    stack[sp++] = s;
    while (sp > 0) {
        u = stack[--sp];
        for (v = 0; v < g->n; v++)
            if (!side[v] && g->res[u][v] > 0) {
                side[v] = 1;
                stack[sp++] = v;
            }
    }
    for (u = 0; u < g->n; u++)
        for (v = 0; v < g->n; v++)
            if (side[u] && !side[v])
                cut += g->cap[u][v];
    return cut;
}

static uint32_t verify_flow(const struct network *g, int s, int t, int32_t value)
{
    uint32_t bad = 0;
    int u, v;
    for (u = 0; u < g->n; u++) {
        int32_t net = 0;
        for (v = 0; v < g->n; v++) {
            int32_t f = g->cap[u][v] - g->res[u][v]; /* skew-symmetric net flow */
            if (f > g->cap[u][v]) bad++;
            if (f != -(g->cap[v][u] - g->res[v][u])) bad++;
            net += f;
        }
        if (u == s && net != value) bad++;
        if (u == t && net != -value) bad++;
        if (u != s && u != t && net != 0) bad++;
    }
    return bad;
}

static struct network g;

int main(void)
{
    struct stats stt;
    uint8_t side[MAXN];
    uint32_t h = 0, bad = 0;
    int32_t f, c;
    int trial;

    /* the classic six-node example: max flow 23 */
    net_clear(&g, 6);
    add_edge(&g, 0, 1, 16); add_edge(&g, 0, 2, 13); add_edge(&g, 1, 3, 12);
    add_edge(&g, 2, 1, 4);  add_edge(&g, 2, 4, 14); add_edge(&g, 3, 2, 9);
    add_edge(&g, 3, 5, 20); add_edge(&g, 4, 3, 7);  add_edge(&g, 4, 5, 4);
    memset(&stt, 0, sizeof stt);
    f = max_flow(&g, 0, 5, &stt);
    c = min_cut(&g, 0, side);
    if (f != 23 || c != 23) bad++;
    bad += verify_flow(&g, 0, 5, f);
    h = mix(h, (uint32_t)f);
    h = mix(h, stt.augmentations);

    for (trial = 0; trial < 10; trial++) {
        int n = 20 + trial * 4, u, v, k;
        uint32_t density = 8u + (uint32_t)trial * 3u;
        net_clear(&g, n);
        for (u = 0; u < n; u++)
            for (v = 0; v < n; v++)
                if (rnd() % 100u < density)
                    add_edge(&g, u, v, (int32_t)(1u + rnd() % 100u));
        /* a few wide layered edges to make long augmenting paths */
        for (k = 0; k + 1 < n; k += 3)
            add_edge(&g, k, k + 1, (int32_t)(rnd() % 30u));
        memset(&stt, 0, sizeof stt);
        f = max_flow(&g, 0, n - 1, &stt);
        c = min_cut(&g, 0, side);
        if (f != c || side[n - 1]) bad++;
        bad += verify_flow(&g, 0, n - 1, f);
        h = mix(h, (uint32_t)f);
        h = mix(h, stt.augmentations);
        h = mix(h, stt.bfs_visits);
        h = mix(h, stt.path_len_sum);
        for (u = 0; u < n; u++)
            h = mix(h, side[u]);
    }
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "graph_maxflow", h);
    return bad == 0u ? 0 : 1;
}
