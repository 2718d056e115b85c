/* fsm_tcp: a TCP-like connection state machine.
 *
 * Part 1 pairs a client and a server endpoint and drives them through a
 * scripted life cycle (handshake, data in both directions, normal or
 * simultaneous close, TIME_WAIT expiry), delivering segments through a FIFO.
 * Part 2 fuzzes single endpoints with pseudo-random events and segments and
 * records how the machine reacts.  Everything is folded into one checksum.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

enum tcp_state {
    ST_CLOSED, ST_LISTEN, ST_SYN_SENT, ST_SYN_RCVD, ST_ESTABLISHED,
    ST_FIN_WAIT_1, ST_FIN_WAIT_2, ST_CLOSING, ST_TIME_WAIT,
    ST_CLOSE_WAIT, ST_LAST_ACK, ST_COUNT
};

enum tcp_event {
    EV_OPEN_ACTIVE, EV_OPEN_PASSIVE, EV_SEND, EV_CLOSE,
    EV_RCV_SYN, EV_RCV_SYNACK, EV_RCV_ACK, EV_RCV_FIN, EV_RCV_DATA,
    EV_RCV_RST, EV_TIMEOUT, EV_NONE, EV_COUNT
};

#define F_SYN  1u
#define F_ACK  2u
#define F_FIN  4u
#define F_RST  8u
#define F_DATA 16u

struct seg {
    uint32_t flags, seq, ack, len;
};

struct conn {
    int state;
    uint32_t iss, snd_una, snd_nxt, rcv_nxt;
    uint32_t bytes_out, bytes_in;
    uint32_t illegal, resets, out_of_order, retransmits;
    uint32_t visits[ST_COUNT];
};

static uint32_t rng_state = 0x2545F491u;

static uint32_t rng_next(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;
    h ^= h >> 13;
    return h;
}

static void conn_init(struct conn *c)
{
    memset(c, 0, sizeof *c);
    c->state = ST_CLOSED;
}

static void set_state(struct conn *c, int st)
{
    c->state = st;
    c->visits[st]++;
}

static struct seg make_seg(struct conn *c, uint32_t flags, uint32_t len)
{
    struct seg s;
    s.flags = flags;
    s.seq = c->snd_nxt;
    s.ack = c->rcv_nxt;
    s.len = len;
    if (flags & (F_SYN | F_FIN))
        c->snd_nxt += 1u;
    c->snd_nxt += len;
    c->bytes_out += len;
    return s;
}

/* Re-send the last SYN or FIN without advancing the sequence space. */
static struct seg resend(struct conn *c, uint32_t flags)
{
    struct seg s;
    s.flags = flags;
    s.seq = c->snd_nxt - 1u;
    s.ack = c->rcv_nxt;
    s.len = 0;
    c->retransmits++;
    return s;
}

static struct seg no_seg(void)
{
    struct seg s = {0u, 0u, 0u, 0u}; return s;
}

static struct seg rst_reply(const struct seg *in)
{
    struct seg s;
    s.flags = F_RST;
    s.seq = in ? in->ack : 0u;
    s.ack = in ? in->seq + in->len : 0u;
    s.len = 0;
    return s;
}

static int is_receive(int ev) { return ev >= EV_RCV_SYN && ev <= EV_RCV_RST; }

static struct seg accept_data(struct conn *c, const struct seg *in)
{
    if (in->seq == c->rcv_nxt) {
        c->rcv_nxt += in->len;
        c->bytes_in += in->len;
    } else
        c->out_of_order++;
    return make_seg(c, F_ACK, 0);
}

static struct seg illegal(struct conn *c, int ev, const struct seg *in)
{
    c->illegal++;
    if (is_receive(ev) && ev != EV_RCV_RST)
        return rst_reply(in);
    return no_seg();
}

static struct seg conn_event(struct conn *c, int ev, const struct seg *in, uint32_t arg)
{
    struct seg out = no_seg();

    if (ev == EV_RCV_RST && c->state != ST_CLOSED && c->state != ST_LISTEN) {
        c->resets++;
        set_state(c, ST_CLOSED);
        return out;
    }

