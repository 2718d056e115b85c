/* sim_backtrack: backtracking search.  A Sudoku engine (bitmask candidates,
 * minimum-remaining-values cell choice) generates complete grids from a
 * seeded random order, digs holes while the solution stays unique, and then
 * re-solves the puzzles.  An N-queens counter with bitmasks checks the known
 * solution counts for N = 1..10.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define ALL 0x3FEu /* bits 1..9 */

struct sudoku {
    uint8_t cell[81];
    uint16_t row[9], col[9], box[9];
    uint32_t nodes;
};

static uint32_t rs = 0x9E3779B9u;

static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x01000193u;
    return h ^ (h >> 7);
}

static int box_of(int i) { return (i / 27) * 3 + (i % 9) / 3; }

static void sd_clear(struct sudoku *s)
{
    memset(s, 0, sizeof *s);
}

static void sd_set(struct sudoku *s, int i, int v)
{
    uint16_t bit = (uint16_t)(1u << v);
    s->cell[i] = (uint8_t)v;
    s->row[i / 9] |= bit;
    s->col[i % 9] |= bit;
    s->box[box_of(i)] |= bit;
}

static void sd_unset(struct sudoku *s, int i)
{
    uint16_t bit = (uint16_t)(1u << s->cell[i]);
    s->cell[i] = 0;
    s->row[i / 9] &= (uint16_t)~bit;
    s->col[i % 9] &= (uint16_t)~bit;
    s->box[box_of(i)] &= (uint16_t)~bit;
}

static int load(struct sudoku *s, const uint8_t *grid)
{
    int i;
    sd_clear(s);
    for (i = 0; i < 81; i++)
        if (grid[i]) {
            uint16_t used = s->row[i / 9] | s->col[i % 9] | s->box[box_of(i)];
            if (used & (1u << grid[i]))
                return 0;
            sd_set(s, i, grid[i]);
        }
    return 1;
}

static int popcount16(uint32_t v)
{
    int n = 0;
    while (v) { v &= v - 1u; n++; }
    return n;
}

/* picks the empty cell with fewest candidates; -1 when full, -2 on dead end */
static int choose(const struct sudoku *s, uint32_t *cands)
{
    int i, best = -1, best_n = 10;
    for (i = 0; i < 81; i++) {
        uint32_t c;
        int n;
        if (s->cell[i]) continue;
        c = ALL & ~(uint32_t)(s->row[i / 9] | s->col[i % 9] | s->box[box_of(i)]);
        n = popcount16(c);
        if (n == 0) return -2;
        if (n < best_n) {
            best_n = n;
            best = i;
            *cands = c;
            if (n == 1) break;
        }
    }
    return best;
}

/* counts solutions up to limit; keeps the first one found in out (if set).
 * With randomize, candidates are tried in a random rotation. */
static int solve(struct sudoku *s, int limit, uint8_t *out, int randomize)
{
    uint32_t cands = 0;
    int i = choose(s, &cands), found = 0, k, start;
    s->nodes++;
    if (i == -2) return 0;
    if (i == -1) {
        if (out) memcpy(out, s->cell, 81);
        return 1;
    }
    start = randomize ? (int)(rnd() % 9u) : 0;
    for (k = 0; k < 9 && found < limit; k++) {
        int v = 1 + (start + k) % 9;
        if (!(cands & (1u << v))) continue;
        sd_set(s, i, v);
        found += solve(s, limit - found, (found == 0) ? out : NULL, randomize);
        sd_unset(s, i);
    }
    return found;
}

static int valid_solution(const uint8_t *g)
{
    int u, k;
    for (u = 0; u < 9; u++) {
        uint32_t r = 0, c = 0, b = 0;
        for (k = 0; k < 9; k++) {
            r |= 1u << g[u * 9 + k];
            c |= 1u << g[k * 9 + u];
            b |= 1u << g[(u / 3) * 27 + (u % 3) * 3 + (k / 3) * 9 + k % 3];
        }
        if (r != ALL || c != ALL || b != ALL) return 0;
    }
    return 1;
}

static uint32_t queens(int n, uint32_t cols, uint32_t d1, uint32_t d2, uint32_t *nodes)
{
    uint32_t full = (1u << n) - 1u, avail, count = 0;
    (*nodes)++;
    if (cols == full) return 1;
    avail = full & ~(cols | d1 | d2);
    while (avail) {
        uint32_t bit = avail & (0u - avail);
        avail ^= bit;
        count += queens(n, cols | bit, ((d1 | bit) << 1) & full, (d2 | bit) >> 1, nodes);
    }
    return count;
}

int main(void)
{
    static const uint32_t known_q[11] = {0, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724};
    static struct sudoku s;
    uint8_t full[81], puzzle[81], sol[81], order[81];
    uint32_t h = 0, bad = 0, qnodes = 0;
    int p, i, n;

    for (n = 1; n <= 10; n++) {
        uint32_t c = queens(n, 0, 0, 0, &qnodes);
        if (c != known_q[n]) bad++;
        h = mix(h, c);
    }
    h = mix(h, qnodes);

    for (p = 0; p < 3; p++) {
        int clues = 81;
        sd_clear(&s);
        if (solve(&s, 1, full, 1) != 1 || !valid_solution(full)) bad++;
        memcpy(puzzle, full, 81);
        for (i = 0; i < 81; i++) order[i] = (uint8_t)i;
        for (i = 80; i > 0; i--) {
            int j = (int)(rnd() % (uint32_t)(i + 1));
            uint8_t t = order[i]; order[i] = order[j]; order[j] = t;
        }
        for (i = 0; i < 81; i++) {
            uint8_t keep = puzzle[order[i]];
            puzzle[order[i]] = 0;
            if (!load(&s, puzzle) || solve(&s, 2, NULL, 0) != 1)
                puzzle[order[i]] = keep;
            else
                clues--;
        }
        if (!load(&s, puzzle)) bad++;
        s.nodes = 0;
        if (solve(&s, 2, sol, 0) != 1) bad++;
        if (memcmp(sol, full, 81) != 0 || !valid_solution(sol)) bad++;
        h = mix(h, (uint32_t)clues);
        h = mix(h, s.nodes);
        for (i = 0; i < 81; i++)
            h = mix(h, (uint32_t)puzzle[i] * 16u + sol[i]);
    }
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "sim_backtrack", h);
    return bad == 0u ? 0 : 1;
}
