/* Huffman coding: code lengths from a tree built by repeated minimum
 * selection, a length limit enforced by frequency flattening, canonical code
 * assignment, bit-level encoding and canonical decoding (round trip). */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define NSYM 256
#define MAX_BITS 15
#define MAX_INPUT 20000
#define MAX_NODES (2 * NSYM)

struct tree_node {
    uint32_t weight;
    int left, right; /* -1 for leaves */
    int alive;
};

struct code_table {
    uint8_t length[NSYM];
    uint16_t code[NSYM];
    uint16_t count[MAX_BITS + 1];
    uint16_t sorted[NSYM];
    unsigned max_len;
};

struct bit_writer {
    uint8_t *buf;
    size_t cap;
    size_t bitpos;
};

struct bit_reader {
    const uint8_t *buf;
    size_t nbits;
    size_t bitpos;
};

static uint8_t input[MAX_INPUT];
static uint8_t encoded[MAX_INPUT * 2];
static uint8_t decoded[MAX_INPUT];
static struct tree_node nodes[MAX_NODES];
static uint32_t rng = 0x0DDC0FFEu;

static uint32_t rand32(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) ^ (rng << 20);
}

static int pick_min(int n_nodes, int exclude)
{
    int i, best = -1;
    for (i = 0; i < n_nodes; i++) {
        if (!nodes[i].alive || i == exclude)
            continue;
        if (best < 0 || nodes[i].weight < nodes[best].weight)
            best = i;
    }
    return best;
}

static void assign_depths(int node, unsigned depth, uint8_t *length, unsigned *max_depth)
{
    if (nodes[node].left < 0) {
        length[node] = (uint8_t)(depth == 0 ? 1 : depth);
        if (length[node] > *max_depth)
            *max_depth = length[node];
        return;
    }
    assign_depths(nodes[node].left, depth + 1, length, max_depth);
    assign_depths(nodes[node].right, depth + 1, length, max_depth);
}

/* Returns the maximum code length produced for the given frequencies. */
static unsigned build_lengths(const uint32_t *freq, uint8_t *length)
{
    int n_nodes = NSYM, alive = 0, s, root = -1;
    unsigned max_depth = 0;

    for (s = 0; s < NSYM; s++) {
        nodes[s].weight = freq[s];
        nodes[s].left = nodes[s].right = -1;
        nodes[s].alive = freq[s] != 0;
        alive += nodes[s].alive;
        length[s] = 0;
    }
    if (alive == 0)
        return 0;
    while (alive > 1) {
        int a = pick_min(n_nodes, -1);
        int b = pick_min(n_nodes, a);
        nodes[n_nodes].weight = nodes[a].weight + nodes[b].weight;
        nodes[n_nodes].left = a;
        nodes[n_nodes].right = b;
        nodes[n_nodes].alive = 1;
        nodes[a].alive = nodes[b].alive = 0;
        n_nodes++;
        alive--;
    }
    for (s = 0; s < n_nodes; s++) {
        if (nodes[s].alive)
            root = s;
    }
    assign_depths(root, 0, length, &max_depth);
    return max_depth;
}

static unsigned limited_lengths(const uint32_t *freq, uint8_t *length, unsigned *rebuilds)
{
    uint32_t work[NSYM];
    unsigned max_len;
    int s;

    memcpy(work, freq, sizeof work);
    *rebuilds = 0;
    for (;;) {
        max_len = build_lengths(work, length);
        if (max_len <= MAX_BITS)
            return max_len;
        /* flatten the distribution and try again */
        for (s = 0; s < NSYM; s++) {
            if (work[s] != 0)
                work[s] = (work[s] >> 1) | 1u;
        }
        (*rebuilds)++;
    }
}

static void make_canonical(struct code_table *t)
{
    uint16_t next_code[MAX_BITS + 2];
    unsigned len, code = 0, idx = 0;
    int s;

    memset(t->count, 0, sizeof t->count);
    for (s = 0; s < NSYM; s++)
        t->count[t->length[s]]++;
    t->count[0] = 0;
    for (len = 1; len <= MAX_BITS; len++) {
        code = (code + t->count[len - 1]) << 1;
        next_code[len] = (uint16_t)code;
    }
    for (len = 1; len <= MAX_BITS; len++) {
        for (s = 0; s < NSYM; s++) {
            if (t->length[s] == len) {
                t->code[s] = next_code[len]++;
                t->sorted[idx++] = (uint16_t)s;
            }
        }
    }
}

static int kraft_ok(const struct code_table *t)
{
    uint32_t sum = 0;
    int s;
    for (s = 0; s < NSYM; s++) {
        if (t->length[s] != 0)
            sum += 1u << (MAX_BITS - t->length[s]);
    }
    return sum <= (1u << MAX_BITS);
}

