/* Fixed-point (Q15) FIR filtering: whole-array convolution, a streaming
 * circular-buffer filter fed in ragged blocks, and a polyphase decimator,
 * plus a one-pole DC blocker. Results are saturated to 16 bits. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define SIGNAL_LEN 2400
#define MAX_TAPS 33

struct fir_state {
    const int16_t *taps;
    int ntaps;
    int16_t history[MAX_TAPS];
    int pos;
};

static int16_t signal_in[SIGNAL_LEN];
static int16_t out_direct[SIGNAL_LEN];
static int16_t out_stream[SIGNAL_LEN];
static int16_t out_decim[SIGNAL_LEN / 2 + 1];
static int16_t lowpass[MAX_TAPS];
static int16_t highpass[MAX_TAPS];
static uint32_t lcg = 0x2468ACE1u;

/* a hand-made band-pass with negative taps */
static const int16_t bandpass[15] = {
    -310, -820, -1200, -640, 1150, 3900, 6100, 7000,
    6100, 3900, 1150, -640, -1200, -820, -310
};

static int16_t saturate16(int64_t v)
{
    if (v > 32767)
        return 32767;
    if (v < -32768)
        return -32768;
    return (int16_t)v;
}

static int64_t round_q15(int64_t acc)
{
    return (acc + 16384) >> 15;
}

static uint32_t lcg_next(void)
{
    lcg = lcg * 214013u + 2531011u;
    return lcg >> 16;
}

/* binomial window: row 16 of Pascal's triangle, scaled to Q15 */
static int make_lowpass(int16_t *taps)
{
    int64_t row[17];
    int n, k;
    for (k = 0; k < 17; k++)
        row[k] = 0;
    row[0] = 1;
    for (n = 1; n <= 16; n++)
        for (k = n; k > 0; k--)
            row[k] += row[k - 1];
    for (k = 0; k < 17; k++)
        taps[k] = (int16_t)(row[k] >> 1); /* sum 2^15 */
    return 17;
}

static int make_highpass(const int16_t *lp, int n, int16_t *hp)
{
    int k;
    for (k = 0; k < n; k++)
        hp[k] = (int16_t)(-lp[k]);
    hp[n / 2] = saturate16((int64_t)hp[n / 2] + 32767);
    return n;
}

static void generate_signal(void)
{
    int i;
    for (i = 0; i < SIGNAL_LEN; i++) {
        int32_t square = ((i / 23) & 1) ? 9000 : -9000;
        int32_t tri = (i % 64) < 32 ? (i % 64) * 400 - 6400 : (64 - i % 64) * 400 - 6400;
        int32_t noise = (int32_t)(lcg_next() & 0x1FFFu) - 4096;
        int32_t spike = (i % 397 == 0) ? 20000 : 0;
        signal_in[i] = saturate16((int64_t)square + tri + noise + spike);
    }
}

static void fir_direct(const int16_t *x, int n, const int16_t *h, int ntaps, int16_t *y)
{
    int i, k;
    for (i = 0; i < n; i++) {
        int64_t acc = 0;
        for (k = 0; k < ntaps; k++) {
            if (i - k < 0)
                break;
            acc += (int32_t)h[k] * x[i - k];
        }
        y[i] = saturate16(round_q15(acc));
    }
}

static void fir_init(struct fir_state *s, const int16_t *taps, int ntaps)
{
    s->taps = taps;
    s->ntaps = ntaps;
    s->pos = 0;
    memset(s->history, 0, sizeof s->history);
}

static int16_t fir_step(struct fir_state *s, int16_t x)
{
    int64_t acc = 0;
    int k, idx;
    s->history[s->pos] = x;
    idx = s->pos;
    for (k = 0; k < s->ntaps; k++) {
        acc += (int32_t)s->taps[k] * s->history[idx];
        idx = (idx == 0) ? s->ntaps - 1 : idx - 1;
    }
    s->pos = (s->pos + 1 == s->ntaps) ? 0 : s->pos + 1;
    return saturate16(round_q15(acc));
}

static void fir_block(struct fir_state *s, const int16_t *x, int n, int16_t *y)
{
    int i;
    for (i = 0; i < n; i++)
        y[i] = fir_step(s, x[i]);
}

/* keeps every second output, computing only the kept ones */
static int fir_decimate2(const int16_t *x, int n, const int16_t *h, int ntaps, int16_t *y)
{
    int i, k, out = 0;
    for (i = 0; i < n; i += 2) {
        int64_t even = 0, odd = 0;
        for (k = 0; k < ntaps && k <= i; k += 2)
            even += (int32_t)h[k] * x[i - k];
        for (k = 1; k < ntaps && k <= i; k += 2)
            odd += (int32_t)h[k] * x[i - k];
        y[out++] = saturate16(round_q15(even + odd));
    }
    return out;
}

static void dc_blocker(const int16_t *x, int n, int16_t *y)
{
    int32_t prev_x = 0, prev_y = 0;
    int i;
    for (i = 0; i < n; i++) {
        int64_t v = (int64_t)x[i] - prev_x + round_q15((int64_t)prev_y * 32440);
        prev_x = x[i];
        y[i] = saturate16(v);
        prev_y = y[i];
    }
}

static uint32_t fold_signal(uint32_t h, const int16_t *y, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        h ^= (uint32_t)(uint16_t)y[i];
        h *= 0x01000193u;
    }
    return h;
}

static int run_filter(const int16_t *taps, int ntaps, uint32_t *checksum)
{
    struct fir_state st;
    int pos = 0, chunk = 1, failed = 0, i, nd;

    fir_direct(signal_in, SIGNAL_LEN, taps, ntaps, out_direct);
    fir_init(&st, taps, ntaps);
    while (pos < SIGNAL_LEN) {
        int take = chunk;
        if (take > SIGNAL_LEN - pos)
            take = SIGNAL_LEN - pos;
        fir_block(&st, signal_in + pos, take, out_stream + pos);
        pos += take;
        chunk = (chunk * 5 + 3) % 61 + 1;
    }
    if (memcmp(out_direct, out_stream, sizeof out_direct) != 0)
        failed = 1;
    nd = fir_decimate2(signal_in, SIGNAL_LEN, taps, ntaps, out_decim);
    for (i = 0; i < nd; i++) {
        if (out_decim[i] != out_direct[2 * i])
            failed = 1;
    }
    *checksum = fold_signal(*checksum, out_direct, SIGNAL_LEN);
    *checksum = fold_signal(*checksum, out_decim, nd);
    return failed;
}

int main(void)
{
    uint32_t checksum = 0x811C9DC5u;
    int failed = 0, nlp, nhp;
    int64_t energy = 0;
    int i;

    generate_signal();
    nlp = make_lowpass(lowpass);
    nhp = make_highpass(lowpass, nlp, highpass);

    failed |= run_filter(lowpass, nlp, &checksum);
    failed |= run_filter(highpass, nhp, &checksum);
    failed |= run_filter(bandpass, 15, &checksum);

    dc_blocker(signal_in, SIGNAL_LEN, out_stream);
    checksum = fold_signal(checksum, out_stream, SIGNAL_LEN);
    for (i = 0; i < SIGNAL_LEN; i++)
        energy += (int64_t)out_stream[i] * out_stream[i];
    checksum ^= (uint32_t)((uint64_t)energy >> 7);
    checksum ^= (uint32_t)failed;

    printf("%s %08x\n", "dsp_fir", (unsigned)checksum);
    return failed ? 1 : 0;
}
