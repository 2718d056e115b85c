/* 2-D image kernels on a small synthetic 8-bit image: generic convolution
 * with several border modes, a separable Gaussian that must match the 2-D
 * one exactly, Sobel gradient magnitude with a histogram, and a 3x3 median. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define W 64
#define H 48

enum border { BORDER_CLAMP, BORDER_ZERO, BORDER_WRAP, BORDER_MIRROR };

struct kernel {
    int size; /* odd */
    int32_t coeff[25];
    int shift; /* result = (sum + round) >> shift, then + bias */
    int32_t bias;
};

static uint8_t image[H][W];
static uint8_t out_a[H][W];
static uint8_t out_b[H][W];
static int32_t grad_x[H][W];
static int32_t grad_y[H][W];
static int32_t row_tmp[H][W];

static const struct kernel gaussian3 = { 3, { 1, 2, 1, 2, 4, 2, 1, 2, 1 }, 4, 0 };
static const struct kernel sharpen3 = { 3, { 0, -1, 0, -1, 5, -1, 0, -1, 0 }, 0, 0 };
static const struct kernel sobel_x = { 3, { -1, 0, 1, -2, 0, 2, -1, 0, 1 }, 0, 0 };
static const struct kernel sobel_y = { 3, { -1, -2, -1, 0, 0, 0, 1, 2, 1 }, 0, 0 };
static const struct kernel emboss3 = { 3, { -2, -1, 0, -1, 1, 1, 0, 1, 2 }, 0, 128 };
static const struct kernel box5 = {
    5, { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 0, 0
};

static void make_image(void)
{
    uint32_t s = 0x2F6B1D3Au;
    int x, y;
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            int dx = x - 20, dy = y - 30, dx2 = x - 48, dy2 = y - 12;
            int v = (x * 3 + y * 2) & 0xFF;
            if (dx * dx + dy * dy < 150)
                v = 230;
            if (dx2 * dx2 + dy2 * dy2 < 60)
                v = 20;
            if ((x / 8 + y / 8) % 5 == 0)
                v = v / 2 + 60;
            s = s * 1103515245u + 12345u;
            v += (int)((s >> 16) % 21u) - 10;
            if (v < 0)
                v = 0;
            if (v > 255)
                v = 255;
            image[y][x] = (uint8_t)v;
        }
    }
}

static int resolve(int i, int n, enum border mode)
{
    switch (mode) {
    case BORDER_CLAMP:
        return i < 0 ? 0 : (i >= n ? n - 1 : i);
    case BORDER_WRAP:
        return ((i % n) + n) % n;
    case BORDER_MIRROR:
        if (i < 0)
            i = -i - 1;
        if (i >= n)
            i = 2 * n - i - 1;
        return i;
    default:
        return (i < 0 || i >= n) ? -1 : i;
    }
}

static int32_t sample(uint8_t img[H][W], int x, int y, enum border mode)
{
    int rx = resolve(x, W, mode), ry = resolve(y, H, mode);
    if (rx < 0 || ry < 0)
        return 0;
    return img[ry][rx];
}

static uint8_t clamp_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

static int32_t convolve_at(uint8_t img[H][W], const struct kernel *k, int x, int y,
                           enum border mode)
{
    int r = k->size / 2, i, j;
    int32_t sum = 0;
    for (j = -r; j <= r; j++)
        for (i = -r; i <= r; i++)
            sum += k->coeff[(j + r) * k->size + (i + r)] * sample(img, x + i, y + j, mode);
    return sum;
}

static void convolve(uint8_t img[H][W], const struct kernel *k, enum border mode,
                     uint8_t dst[H][W])
{
    int x, y;
    int32_t round = k->shift > 0 ? (1 << (k->shift - 1)) : 0;
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            int32_t sum = convolve_at(img, k, x, y, mode);
            if (k->shift > 0)
                sum = (sum + round) >> k->shift;
            dst[y][x] = clamp_u8(sum + k->bias);
        }
    }
}

static void convolve_box5_divided(uint8_t img[H][W], uint8_t dst[H][W])
{
    int x, y;
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            dst[y][x] = (uint8_t)((convolve_at(img, &box5, x, y, BORDER_MIRROR) + 12) / 25);
}