static void put_bits(struct bit_writer *w, uint32_t value, unsigned nbits)
{
    while (nbits > 0) {
        size_t byte = w->bitpos >> 3;
        unsigned bit = (value >> (nbits - 1)) & 1u;
        if (byte >= w->cap)
            return;
        if ((w->bitpos & 7u) == 0)
            w->buf[byte] = 0;
        w->buf[byte] = (uint8_t)(w->buf[byte] | (bit << (7u - (w->bitpos & 7u))));
        w->bitpos++;
        nbits--;
    }
}

static int get_bit(struct bit_reader *r)
{
    int bit;
    if (r->bitpos >= r->nbits)
        return -1;
    bit = (r->buf[r->bitpos >> 3] >> (7u - (r->bitpos & 7u))) & 1;
    r->bitpos++;
    return bit;
}

static size_t encode(const struct code_table *t, const uint8_t *src, size_t n, uint8_t *dst,
                     size_t cap)
{
    struct bit_writer w;
    size_t i;
    w.buf = dst;
    w.cap = cap;
    w.bitpos = 0;
    for (i = 0; i < n; i++)
        put_bits(&w, t->code[src[i]], t->length[src[i]]);
    return w.bitpos;
}

static int decode_symbol(const struct code_table *t, struct bit_reader *r)
{
    uint32_t code = 0, first = 0, index = 0;
    unsigned len;
    for (len = 1; len <= MAX_BITS; len++) {
        int bit = get_bit(r);
        if (bit < 0)
            return -1;
        code |= (uint32_t)bit;
        if (code - first < t->count[len])
            return t->sorted[index + (code - first)];
        index += t->count[len];
        first = (first + t->count[len]) << 1;
        code <<= 1;
    }
    return -1;
}

static size_t decode(const struct code_table *t, const uint8_t *src, size_t nbits, uint8_t *dst,
                     size_t count)
{
    struct bit_reader r;
    size_t i;
    r.buf = src;
    r.nbits = nbits;
    r.bitpos = 0;
    for (i = 0; i < count; i++) {
        int s = decode_symbol(t, &r);
        if (s < 0)
            break;
        dst[i] = (uint8_t)s;
    }
    return i;
}

static size_t make_input(int kind)
{
    size_t n = 0, i;
    int s;
    switch (kind) {
    case 0: /* skewed: small symbols much more likely */
        for (n = 0; n < 5000; n++) {
            uint32_t r = rand32();
            input[n] = (uint8_t)((r & 0xFFu) & ((r >> 8) & 0xFFu) & ((r >> 16) | 0x3Fu));
        }
        break;
    case 1: /* uniform over all bytes */
        for (n = 0; n < 4000; n++)
            input[n] = (uint8_t)(rand32() >> 3);
        break;
    case 2: /* a single repeated symbol */
        for (n = 0; n < 300; n++)
            input[n] = 'q';
        break;
    case 3: { /* Fibonacci frequencies: forces deep trees and the length limit */
        uint32_t a = 1, b = 1;
        for (s = 0; s < 21; s++) {
            for (i = 0; i < a && n < MAX_INPUT; i++)
                input[n++] = (uint8_t)(s + 'A');
            b = a + b;
            a = b - a;
        }
        for (i = 0; i + 1 < n; i += 2) { /* shuffle deterministically */
            size_t j = rand32() % n;
            uint8_t t = input[i];
            input[i] = input[j];
            input[j] = t;
        }
        break;
    }
    default: { /* text-like */
        static const char words[] = "the quick brown fox jumps over a lazy dog while "
                                    "compilers fold constants and hoist loads ";
        for (n = 0; n < 6000; n++)
            input[n] = (uint8_t)words[(n * 7u + rand32() % 3u) % (sizeof words - 1u)];
        break;
    }
    }
    return n;
}

int main(void)
{
    uint32_t checksum = 0x5EED5EEDu;
    int failed = 0;
    int kind;

    for (kind = 0; kind < 5; kind++) {
        uint32_t freq[NSYM];
        struct code_table t;
        unsigned rebuilds;
        size_t n = make_input(kind), i, nbits, got;
        int s;

        memset(freq, 0, sizeof freq);
        for (i = 0; i < n; i++)
            freq[input[i]]++;
        memset(&t, 0, sizeof t);
        t.max_len = limited_lengths(freq, t.length, &rebuilds);
        make_canonical(&t);
        if (!kraft_ok(&t))
            failed = 1;

        nbits = encode(&t, input, n, encoded, sizeof encoded);
        got = decode(&t, encoded, nbits, decoded, n);
        if (got != n || memcmp(input, decoded, n) != 0)
            failed = 1;

        checksum = checksum * 0x01000193u ^ (uint32_t)nbits;
        checksum = checksum * 0x01000193u ^ t.max_len;
        checksum = checksum * 0x01000193u ^ rebuilds;
        for (s = 0; s < NSYM; s++) {
            if (t.length[s] != 0)
                checksum = checksum * 0x01000193u ^ (((uint32_t)s << 20) | ((uint32_t)t.length[s] << 16) | t.code[s]);
        }
        for (i = 0; i < (nbits + 7u) / 8u; i += 13)
            checksum += encoded[i];
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "comp_huffman", (unsigned)checksum);
    return failed ? 1 : 0;
}
