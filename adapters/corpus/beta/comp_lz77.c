/* LZ77 with a 4 KiB sliding window: hash-chain match finder (greedy and lazy
 * parsing), a flag-byte token format with 12-bit offsets and 4-bit lengths,
 * and a decoder that handles overlapping copies. Every input must round-trip. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define WINDOW 4096
#define MIN_MATCH 3
#define MAX_MATCH 18
#define HASH_BITS 11
#define HASH_SIZE (1 << HASH_BITS)
#define CHAIN_LIMIT 32
#define INPUT_CAP 9000
#define OUTPUT_CAP (INPUT_CAP + INPUT_CAP / 8 + 16)

struct match {
    int length;
    int distance;
};

struct matcher {
    int32_t head[HASH_SIZE];
    int32_t prev[WINDOW];
    const uint8_t *data;
    int size;
    uint32_t chain_steps;
};

struct encoder {
    uint8_t *out;
    size_t len;
    size_t flag_pos;
    int flag_count;
};

static uint8_t input[INPUT_CAP];
static uint8_t compressed[OUTPUT_CAP];
static uint8_t restored[INPUT_CAP];
static struct matcher mf;
static uint32_t seed = 0x4F1BBCDCu;

static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 9;
}

static unsigned hash3(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (unsigned)((v * 2654435761u) >> (32 - HASH_BITS));
}

static void matcher_init(struct matcher *m, const uint8_t *data, int size)
{
    int i;
    for (i = 0; i < HASH_SIZE; i++)
        m->head[i] = -1;
    for (i = 0; i < WINDOW; i++)
        m->prev[i] = -1;
    m->data = data;
    m->size = size;
    m->chain_steps = 0;
}

static void matcher_insert(struct matcher *m, int pos)
{
    unsigned h;
    if (pos + MIN_MATCH > m->size)
        return;
    h = hash3(m->data + pos);
    m->prev[pos % WINDOW] = m->head[h];
    m->head[h] = pos;
}

static struct match matcher_find(struct matcher *m, int pos)
{
    struct match best = { 0, 0 };
    int cand, steps = 0, limit = m->size - pos;
    if (limit > MAX_MATCH)
        limit = MAX_MATCH;
    if (limit < MIN_MATCH)
        return best;
    cand = m->head[hash3(m->data + pos)];
    while (cand >= 0 && cand < pos && pos - cand < WINDOW && steps < CHAIN_LIMIT) {
        const uint8_t *a = m->data + cand, *b = m->data + pos;
        int len = 0, next;
        while (len < limit && a[len] == b[len])
            len++;
        if (len > best.length) {
            best.length = len;
            best.distance = pos - cand;
            if (len == limit)
                break;
        }
        next = m->prev[cand % WINDOW];
        if (next >= cand)
            break;
        cand = next;
        steps++;
        m->chain_steps++;
    }
    if (best.length < MIN_MATCH)
        best.length = 0;
    return best;
}

static void enc_begin_item(struct encoder *e)
{
    if (e->flag_count == 0) {
        e->flag_pos = e->len;
        e->out[e->len++] = 0;
    }
}

static void enc_end_item(struct encoder *e)
{
    e->flag_count = (e->flag_count + 1) & 7;
}

static void enc_literal(struct encoder *e, uint8_t b)
{
    enc_begin_item(e);
    e->out[e->len++] = b;
    enc_end_item(e);
}

static void enc_match(struct encoder *e, int distance, int length)
{
    uint32_t d = (uint32_t)(distance - 1), l = (uint32_t)(length - MIN_MATCH);
    enc_begin_item(e);
    e->out[e->flag_pos] = (uint8_t)(e->out[e->flag_pos] | (1u << e->flag_count));
    e->out[e->len++] = (uint8_t)(d & 0xFFu);
    e->out[e->len++] = (uint8_t)(((d >> 8) & 0x0Fu) | (l << 4));
    enc_end_item(e);
}

static size_t compress(const uint8_t *src, int n, uint8_t *dst, int lazy, uint32_t *matches)
{
    struct encoder e;
    int pos = 0;
    e.out = dst;
    e.len = 0;
    e.flag_pos = 0;
    e.flag_count = 0;
    *matches = 0;
    matcher_init(&mf, src, n);
    while (pos < n) {
        struct match m = matcher_find(&mf, pos);
        if (m.length > 0 && lazy && pos + 1 < n) {
            struct match next;
            matcher_insert(&mf, pos);
            next = matcher_find(&mf, pos + 1);
            if (next.length > m.length) {
                /* emit a literal now and take the longer match next time */
                enc_literal(&e, src[pos]);
                pos++;
                continue;
            }
            enc_match(&e, m.distance, m.length);
            (*matches)++;
            {
                int k;
                for (k = 1; k < m.length; k++)
                    matcher_insert(&mf, pos + k);
            }
            pos += m.length;
            continue;
        }
        if (m.length > 0) {
            int k;
            enc_match(&e, m.distance, m.length);
            (*matches)++;
            for (k = 0; k < m.length; k++)
                matcher_insert(&mf, pos + k);
            pos += m.length;
        } else {
            enc_literal(&e, src[pos]);
            matcher_insert(&mf, pos);
            pos++;
        }
    }
    return e.len;
}

