/* fsm_utf8: UTF-8 encoder, streaming decoder (byte-at-a-time state machine
 * with U+FFFD substitution of maximal invalid subparts) and an independent
 * structural validator.  Clean text must round-trip; corrupted text must be
 * decoded deterministically; decoder and validator must agree on validity.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define NCP 3000
#define BUF (NCP * 4 + 64)
#define REPLACEMENT 0xFFFDu

static uint32_t seed = 0x9E3779B9u;

static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed ^ (seed >> 16);
}

static uint32_t fold(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x85EBCA6Bu;
    return h ^ (h >> 16);
}

static int encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80u) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800u) {
        out[0] = (uint8_t)(0xC0u | (cp >> 6));
        out[1] = (uint8_t)(0x80u | (cp & 0x3Fu));
        return 2;
    }
    if (cp < 0x10000u) {
        out[0] = (uint8_t)(0xE0u | (cp >> 12));
        out[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
        out[2] = (uint8_t)(0x80u | (cp & 0x3Fu));
        return 3;
    }
    out[0] = (uint8_t)(0xF0u | (cp >> 18));
    out[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
    out[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
    out[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
    return 4;
}

static uint32_t random_scalar(void)
{
    uint32_t r = rnd();
    uint32_t cp;
    switch (r & 7u) {
    case 0: case 1: case 2: case 3:
        return 0x20u + (r >> 8) % 0x5Fu;
    case 4:
        return 0x80u + (r >> 8) % 0x780u;
    case 5:
    case 6:
        cp = 0x800u + (r >> 8) % 0xF800u;
        if (cp >= 0xD800u && cp <= 0xDFFFu)
            cp -= 0x1000u;
        return cp;
    default:
        return 0x10000u + (r >> 8) % 0x100000u;
    }
}

/* ---- streaming decoder --------------------------------------------------- */

struct decoder {
    uint32_t cp;
    unsigned need;
    uint8_t lo, hi;
    uint32_t errors;
};

static void dec_reset(struct decoder *d)
{
    d->cp = 0;
    d->need = 0;
    d->lo = 0x80;
    d->hi = 0xBF;
}

/* Feeds one byte; writes 0, 1 or 2 code points to out and returns the count. */
static int dec_byte(struct decoder *d, uint8_t b, uint32_t *out)
{
    int n = 0;
    if (d->need > 0u) {
        if (b >= d->lo && b <= d->hi) {
            d->cp = (d->cp << 6) | (uint32_t)(b & 0x3Fu);
            d->lo = 0x80;
            d->hi = 0xBF;
            if (--d->need == 0u)
                out[n++] = d->cp;
            return n;
        }
        /* invalid continuation: report and re-process b as a lead byte */
        out[n++] = REPLACEMENT;
        d->errors++;
        dec_reset(d);
    }
    if (b < 0x80u) {
        out[n++] = b;
    } else if (b >= 0xC2u && b <= 0xDFu) {
        d->need = 1; d->cp = b & 0x1Fu;
    } else if (b >= 0xE0u && b <= 0xEFu) {
        d->need = 2; d->cp = b & 0x0Fu;
        if (b == 0xE0u) d->lo = 0xA0;
        else if (b == 0xEDu) d->hi = 0x9F;
    } else if (b >= 0xF0u && b <= 0xF4u) {
        d->need = 3; d->cp = b & 0x07u;
        if (b == 0xF0u) d->lo = 0x90;
        else if (b == 0xF4u) d->hi = 0x8F;
    } else {
        out[n++] = REPLACEMENT;
        d->errors++;
    }
    return n;
}

static size_t decode(const uint8_t *in, size_t len, uint32_t *out, uint32_t *errors)
{
    struct decoder d;
    size_t i, n = 0;
    d.errors = 0;
    dec_reset(&d);
    for (i = 0; i < len; i++)
        n += (size_t)dec_byte(&d, in[i], out + n);
    if (d.need > 0u) {
        out[n++] = REPLACEMENT;
        d.errors++;
    }
    *errors = d.errors;
    return n;
}

