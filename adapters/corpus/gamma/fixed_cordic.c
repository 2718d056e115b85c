/* fixed_cordic: Q16.16 CORDIC in rotation mode (sin/cos, vector rotation)
 * and vectoring mode (atan2, magnitude), with quadrant reduction.  Identities
 * (sin^2 + cos^2 = 1, atan2(sin, cos) = angle, rotating a point n times by
 * 2*pi/n returns it home) are checked with fixed tolerances.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>

#define FRAC 16
#define ONE 65536
#define PI_Q 205887
#define HALF_PI_Q 102944
#define TWO_PI_Q 411775
#define CORDIC_GAIN_INV 39797 /* 1/K in Q16.16 */
#define ITER 16

static const int32_t atan_tab[ITER] = {
    51472, 30386, 16055, 8150, 4091, 2047, 1024, 512,
    256, 128, 64, 32, 16, 8, 4, 2
};

/* arithmetic shift right with floor semantics, without relying on
 * implementation-defined behaviour for negative operands */
static int32_t asr32(int32_t v, unsigned n)
{
    if (v >= 0)
        return (int32_t)((uint32_t)v >> n);
    return -(int32_t)((uint32_t)(-(v + 1)) >> n) - 1;
}

static int64_t asr64(int64_t v, unsigned n)
{
    if (v >= 0)
        return (int64_t)((uint64_t)v >> n);
    return -(int64_t)((uint64_t)(-(v + 1)) >> n) - 1;
}

static int32_t qmul(int32_t a, int32_t b)
{
    return (int32_t)asr64((int64_t)a * b, FRAC);
}

static int32_t iabs32(int32_t v) { return v < 0 ? -v : v; }

static uint32_t mixh(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

/* Reduce angle into [-pi, pi]. */
static int32_t wrap_angle(int32_t a)
{
    while (a > PI_Q) a -= TWO_PI_Q;
    while (a < -PI_Q) a += TWO_PI_Q;
    return a;
}

/* Rotate (x, y) by angle a (Q16.16 radians).  Output is NOT gain corrected. */
static void cordic_rotate_raw(int32_t *x, int32_t *y, int32_t a)
{
    int32_t cx = *x, cy = *y, z = a;
    int i;
    for (i = 0; i < ITER; i++) {
        int32_t dx = asr32(cy, (unsigned)i), dy = asr32(cx, (unsigned)i);
        if (z >= 0) {
            cx -= dx; cy += dy; z -= atan_tab[i];
        } else {
            cx += dx; cy -= dy; z += atan_tab[i];
        }
    }
    *x = cx;
    *y = cy;
}

/* Rotate a vector by any angle, with quadrant folding and gain correction. */
static void rotate(int32_t *x, int32_t *y, int32_t a)
{
    a = wrap_angle(a);
    if (a > HALF_PI_Q) {
        *x = -*x; *y = -*y; a -= PI_Q;
    } else if (a < -HALF_PI_Q) {
        *x = -*x; *y = -*y; a += PI_Q;
    }
    cordic_rotate_raw(x, y, a);
    *x = qmul(*x, CORDIC_GAIN_INV);
    *y = qmul(*y, CORDIC_GAIN_INV);
}

static void sincos_q(int32_t a, int32_t *s, int32_t *c)
{
    int32_t x = CORDIC_GAIN_INV, y = 0;
    a = wrap_angle(a);
    if (a > HALF_PI_Q) {
        x = -x; a -= PI_Q;
    } else if (a < -HALF_PI_Q) {
        x = -x; a += PI_Q;
    }
    cordic_rotate_raw(&x, &y, a);
    *c = x;
    *s = y;
}

/* Vectoring mode: returns atan2(y, x), writes magnitude. */
static int32_t atan2_q(int32_t y, int32_t x, int32_t *mag)
{
    int32_t z = 0;
    int i;
    if (x == 0 && y == 0) {
        *mag = 0;
        return 0;
    }
    if (x < 0) {
        x = -x; y = -y;
        z = (y <= 0) ? PI_Q : -PI_Q; /* y already negated */
    }
    for (i = 0; i < ITER; i++) {
        int32_t dx = asr32(y, (unsigned)i), dy = asr32(x, (unsigned)i);
        if (y > 0) {
            x += dx; y -= dy; z += atan_tab[i];
        } else {
            x -= dx; y += dy; z -= atan_tab[i];
        }
    }
    *mag = qmul(x, CORDIC_GAIN_INV);
    return wrap_angle(z);
}

static int32_t angle_diff(int32_t a, int32_t b)
{
    return wrap_angle(a - b);
}

int main(void)
{
    uint32_t h = 0x55AA55AAu, bad = 0;
    int32_t a, worst_norm = 0, worst_ang = 0;
    int k, n;

    /* sweep angles over several turns */
    for (a = -4 * PI_Q; a <= 4 * PI_Q; a += 1237) {
        int32_t s, c, mag, back, norm, d;
        sincos_q(a, &s, &c);
        norm = qmul(s, s) + qmul(c, c) - ONE;
        if (iabs32(norm) > worst_norm) worst_norm = iabs32(norm);
        back = atan2_q(s, c, &mag);
        d = iabs32(angle_diff(back, wrap_angle(a)));
        if (d > worst_ang) worst_ang = d;
        if (iabs32(mag - ONE) > 40) bad++;
        h = mixh(h, (uint32_t)s);
        h = mixh(h, (uint32_t)c);
        h = mixh(h, (uint32_t)back);
    }
    if (worst_norm > 80) bad++;
    if (worst_ang > 40) bad++;
    h = mixh(h, (uint32_t)worst_norm);
    h = mixh(h, (uint32_t)worst_ang);

    /* regular polygons: rotate a point n times by 2*pi/n */
    for (n = 3; n <= 24; n++) {
        int32_t x = 3 * ONE + n * 1000, y = -ONE / 2, x0 = x, y0 = y;
        int32_t step = TWO_PI_Q / n;
        int32_t rem = TWO_PI_Q - step * n;
        for (k = 0; k < n; k++) {
            rotate(&x, &y, step + (k < rem ? 1 : 0));
            h = mixh(h, (uint32_t)x ^ ((uint32_t)y << 1));
        }
        if (iabs32(x - x0) > 64 * n || iabs32(y - y0) > 64 * n) bad++;
    }

    /* polar conversion of a grid of points */
    for (k = -20; k <= 20; k++) {
        for (n = -20; n <= 20; n++) {
            int32_t x = k * 5000, y = n * 7000, mag, ang, rx, ry;
            ang = atan2_q(y, x, &mag);
            rx = mag;
            ry = 0;
            rotate(&rx, &ry, ang);
            if (iabs32(rx - x) > 96 || iabs32(ry - y) > 96) bad++;
            h = mixh(h, (uint32_t)ang);
            h = mixh(h, (uint32_t)mag);
        }
    }

    h = mixh(h, bad);
    printf("%s %08" PRIx32 "\n", "fixed_cordic", h);
    return bad == 0u ? 0 : 1;
}
