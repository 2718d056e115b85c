/* Edit distances between mutated strings: full-matrix Levenshtein with a
 * traceback that yields an edit script (replayed and checked), a two-row
 * version, Myers/Hyyro bit-parallel distance, optimal string alignment
 * (adjacent transpositions) and longest common subsequence. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define MAX_LEN 64
#define PAIRS 70

enum edit_op { OP_KEEP, OP_SUBST, OP_INSERT, OP_DELETE };

struct edit_script {
    enum edit_op ops[2 * MAX_LEN + 2];
    char chars[2 * MAX_LEN + 2];
    int count;
};

static uint16_t dp[MAX_LEN + 1][MAX_LEN + 1];
static uint32_t rng_state = 0x243F6A88u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    return m < c ? m : c;
}

static int levenshtein_full(const char *a, int n, const char *b, int m)
{
    int i, j;
    for (i = 0; i <= n; i++)
        dp[i][0] = (uint16_t)i;
    for (j = 0; j <= m; j++)
        dp[0][j] = (uint16_t)j;
    for (i = 1; i <= n; i++) {
        for (j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            dp[i][j] = (uint16_t)min3(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + cost);
        }
    }
    return dp[n][m];
}

/* Walks the filled matrix back from (n, m); ops come out reversed, so they
 * are written from the end of the array and shifted to the front. */
static void traceback(const char *a, int n, const char *b, int m, struct edit_script *s)
{
    enum edit_op rev_ops[2 * MAX_LEN + 2];
    char rev_chars[2 * MAX_LEN + 2];
    int i = n, j = m, k = 0, t;
    while (i > 0 || j > 0) {
        if (i > 0 && j > 0 && a[i - 1] == b[j - 1] && dp[i][j] == dp[i - 1][j - 1]) {
            rev_ops[k] = OP_KEEP;
            rev_chars[k++] = a[i - 1];
            i--;
            j--;
        } else if (i > 0 && j > 0 && dp[i][j] == dp[i - 1][j - 1] + 1) {
            rev_ops[k] = OP_SUBST;
            rev_chars[k++] = b[j - 1];
            i--;
            j--;
        } else if (j > 0 && dp[i][j] == dp[i][j - 1] + 1) {
            rev_ops[k] = OP_INSERT;
            rev_chars[k++] = b[j - 1];
            j--;
        } else {
            rev_ops[k] = OP_DELETE;
            rev_chars[k++] = a[i - 1];
            i--;
        }
    }
    s->count = k;
    for (t = 0; t < k; t++) {
        s->ops[t] = rev_ops[k - 1 - t];
        s->chars[t] = rev_chars[k - 1 - t];
    }
}

