/* Merge sort on singly linked lists: a recursive top-down variant and an
 * iterative bottom-up variant are run on identical lists and must agree.
 * Stability is checked through the original insertion order of each node. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define POOL_SIZE 1500
#define ROUNDS 4

struct node {
    uint32_t key;
    uint32_t order;
    struct node *next;
};

static struct node pool_a[POOL_SIZE];
static struct node pool_b[POOL_SIZE];
static uint32_t rng_state;

static uint32_t xorshift32(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static struct node *build_list(struct node *pool, size_t count, uint32_t key_range)
{
    struct node *head = NULL;
    struct node **tail = &head;
    size_t i;

    for (i = 0; i < count; i++) {
        pool[i].key = xorshift32() % key_range;
        pool[i].order = (uint32_t)i;
        pool[i].next = NULL;
        *tail = &pool[i];
        tail = &pool[i].next;
    }
    return head;
}

static struct node *copy_list(const struct node *src, struct node *pool)
{
    struct node *head = NULL;
    struct node **tail = &head;
    size_t used = 0;

    while (src != NULL && used < POOL_SIZE) {
        pool[used].key = src->key;
        pool[used].order = src->order;
        pool[used].next = NULL;
        *tail = &pool[used];
        tail = &pool[used].next;
        used++;
        src = src->next;
    }
    return head;
}

static struct node *merge(struct node *a, struct node *b)
{
    struct node dummy;
    struct node *tail = &dummy;

    dummy.next = NULL;
    while (a != NULL && b != NULL) {
        /* take from b only when strictly smaller: keeps the sort stable */
        if (b->key < a->key) {
            tail->next = b;
            b = b->next;
        } else {
            tail->next = a;
            a = a->next;
        }
        tail = tail->next;
    }
    tail->next = (a != NULL) ? a : b;
    return dummy.next;
}

static struct node *split_half(struct node *head)
{
    struct node *slow = head;
    struct node *fast = head->next;
    struct node *second;

    while (fast != NULL && fast->next != NULL) {
        slow = slow->next;
        fast = fast->next->next;
    }
    second = slow->next;
    slow->next = NULL;
    return second;
}

static struct node *sort_recursive(struct node *head)
{
    struct node *second;

    if (head == NULL || head->next == NULL)
        return head;
    second = split_half(head);
    head = sort_recursive(head);
    second = sort_recursive(second);
    return merge(head, second);
}

/* Detach the first `k` nodes of `list`; return what follows them. */
static struct node *cut(struct node *list, size_t k)
{
    size_t i;
    struct node *rest;

    if (list == NULL)
        return NULL;
    for (i = 1; i < k && list->next != NULL; i++)
        list = list->next;
    rest = list->next;
    list->next = NULL;
    return rest;
}

static size_t list_length(const struct node *head)
{
    size_t n = 0;
    while (head != NULL) {
        n++;
        head = head->next;
    }
    return n;
}

static struct node *sort_bottom_up(struct node *head)
{
    size_t n = list_length(head);
    size_t width;

    for (width = 1; width < n; width *= 2) {
        struct node dummy;
        struct node *tail = &dummy;
        struct node *rest = head;

        dummy.next = NULL;
        while (rest != NULL) {
            struct node *left = rest;
            struct node *right = cut(left, width);
            rest = cut(right, width);
            tail->next = merge(left, right);
            while (tail->next != NULL)
                tail = tail->next;
        }
        head = dummy.next;
    }
    return head;
}

static uint32_t fold(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;
    h ^= h >> 15;
    return h;
}

/* Returns 0 when the list is sorted, stable and has the expected size. */
static int verify(const struct node *head, size_t expected, uint32_t *hash)
{
    size_t n = 0;
    const struct node *prev = NULL;
    int bad = 0;

    while (head != NULL) {
        if (prev != NULL) {
            if (head->key < prev->key)
                bad = 1;
            else if (head->key == prev->key && head->order < prev->order)
                bad = 1;
        }
        *hash = fold(*hash, head->key);
        *hash = fold(*hash, head->order);
        prev = head;
        head = head->next;
        n++;
    }
    if (n != expected)
        bad = 1;
    return bad;
}

static int lists_equal(const struct node *a, const struct node *b)
{
    while (a != NULL && b != NULL) {
        if (a->key != b->key || a->order != b->order)
            return 0;
        a = a->next;
        b = b->next;
    }
    return a == NULL && b == NULL;
}

static uint32_t count_distinct(const struct node *head)
{
    uint32_t distinct = 0;
    const struct node *prev = NULL;
    for (; head != NULL; head = head->next) {
        if (prev == NULL || prev->key != head->key)
            distinct++;
        prev = head;
    }
    return distinct;
}

int main(void)
{
    static const uint32_t ranges[ROUNDS] = { 7u, 100u, 1000u, 65536u };
    uint32_t checksum = 0x811c9dc5u;
    int failed = 0;
    int round;

    rng_state = 0x2545F491u;
    for (round = 0; round < ROUNDS; round++) {
        size_t n = (size_t)(POOL_SIZE - round * 217);
        struct node *a = build_list(pool_a, n, ranges[round]);
        struct node *b = copy_list(a, pool_b);
        uint32_t ha = 0, hb = 0;

        a = sort_recursive(a);
        b = sort_bottom_up(b);
        failed |= verify(a, n, &ha);
        failed |= verify(b, n, &hb);
        if (!lists_equal(a, b) || ha != hb)
            failed = 1;
        checksum = fold(checksum, ha);
        checksum = fold(checksum, count_distinct(a));
        checksum = fold(checksum, (uint32_t)n);
    }
    /* degenerate inputs: empty and single element lists */
    if (sort_recursive(NULL) != NULL || sort_bottom_up(NULL) != NULL)
        failed = 1;
    pool_a[0].key = 42u;
    pool_a[0].order = 0u;
    pool_a[0].next = NULL;
    if (sort_bottom_up(&pool_a[0]) != &pool_a[0])
        failed = 1;
    checksum = fold(checksum, (uint32_t)failed);

    printf("%s %08x\n", "sort_mergelist", (unsigned)checksum);
    return failed ? 1 : 0;
}
