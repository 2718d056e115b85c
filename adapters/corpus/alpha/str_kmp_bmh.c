/* Exact string matching: Knuth-Morris-Pratt, Boyer-Moore-Horspool, the
 * Z-algorithm and a naive scan must report the same (overlapping) matches. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define TEXT_LEN 5000
#define MAX_PAT 40
#define SEP '\001'

struct match_report {
    uint32_t count;
    uint32_t first;
    uint32_t last;
    uint32_t pos_hash;
};

static char text[TEXT_LEN + 1];
static char zbuf[MAX_PAT + 1 + TEXT_LEN + 1];
static uint32_t zarr[MAX_PAT + 1 + TEXT_LEN + 1];
static uint32_t rng_state = 0xCAFEBABEu;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void report_init(struct match_report *r)
{
    r->count = 0;
    r->first = UINT32_MAX;
    r->last = 0;
    r->pos_hash = 0;
}

static void report_add(struct match_report *r, size_t pos)
{
    if (r->count == 0)
        r->first = (uint32_t)pos;
    r->last = (uint32_t)pos;
    r->count++;
    r->pos_hash = (r->pos_hash * 16777619u) ^ (uint32_t)pos;
}

static int reports_equal(const struct match_report *a, const struct match_report *b)
{
    return a->count == b->count && a->first == b->first && a->last == b->last &&
           a->pos_hash == b->pos_hash;
}

static void naive_search(const char *t, size_t n, const char *p, size_t m, struct match_report *r)
{
    size_t i, j;
    report_init(r);
    if (m == 0 || m > n)
        return;
    for (i = 0; i + m <= n; i++) {
        for (j = 0; j < m && t[i + j] == p[j]; j++)
            ;
        if (j == m)
            report_add(r, i);
    }
}

static void kmp_failure(const char *p, size_t m, size_t *fail)
{
    size_t k = 0, i;
    fail[0] = 0;
    for (i = 1; i < m; i++) {
        while (k > 0 && p[i] != p[k])
            k = fail[k - 1];
        if (p[i] == p[k])
            k++;
        fail[i] = k;
    }
}

static void kmp_search(const char *t, size_t n, const char *p, size_t m, struct match_report *r)
{
    size_t fail[MAX_PAT];
    size_t i, k = 0;
    report_init(r);
    if (m == 0 || m > n || m > MAX_PAT)
        return;
    kmp_failure(p, m, fail);
    for (i = 0; i < n; i++) {
        while (k > 0 && t[i] != p[k])
            k = fail[k - 1];
        if (t[i] == p[k])
            k++;
        if (k == m) {
            report_add(r, i + 1 - m);
            k = fail[k - 1];
        }
    }
}

static void bmh_search(const char *t, size_t n, const char *p, size_t m, struct match_report *r)
{
    size_t shift[256];
    size_t i, pos;
    report_init(r);
    if (m == 0 || m > n)
        return;
    for (i = 0; i < 256; i++)
        shift[i] = m;
    for (i = 0; i + 1 < m; i++)
        shift[(unsigned char)p[i]] = m - 1 - i;
    pos = 0;
    while (pos + m <= n) {
        unsigned char last = (unsigned char)t[pos + m - 1];
        if (last == (unsigned char)p[m - 1] && memcmp(t + pos, p, m - 1) == 0)
            report_add(r, pos);
        pos += shift[last];
    }
}

static void z_function(const char *s, size_t len, uint32_t *z)
{
    size_t l = 0, r = 0, i;
    if (len == 0)
        return;
    z[0] = (uint32_t)len;
    for (i = 1; i < len; i++) {
        size_t k = 0;
        if (i < r) {
            k = r - i;
            if (z[i - l] < k)
                k = z[i - l];
        }
        while (i + k < len && s[k] == s[i + k])
            k++;
        z[i] = (uint32_t)k;
        if (i + k > r) {
            l = i;
            r = i + k;
        }
    }
}

static void z_search(const char *t, size_t n, const char *p, size_t m, struct match_report *r)
{
    size_t i, total;
    report_init(r);
    if (m == 0 || m > n || m > MAX_PAT)
        return;
    memcpy(zbuf, p, m);
    zbuf[m] = SEP;
    memcpy(zbuf + m + 1, t, n);
    total = m + 1 + n;
    z_function(zbuf, total, zarr);
    for (i = m + 1; i < total; i++) {
        if (zarr[i] >= m)
            report_add(r, i - m - 1);
    }
}

static void build_text(int flavour)
{
    size_t i = 0;
    static const char *const words[] = { "abra", "cad", "abracadabra", "ab", "ra",
                                         "dabble", "arc", "bar" };
    switch (flavour) {
    case 0: /* random over a tiny alphabet: many overlapping matches */
        for (i = 0; i < TEXT_LEN; i++)
            text[i] = (char)('a' + rng() % 3u);
        break;
    case 1: /* word soup */
        while (i < TEXT_LEN) {
            const char *w = words[rng() % 8u];
            while (*w && i < TEXT_LEN)
                text[i++] = *w++;
            if (i < TEXT_LEN && (rng() & 3u) == 0)
                text[i++] = ' ';
        }
        break;
    default: /* long runs and periodic stretches */
        while (i < TEXT_LEN) {
            size_t run = 1 + rng() % 30u;
            char c = (char)('a' + rng() % 2u);
            int periodic = (rng() & 1u) != 0;
            size_t k;
            for (k = 0; k < run && i < TEXT_LEN; k++)
                text[i++] = periodic ? (char)('a' + (k & 1u)) : c;
        }
        break;
    }
    text[TEXT_LEN] = '\0';
}

static size_t make_pattern(char *pat, int kind)
{
    size_t m = 1 + rng() % 12u, i;
    switch (kind % 4) {
    case 0: { /* substring of the text: at least one match */
        size_t start = rng() % (TEXT_LEN - m);
        memcpy(pat, text + start, m);
        break;
    }
    case 1:
        for (i = 0; i < m; i++)
            pat[i] = (char)('a' + rng() % 4u);
        break;
    case 2:
        m = 2 + rng() % 16u;
        for (i = 0; i < m; i++)
            pat[i] = (char)('a' + (i % 2u));
        break;
    default:
        m = 1 + rng() % 25u;
        memset(pat, 'a', m);
        break;
    }
    pat[m] = '\0';
    return m;
}

int main(void)
{
    uint32_t checksum = 0;
    int failed = 0;
    int flavour, q;

    for (flavour = 0; flavour < 3; flavour++) {
        build_text(flavour);
        for (q = 0; q < 24; q++) {
            char pat[MAX_PAT + 1];
            size_t m = make_pattern(pat, q);
            struct match_report rn, rk, rb, rz;
            naive_search(text, TEXT_LEN, pat, m, &rn);
            kmp_search(text, TEXT_LEN, pat, m, &rk);
            bmh_search(text, TEXT_LEN, pat, m, &rb);
            z_search(text, TEXT_LEN, pat, m, &rz);
            if (!reports_equal(&rn, &rk) || !reports_equal(&rn, &rb) ||
                !reports_equal(&rn, &rz))
                failed = 1;
            if (q % 4 == 0 && rn.count == 0)
                failed = 1;
            checksum = checksum * 0x9E3779B1u + rk.count;
            checksum ^= rk.pos_hash;
            checksum += rb.first ^ (rz.last << 7);
        }
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "str_kmp_bmh", (unsigned)checksum);
    return failed ? 1 : 0;
}
