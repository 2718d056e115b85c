/* fsm_nfa: a small regular-expression engine.  A recursive-descent parser
 * builds a Thompson epsilon-NFA (literals, '.', bracket classes with ranges
 * and negation, '*', '+', '?', '|', grouping, backslash escapes), which is
 * simulated with state sets for anchored matching and for counting match end
 * positions in unanchored search.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

#define MAX_STATES 512
#define MAX_CLASSES 32

enum kind { K_CHAR, K_ANY, K_CLASS, K_EPS, K_SPLIT, K_MATCH };

struct state {
    uint8_t kind;
    uint8_t ch;
    uint8_t cls;
    int out1, out2;
};

struct nfa {
    struct state st[MAX_STATES];
    int nstates;
    uint32_t classes[MAX_CLASSES][8];
    int nclasses;
    int start;
    int error;
};

struct frag {
    int start, end; /* end is an EPS state whose out1 is still open */
};

struct parser {
    const char *p;
    struct nfa *m;
};

static int new_state(struct nfa *m, int kind, int out1, int out2)
{
    struct state *s;
    if (m->nstates >= MAX_STATES) {
        m->error = 1;
        return 0;
    }
    s = &m->st[m->nstates];
    s->kind = (uint8_t)kind;
    s->ch = 0;
    s->cls = 0;
    s->out1 = out1;
    s->out2 = out2;
    return m->nstates++;
}

static struct frag atom_frag(struct nfa *m, int kind, uint8_t ch, uint8_t cls)
{
    struct frag f;
    f.end = new_state(m, K_EPS, -1, -1);
    f.start = new_state(m, kind, f.end, -1);
    m->st[f.start].ch = ch;
    m->st[f.start].cls = cls;
    return f;
}

static void patch_out(struct nfa *m, int from_end, int to)
{
    m->st[from_end].out1 = to;
}

static struct frag parse_alt(struct parser *ps);

static int parse_class(struct parser *ps)
{
    struct nfa *m = ps->m;
    uint32_t *set;
    int negate = 0, c, i, id;
    if (m->nclasses >= MAX_CLASSES) {
        m->error = 1;
        return 0;
    }
    id = m->nclasses++;
    set = m->classes[id];
    memset(set, 0, 8 * sizeof(uint32_t));
    if (*ps->p == '^') {
        negate = 1;
        ps->p++;
    }
    while (*ps->p && *ps->p != ']') {
        int lo = (unsigned char)*ps->p++, hi = lo;
        if (ps->p[0] == '-' && ps->p[1] && ps->p[1] != ']') {
            hi = (unsigned char)ps->p[1];
            ps->p += 2;
        }
        for (c = lo; c <= hi; c++)
            set[c >> 5] |= 1u << (c & 31);
    }
    if (*ps->p == ']') ps->p++;
    else m->error = 1;
    if (negate)
        for (i = 0; i < 8; i++)
            set[i] = ~set[i];
    return id;
}

static struct frag parse_atom(struct parser *ps)
{
    struct frag f;
    char c = *ps->p;
    switch (c) {
    case '(':
        ps->p++;
        f = parse_alt(ps);
        if (*ps->p == ')') ps->p++;
        else ps->m->error = 1;
        return f;
    case '.':
        ps->p++;
        return atom_frag(ps->m, K_ANY, 0, 0);
    case '[': {
        int cls;
        ps->p++;
        cls = parse_class(ps);
        return atom_frag(ps->m, K_CLASS, 0, (uint8_t)cls);
    }
    case '\\':
        ps->p++;
        c = *ps->p;
        if (c == 0) { ps->m->error = 1; c = '\\'; }
        else ps->p++;
        return atom_frag(ps->m, K_CHAR, (uint8_t)c, 0);
    default:
        ps->p++;
        return atom_frag(ps->m, K_CHAR, (uint8_t)c, 0);
    }
}