/* returns the decoded size or -1 on a malformed stream */
static int decompress(const uint8_t *src, size_t n, uint8_t *dst, int cap)
{
    size_t in = 0;
    int out = 0;
    while (in < n) {
        uint8_t flags = src[in++];
        int bit;
        for (bit = 0; bit < 8 && in < n; bit++) {
            if (flags & (1u << bit)) {
                int distance, length, k;
                if (in + 2 > n)
                    return -1;
                distance = (int)(src[in] | ((src[in + 1] & 0x0Fu) << 8)) + 1;
                length = (int)(src[in + 1] >> 4) + MIN_MATCH;
                in += 2;
                if (distance > out || out + length > cap)
                    return -1;
                for (k = 0; k < length; k++, out++)
                    dst[out] = dst[out - distance];
            } else {
                if (out >= cap)
                    return -1;
                dst[out++] = src[in++];
            }
        }
    }
    return out;
}

static int make_input(int kind)
{
    static const char *const words[] = {
        "window ", "match ", "literal ", "offset ", "length ", "the ", "of ",
        "compress", "decompress", "sliding ", "dictionary ", "token ", "\n"
    };
    int n = 0;
    switch (kind) {
    case 0:
        while (n < INPUT_CAP - 16) {
            const char *w = words[rnd() % 13u];
            while (*w)
                input[n++] = (uint8_t)*w++;
        }
        break;
    case 1:
        for (n = 0; n < 5000; n++)
            input[n] = (uint8_t)rnd();
        break;
    case 2:
        for (n = 0; n < 7000; n++)
            input[n] = (uint8_t)(n < 3500 ? 'z' : "ab"[n & 1]);
        break;
    default:
        for (n = 0; n < INPUT_CAP; n++) {
            if (n >= 64 && rnd() % 4u != 0) {
                int back = 1 + (int)(rnd() % 5000u);
                input[n] = input[n - (back < n ? back : n)];
            } else {
                input[n] = (uint8_t)(rnd() % 16u + 'A');
            }
        }
        break;
    }
    return n;
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint32_t h = 0x12345u;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

int main(void)
{
    uint32_t checksum = 0;
    int failed = 0, kind, lazy;

    for (kind = 0; kind < 4; kind++) {
        int n = make_input(kind);
        for (lazy = 0; lazy < 2; lazy++) {
            uint32_t matches;
            size_t clen = compress(input, n, compressed, lazy, &matches);
            int dlen = decompress(compressed, clen, restored, INPUT_CAP);
            if (dlen != n || memcmp(input, restored, (size_t)n) != 0)
                failed = 1;
            checksum = checksum * 0x9E3779B1u + (uint32_t)clen;
            checksum ^= matches << 8;
            checksum += mf.chain_steps;
            checksum ^= hash_bytes(compressed, clen);
        }
    }

    /* a match reaching before the start of output must be rejected */
    {
        static const uint8_t bad[] = { 0x02u, 'x', 0x05u, 0x00u };
        if (decompress(bad, sizeof bad, restored, INPUT_CAP) != -1)
            failed = 1;
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "comp_lz77", (unsigned)checksum);
    return failed ? 1 : 0;
}