    switch (c->state) {
    case ST_CLOSED:
        switch (ev) {
        case EV_OPEN_ACTIVE:
            c->iss = arg;
            c->snd_nxt = arg;
            c->snd_una = arg;
            out = make_seg(c, F_SYN, 0);
            set_state(c, ST_SYN_SENT);
            break;
        case EV_OPEN_PASSIVE:
            set_state(c, ST_LISTEN);
            break;
        case EV_RCV_RST: break;
        default: out = illegal(c, ev, in); break;
        }
        break;
    case ST_LISTEN:
        switch (ev) {
        case EV_RCV_SYN:
            c->rcv_nxt = in->seq + 1u;
            c->iss = arg;
            c->snd_nxt = arg;
            c->snd_una = arg;
            out = make_seg(c, F_SYN | F_ACK, 0);
            set_state(c, ST_SYN_RCVD);
            break;
        case EV_CLOSE:
            set_state(c, ST_CLOSED);
            break;
        case EV_RCV_RST: break;
        default: out = illegal(c, ev, in); break;
        }
        break;
    case ST_SYN_SENT:
        switch (ev) {
        case EV_RCV_SYNACK:
            if (in->ack != c->snd_nxt) {
                out = rst_reply(in);
                c->illegal++;
                break;
            }
            c->snd_una = in->ack;
            c->rcv_nxt = in->seq + 1u;
            out = make_seg(c, F_ACK, 0);
            set_state(c, ST_ESTABLISHED);
            break;
        case EV_RCV_SYN: /* simultaneous open */
            c->rcv_nxt = in->seq + 1u;
            out = resend(c, F_SYN | F_ACK);
            set_state(c, ST_SYN_RCVD);
            break;
        case EV_TIMEOUT:
            out = resend(c, F_SYN);
            break;
        case EV_CLOSE:
            set_state(c, ST_CLOSED);
            break;
        default:
            out = illegal(c, ev, in);
            break;
        }
        break;
    case ST_SYN_RCVD:
        switch (ev) {
        case EV_RCV_ACK:
            if (in->ack == c->snd_nxt) {
                c->snd_una = in->ack;
                set_state(c, ST_ESTABLISHED);
            } else {
                out = rst_reply(in);
            }
            break;
        case EV_TIMEOUT:
            out = resend(c, F_SYN | F_ACK);
            break;
        case EV_CLOSE:
            out = make_seg(c, F_FIN | F_ACK, 0);
            set_state(c, ST_FIN_WAIT_1);
            break;
        default:
            out = illegal(c, ev, in);
            break;
        }
        break;
    case ST_ESTABLISHED:
    case ST_CLOSE_WAIT:
        switch (ev) {
        case EV_SEND:
            out = make_seg(c, F_DATA | F_ACK, arg);
            break;
        case EV_RCV_DATA:
            if (c->state == ST_CLOSE_WAIT)
                out = illegal(c, ev, in);
            else
                out = accept_data(c, in);
            break;
        case EV_RCV_ACK:
            if (in->ack - c->snd_una <= c->snd_nxt - c->snd_una)
                c->snd_una = in->ack;
            break;
        case EV_RCV_FIN:
            if (c->state == ST_CLOSE_WAIT || in->seq != c->rcv_nxt) {
                out = make_seg(c, F_ACK, 0);
                break;
            }
            c->rcv_nxt = in->seq + 1u;
            out = make_seg(c, F_ACK, 0);
            set_state(c, ST_CLOSE_WAIT);
            break;
        case EV_CLOSE:
            out = make_seg(c, F_FIN | F_ACK, 0);
            set_state(c, c->state == ST_ESTABLISHED ? ST_FIN_WAIT_1 : ST_LAST_ACK);
            break;
        default:
            out = illegal(c, ev, in);
            break;
        }
        break;
    case ST_FIN_WAIT_1:
        switch (ev) {
        case EV_RCV_ACK:
            if (in->ack == c->snd_nxt)
                set_state(c, ST_FIN_WAIT_2);
            break;
        case EV_RCV_FIN:
            c->rcv_nxt = in->seq + 1u;
            out = make_seg(c, F_ACK, 0);
            set_state(c, in->ack == c->snd_nxt ? ST_TIME_WAIT : ST_CLOSING);
            break;
        case EV_RCV_DATA:
            out = accept_data(c, in);
            break;
        case EV_TIMEOUT:
            out = resend(c, F_FIN | F_ACK);
            break;
        default:
            out = illegal(c, ev, in);
            break;
        }
        break;
    case ST_FIN_WAIT_2:
        switch (ev) {
        case EV_RCV_FIN:
            c->rcv_nxt = in->seq + 1u;
            out = make_seg(c, F_ACK, 0);
            set_state(c, ST_TIME_WAIT);
            break;
        case EV_RCV_DATA:
            out = accept_data(c, in);
            break;
        case EV_RCV_ACK:
            break;
        default:
            out = illegal(c, ev, in);
            break;
        }
        break;
    case ST_CLOSING:
        if (ev == EV_RCV_ACK && in->ack == c->snd_nxt)
            set_state(c, ST_TIME_WAIT);
        else if (ev == EV_TIMEOUT)
            out = resend(c, F_FIN | F_ACK);
        else if (ev != EV_RCV_ACK)
            out = illegal(c, ev, in);
        break;
    case ST_TIME_WAIT:
        if (ev == EV_TIMEOUT)
            set_state(c, ST_CLOSED);
        else if (ev == EV_RCV_FIN)
            out = make_seg(c, F_ACK, 0);
        else if (ev != EV_RCV_ACK)
            out = illegal(c, ev, in);
        break;
    case ST_LAST_ACK:
        if (ev == EV_RCV_ACK && in->ack == c->snd_nxt)
            set_state(c, ST_CLOSED);
        else if (ev == EV_TIMEOUT)
            out = resend(c, F_FIN | F_ACK);
        else if (ev != EV_RCV_ACK)
            out = illegal(c, ev, in);
        break;
    default: out = illegal(c, ev, in); break;
    }
    return out;
}

