/* ds_heap: an indexed binary min-heap used as the event queue of a
 * discrete-event simulation (multi-server queue with impatient customers).
 * Events are ordered by (time, sequence number); pending "renege" events are
 * cancelled through their heap handle when a customer starts service.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define MAX_EVENTS 2048
#define NCUST 3000u
#define NSERVERS 3
#define QCAP 4096u

enum ev_type { EV_ARRIVAL, EV_DEPART, EV_RENEGE };
enum cust_state { C_NONE, C_WAITING, C_SERVING, C_DONE, C_GONE };

struct event {
    uint32_t time, seq;
    uint32_t type, arg;
};

struct pq {
    uint32_t ids[MAX_EVENTS];   /* heap array of event ids */
    int pos[MAX_EVENTS];        /* heap slot of an event id or -1 */
    struct event ev[MAX_EVENTS];
    uint32_t free_ids[MAX_EVENTS];
    uint32_t nfree, size, seq;
};

struct customer {
    uint32_t arrive, service, renege_event;
    uint8_t state;
};

static uint32_t rng = 0x6A09E667u;

static uint32_t rand_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint32_t hashv(uint32_t h, uint32_t v)
{
    return (h ^ v) * 0x01000193u + 0x7F4A7C15u;
}

static int before(const struct pq *q, uint32_t a, uint32_t b)
{
    const struct event *x = &q->ev[a], *y = &q->ev[b];
    return x->time < y->time || (x->time == y->time && x->seq < y->seq);
}

static void place(struct pq *q, uint32_t slot, uint32_t id)
{
    q->ids[slot] = id;
    q->pos[id] = (int)slot;
}

static void up(struct pq *q, uint32_t slot)
{
    uint32_t id = q->ids[slot];
    while (slot > 0u) {
        uint32_t parent = (slot - 1u) >> 1;
        if (!before(q, id, q->ids[parent]))
            break;
        place(q, slot, q->ids[parent]);
        slot = parent;
    }
    place(q, slot, id);
}

static void down(struct pq *q, uint32_t slot)
{
    uint32_t id = q->ids[slot];
    for (;;) {
        uint32_t c = 2u * slot + 1u;
        if (c >= q->size)
            break;
        if (c + 1u < q->size && before(q, q->ids[c + 1u], q->ids[c]))
            c++;
        if (!before(q, q->ids[c], id))
            break;
        place(q, slot, q->ids[c]);
        slot = c;
    }
    place(q, slot, id);
}

static void pq_init(struct pq *q)
{
    uint32_t i;
    q->size = 0;
    q->seq = 0;
    q->nfree = MAX_EVENTS;
    for (i = 0; i < MAX_EVENTS; i++) {
        q->free_ids[i] = MAX_EVENTS - 1u - i;
        q->pos[i] = -1;
    }
}

static uint32_t pq_push(struct pq *q, uint32_t time, uint32_t type, uint32_t arg)
{
    uint32_t id;
    if (q->nfree == 0u)
        return MAX_EVENTS;
    id = q->free_ids[--q->nfree];
    q->ev[id].time = time;
    q->ev[id].seq = q->seq++;
    q->ev[id].type = type;
    q->ev[id].arg = arg;
    q->ids[q->size] = id;
    q->pos[id] = (int)q->size;
    q->size++;
    up(q, q->size - 1u);
    return id;
}

static void pq_remove_slot(struct pq *q, uint32_t slot)
{
    uint32_t id = q->ids[slot];
    q->size--;
    if (slot != q->size) {
        place(q, slot, q->ids[q->size]);
        down(q, slot);
        up(q, slot);
    }
    q->pos[id] = -1;
    q->free_ids[q->nfree++] = id;
}

static int pq_cancel(struct pq *q, uint32_t id)
{
    if (id >= MAX_EVENTS || q->pos[id] < 0)
        return 0;
    pq_remove_slot(q, (uint32_t)q->pos[id]);
    return 1;
}

static struct event pq_pop(struct pq *q)
{
    struct event e = q->ev[q->ids[0]];
    pq_remove_slot(q, 0);
    return e;
}

static int pq_valid(const struct pq *q)
{
    uint32_t i;
    for (i = 1; i < q->size; i++)
        if (before(q, q->ids[i], q->ids[(i - 1u) / 2u]))
            return 0;
    for (i = 0; i < q->size; i++)
        if (q->pos[q->ids[i]] != (int)i)
            return 0;
    return 1;
}