/* Replays the script on `a`; returns the number of non-keep operations. */
static int apply_script(const struct edit_script *s, const char *a, char *out, int *out_len)
{
    int t, ia = 0, o = 0, cost = 0;
    for (t = 0; t < s->count; t++) {
        switch (s->ops[t]) {
        case OP_KEEP:
            out[o++] = a[ia++];
            break;
        case OP_SUBST:
            out[o++] = s->chars[t];
            ia++;
            cost++;
            break;
        case OP_INSERT:
            out[o++] = s->chars[t];
            cost++;
            break;
        case OP_DELETE:
            ia++;
            cost++;
            break;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return cost;
}

static int levenshtein_two_rows(const char *a, int n, const char *b, int m)
{
    uint16_t row0[MAX_LEN + 1], row1[MAX_LEN + 1];
    uint16_t *prev = row0, *cur = row1, *tmp;
    int i, j;
    for (j = 0; j <= m; j++)
        prev[j] = (uint16_t)j;
    for (i = 1; i <= n; i++) {
        cur[0] = (uint16_t)i;
        for (j = 1; j <= m; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1;
            int ins = cur[j - 1] + 1;
            cur[j] = (uint16_t)min3(sub, del, ins);
        }
        tmp = prev;
        prev = cur;
        cur = tmp;
    }
    return prev[m];
}

static int levenshtein_bitparallel(const char *p, int m, const char *t, int n)
{
    uint64_t peq[256];
    uint64_t pv, mv, high;
    int score = m, i, j;
    if (m == 0)
        return n;
    memset(peq, 0, sizeof peq);
    for (i = 0; i < m; i++)
        peq[(unsigned char)p[i]] |= (uint64_t)1 << i;
    pv = ~(uint64_t)0;
    mv = 0;
    high = (uint64_t)1 << (m - 1);
    for (j = 0; j < n; j++) {
        uint64_t eq = peq[(unsigned char)t[j]];
        uint64_t xv = eq | mv;
        uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
        uint64_t ph = mv | ~(xh | pv);
        uint64_t mh = pv & xh;
        if (ph & high)
            score++;
        else if (mh & high)
            score--;
        ph = (ph << 1) | 1u;
        mh <<= 1;
        pv = mh | ~(xv | ph);
        mv = ph & xv;
    }
    return score;
}

static int osa_distance(const char *a, int n, const char *b, int m)
{
    int i, j;
    for (i = 0; i <= n; i++)
        dp[i][0] = (uint16_t)i;
    for (j = 0; j <= m; j++)
        dp[0][j] = (uint16_t)j;
    for (i = 1; i <= n; i++) {
        for (j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = min3(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                dp[i - 2][j - 2] + 1 < best)
                best = dp[i - 2][j - 2] + 1;
            dp[i][j] = (uint16_t)best;
        }
    }
    return dp[n][m];
}

static int lcs_length(const char *a, int n, const char *b, int m)
{
    uint16_t row[MAX_LEN + 1];
    int i, j;
    memset(row, 0, sizeof row);
    for (i = 1; i <= n; i++) {
        uint16_t diag = 0;
        for (j = 1; j <= m; j++) {
            uint16_t up = row[j];
            if (a[i - 1] == b[j - 1])
                row[j] = (uint16_t)(diag + 1);
            else if (row[j - 1] > row[j])
                row[j] = row[j - 1];
            diag = up;
        }
    }
    return row[m];
}

static int random_string(char *s, int len, int alphabet)
{
    int i;
    for (i = 0; i < len; i++)
        s[i] = (char)('a' + (int)(rnd() % (uint32_t)alphabet));
    s[len] = '\0';
    return len;
}

static int mutate(const char *src, int n, char *dst, int edits, int alphabet)
{
    int len = n, e;
    memcpy(dst, src, (size_t)n + 1);
    for (e = 0; e < edits; e++) {
        uint32_t r = rnd();
        int pos = len > 0 ? (int)((r >> 8) % (uint32_t)len) : 0;
        switch (r % 4u) {
        case 0: /* substitute */
            if (len > 0)
                dst[pos] = (char)('a' + (int)((r >> 20) % (uint32_t)alphabet));
            break;
        case 1: /* insert */
            if (len < MAX_LEN) {
                memmove(dst + pos + 1, dst + pos, (size_t)(len - pos) + 1);
                dst[pos] = (char)('a' + (int)((r >> 20) % (uint32_t)alphabet));
                len++;
            }
            break;
        case 2: /* delete */
            if (len > 0) {
                memmove(dst + pos, dst + pos + 1, (size_t)(len - pos));
                len--;
            }
            break;
        default: /* swap neighbours */
            if (pos + 1 < len) {
                char t = dst[pos];
                dst[pos] = dst[pos + 1];
                dst[pos + 1] = t;
            }
            break;
        }
    }
    return len;
}

int main(void)
{
    char a[MAX_LEN + 1], b[MAX_LEN + 1], replay[2 * MAX_LEN + 2];
    struct edit_script script;
    uint32_t checksum = 0xFEEDFACEu;
    int failed = 0, pair;

    for (pair = 0; pair < PAIRS; pair++) {
        int alphabet = 2 + pair % 7;
        int n = random_string(a, (int)(rnd() % 57u), alphabet);
        int m = mutate(a, n, b, (int)(rnd() % 12u), alphabet);
        int full, rows, bits, osa, lcs, cost, rlen;

        if (pair % 10 == 9)
            m = random_string(b, (int)(rnd() % 64u), alphabet); /* unrelated pair */

        full = levenshtein_full(a, n, b, m);
        traceback(a, n, b, m, &script);
        cost = apply_script(&script, a, replay, &rlen);
        if (cost != full || rlen != m || memcmp(replay, b, (size_t)m) != 0)
            failed = 1;
        rows = levenshtein_two_rows(a, n, b, m);
        bits = levenshtein_bitparallel(a, n, b, m);
        if (rows != full || bits != full)
            failed = 1;
        osa = osa_distance(a, n, b, m);
        lcs = lcs_length(a, n, b, m);
        if (osa > full || n + m - 2 * lcs < full)
            failed = 1;
        if (levenshtein_two_rows(b, m, a, n) != full) /* symmetry */
            failed = 1;

        checksum = checksum * 0x01000193u ^ (uint32_t)full;
        checksum = checksum * 0x01000193u ^ (uint32_t)(osa << 8 | lcs);
        checksum = checksum * 0x01000193u ^ (uint32_t)script.count;
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "str_edit_distance", (unsigned)checksum);
    return failed ? 1 : 0;
}
