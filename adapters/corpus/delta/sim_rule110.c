/* sim_rule110: elementary cellular automata on a 256-cell ring.  A generic
 * per-cell implementation driven by the Wolfram rule number is compared
 * against hand-derived bitwise formulas for rules 30, 90, 110 and 184 that
 * process 64 cells per word.  Rule 184 conserves its population and rule 90
 * grown from one cell follows the Sierpinski counts 2^popcount(t).
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define CELLS 256
#define WORDS (CELLS / 64)
#define GENS 400

static uint8_t line_a[CELLS], line_b[CELLS];
static uint64_t wa[WORDS], wb[WORDS];

static uint32_t seed = 0x5EED1234u;

static uint32_t rnd(void)
{
    seed = seed * 747796405u + 2891336453u;
    return ((seed >> ((seed >> 28) + 4u)) ^ seed) * 277803737u;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x9E3779B1u;
    return h ^ (h >> 16);
}

static uint32_t popcount64(uint64_t v)
{
    uint32_t n = 0;
    while (v) {
        v &= v - 1u;
        n++;
    }
    return n;
}

/* ---- generic, one byte per cell ------------------------------------------------ */

static void step_generic(const uint8_t *cur, uint8_t *next, uint32_t rule)
{
    int i;
    for (i = 0; i < CELLS; i++) {
        uint32_t l = cur[(i + CELLS - 1) % CELLS];
        uint32_t c = cur[i];
        uint32_t r = cur[(i + 1) % CELLS];
        uint32_t idx = (l << 2) | (c << 1) | r;
        next[i] = (uint8_t)((rule >> idx) & 1u);
    }
}

/* ---- bitwise, 64 cells per word; cell i is bit (i % 64) of word i / 64 ---- */

static uint64_t left_of(const uint64_t *w, int k)
{
    return (w[k] << 1) | (w[(k + WORDS - 1) % WORDS] >> 63);
}

static uint64_t right_of(const uint64_t *w, int k)
{
    return (w[k] >> 1) | (w[(k + 1) % WORDS] << 63);
}

static void step_bitwise(const uint64_t *cur, uint64_t *next, uint32_t rule)
{
    int k;
    for (k = 0; k < WORDS; k++) {
        uint64_t l = left_of(cur, k), c = cur[k], r = right_of(cur, k), v;
        switch (rule) {
        case 30:  v = l ^ (c | r); break;
        case 90:  v = l ^ r; break;
        case 110: v = (c ^ r) | (c & ~l); break;
        case 184: v = (l & ~c) | (c & r); break;
        default: {
            /* sum of minterms, valid for any rule */
            uint32_t idx;
            v = 0;
            for (idx = 0; idx < 8u; idx++) {
                uint64_t t;
                if (!((rule >> idx) & 1u)) continue;
                t = ((idx & 4u) ? l : ~l) & ((idx & 2u) ? c : ~c) & ((idx & 1u) ? r : ~r);
                v |= t;
            }
            break;
        }
        }
        next[k] = v;
    }
}

static void pack(const uint8_t *cells, uint64_t *w)
{
    int i;
    memset(w, 0, sizeof(uint64_t) * WORDS);
    for (i = 0; i < CELLS; i++)
        w[i / 64] |= (uint64_t)cells[i] << (i % 64);
}

static int same(const uint8_t *cells, const uint64_t *w)
{
    int i;
    for (i = 0; i < CELLS; i++)
        if (((w[i / 64] >> (i % 64)) & 1u) != cells[i])
            return 0;
    return 1;
}

static uint32_t population(const uint64_t *w)
{
    uint32_t p = 0;
    int k;
    for (k = 0; k < WORDS; k++)
        p += popcount64(w[k]);
    return p;
}

static uint32_t run_rule(uint32_t rule, int single_seed, uint32_t *bad)
{
    uint8_t *cur = line_a, *nxt = line_b, *tb;
    uint64_t *wc = wa, *wn = wb, *tw;
    uint32_t h = rule, pop0;
    int g, i;

    for (i = 0; i < CELLS; i++)
        cur[i] = single_seed ? (uint8_t)(i == CELLS / 2) : (uint8_t)(rnd() % 3u == 0u);
    pack(cur, wc);
    pop0 = population(wc);
    for (g = 1; g <= GENS; g++) {
        step_generic(cur, nxt, rule);
        step_bitwise(wc, wn, rule);
        tb = cur; cur = nxt; nxt = tb;
        tw = wc; wc = wn; wn = tw;
        if (!same(cur, wc)) (*bad)++;
        if (rule == 184u && population(wc) != pop0) (*bad)++;
        if (rule == 90u && single_seed && g < CELLS / 2 &&
            population(wc) != (1u << popcount64((uint64_t)g))) (*bad)++;
        h = mix(h, population(wc));
        if ((g & 31) == 0)
            for (i = 0; i < WORDS; i++)
                h = mix(h, (uint32_t)wc[i] ^ (uint32_t)(wc[i] >> 32));
    }
    return h;
}

int main(void)
{
    static const uint32_t rules[] = {30u, 90u, 110u, 184u, 54u, 150u, 45u};
    uint32_t h = 0, bad = 0, i;
    for (i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        h = mix(h, run_rule(rules[i], 0, &bad));
        h = mix(h, run_rule(rules[i], 1, &bad));
    }
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "sim_rule110", h);
    return bad == 0u ? 0 : 1;
}