/* ---- structural validator (different algorithm) ---------------------------- */

static int validate(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        unsigned extra, k;
        uint32_t cp, min;
        if (b < 0x80u) { i++; continue; }
        if ((b & 0xE0u) == 0xC0u) { extra = 1; cp = b & 0x1Fu; min = 0x80u; }
        else if ((b & 0xF0u) == 0xE0u) { extra = 2; cp = b & 0x0Fu; min = 0x800u; }
        else if ((b & 0xF8u) == 0xF0u) { extra = 3; cp = b & 0x07u; min = 0x10000u; }
        else return 0;
        if (len - i <= extra) return 0;
        for (k = 1; k <= extra; k++) {
            uint8_t c = s[i + k];
            if ((c & 0xC0u) != 0x80u) return 0;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFFu) return 0;
        if (cp >= 0xD800u && cp <= 0xDFFFu) return 0;
        i += extra + 1u;
    }
    return 1;
}

static uint32_t cps[NCP];
static uint8_t text[BUF];
static uint8_t work[BUF];
static uint8_t again[BUF];
static uint32_t decoded[BUF + 8];

static void corrupt(uint8_t *buf, size_t len, uint32_t count)
{
    uint32_t k;
    for (k = 0; k < count; k++) {
        size_t pos = rnd() % (uint32_t)len;
        switch (rnd() % 6u) {
        case 0: buf[pos] = 0xC0; break;               /* overlong lead */
        case 1: buf[pos] = 0xED; break;               /* surrogate lead */
        case 2: buf[pos] = 0xF5; break;               /* out of range */
        case 3: buf[pos] = 0x80u | (rnd() & 0x3Fu); break; /* stray continuation */
        case 4: buf[pos] ^= 0x40; break;
        default: buf[pos] = 0xFF; break;
        }
    }
}

int main(void)
{
    uint32_t h = 0, errors = 0, bad = 0;
    size_t len = 0, n, i, len2 = 0;
    int round;

    for (i = 0; i < NCP; i++) {
        cps[i] = random_scalar();
        len += (size_t)encode(cps[i], text + len);
    }
    h = fold(h, (uint32_t)len);

    /* clean round trip */
    n = decode(text, len, decoded, &errors);
    if (n != NCP || errors != 0u || !validate(text, len)) bad++;
    for (i = 0; i < n && i < NCP; i++) {
        if (decoded[i] != cps[i]) bad++;
        len2 += (size_t)encode(decoded[i], again + len2);
        h = fold(h, decoded[i]);
    }
    if (len2 != len || memcmp(again, text, len) != 0) bad++;

    /* corrupted text */
    for (round = 0; round < 8; round++) {
        uint32_t repl = 0;
        memcpy(work, text, len);
        corrupt(work, len, 1u + (uint32_t)round * 7u);
        n = decode(work, len - (size_t)round, decoded, &errors);
        for (i = 0; i < n; i++) {
            if (decoded[i] == REPLACEMENT) repl++;
            h = fold(h, decoded[i]);
        }
        if (repl < errors) bad++;
        if ((errors == 0u) != (validate(work, len - (size_t)round) != 0)) bad++;
        h = fold(h, errors);
        h = fold(h, (uint32_t)n);
    }

    /* short random byte strings: decoder and validator must agree */
    for (round = 0; round < 4000; round++) {
        uint8_t s[8];
        uint32_t cnt = 1u + rnd() % 6u, k;
        for (k = 0; k < cnt; k++) {
            uint32_t r = rnd();
            s[k] = (r & 1u) ? (uint8_t)(0x80u | (r >> 8 & 0x3Fu)) : (uint8_t)(r >> 8);
        }
        n = decode(s, cnt, decoded, &errors);
        if ((errors == 0u) != (validate(s, cnt) != 0)) bad++;
        h = fold(h, errors * 31u + (uint32_t)n);
        if (n > 0) h = fold(h, decoded[n - 1]);
    }

    h = fold(h, bad);
    printf("%s %08" PRIx32 "\n", "fsm_utf8", h);
    return bad == 0u ? 0 : 1;
}