static void gaussian_separable(uint8_t img[H][W], uint8_t dst[H][W])
{
    int x, y;
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            row_tmp[y][x] = sample(img, x - 1, y, BORDER_CLAMP) +
                            2 * sample(img, x, y, BORDER_CLAMP) +
                            sample(img, x + 1, y, BORDER_CLAMP);
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            int ym = resolve(y - 1, H, BORDER_CLAMP), yp = resolve(y + 1, H, BORDER_CLAMP);
            int32_t sum = row_tmp[ym][x] + 2 * row_tmp[y][x] + row_tmp[yp][x];
            dst[y][x] = clamp_u8((sum + 8) >> 4);
        }
    }
}

static void sort2(uint8_t *a, uint8_t *b)
{
    if (*a > *b) {
        uint8_t t = *a;
        *a = *b;
        *b = t;
    }
}

static uint8_t median9(uint8_t v[9])
{
    int i, j;
    for (i = 0; i < 9; i++)
        for (j = 0; j + 1 < 9 - i; j++)
            sort2(&v[j], &v[j + 1]);
    return v[4];
}

static void median3x3(uint8_t img[H][W], uint8_t dst[H][W])
{
    int x, y, i, j;
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            uint8_t v[9];
            int n = 0;
            for (j = -1; j <= 1; j++)
                for (i = -1; i <= 1; i++)
                    v[n++] = (uint8_t)sample(img, x + i, y + j, BORDER_MIRROR);
            dst[y][x] = median9(v);
        }
    }
}

static uint32_t digest(uint8_t img[H][W])
{
    uint32_t h = 0x811C9DC5u;
    int x, y;
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            h = (h ^ img[y][x]) * 0x01000193u;
    return h;
}

static int32_t abs32(int32_t v)
{
    return v < 0 ? -v : v;
}

int main(void)
{
    static const enum border modes[4] = { BORDER_CLAMP, BORDER_ZERO, BORDER_WRAP, BORDER_MIRROR };
    uint32_t histogram[16];
    uint32_t checksum = 0, edges = 0;
    int failed = 0, m, x, y, b;

    make_image();
    checksum ^= digest(image);

    for (m = 0; m < 4; m++) {
        convolve(image, &gaussian3, modes[m], out_a);
        checksum = checksum * 31u + digest(out_a);
        convolve(image, &sharpen3, modes[m], out_a);
        checksum = checksum * 31u + digest(out_a);
        convolve(image, &emboss3, modes[m], out_a);
        checksum = checksum * 31u + digest(out_a);
    }

    convolve(image, &gaussian3, BORDER_CLAMP, out_a);
    gaussian_separable(image, out_b);
    if (memcmp(out_a, out_b, sizeof out_a) != 0)
        failed = 1;

    convolve_box5_divided(image, out_a);
    checksum ^= digest(out_a);
    median3x3(image, out_b);
    checksum = checksum * 31u + digest(out_b);
    /* a median lies between the minimum and maximum of its neighbourhood */
    for (y = 1; y < H - 1; y++) {
        for (x = 1; x < W - 1; x++) {
            uint8_t lo = 255, hi = 0;
            int i, j;
            for (j = -1; j <= 1; j++) {
                for (i = -1; i <= 1; i++) {
                    uint8_t v = image[y + j][x + i];
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                }
            }
            if (out_b[y][x] < lo || out_b[y][x] > hi)
                failed = 1;
        }
    }

    memset(histogram, 0, sizeof histogram);
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            int32_t mag;
            grad_x[y][x] = convolve_at(image, &sobel_x, x, y, BORDER_CLAMP);
            grad_y[y][x] = convolve_at(image, &sobel_y, x, y, BORDER_CLAMP);
            mag = abs32(grad_x[y][x]) + abs32(grad_y[y][x]);
            out_a[y][x] = clamp_u8(mag);
            histogram[out_a[y][x] >> 4]++;
            if (mag > 200)
                edges++;
        }
    }
    /* Sobel x is a horizontal central difference smoothed vertically by [1 2 1] */
    for (y = 1; y < H - 1; y++) {
        for (x = 1; x < W - 1; x++) {
            int32_t d = 0;
            int j;
            for (j = -1; j <= 1; j++)
                d += (j == 0 ? 2 : 1) * ((int32_t)image[y + j][x + 1] - image[y + j][x - 1]);
            if (d != grad_x[y][x])
                failed = 1;
        }
    }
    for (b = 0; b < 16; b++)
        checksum = checksum * 0x01000193u ^ histogram[b];
    checksum = checksum * 0x01000193u ^ edges;
    checksum ^= digest(out_a);
    checksum ^= (uint32_t)failed;

    printf("%s %08x\n", "dsp_conv2d", (unsigned)checksum);
    return failed ? 1 : 0;
}