static int seg_event(uint32_t flags)
{
    if (flags & F_RST) return EV_RCV_RST;
    if ((flags & F_SYN) && (flags & F_ACK)) return EV_RCV_SYNACK;
    if (flags & F_SYN) return EV_RCV_SYN;
    if (flags & F_FIN) return EV_RCV_FIN;
    if (flags & F_DATA) return EV_RCV_DATA;
    if (flags & F_ACK) return EV_RCV_ACK;
    return EV_NONE;
}

/* ---- paired simulation ------------------------------------------------ */

#define QCAP 64

struct wire {
    struct seg q[QCAP];
    int dest[QCAP];
    unsigned head, count;
    uint32_t delivered, dropped;
};

static void wire_push(struct wire *w, int dest, struct seg s)
{
    if (s.flags == 0u)
        return;
    if (w->count == QCAP) {
        w->dropped++;
        return;
    }
    w->q[(w->head + w->count) % QCAP] = s;
    w->dest[(w->head + w->count) % QCAP] = dest;
    w->count++;
}

static uint32_t wire_run(struct wire *w, struct conn *ep, uint32_t h)
{
    int guard = 0;
    while (w->count > 0u && guard < 1000) {
        struct seg s = w->q[w->head];
        int d = w->dest[w->head];
        struct seg out;
        w->head = (w->head + 1u) % QCAP;
        w->count--;
        w->delivered++;
        h = mix(h, s.flags * 0x9E37u + s.len);
        out = conn_event(&ep[d], seg_event(s.flags), &s, 0u);
        wire_push(w, 1 - d, out);
        h = mix(h, (uint32_t)ep[d].state);
        guard++;
    }
    return h;
}

