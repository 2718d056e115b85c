/* Burrows-Wheeler transform of small blocks (rotation sort by merge sort),
 * move-to-front coding, a zero-run statistic, and the inverse path
 * (inverse MTF, LF-mapping inverse BWT). Each block must round-trip. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define BLOCK_MAX 240
#define TOTAL_LEN 2400

struct bwt_block {
    uint8_t text[BLOCK_MAX];
    uint8_t last[BLOCK_MAX];
    uint8_t mtf[BLOCK_MAX];
    uint8_t back[BLOCK_MAX];
    uint8_t unmtf[BLOCK_MAX];
    uint16_t rot[BLOCK_MAX];
    uint16_t tmp[BLOCK_MAX];
    size_t n;
    size_t primary;
    uint32_t compares;
};

static uint8_t corpus[TOTAL_LEN];
static struct bwt_block blk;
static uint32_t rs = 0x1B873593u;

static uint32_t rnd(void)
{
    rs ^= rs << 5;
    rs ^= rs >> 27;
    rs ^= rs << 16;
    rs += 0x9E3779B9u;
    return rs;
}

static int rotation_cmp(struct bwt_block *b, size_t x, size_t y)
{
    size_t k;
    b->compares++;
    for (k = 0; k < b->n; k++) {
        uint8_t cx = b->text[(x + k) % b->n];
        uint8_t cy = b->text[(y + k) % b->n];
        if (cx != cy)
            return cx < cy ? -1 : 1;
    }
    return 0;
}

static void merge_sort_rot(struct bwt_block *b, size_t lo, size_t hi)
{
    size_t mid, i, j, k;
    if (hi - lo < 2)
        return;
    mid = lo + (hi - lo) / 2;
    merge_sort_rot(b, lo, mid);
    merge_sort_rot(b, mid, hi);
    i = lo;
    j = mid;
    k = lo;
    while (i < mid && j < hi) {
        if (rotation_cmp(b, b->rot[j], b->rot[i]) < 0)
            b->tmp[k++] = b->rot[j++];
        else
            b->tmp[k++] = b->rot[i++];
    }
    while (i < mid)
        b->tmp[k++] = b->rot[i++];
    while (j < hi)
        b->tmp[k++] = b->rot[j++];
    memcpy(b->rot + lo, b->tmp + lo, (hi - lo) * sizeof b->rot[0]);
}

static void bwt_forward(struct bwt_block *b)
{
    size_t i;
    for (i = 0; i < b->n; i++)
        b->rot[i] = (uint16_t)i;
    merge_sort_rot(b, 0, b->n);
    for (i = 0; i < b->n; i++) {
        size_t start = b->rot[i];
        b->last[i] = b->text[(start + b->n - 1) % b->n];
        if (start == 0)
            b->primary = i;
    }
}

static void bwt_inverse(struct bwt_block *b)
{
    uint32_t count[256], first[256];
    uint16_t lf[BLOCK_MAX];
    uint32_t seen[256];
    size_t i, row;
    uint32_t total = 0;
    int c;

    memset(count, 0, sizeof count);
    for (i = 0; i < b->n; i++)
        count[b->last[i]]++;
    for (c = 0; c < 256; c++) {
        first[c] = total;
        total += count[c];
    }
    memset(seen, 0, sizeof seen);
    for (i = 0; i < b->n; i++) {
        uint8_t ch = b->last[i];
        lf[i] = (uint16_t)(first[ch] + seen[ch]++);
    }
    row = b->primary;
    for (i = b->n; i-- > 0;) {
        b->back[i] = b->last[row];
        row = lf[row];
    }
}

static void mtf_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
    uint8_t order[256];
    size_t i;
    int k;
    for (k = 0; k < 256; k++)
        order[k] = (uint8_t)k;
    for (i = 0; i < n; i++) {
        uint8_t v = src[i];
        int r = 0;
        while (order[r] != v)
            r++;
        dst[i] = (uint8_t)r;
        for (; r > 0; r--)
            order[r] = order[r - 1];
        order[0] = v;
    }
}

static void mtf_decode(const uint8_t *src, size_t n, uint8_t *dst)
{
    uint8_t order[256];
    size_t i;
    int k;
    for (k = 0; k < 256; k++)
        order[k] = (uint8_t)k;
    for (i = 0; i < n; i++) {
        int r = src[i];
        uint8_t v = order[r];
        dst[i] = v;
        for (; r > 0; r--)
            order[r] = order[r - 1];
        order[0] = v;
    }
}

/* number of bits a trivial zero-run + Elias-gamma style coder would use */
static uint32_t estimate_bits(const uint8_t *ranks, size_t n)
{
    uint32_t bits = 0;
    size_t i = 0;
    while (i < n) {
        if (ranks[i] == 0) {
            uint32_t run = 0, v;
            while (i < n && ranks[i] == 0) {
                run++;
                i++;
            }
            bits += 2;
            for (v = run; v > 1; v >>= 1)
                bits += 2;
        } else {
            uint32_t v = ranks[i], len = 0;
            while (v) {
                len++;
                v >>= 1;
            }
            bits += 2 * len;
            i++;
        }
    }
    return bits;
}

