/* A multiply-rotate block hash with a tail and an avalanche finaliser, used
 * by a Bloom filter (double hashing) and a count-min sketch. The checksum
 * covers false-positive counts, sketch estimates and an avalanche score. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define BLOOM_BITS 16384u
#define BLOOM_K 5u
#define MEMBERS 1500u
#define PROBES 3000u
#define CMS_DEPTH 4
#define CMS_WIDTH 256u
#define STREAM_LEN 5000u
#define DISTINCT 400u

struct bloom {
    uint8_t bits[BLOOM_BITS / 8u];
    uint32_t inserted;
};

struct count_min {
    uint32_t cells[CMS_DEPTH][CMS_WIDTH];
    uint32_t seeds[CMS_DEPTH];
};

static struct bloom filter;
static struct count_min sketch;
static uint32_t exact_counts[DISTINCT];

static uint32_t rotl32(uint32_t x, unsigned r)
{
    return (x << r) | (x >> (32u - r));
}

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t avalanche(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static uint32_t block_hash(const uint8_t *p, size_t n, uint32_t seed)
{
    const uint32_t m1 = 0xCC9E2D51u, m2 = 0x1B873593u;
    uint32_t h = seed ^ (uint32_t)n;
    size_t i = 0;
    uint32_t tail = 0;

    for (; i + 4 <= n; i += 4) {
        uint32_t k = load32(p + i);
        k *= m1;
        k = rotl32(k, 15);
        k *= m2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5u + 0xE6546B64u;
    }
    switch (n & 3u) {
    case 3:
        tail ^= (uint32_t)p[i + 2] << 16;
        /* fall through */
    case 2:
        tail ^= (uint32_t)p[i + 1] << 8;
        /* fall through */
    case 1:
        tail ^= p[i];
        tail *= m1;
        tail = rotl32(tail, 15);
        tail *= m2;
        h ^= tail;
        break;
    default:
        break;
    }
    return avalanche(h);
}

static size_t format_key(char *buf, const char *prefix, uint32_t n)
{
    size_t len = 0, start;
    while (*prefix)
        buf[len++] = *prefix++;
    start = len;
    do {
        buf[len++] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0);
    /* digits were written least significant first */
    {
        size_t a = start, b = len - 1;
        while (a < b) {
            char t = buf[a];
            buf[a] = buf[b];
            buf[b] = t;
            a++;
            b--;
        }
    }
    buf[len] = '\0';
    return len;
}

static void bloom_add(struct bloom *bf, const uint8_t *key, size_t n)
{
    uint32_t h1 = block_hash(key, n, 0x9747B28Cu);
    uint32_t h2 = block_hash(key, n, 0x5BD1E995u) | 1u;
    uint32_t i;
    for (i = 0; i < BLOOM_K; i++) {
        uint32_t bit = (h1 + i * h2) % BLOOM_BITS;
        bf->bits[bit >> 3] = (uint8_t)(bf->bits[bit >> 3] | (1u << (bit & 7u)));
    }
    bf->inserted++;
}

static int bloom_maybe_contains(const struct bloom *bf, const uint8_t *key, size_t n)
{
    uint32_t h1 = block_hash(key, n, 0x9747B28Cu);
    uint32_t h2 = block_hash(key, n, 0x5BD1E995u) | 1u;
    uint32_t i;
    for (i = 0; i < BLOOM_K; i++) {
        uint32_t bit = (h1 + i * h2) % BLOOM_BITS;
        if (!(bf->bits[bit >> 3] & (1u << (bit & 7u))))
            return 0;
    }
    return 1;
}

static uint32_t popcount32(uint32_t x)
{
    uint32_t c = 0;
    while (x) {
        x &= x - 1u;
        c++;
    }
    return c;
}

static uint32_t bloom_fill(const struct bloom *bf)
{
    uint32_t total = 0, i;
    for (i = 0; i < BLOOM_BITS / 8u; i++)
        total += popcount32(bf->bits[i]);
    return total;
}

static void cms_init(struct count_min *c)
{
    int d;
    memset(c->cells, 0, sizeof c->cells);
    for (d = 0; d < CMS_DEPTH; d++)
        c->seeds[d] = avalanche(0x1234567u + (uint32_t)d * 0x9E3779B9u);
}

