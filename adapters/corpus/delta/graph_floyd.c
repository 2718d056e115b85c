/* graph_floyd: all-pairs shortest paths with Floyd-Warshall on small dense
 * directed graphs that have negative edges but no negative cycles (weights
 * are shifted by vertex potentials).  Paths are rebuilt from a successor
 * matrix and re-summed, reachability is checked against a bitset transitive
 * closure, and a few rows are checked against Bellman-Ford.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define N 56
#define INF 0x3FFFFFFF
#define WORDS ((N + 31) / 32)

static int32_t w[N][N];
static int32_t dist[N][N];
static int16_t nxt[N][N];
static uint32_t reach[N][WORDS];
static int32_t pot[N];

static uint32_t seed = 0xA5A5F00Du;

static uint32_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h += v * 0x85EBCA77u;
    h = (h << 13) | (h >> 19);
    return h * 0xC2B2AE3Du;
}

static void generate(int n, uint32_t density)
{
    int i, j;
    for (i = 0; i < n; i++)
        pot[i] = (int32_t)(rnd() % 40u);
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            if (i == j)
                w[i][j] = 0;
            else if (rnd() % 100u < density)
                w[i][j] = (int32_t)(1u + rnd() % 60u) + pot[i] - pot[j];
            else
                w[i][j] = INF;
        }
}

static void floyd(int n)
{
    int i, j, k;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            dist[i][j] = w[i][j];
            nxt[i][j] = (int16_t)(w[i][j] < INF ? j : -1);
        }
    for (k = 0; k < n; k++)
        for (i = 0; i < n; i++) {
            int32_t dik = dist[i][k];
            if (dik >= INF)
                continue;
            for (j = 0; j < n; j++) {
                int32_t dkj = dist[k][j];
                if (dkj < INF && dik + dkj < dist[i][j]) {
                    dist[i][j] = dik + dkj;
                    nxt[i][j] = nxt[i][k];
                }
            }
        }
}

static void closure(int n)
{
    int i, j, k;
    memset(reach, 0, sizeof reach);
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            if (w[i][j] < INF)
                reach[i][j / 32] |= 1u << (j % 32);
    for (k = 0; k < n; k++)
        for (i = 0; i < n; i++)
            if ((reach[i][k / 32] >> (k % 32)) & 1u)
                for (j = 0; j < WORDS; j++)
                    reach[i][j] |= reach[k][j];
}

/* follows the successor matrix; returns number of hops or -1 */
static int walk_path(int n, int u, int v, int32_t *sum, uint32_t *h)
{
    int hops = 0;
    *sum = 0;
    while (u != v) {
        int x = nxt[u][v];
        if (x < 0 || hops > n)
            return -1;
        *sum += w[u][x];
        *h = mix(*h, (uint32_t)x);
        u = x;
        hops++;
    }
    return hops;
}

static int bellman_ford(int n, int src, int32_t *d)
{
    int round, u, v, changed = 1;
    for (v = 0; v < n; v++)
        d[v] = INF;
    d[src] = 0;
    for (round = 0; round < n && changed; round++) {
        changed = 0;
        for (u = 0; u < n; u++) {
            if (d[u] >= INF)
                continue;
            for (v = 0; v < n; v++)
                if (w[u][v] < INF && d[u] + w[u][v] < d[v]) {
                    d[v] = d[u] + w[u][v];
                    changed = 1;
                }
        }
    }
    return round;
}

int main(void)
{
    static const uint32_t densities[] = {4u, 8u, 15u, 30u, 60u};
    uint32_t h = 0, bad = 0, t;
    int32_t bf[N];

    for (t = 0; t < sizeof densities / sizeof densities[0]; t++) {
        int n = N - (int)t * 4, i, j;
        uint32_t reachable = 0;
        generate(n, densities[t]);
        floyd(n);
        closure(n);
        for (i = 0; i < n; i++) {
            if (dist[i][i] != 0) bad++;       /* no negative cycles */
            for (j = 0; j < n; j++) {
                int fin = dist[i][j] < INF;
                int r = (int)((reach[i][j / 32] >> (j % 32)) & 1u) || i == j;
                if (fin != r) bad++;
                if (fin) {
                    int32_t sum;
                    int hops = walk_path(n, i, j, &sum, &h);
                    reachable++;
                    if (hops < 0 || sum != dist[i][j]) bad++;
                    /* reduced cost with potentials must be non-negative */
                    if (dist[i][j] - pot[i] + pot[j] < 0) bad++;
                    h = mix(h, (uint32_t)dist[i][j]);
                    h = mix(h, (uint32_t)hops);
                }
            }
        }
        for (i = 0; i < n; i += 11) {
            h = mix(h, (uint32_t)bellman_ford(n, i, bf));
            for (j = 0; j < n; j++)
                if (bf[j] != dist[i][j]) bad++;
        }
        h = mix(h, reachable);
    }
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "graph_floyd", h);
    return bad == 0u ? 0 : 1;
}
