/* Integer matrix multiplication in several loop orders (ijk, ikj, transposed
 * and cache blocked with ragged edges), matrix-vector products and matrix
 * powers modulo 2^32. All variants must agree exactly. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define N 44
#define BLOCK 8

typedef struct {
    uint32_t m[N][N];
} matrix;

static matrix mat_a, mat_b, mat_c1, mat_c2, mat_c3, mat_c4, mat_t, mat_p, mat_tmp;
static uint32_t rng_state = 0xA5A5F00Du;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 7;
    rng_state ^= rng_state >> 9;
    rng_state ^= rng_state << 8;
    return rng_state;
}

static void fill_random(matrix *x, uint32_t range, uint32_t offset)
{
    int i, j;
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++)
            x->m[i][j] = rng_next() % range - offset; /* wraps to "negative" */
}

static void set_identity(matrix *x)
{
    int i;
    memset(x, 0, sizeof *x);
    for (i = 0; i < N; i++)
        x->m[i][i] = 1u;
}

static void mul_ijk(const matrix *a, const matrix *b, matrix *c)
{
    int i, j, k;
    for (i = 0; i < N; i++) {
        for (j = 0; j < N; j++) {
            uint32_t sum = 0;
            for (k = 0; k < N; k++)
                sum += a->m[i][k] * b->m[k][j];
            c->m[i][j] = sum;
        }
    }
}

static void mul_ikj(const matrix *a, const matrix *b, matrix *c)
{
    int i, j, k;
    memset(c, 0, sizeof *c);
    for (i = 0; i < N; i++) {
        for (k = 0; k < N; k++) {
            uint32_t aik = a->m[i][k];
            if (aik == 0)
                continue;
            for (j = 0; j < N; j++)
                c->m[i][j] += aik * b->m[k][j];
        }
    }
}

static void transpose(const matrix *src, matrix *dst)
{
    int i, j;
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++)
            dst->m[j][i] = src->m[i][j];
}

static uint32_t dot(const uint32_t *x, const uint32_t *y, int n)
{
    uint32_t s0 = 0, s1 = 0;
    int k = 0;
    for (; k + 1 < n; k += 2) {
        s0 += x[k] * y[k];
        s1 += x[k + 1] * y[k + 1];
    }
    if (k < n)
        s0 += x[k] * y[k];
    return s0 + s1;
}

static void mul_transposed(const matrix *a, const matrix *b, matrix *c)
{
    int i, j;
    transpose(b, &mat_t);
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++)
            c->m[i][j] = dot(a->m[i], mat_t.m[j], N);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

static void mul_blocked(const matrix *a, const matrix *b, matrix *c)
{
    int ii, jj, kk, i, j, k;
    memset(c, 0, sizeof *c);
    for (ii = 0; ii < N; ii += BLOCK) {
        int i_end = min_int(ii + BLOCK, N);
        for (kk = 0; kk < N; kk += BLOCK) {
            int k_end = min_int(kk + BLOCK, N);
            for (jj = 0; jj < N; jj += BLOCK) {
                int j_end = min_int(jj + BLOCK, N);
                for (i = ii; i < i_end; i++) {
                    for (k = kk; k < k_end; k++) {
                        uint32_t aik = a->m[i][k];
                        for (j = jj; j < j_end; j++)
                            c->m[i][j] += aik * b->m[k][j];
                    }
                }
            }
        }
    }
}

static void mat_vec(const matrix *a, const uint32_t *v, uint32_t *out)
{
    int i;
    for (i = 0; i < N; i++)
        out[i] = dot(a->m[i], v, N);
}

static void mat_pow(const matrix *base, unsigned e, matrix *result)
{
    static matrix sq;
    sq = *base;
    set_identity(result);
    while (e != 0) {
        if (e & 1u) {
            mul_blocked(result, &sq, &mat_tmp);
            *result = mat_tmp;
        }
        e >>= 1;
        if (e != 0) {
            mul_blocked(&sq, &sq, &mat_tmp);
            sq = mat_tmp;
        }
    }
}

static uint32_t mat_digest(const matrix *x)
{
    uint32_t h = 0x811C9DC5u;
    int i, j;
    for (i = 0; i < N; i++) {
        for (j = 0; j < N; j++) {
            h ^= x->m[i][j];
            h *= 0x01000193u;
        }
    }
    return h;
}

static uint32_t trace(const matrix *x)
{
    uint32_t t = 0;
    int i;
    for (i = 0; i < N; i++)
        t += x->m[i][i];
    return t;
}

int main(void)
{
    uint32_t v[N], av[N], bv[N], abv[N], cv[N];
    uint32_t checksum = 0;
    int failed = 0, i;

    fill_random(&mat_a, 201u, 100u);
    fill_random(&mat_b, 17u, 8u);

    mul_ijk(&mat_a, &mat_b, &mat_c1);
    mul_ikj(&mat_a, &mat_b, &mat_c2);
    mul_transposed(&mat_a, &mat_b, &mat_c3);
    mul_blocked(&mat_a, &mat_b, &mat_c4);
    if (memcmp(&mat_c1, &mat_c2, sizeof(matrix)) != 0 ||
        memcmp(&mat_c1, &mat_c3, sizeof(matrix)) != 0 ||
        memcmp(&mat_c1, &mat_c4, sizeof(matrix)) != 0)
        failed = 1;
    checksum ^= mat_digest(&mat_c1);
    checksum = checksum * 3u + trace(&mat_c1);

    /* associativity: (A B) v == A (B v) */
    for (i = 0; i < N; i++)
        v[i] = (uint32_t)i * 2654435761u;
    mat_vec(&mat_b, v, bv);
    mat_vec(&mat_a, bv, abv);
    mat_vec(&mat_c1, v, cv);
    for (i = 0; i < N; i++) {
        if (abv[i] != cv[i])
            failed = 1;
        checksum = (checksum << 5 | checksum >> 27) ^ cv[i];
    }
    mat_vec(&mat_a, v, av);
    checksum += av[N - 1];

    /* A^13 computed two ways */
    mat_pow(&mat_a, 13u, &mat_p);
    mat_c2 = mat_a;
    for (i = 1; i < 13; i++) {
        mul_ikj(&mat_c2, &mat_a, &mat_c3);
        mat_c2 = mat_c3;
    }
    if (memcmp(&mat_p, &mat_c2, sizeof(matrix)) != 0)
        failed = 1;
    checksum ^= mat_digest(&mat_p);
    checksum = checksum * 3u + trace(&mat_p);

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "matrix_blocked_mul", (unsigned)checksum);
    return failed ? 1 : 0;
}
