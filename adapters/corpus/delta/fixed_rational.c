/* fixed_rational: exact rational arithmetic on int64 numerator/denominator
 * pairs, normalised by gcd, with overflow-checked multiply/add.  Workloads:
 * harmonic numbers, Farey sequences (neighbour determinant, symmetry, length
 * = 1 + sum of Euler phi), continued fractions and their convergents, greedy
 * Egyptian fractions and exact Gaussian elimination.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

struct rat {
    int64_t n, d;
};

static int overflowed;
static uint32_t seed = 0x31415926u;

static uint32_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

static uint32_t mix(uint32_t h, int64_t v)
{
    uint64_t u = (uint64_t)v;
    h = (h ^ (uint32_t)u) * 0x01000193u;
    h = (h ^ (uint32_t)(u >> 32)) * 0x01000193u;
    return h;
}

static uint64_t mag(int64_t v)
{
    return v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
}

static uint64_t ugcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int64_t cmul(int64_t a, int64_t b)
{
    uint64_t ua = mag(a), ub = mag(b), p;
    if (ua != 0u && ub > (uint64_t)INT64_MAX / ua) {
        overflowed = 1;
        return 0;
    }
    p = ua * ub;
    return ((a < 0) != (b < 0)) ? -(int64_t)p : (int64_t)p;
}

static int64_t cadd(int64_t a, int64_t b)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < -INT64_MAX - b)) {
        overflowed = 1;
        return 0;
    }
    return a + b;
}

static struct rat make(int64_t n, int64_t d)
{
    struct rat r;
    uint64_t g;
    if (d == 0) {
        overflowed = 1;
        d = 1;
    }
    if (d < 0) {
        n = -n;
        d = -d;
    }
    g = ugcd(mag(n), (uint64_t)d);
    if (g > 1u) {
        n /= (int64_t)g;
        d /= (int64_t)g;
    }
    if (n == 0) d = 1;
    r.n = n;
    r.d = d;
    return r;
}

static struct rat radd(struct rat a, struct rat b)
{
    int64_t g = (int64_t)ugcd((uint64_t)a.d, (uint64_t)b.d);
    int64_t bd = b.d / g, ad = a.d / g;
    return make(cadd(cmul(a.n, bd), cmul(b.n, ad)), cmul(a.d, bd));
}

static struct rat rneg(struct rat a) { a.n = -a.n; return a; }
static struct rat rsub(struct rat a, struct rat b) { return radd(a, rneg(b)); }

static struct rat rmul(struct rat a, struct rat b)
{
    int64_t g1 = (int64_t)ugcd(mag(a.n), (uint64_t)b.d);
    int64_t g2 = (int64_t)ugcd(mag(b.n), (uint64_t)a.d);
    if (g1 == 0) g1 = 1;
    if (g2 == 0) g2 = 1;
    return make(cmul(a.n / g1, b.n / g2), cmul(a.d / g2, b.d / g1));
}

static struct rat rdiv(struct rat a, struct rat b)
{
    struct rat inv;
    inv.n = b.d;
    inv.d = b.n;
    if (inv.d < 0) { inv.n = -inv.n; inv.d = -inv.d; }
    if (inv.d == 0) { overflowed = 1; inv.d = 1; }
    return rmul(a, inv);
}

static int req(struct rat a, struct rat b) { return a.n == b.n && a.d == b.d; }

static uint32_t harmonic(uint32_t h, uint32_t *bad)
{
    struct rat s = make(0, 1);
    int64_t k;
    for (k = 1; k <= 22; k++) {
        s = radd(s, make(1, k));
        if (k == 10 && !req(s, make(7381, 2520))) (*bad)++;
        h = mix(h, s.n);
        h = mix(h, s.d);
    }
    return h;
}

static uint32_t farey(uint32_t h, uint32_t *bad)
{
    static uint32_t phi[81];
    uint32_t order, i, j;
    for (i = 0; i <= 80u; i++) phi[i] = i;
    for (i = 2; i <= 80u; i++)
        if (phi[i] == i)
            for (j = i; j <= 80u; j += i)
                phi[j] -= phi[j] / i;
    for (order = 1; order <= 80u; order += 7u) {
        /* walk F_order with the next-term recurrence */
        int64_t a = 0, b = 1, c = 1, d = (int64_t)order;
        uint64_t count = 1, expect = 1;
        struct rat first = make(a, b), sum = make(0, 1);
        for (i = 1; i <= order; i++) expect += phi[i];
        while (c <= (int64_t)order) {
            int64_t k = ((int64_t)order + b) / d;
            int64_t e = k * c - a, f = k * d - b;
            if (b * c - a * d != 1) (*bad)++;
            a = c; b = d; c = e; d = f;
            count++;
            if (count % 97u == 0u) sum = radd(sum, make(a, b));
        }
        if (count != expect || !req(make(a, b), make(1, 1)) || first.n != 0) (*bad)++;
        h = mix(h, (int64_t)count);
        h = mix(h, sum.n ^ sum.d);
    }
    return h;
}