static struct frag parse_repeat(struct parser *ps)
{
    struct nfa *m = ps->m;
    struct frag f = parse_atom(ps);
    for (;;) {
        char c = *ps->p;
        struct frag g;
        int split;
        if (c != '*' && c != '+' && c != '?')
            return f;
        ps->p++;
        g.end = new_state(m, K_EPS, -1, -1);
        switch (c) {
        case '*':
            split = new_state(m, K_SPLIT, f.start, g.end);
            patch_out(m, f.end, split);
            g.start = split;
            break;
        case '+':
            split = new_state(m, K_SPLIT, f.start, g.end);
            patch_out(m, f.end, split);
            g.start = f.start;
            break;
        default:
            split = new_state(m, K_SPLIT, f.start, g.end);
            patch_out(m, f.end, g.end);
            g.start = split;
            break;
        }
        f = g;
    }
}

static struct frag parse_concat(struct parser *ps)
{
    struct frag f, g;
    if (*ps->p == 0 || *ps->p == '|' || *ps->p == ')') {
        f.start = f.end = new_state(ps->m, K_EPS, -1, -1);
        return f;
    }
    f = parse_repeat(ps);
    while (*ps->p && *ps->p != '|' && *ps->p != ')') {
        g = parse_repeat(ps);
        patch_out(ps->m, f.end, g.start);
        f.end = g.end;
    }
    return f;
}

static struct frag parse_alt(struct parser *ps)
{
    struct frag f = parse_concat(ps);
    while (*ps->p == '|') {
        struct frag g, h;
        ps->p++;
        g = parse_concat(ps);
        h.end = new_state(ps->m, K_EPS, -1, -1);
        h.start = new_state(ps->m, K_SPLIT, f.start, g.start);
        patch_out(ps->m, f.end, h.end);
        patch_out(ps->m, g.end, h.end);
        f = h;
    }
    return f;
}

static int compile(struct nfa *m, const char *pattern)
{
    struct parser ps;
    struct frag f;
    int match;
    memset(m, 0, sizeof *m);
    ps.p = pattern;
    ps.m = m;
    f = parse_alt(&ps);
    if (*ps.p != 0) m->error = 1;
    match = new_state(m, K_MATCH, -1, -1);
    patch_out(m, f.end, match);
    m->start = f.start;
    return !m->error;
}

/* ---- simulation ------------------------------------------------------------ */

struct set {
    int items[MAX_STATES];
    int n;
};

static uint32_t mark[MAX_STATES];
static uint32_t generation;

static void add_state(const struct nfa *m, struct set *s, int id)
{
    int stack[MAX_STATES * 2 + 2];
    int sp = 0;
    stack[sp++] = id;
    while (sp > 0) {
        int x = stack[--sp];
        if (x < 0 || mark[x] == generation)
            continue;
        mark[x] = generation;
        switch (m->st[x].kind) {
        case K_EPS:
            stack[sp++] = m->st[x].out1;
            break;
        case K_SPLIT:
            stack[sp++] = m->st[x].out2;
            stack[sp++] = m->st[x].out1;
            break;
        default:
            s->items[s->n++] = x;
            break;
        }
    }
}

static int accepts(const struct nfa *m, int id, uint8_t c)
{
    const struct state *s = &m->st[id];
    switch (s->kind) {
    case K_CHAR: return s->ch == c;
    case K_ANY: return 1;
    case K_CLASS: return (m->classes[s->cls][c >> 5] >> (c & 31u)) & 1u;
    default: return 0;
    }
}

static int has_match(const struct nfa *m, const struct set *s)
{
    int i;
    for (i = 0; i < s->n; i++)
        if (m->st[s->items[i]].kind == K_MATCH)
            return 1;
    return 0;
}

/* anchored: returns 1 if the whole text matches; *ends counts the positions
 * (0..len) at which some match of an unanchored search ends */