static void cms_add(struct count_min *c, uint32_t item)
{
    uint8_t b[4];
    int d;
    b[0] = (uint8_t)item;
    b[1] = (uint8_t)(item >> 8);
    b[2] = (uint8_t)(item >> 16);
    b[3] = (uint8_t)(item >> 24);
    for (d = 0; d < CMS_DEPTH; d++)
        c->cells[d][block_hash(b, 4, c->seeds[d]) % CMS_WIDTH]++;
}

static uint32_t cms_estimate(const struct count_min *c, uint32_t item)
{
    uint8_t b[4];
    uint32_t best = UINT32_MAX;
    int d;
    b[0] = (uint8_t)item;
    b[1] = (uint8_t)(item >> 8);
    b[2] = (uint8_t)(item >> 16);
    b[3] = (uint8_t)(item >> 24);
    for (d = 0; d < CMS_DEPTH; d++) {
        uint32_t v = c->cells[d][block_hash(b, 4, c->seeds[d]) % CMS_WIDTH];
        if (v < best)
            best = v;
    }
    return best;
}

/* Average number of output bits flipped per single input bit flip (x1000). */
static uint32_t avalanche_score(void)
{
    uint8_t msg[12];
    uint32_t total = 0, trials = 0;
    unsigned i, bit, sample;
    for (sample = 0; sample < 8; sample++) {
        for (i = 0; i < sizeof msg; i++)
            msg[i] = (uint8_t)(sample * 37u + i * 11u);
        for (i = 0; i < sizeof msg * 8u; i++) {
            uint32_t before = block_hash(msg, sizeof msg, sample);
            uint32_t after;
            bit = i & 7u;
            msg[i >> 3] ^= (uint8_t)(1u << bit);
            after = block_hash(msg, sizeof msg, sample);
            msg[i >> 3] ^= (uint8_t)(1u << bit);
            total += popcount32(before ^ after);
            trials++;
        }
    }
    return total * 1000u / trials;
}

int main(void)
{
    char key[32];
    uint32_t checksum = 0, false_pos = 0, over_total = 0, score, i, x = 1u;
    int failed = 0;

    memset(&filter, 0, sizeof filter);
    for (i = 0; i < MEMBERS; i++) {
        size_t n = format_key(key, "user-", i * 7u);
        bloom_add(&filter, (const uint8_t *)key, n);
    }
    for (i = 0; i < MEMBERS; i++) {
        size_t n = format_key(key, "user-", i * 7u);
        if (!bloom_maybe_contains(&filter, (const uint8_t *)key, n))
            failed = 1; /* no false negatives allowed */
    }
    for (i = 0; i < PROBES; i++) {
        size_t n = format_key(key, "user-", i * 7u + 3u);
        false_pos += (uint32_t)bloom_maybe_contains(&filter, (const uint8_t *)key, n);
    }
    checksum = checksum * 0x01000193u ^ false_pos;
    checksum = checksum * 0x01000193u ^ bloom_fill(&filter);

    /* skewed stream: item k appears with weight roughly 1/(k+1) */
    cms_init(&sketch);
    memset(exact_counts, 0, sizeof exact_counts);
    for (i = 0; i < STREAM_LEN; i++) {
        uint32_t item;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        item = (x % DISTINCT) * ((x >> 20) % DISTINCT) / DISTINCT;
        exact_counts[item]++;
        cms_add(&sketch, item);
    }
    for (i = 0; i < DISTINCT; i++) {
        uint32_t est = cms_estimate(&sketch, i);
        if (est < exact_counts[i])
            failed = 1; /* count-min never underestimates */
        over_total += est - exact_counts[i];
        if (i < 16u)
            checksum = checksum * 0x01000193u ^ est;
    }
    checksum = checksum * 0x01000193u ^ over_total;

    score = avalanche_score();
    checksum = checksum * 0x01000193u ^ score;
    checksum ^= block_hash((const uint8_t *)"", 0, 0) ^ block_hash((const uint8_t *)"abc", 3, 1);
    checksum ^= (uint32_t)failed;

    printf("%s %08x\n", "hash_murmur_bloom", (unsigned)checksum);
    return failed ? 1 : 0;
}