static uint32_t continued_fractions(uint32_t h, uint32_t *bad)
{
    int t;
    for (t = 0; t < 200; t++) {
        int64_t p = 1 + (int64_t)(rnd() % 1000000u), q = 1 + (int64_t)(rnd() % 1000000u);
        int64_t terms[64], x = p, y = q;
        int n = 0, i;
        int64_t hp = 1, hpp = 0, kp = 0, kpp = 1;
        while (y != 0 && n < 64) {
            terms[n++] = x / y;
            x %= y;
            { int64_t tmp = x; x = y; y = tmp; }
        }
        for (i = 0; i < n; i++) {
            int64_t hn = cadd(cmul(terms[i], hp), hpp);
            int64_t kn = cadd(cmul(terms[i], kp), kpp);
            hpp = hp; hp = hn;
            kpp = kp; kp = kn;
            h = mix(h, terms[i]);
        }
        if (!req(make(hp, kp), make(p, q))) (*bad)++;
        h = mix(h, (int64_t)n);
    }
    return h;
}

static uint32_t egyptian(uint32_t h, uint32_t *bad)
{
    int64_t q, p;
    for (q = 2; q <= 18; q++)
        for (p = 1; p < q; p++) {
            struct rat r = make(p, q), sum = make(0, 1);
            int terms = 0;
            while (r.n != 0 && terms < 12 && !overflowed) {
                int64_t den = (r.d + r.n - 1) / r.n; /* ceil(d / n) */
                struct rat unit = make(1, den);
                r = rsub(r, unit);
                sum = radd(sum, unit);
                terms++;
                h = mix(h, den);
            }
            if (!req(sum, make(p, q))) (*bad)++;
        }
    return h;
}

#define DIM 5

static uint32_t gauss(uint32_t h, uint32_t *bad)
{
    int trial;
    for (trial = 0; trial < 12; trial++) {
        struct rat m[DIM][DIM + 1];
        int64_t xs[DIM], a[DIM][DIM];
        int i, j, k, singular = 0;
        for (i = 0; i < DIM; i++)
            xs[i] = (int64_t)(rnd() % 21u) - 10;
        for (i = 0; i < DIM; i++) {
            int64_t b = 0;
            for (j = 0; j < DIM; j++) {
                a[i][j] = (int64_t)(rnd() % 13u) - 6;
                b += a[i][j] * xs[j];
                m[i][j] = make(a[i][j], 1);
            }
            m[i][DIM] = make(b, 1);
        }
        for (k = 0; k < DIM && !singular; k++) {
            int piv = -1;
            for (i = k; i < DIM; i++)
                if (m[i][k].n != 0) { piv = i; break; }
            if (piv < 0) { singular = 1; break; }
            if (piv != k)
                for (j = 0; j <= DIM; j++) {
                    struct rat t = m[k][j]; m[k][j] = m[piv][j]; m[piv][j] = t;
                }
            for (i = 0; i < DIM; i++) {
                struct rat f;
                if (i == k || m[i][k].n == 0) continue;
                f = rdiv(m[i][k], m[k][k]);
                for (j = k; j <= DIM; j++)
                    m[i][j] = rsub(m[i][j], rmul(f, m[k][j]));
            }
        }
        h = mix(h, singular);
        if (singular) continue;
        for (i = 0; i < DIM; i++) {
            struct rat xi = rdiv(m[i][DIM], m[i][i]);
            if (!req(xi, make(xs[i], 1))) (*bad)++;
            h = mix(h, m[i][i].n);
            h = mix(h, m[i][i].d);
        }
    }
    return h;
}

int main(void)
{
    uint32_t h = 0x27182818u, bad = 0;
    h = harmonic(h, &bad);
    h = farey(h, &bad);
    h = continued_fractions(h, &bad);
    h = egyptian(h, &bad);
    h = gauss(h, &bad);
    if (overflowed) bad++;
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "fixed_rational", h);
    return bad == 0u ? 0 : 1;
}