static int run(const struct nfa *m, const char *text, int anchored, uint32_t *ends)
{
    static struct set a, b;
    struct set *cur = &a, *next = &b, *t;
    const char *p;
    *ends = 0;
    cur->n = 0;
    generation++;
    add_state(m, cur, m->start);
    for (p = text;; p++) {
        int i;
        if (has_match(m, cur)) (*ends)++;
        if (*p == 0) break;
        next->n = 0;
        generation++;
        for (i = 0; i < cur->n; i++)
            if (accepts(m, cur->items[i], (uint8_t)*p))
                add_state(m, next, m->st[cur->items[i]].out1);
        if (!anchored)
            add_state(m, next, m->start);
        t = cur; cur = next; next = t;
    }
    return has_match(m, cur);
}

struct known { const char *re, *text; int expect; };

static const struct known known_cases[] = {
    {"a*b", "aaab", 1}, {"a*b", "b", 1}, {"a*b", "aaa", 0},
    {"(ab)+", "ababab", 1}, {"(ab)+", "", 0}, {"a|b|c", "b", 1},
    {"a.c", "abc", 1}, {"a.c", "ac", 0}, {"[a-c]+0?", "abca0", 1},
    {"[^0-9]*", "ab1", 0}, {"(a|b)*abb", "babaabb", 1}, {"(a|b)*abb", "abab", 0},
    {"x?y?z?", "", 1}, {"(a*)*b", "aaab", 1}, {"((a|b)c)*", "acbcac", 1},
    {"((a|b)c)*", "acbca", 0}, {"colou?r", "color", 1}, {"colou?r", "colour", 1},
    {"colou?r", "colouur", 0}, {"a\\.b", "a.b", 1}, {"a\\.b", "axb", 0},
    {"(|a)b", "b", 1}, {"[0-9a-f]+", "c0ffee", 1}, {"[0-9a-f]+", "c0ffeg", 0},
};

static const char *patterns[] = {
    "(a|b)*c", "a+b*1?", "[abc]*0[01]*", "(ab|ba)*", ".*1.*0",
    "(a|bc)+(0|1)?", "[^a]*a[^a]*", "c?(ab)*c?", "((a|b)(0|1))*", "a.b.c",
    "(0|1(01*0)*1)*", "b+|c+|(a0)+",
};

int main(void)
{
    static struct nfa m;
    static const char alphabet[] = "abc01";
    char text[32];
    uint32_t h = 0x01234567u, bad = 0, seed = 99u, i, ends;
    uint32_t np = (uint32_t)(sizeof patterns / sizeof patterns[0]);
    uint32_t nk = (uint32_t)(sizeof known_cases / sizeof known_cases[0]);

    for (i = 0; i < nk; i++) {
        if (!compile(&m, known_cases[i].re)) { bad++; continue; }
        if (run(&m, known_cases[i].text, 1, &ends) != known_cases[i].expect) bad++;
        h = (h ^ ends) * 0x01000193u;
    }
    for (i = 0; i < 360u; i++) {
        uint32_t len, k, pi;
        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % 24u;
        for (k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            text[k] = alphabet[(seed >> 16) % 5u];
        }
        text[len] = 0;
        for (pi = 0; pi < np; pi++) {
            int full;
            if (!compile(&m, patterns[pi])) { bad++; continue; }
            full = run(&m, text, 1, &ends);
            h = (h ^ (uint32_t)full) * 0x01000193u;
            run(&m, text, 0, &ends);
            h = (h ^ ends) * 0x01000193u;
            h ^= (uint32_t)m.nstates << 3;
        }
    }
    /* divisibility by 3 of binary numbers, via pattern 10 */
    if (!compile(&m, patterns[10])) bad++;
    for (i = 0; i < 200u; i++) {
        uint32_t k, n = 0, v = i;
        char bits[16];
        do { bits[n++] = (char)('0' + (v & 1u)); v >>= 1; } while (v);
        for (k = 0; k < n / 2u; k++) { char t = bits[k]; bits[k] = bits[n - 1u - k]; bits[n - 1u - k] = t; }
        bits[n] = 0;
        if (run(&m, bits, 1, &ends) != (i % 3u == 0u)) bad++;
    }
    h = (h ^ bad) * 0x01000193u;
    printf("%s %08" PRIx32 "\n", "fsm_nfa", h);
    return bad == 0u ? 0 : 1;
}
