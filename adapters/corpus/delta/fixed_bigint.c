/* fixed_bigint: arbitrary-precision unsigned integers stored as base-10000
 * limb arrays: addition, subtraction, small and schoolbook multiplication,
 * comparison, squaring by repeated multiplication.  Computes 100!, 2^1000 and
 * Fibonacci(1000) with known digit sums / lengths, and checks the algebraic
 * identity (a+b)^2 = a^2 + 2ab + b^2 on random operands.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define BASE 10000u
#define MAXL 300

struct big {
    uint32_t d[MAXL]; /* little-endian limbs */
    int n;            /* used limbs; 0 means the value zero */
    int overflow;
};

static uint32_t seed = 0x2F6B8A13u;

static uint32_t rnd(void)
{
    seed = seed * 214013u + 2531011u;
    return (seed >> 16) & 0x7FFFu;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x01000193u;
    return h ^ (h >> 11);
}

static void trim(struct big *a)
{
    while (a->n > 0 && a->d[a->n - 1] == 0u)
        a->n--;
}

static void set_u32(struct big *a, uint32_t v)
{
    memset(a, 0, sizeof *a);
    while (v) {
        a->d[a->n++] = v % BASE;
        v /= BASE;
    }
}

static int cmp(const struct big *a, const struct big *b)
{
    int i;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

static void add(struct big *r, const struct big *a, const struct big *b)
{
    struct big t;
    uint32_t carry = 0;
    int i, n = a->n > b->n ? a->n : b->n;
    memset(&t, 0, sizeof t);
    t.overflow = a->overflow | b->overflow;
    for (i = 0; i < n || carry; i++) {
        uint32_t s = carry;
        if (i >= MAXL) { t.overflow = 1; break; }
        if (i < a->n) s += a->d[i];
        if (i < b->n) s += b->d[i];
        t.d[i] = s % BASE;
        carry = s / BASE;
        t.n = i + 1;
    }
    trim(&t);
    *r = t;
}

/* r = a - b, requires a >= b */
static void sub(struct big *r, const struct big *a, const struct big *b)
{
    struct big t = *a;
    uint32_t borrow = 0;
    int i;
    for (i = 0; i < t.n; i++) {
        uint32_t x = (i < b->n ? b->d[i] : 0u) + borrow;
        if (t.d[i] >= x) {
            t.d[i] -= x;
            borrow = 0;
        } else {
            t.d[i] = t.d[i] + BASE - x;
            borrow = 1;
        }
    }
    if (borrow) t.overflow = 1;
    trim(&t);
    *r = t;
}

static void mul_small(struct big *r, const struct big *a, uint32_t m)
{
    struct big t;
    uint64_t carry = 0;
    int i;
    memset(&t, 0, sizeof t);
    t.overflow = a->overflow;
    for (i = 0; i < a->n || carry; i++) {
        uint64_t p = carry;
        if (i >= MAXL) { t.overflow = 1; break; }
        if (i < a->n) p += (uint64_t)a->d[i] * m;
        t.d[i] = (uint32_t)(p % BASE);
        carry = p / BASE;
        t.n = i + 1;
    }
    trim(&t);
    *r = t;
}

static void mul(struct big *r, const struct big *a, const struct big *b)
{
    static uint64_t acc[2 * MAXL + 1];
    struct big t;
    int i, j, n = a->n + b->n;
    memset(&t, 0, sizeof t);
    t.overflow = a->overflow | b->overflow;
    if (n > MAXL) {
        t.overflow = 1;
        *r = t;
        return;
    }
    memset(acc, 0, sizeof(uint64_t) * (size_t)(n + 1));
    for (i = 0; i < a->n; i++) {
        uint64_t ai = a->d[i];
        if (ai == 0u) continue;
        for (j = 0; j < b->n; j++)
            acc[i + j] += ai * b->d[j];
        /* keep the accumulators far from overflow */
        if ((i & 63) == 63)
            for (j = 0; j < n; j++) {
                acc[j + 1] += acc[j] / BASE;
                acc[j] %= BASE;
            }
    }
    for (j = 0; j < n; j++) {
        acc[j + 1] += acc[j] / BASE;
        t.d[j] = (uint32_t)(acc[j] % BASE);
    }
    t.n = n;
    trim(&t);
    *r = t;
}

static uint32_t digit_sum(const struct big *a)
{
    uint32_t s = 0;
    int i;
    for (i = 0; i < a->n; i++) {
        uint32_t x = a->d[i];
        while (x) { s += x % 10u; x /= 10u; }
    }
    return s;
}

static uint32_t decimal_digits(const struct big *a)
{
    uint32_t top, k = 0;
    if (a->n == 0) return 1;
    top = a->d[a->n - 1];
    while (top) { k++; top /= 10u; }
    return (uint32_t)(a->n - 1) * 4u + k;
}

static uint32_t hash_big(uint32_t h, const struct big *a)
{
    int i;
    h = mix(h, (uint32_t)a->n);
    for (i = 0; i < a->n; i++)
        h = mix(h, a->d[i]);
    return h;
}

static void random_big(struct big *a, int limbs)
{
    int i;
    memset(a, 0, sizeof *a);
    for (i = 0; i < limbs; i++)
        a->d[i] = rnd() % BASE;
    a->n = limbs;
    trim(a);
}

int main(void)
{
    static struct big a, b, c, d, e, x;
    uint32_t h = 0, bad = 0, i;

    /* 100! */
    set_u32(&a, 1);
    for (i = 2; i <= 100u; i++)
        mul_small(&a, &a, i);
    if (digit_sum(&a) != 648u || decimal_digits(&a) != 158u) bad++;
    h = hash_big(h, &a);

    /* 2^1000 by square-and-multiply with full multiplication */
    set_u32(&b, 1);
    set_u32(&c, 2);
    for (i = 1000u; i; i >>= 1) {
        if (i & 1u) mul(&b, &b, &c);
        mul(&c, &c, &c);
    }
    if (digit_sum(&b) != 1366u || decimal_digits(&b) != 302u) bad++;
    h = hash_big(h, &b);
    /* and by repeated doubling */
    set_u32(&d, 1);
    for (i = 0; i < 1000u; i++)
        add(&d, &d, &d);
    if (cmp(&b, &d) != 0) bad++;

    /* Fibonacci(1000) */
    set_u32(&a, 0);
    set_u32(&b, 1);
    for (i = 0; i < 1000u; i++) {
        add(&c, &a, &b);
        a = b;
        b = c;
    }
    if (decimal_digits(&a) != 209u) bad++;
    h = hash_big(h, &a);
    h = mix(h, digit_sum(&a));

    /* (a+b)^2 == a^2 + 2ab + b^2 and (a+b) - b == a */
    for (i = 0; i < 24u; i++) {
        random_big(&a, 1 + (int)(rnd() % 60u));
        random_big(&b, 1 + (int)(rnd() % 60u));
        add(&c, &a, &b);
        mul(&d, &c, &c);
        mul(&e, &a, &a);
        mul(&x, &a, &b);
        mul_small(&x, &x, 2u);
        add(&e, &e, &x);
        mul(&x, &b, &b);
        add(&e, &e, &x);
        if (cmp(&d, &e) != 0) bad++;
        sub(&x, &c, &b);
        if (cmp(&x, &a) != 0) bad++;
        if (cmp(&c, &a) < 0) bad++;
        if (d.overflow || e.overflow || x.overflow) bad++;
        h = hash_big(h, &d);
    }
    h = mix(h, bad);
    printf("%s %08" PRIx32 "\n", "fixed_bigint", h);
    return bad == 0u ? 0 : 1;
}
