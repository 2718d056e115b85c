/* fsm_framer: an HDLC-like byte-stuffing framer and a byte-at-a-time
 * deframer state machine.  Frames carry address, sequence, length, payload
 * and a Fletcher-16 check.  The stream is polluted with line noise between
 * frames and bit errors inside some frames; the receiver must deliver exactly
 * the clean frames, byte for byte.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define FLAG 0x7Eu
#define ESC 0x7Du
#define XORBIT 0x20u
#define MAX_PAYLOAD 96u
#define MAX_RAW (3u + MAX_PAYLOAD + 2u)
#define NFRAMES 400u
#define STREAM_MAX 100000u

struct frame {
    uint8_t addr, seq, len;
    uint8_t payload[MAX_PAYLOAD];
};

enum rx_state { RX_HUNT, RX_DATA, RX_ESCAPED };

struct receiver {
    enum rx_state state;
    uint8_t buf[MAX_RAW];
    uint32_t count;
    uint32_t good, bad_fcs, bad_len, aborted, overruns, runts;
    uint32_t expect_seq, seq_gaps;
    uint32_t digest;
};

static uint32_t lcg_x = 0x1234ABCDu;

static uint32_t rnd(void)
{
    lcg_x = lcg_x * 1664525u + 1013904223u;
    return lcg_x >> 8;
}

static uint32_t mixw(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x9E3779B1u;
    return h ^ (h >> 15);
}

static uint16_t fletcher16(const uint8_t *p, uint32_t n)
{
    uint32_t a = 0, b = 0, i;
    for (i = 0; i < n; i++) {
        a = (a + p[i]) % 255u;
        b = (b + a) % 255u;
    }
    return (uint16_t)((b << 8) | a);
}

static uint32_t put_escaped(uint8_t *out, uint32_t at, uint8_t b)
{
    if (b == FLAG || b == ESC) {
        out[at++] = ESC;
        out[at++] = (uint8_t)(b ^ XORBIT);
    } else {
        out[at++] = b;
    }
    return at;
}

/* Serialises one frame (with both flags) into out; returns bytes written. */
static uint32_t encode_frame(const struct frame *f, uint8_t *out)
{
    uint8_t raw[MAX_RAW];
    uint32_t n = 0, i, at = 0;
    uint16_t fcs;
    raw[n++] = f->addr;
    raw[n++] = f->seq;
    raw[n++] = f->len;
    memcpy(raw + n, f->payload, f->len);
    n += f->len;
    fcs = fletcher16(raw, n);
    raw[n++] = (uint8_t)(fcs >> 8);
    raw[n++] = (uint8_t)(fcs & 0xFFu);
    out[at++] = FLAG;
    for (i = 0; i < n; i++)
        at = put_escaped(out, at, raw[i]);
    out[at++] = FLAG;
    return at;
}

static void rx_init(struct receiver *r)
{
    memset(r, 0, sizeof *r);
    r->state = RX_HUNT;
}

static void rx_frame_end(struct receiver *r)
{
    uint32_t n = r->count, i;
    uint16_t fcs;
    r->count = 0;
    if (n == 0u)
        return;                 /* back-to-back flags */
    if (n < 5u) {
        r->runts++;
        return;
    }
    if (3u + (uint32_t)r->buf[2] + 2u != n) {
        r->bad_len++;
        return;
    }
    fcs = fletcher16(r->buf, n - 2u);
    if ((uint16_t)((r->buf[n - 2u] << 8) | r->buf[n - 1u]) != fcs) {
        r->bad_fcs++;
        return;
    }
    r->good++;
    if (r->buf[1] != (uint8_t)r->expect_seq)
        r->seq_gaps++;
    r->expect_seq = (uint32_t)r->buf[1] + 1u;
    for (i = 0; i < n - 2u; i++)
        r->digest = mixw(r->digest, r->buf[i]);
}

static void rx_byte(struct receiver *r, uint8_t b)
{
    switch (r->state) {
    case RX_HUNT:
        if (b == FLAG) {
            r->state = RX_DATA;
            r->count = 0;
        }
        break;
    case RX_DATA:
        if (b == FLAG) {
            rx_frame_end(r);
        } else if (b == ESC) {
            r->state = RX_ESCAPED;
        } else if (r->count < MAX_RAW) {
            r->buf[r->count++] = b;
        } else {
            r->overruns++;
            r->state = RX_HUNT;
        }
        break;
    case RX_ESCAPED:
        if (b == FLAG) {
            /* abort sequence: drop the partial frame, the flag opens a new one */
            r->aborted++;
            r->count = 0;
            r->state = RX_DATA;
        } else if (r->count < MAX_RAW) {
            r->buf[r->count++] = (uint8_t)(b ^ XORBIT);
            r->state = RX_DATA;
        } else {
            r->overruns++;
            r->state = RX_HUNT;
        }
        break;
    }
}

static uint8_t stream[STREAM_MAX];

int main(void)
{
    struct frame f;
    struct receiver rx;
    uint32_t len = 0, clean = 0, sent_digest = 0, i, k, h = 0, bad = 0;

    for (i = 0; i < NFRAMES; i++) {
        uint32_t start, n, corrupt;
        f.addr = (uint8_t)(rnd() & 0xFFu);
        f.seq = (uint8_t)(i & 0xFFu);
        f.len = (uint8_t)(rnd() % (MAX_PAYLOAD + 1u));
        for (k = 0; k < f.len; k++) {
            uint32_t r = rnd();
            /* bias towards bytes that need escaping */
            f.payload[k] = (r & 7u) == 0u ? (uint8_t)((r & 8u) ? FLAG : ESC) : (uint8_t)(r >> 4);
        }
        /* line noise before the frame */
        n = rnd() % 4u;
        for (k = 0; k < n; k++)
            stream[len++] = (uint8_t)(rnd() & 0xFFu);
        start = len;
        len += encode_frame(&f, stream + len);
        corrupt = (rnd() % 10u) == 0u;
        if (corrupt) {
            /* flip one bit strictly inside the frame body */
            uint32_t body = len - start - 2u;
            uint32_t pos = start + 1u + rnd() % body;
            stream[pos] ^= (uint8_t)(1u << (rnd() % 8u));
        } else {
            clean++;
            sent_digest = mixw(sent_digest, f.addr);
            sent_digest = mixw(sent_digest, f.seq);
            sent_digest = mixw(sent_digest, f.len);
            for (k = 0; k < f.len; k++)
                sent_digest = mixw(sent_digest, f.payload[k]);
        }
    }

    rx_init(&rx);
    for (i = 0; i < len; i++)
        rx_byte(&rx, stream[i]);

    if (rx.good != clean || rx.digest != sent_digest) bad++;
    h = mixw(h, len);
    h = mixw(h, rx.good);
    h = mixw(h, rx.bad_fcs);
    h = mixw(h, rx.bad_len);
    h = mixw(h, rx.runts);
    h = mixw(h, rx.aborted);
    h = mixw(h, rx.overruns);
    h = mixw(h, rx.seq_gaps);
    h = mixw(h, rx.digest);
    h = mixw(h, bad);
    printf("%s %08" PRIx32 "\n", "fsm_framer", h);
    return bad == 0u ? 0 : 1;
}
