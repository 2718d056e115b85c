/* sim_life: Conway's Game of Life on a torus, implemented twice: a plain
 * byte-per-cell version with wrap-around neighbour counting, and a bit-sliced
 * version holding each 64-cell row in a uint64_t and adding the eight
 * neighbour planes with carry-save logic.  Both must agree every generation;
 * a glider and some oscillators provide known-answer checks.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define W 64
#define H 48
#define GENS 120

static uint8_t cells[H][W], scratch[H][W];
static uint64_t rows[H], rows_next[H];

static uint32_t lcg_state = 0xDEADBEEFu;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 22695477u + 1u;
    return lcg_state >> 9;
}

static uint32_t fold(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0xCC9E2D51u;
    return (h << 15) | (h >> 17);
}

/* ---- byte grid with arbitrary dimensions (w <= W, h <= H) ---------------- */

static int neighbours(uint8_t g[H][W], int w, int h, int y, int x)
{
    int dy, dx, n = 0;
    for (dy = -1; dy <= 1; dy++)
        for (dx = -1; dx <= 1; dx++) {
            if (dx == 0 && dy == 0)
                continue;
            n += g[(y + dy + h) % h][(x + dx + w) % w];
        }
    return n;
}

static uint32_t step_bytes(uint8_t g[H][W], int w, int h)
{
    int y, x;
    uint32_t pop = 0;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            int n = neighbours(g, w, h, y, x);
            uint8_t alive;
            switch (n) {
            case 2: alive = g[y][x]; break;
            case 3: alive = 1; break;
            default: alive = 0; break;
            }
            scratch[y][x] = alive;
            pop += alive;
        }
    for (y = 0; y < h; y++)
        memcpy(g[y], scratch[y], (size_t)w);
    return pop;
}

static void clear_grid(uint8_t g[H][W])
{
    memset(g, 0, sizeof(uint8_t) * W * H);
}

static int grids_equal_shifted(uint8_t a[H][W], uint8_t b[H][W], int w, int h, int sy, int sx)
{
    int y, x;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            if (a[y][x] != b[(y + sy) % h][(x + sx) % w])
                return 0;
    return 1;
}

/* ---- bit-sliced rows ------------------------------------------------------ */

static uint64_t rotl1(uint64_t v) { return (v << 1) | (v >> 63); }
static uint64_t rotr1(uint64_t v) { return (v >> 1) | (v << 63); }

struct counter {
    uint64_t s0, s1, s2;
};

static void add_plane(struct counter *c, uint64_t p)
{
    uint64_t c0 = c->s0 & p;
    uint64_t c1;
    c->s0 ^= p;
    c1 = c->s1 & c0;
    c->s1 ^= c0;
    c->s2 ^= c1;
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

static uint32_t step_bits(void)
{
    int y;
    uint32_t pop = 0;
    for (y = 0; y < H; y++) {
        uint64_t up = rows[(y + H - 1) % H], mid = rows[y], dn = rows[(y + 1) % H];
        struct counter c = {0u, 0u, 0u};
        add_plane(&c, rotl1(up)); add_plane(&c, up); add_plane(&c, rotr1(up));
        add_plane(&c, rotl1(mid)); add_plane(&c, rotr1(mid));
        add_plane(&c, rotl1(dn)); add_plane(&c, dn); add_plane(&c, rotr1(dn));
        /* count 2 or 3 (count 8 wraps to 0 and dies, as it should) */
        rows_next[y] = c.s1 & ~c.s2 & (c.s0 | mid);
        pop += popcount64(rows_next[y]);
    }
    memcpy(rows, rows_next, sizeof rows);
    return pop;
}

static void pack_rows(void)
{
    int y, x;
    for (y = 0; y < H; y++) {
        uint64_t r = 0;
        for (x = 0; x < W; x++)
            r |= (uint64_t)cells[y][x] << x;
        rows[y] = r;
    }
}

static uint32_t compare_rows(void)
{
    int y, x;
    uint32_t diff = 0;
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            if (((rows[y] >> x) & 1u) != cells[y][x])
                diff++;
    return diff;
}

static uint32_t known_answers(void)
{
    static uint8_t start[H][W];
    uint32_t bad = 0;
    int g;

    /* glider on a 16x16 torus: moves (1,1) every 4 generations */
    clear_grid(cells);
    cells[0][1] = 1; cells[1][2] = 1; cells[2][0] = 1; cells[2][1] = 1; cells[2][2] = 1;
    memcpy(start, cells, sizeof start);
    for (g = 0; g < 4; g++)
        if (step_bytes(cells, 16, 16) != 5u) bad++;
    if (!grids_equal_shifted(start, cells, 16, 16, 1, 1)) bad++;
    for (g = 4; g < 64; g++)
        step_bytes(cells, 16, 16);
    if (!grids_equal_shifted(start, cells, 16, 16, 0, 0)) bad++;

    /* blinker (period 2) next to a block (still life) on a 10x8 torus */
    clear_grid(cells);
    cells[2][1] = 1; cells[2][2] = 1; cells[2][3] = 1;
    cells[5][6] = 1; cells[5][7] = 1; cells[6][6] = 1; cells[6][7] = 1;
    memcpy(start, cells, sizeof start);
    step_bytes(cells, 10, 8);
    if (grids_equal_shifted(start, cells, 10, 8, 0, 0) || cells[1][2] != 1) bad++;
    step_bytes(cells, 10, 8);
    if (!grids_equal_shifted(start, cells, 10, 8, 0, 0)) bad++;
    return bad;
}

int main(void)
{
    uint32_t h = 0, bad, y, x;
    int g;

    bad = known_answers();

    clear_grid(cells);
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            cells[y][x] = (lcg() % 100u) < 31u;
    pack_rows();

    for (g = 0; g < GENS; g++) {
        uint32_t p1 = step_bytes(cells, W, H);
        uint32_t p2 = step_bits();
        if (p1 != p2) bad++;
        if ((g & 7) == 7 && compare_rows() != 0u) bad++;
        h = fold(h, p1);
        if ((g % 30) == 29)
            for (y = 0; y < H; y++)
                h = fold(h, (uint32_t)rows[y] ^ (uint32_t)(rows[y] >> 32));
    }
    h = fold(h, bad);
    printf("%s %08" PRIx32 "\n", "sim_life", h);
    return bad == 0u ? 0 : 1;
}