static struct pq q;
static struct customer cust[NCUST];
static uint32_t waitq[QCAP];

int main(void)
{
    uint32_t qhead = 0, qtail = 0, busy[NSERVERS];
    uint32_t served = 0, reneged = 0, cancelled = 0, total_wait = 0, max_q = 0;
    uint32_t arrivals = 0, processed = 0, last_time = 0, last_seq = 0, bad = 0;
    uint32_t h = 0x3C6EF372u, i;
    int s;

    pq_init(&q);
    memset(cust, 0, sizeof cust);
    for (s = 0; s < NSERVERS; s++)
        busy[s] = NCUST;
    pq_push(&q, 0u, EV_ARRIVAL, 0u);

    while (q.size > 0u) {
        struct event e = pq_pop(&q);
        if (e.time < last_time || (e.time == last_time && processed && e.seq < last_seq)) bad++;
        last_time = e.time;
        last_seq = e.seq;
        processed++;
        switch (e.type) {
        case EV_ARRIVAL: {
            uint32_t c = e.arg;
            cust[c].arrive = e.time;
            cust[c].service = 5u + rand_u32() % 45u;
            cust[c].state = C_WAITING;
            cust[c].renege_event = pq_push(&q, e.time + 20u + rand_u32() % 120u, EV_RENEGE, c);
            waitq[qtail++ % QCAP] = c;
            arrivals++;
            if (c + 1u < NCUST)
                pq_push(&q, e.time + 1u + rand_u32() % 19u, EV_ARRIVAL, c + 1u);
            break;
        }
        case EV_DEPART:
            cust[busy[e.arg]].state = C_DONE;
            busy[e.arg] = NCUST;
            served++;
            break;
        case EV_RENEGE:
            if (cust[e.arg].state != C_WAITING) bad++;
            cust[e.arg].state = C_GONE;
            reneged++;
            break;
        default:
            bad++;
            break;
        }
        /* start service on idle servers */
        for (s = 0; s < NSERVERS; s++) {
            if (busy[s] != NCUST)
                continue;
            while (qhead != qtail && cust[waitq[qhead % QCAP]].state != C_WAITING)
                qhead++;
            if (qhead == qtail)
                break;
            {
                uint32_t c = waitq[qhead++ % QCAP];
                if (pq_cancel(&q, cust[c].renege_event)) cancelled++;
                else bad++;
                cust[c].state = C_SERVING;
                busy[s] = c;
                total_wait += e.time - cust[c].arrive;
                pq_push(&q, e.time + cust[c].service, EV_DEPART, (uint32_t)s);
            }
        }
        if (qtail - qhead > max_q)
            max_q = qtail - qhead;
        if ((processed & 255u) == 0u && !pq_valid(&q)) bad++;
        h = hashv(h, e.time ^ (e.type << 28));
    }

    if (served + reneged != arrivals || arrivals != NCUST || cancelled != served) bad++;
    for (i = 0; i < NCUST; i++)
        if (cust[i].state != C_DONE && cust[i].state != C_GONE) bad++;

    /* plain priority-queue workout: random pushes and pops, cancel some */
    pq_init(&q);
    {
        uint32_t handles[256], nh = 0, prev = 0, k;
        for (k = 0; k < 6000u; k++) {
            uint32_t r = rand_u32();
            if (q.size < 900u && (r & 3u) != 0u) {
                uint32_t id = pq_push(&q, prev + (r >> 20), 0u, k);
                handles[nh++ & 255u] = id;
            } else if (q.size > 0u && (r & 16u)) {
                struct event e = pq_pop(&q);
                if (e.time < prev) bad++;
                prev = e.time;
                h = hashv(h, e.time + e.arg);
            } else if (nh > 0u) {
                uint32_t id = handles[(r >> 8) % (nh < 256u ? nh : 256u)];
                h = hashv(h, (uint32_t)pq_cancel(&q, id));
            }
        }
        if (!pq_valid(&q)) bad++;
        h = hashv(h, q.size);
    }

    h = hashv(h, served);
    h = hashv(h, reneged);
    h = hashv(h, total_wait);
    h = hashv(h, max_q);
    h = hashv(h, processed);
    h = hashv(h, bad);
    printf("%s %08" PRIx32 "\n", "ds_heap", h);
    return bad == 0u ? 0 : 1;
}