static uint32_t run_pairs(int pairs, uint32_t *failures)
{
    struct conn ep[2];
    struct wire w;
    uint32_t h = 0x811C9DC5u;
    int p;

    for (p = 0; p < pairs; p++) {
        int i, sends, closer;
        memset(&w, 0, sizeof w);
        conn_init(&ep[0]);
        conn_init(&ep[1]);

        wire_push(&w, 0, conn_event(&ep[1], EV_OPEN_PASSIVE, NULL, 0u));
        wire_push(&w, 1, conn_event(&ep[0], EV_OPEN_ACTIVE, NULL, rng_next()));
        h = wire_run(&w, ep, h);
        if (ep[0].state != ST_ESTABLISHED || ep[1].state != ST_ESTABLISHED)
            (*failures)++;

        sends = 1 + (int)(rng_next() % 12u);
        for (i = 0; i < sends; i++) {
            int side = (int)(rng_next() & 1u);
            uint32_t len = 1u + rng_next() % 1460u;
            wire_push(&w, 1 - side, conn_event(&ep[side], EV_SEND, NULL, len));
            if (rng_next() % 3u == 0u)
                h = wire_run(&w, ep, h);
        }
        h = wire_run(&w, ep, h);

        closer = (int)(rng_next() & 1u);
        if (rng_next() % 5u == 0u) {
            /* simultaneous close */
            wire_push(&w, 1 - closer, conn_event(&ep[closer], EV_CLOSE, NULL, 0u));
            wire_push(&w, closer, conn_event(&ep[1 - closer], EV_CLOSE, NULL, 0u));
            h = wire_run(&w, ep, h);
            conn_event(&ep[0], EV_TIMEOUT, NULL, 0u);
            conn_event(&ep[1], EV_TIMEOUT, NULL, 0u);
        } else {
            wire_push(&w, 1 - closer, conn_event(&ep[closer], EV_CLOSE, NULL, 0u));
            h = wire_run(&w, ep, h);
            if (ep[1 - closer].state != ST_CLOSE_WAIT)
                (*failures)++;
            if (rng_next() & 1u) {
                wire_push(&w, closer, conn_event(&ep[1 - closer], EV_SEND, NULL, 1u + rng_next() % 200u));
                h = wire_run(&w, ep, h);
            }
            wire_push(&w, closer, conn_event(&ep[1 - closer], EV_CLOSE, NULL, 0u));
            h = wire_run(&w, ep, h);
            if (ep[closer].state != ST_TIME_WAIT)
                (*failures)++;
            conn_event(&ep[closer], EV_TIMEOUT, NULL, 0u);
        }
        if (ep[0].state != ST_CLOSED || ep[1].state != ST_CLOSED)
            (*failures)++;
        if (ep[0].bytes_out != ep[1].bytes_in || ep[1].bytes_out != ep[0].bytes_in)
            (*failures)++;
        if (ep[0].illegal + ep[1].illegal + w.dropped != 0u)
            (*failures)++;
        h = mix(h, ep[0].bytes_out);
        h = mix(h, ep[1].bytes_out);
        h = mix(h, w.delivered);
    }
    return h;
}

/* ---- fuzzing ---------------------------------------------------------- */

static uint32_t run_fuzz(int nconn, int steps)
{
    struct conn pool[16];
    uint32_t h = 0x12345678u;
    int i, s;

    for (i = 0; i < nconn; i++)
        conn_init(&pool[i]);
    for (s = 0; s < steps; s++) {
        struct conn *c = &pool[rng_next() % (uint32_t)nconn];
        struct seg in, out;
        uint32_t r = rng_next();
        int ev = (int)(r % (uint32_t)EV_NONE);
        in.flags = 0u;
        in.seq = (r & 0x300u) ? c->rcv_nxt : rng_next();
        in.ack = (r & 0xC00u) ? c->snd_nxt : rng_next();
        in.len = (r >> 12) % 512u;
        out = conn_event(c, ev, &in, (r >> 8) % 1000u);
        h = mix(h, (uint32_t)c->state);
        h = mix(h, out.flags ^ (out.seq << 5) ^ out.len);
    }
    for (i = 0; i < nconn; i++) {
        int k;
        h = mix(h, pool[i].illegal);
        h = mix(h, pool[i].resets);
        h = mix(h, pool[i].out_of_order);
        h = mix(h, pool[i].retransmits);
        h = mix(h, pool[i].bytes_in ^ pool[i].bytes_out);
        for (k = 0; k < ST_COUNT; k++)
            h = mix(h, pool[i].visits[k]);
    }
    return h;
}

int main(void)
{
    uint32_t failures = 0;
    uint32_t sum = 0;

    sum = mix(sum, run_pairs(60, &failures));
    sum = mix(sum, run_fuzz(16, 20000));
    sum = mix(sum, failures);
    printf("%s %08" PRIx32 "\n", "fsm_tcp", sum);
    return failures == 0u ? 0 : 1;
}