static void build_corpus(void)
{
    static const char *const phrases[] = {
        "banana", "bandana", "cabana", "ananas", "panama canal", "a man a plan ",
        "mississippi", "tennessee", "bookkeeper"
    };
    size_t n = 0;
    while (n < TOTAL_LEN) {
        uint32_t r = rnd();
        if ((r & 15u) == 0) {
            size_t run = 1 + (r >> 4) % 20u, k;
            for (k = 0; k < run && n < TOTAL_LEN; k++)
                corpus[n++] = (uint8_t)('0' + (r >> 10) % 10u);
        } else {
            const char *p = phrases[(r >> 4) % 9u];
            while (*p && n < TOTAL_LEN)
                corpus[n++] = (uint8_t)*p++;
            if (n < TOTAL_LEN)
                corpus[n++] = (uint8_t)((r >> 12) & 1u ? ' ' : '_');
        }
    }
}

int main(void)
{
    uint32_t checksum = 0x0BADF00Du;
    int failed = 0;
    size_t pos = 0, blocks = 0, i;

    build_corpus();
    while (pos < TOTAL_LEN + 2 * BLOCK_MAX) {
        size_t want = 40 + (rnd() % (BLOCK_MAX - 40));
        uint32_t bits;
        blk.compares = 0;
        if (pos < TOTAL_LEN) {
            blk.n = (TOTAL_LEN - pos < want) ? TOTAL_LEN - pos : want;
            memcpy(blk.text, corpus + pos, blk.n);
            pos += blk.n;
        } else {
            /* synthetic edge cases: constant and periodic blocks */
            blk.n = want;
            for (i = 0; i < want; i++)
                blk.text[i] = (pos == TOTAL_LEN) ? (uint8_t)'q' : (uint8_t)("xyz"[i % 3u]);
            pos += BLOCK_MAX;
        }
        bwt_forward(&blk);
        mtf_encode(blk.last, blk.n, blk.mtf);
        mtf_decode(blk.mtf, blk.n, blk.unmtf);
        if (memcmp(blk.unmtf, blk.last, blk.n) != 0)
            failed = 1;
        bwt_inverse(&blk);
        if (memcmp(blk.back, blk.text, blk.n) != 0)
            failed = 1;
        bits = estimate_bits(blk.mtf, blk.n);
        checksum = checksum * 0x01000193u ^ (uint32_t)blk.primary;
        checksum = checksum * 0x01000193u ^ bits;
        checksum = checksum * 0x01000193u ^ blk.compares;
        for (i = 0; i < blk.n; i++)
            checksum = (checksum + blk.mtf[i]) * 0x01000193u ^ blk.last[i];
        blocks++;
    }
    checksum += (uint32_t)blocks;
    checksum ^= (uint32_t)failed;

    printf("%s %08x\n", "comp_bwt_mtf", (unsigned)checksum);
    return failed ? 1 : 0;
}
