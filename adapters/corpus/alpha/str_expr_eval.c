/* A tokenizer and recursive-descent evaluator for a small expression
 * language (32-bit wrapping integers, variables, assignments, calls, C-like
 * precedence, short-circuit logic). Checked against hand-computed results and
 * against randomly generated, fully parenthesised expressions. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define MAX_VARS 16
#define NAME_LEN 12
#define GEN_BUF 8192

enum tok_kind {
    T_END, T_NUM, T_IDENT, T_LPAREN, T_RPAREN, T_COMMA, T_SEMI, T_ASSIGN,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT, T_AMP, T_PIPE, T_CARET,
    T_TILDE, T_BANG, T_ANDAND, T_OROR, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_ERROR
};

enum err_code { E_OK, E_SYNTAX, E_DIV_ZERO, E_UNDEFINED, E_TOO_MANY_VARS };

struct token {
    enum tok_kind kind;
    uint32_t value;
    char name[NAME_LEN];
};

struct parser {
    const char *src;
    size_t pos;
    struct token tok;
    enum err_code err;
    int skip; /* > 0 while inside a short-circuited operand */
    char var_names[MAX_VARS][NAME_LEN];
    uint32_t var_values[MAX_VARS];
    int nvars;
};

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    c = (char)(c | 0x20); /* ASCII lower case */
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static void fail(struct parser *p, enum err_code e)
{
    if (p->err == E_OK)
        p->err = e;
}

/* returns `both` (consuming a char) when the next char is `second` */
static enum tok_kind two_char(struct parser *p, char second, enum tok_kind both,
                              enum tok_kind single)
{
    if (p->src[p->pos] == second) {
        p->pos++;
        return both;
    }
    return single;
}

static void next_token(struct parser *p)
{
    const char *s = p->src;
    char c;
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n')
        p->pos++;
    c = s[p->pos];
    p->tok.value = 0;
    p->tok.name[0] = '\0';
    if (c == '\0') {
        p->tok.kind = T_END;
        return;
    }
    if (is_digit(c)) {
        uint32_t v = 0;
        if (c == '0' && (s[p->pos + 1] == 'x' || s[p->pos + 1] == 'X')) {
            p->pos += 2;
            while (hex_value(s[p->pos]) >= 0)
                v = v * 16u + (uint32_t)hex_value(s[p->pos++]);
        } else {
            while (is_digit(s[p->pos]))
                v = v * 10u + (uint32_t)(s[p->pos++] - '0');
        }
        p->tok.kind = T_NUM;
        p->tok.value = v;
        return;
    }
    if (is_alpha(c)) {
        size_t n = 0;
        while (is_alpha(s[p->pos]) || is_digit(s[p->pos])) {
            if (n + 1 < NAME_LEN)
                p->tok.name[n++] = s[p->pos];
            p->pos++;
        }
        p->tok.name[n] = '\0';
        p->tok.kind = T_IDENT;
        return;
    }
    p->pos++;
    switch (c) {
    case '(': p->tok.kind = T_LPAREN; break;
    case ')': p->tok.kind = T_RPAREN; break;
    case ',': p->tok.kind = T_COMMA; break;
    case ';': p->tok.kind = T_SEMI; break;
    case '+': p->tok.kind = T_PLUS; break;
    case '-': p->tok.kind = T_MINUS; break;
    case '*': p->tok.kind = T_STAR; break;
    case '/': p->tok.kind = T_SLASH; break;
    case '%': p->tok.kind = T_PERCENT; break;
    case '^': p->tok.kind = T_CARET; break;
    case '~': p->tok.kind = T_TILDE; break;
    case '&': p->tok.kind = two_char(p, '&', T_ANDAND, T_AMP); break;
    case '|': p->tok.kind = two_char(p, '|', T_OROR, T_PIPE); break;
    case '=': p->tok.kind = two_char(p, '=', T_EQ, T_ASSIGN); break;
    case '!': p->tok.kind = two_char(p, '=', T_NE, T_BANG); break;
    case '<': p->tok.kind = two_char(p, '=', T_LE, T_LT); break;
    case '>': p->tok.kind = two_char(p, '=', T_GE, T_GT); break;
    default: p->tok.kind = T_ERROR; break;
    }
}

static int accept(struct parser *p, enum tok_kind k)
{
    if (p->tok.kind == k) {
        next_token(p);
        return 1;
    }
    return 0;
}

static void expect(struct parser *p, enum tok_kind k)
{
    if (!accept(p, k))
        fail(p, E_SYNTAX);
}

static int find_var(const struct parser *p, const char *name)
{
    int i;
    for (i = 0; i < p->nvars; i++)
        if (strcmp(p->var_names[i], name) == 0)
            return i;
    return -1;
}

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint32_t parse_expr(struct parser *p);

static uint32_t call_function(struct parser *p, const char *name)
{
    uint32_t args[4];
    int n = 0;
    if (!accept(p, T_RPAREN)) {
        do {
            uint32_t v = parse_expr(p);
            if (n < 4)
                args[n] = v;
            n++;
        } while (accept(p, T_COMMA));
        expect(p, T_RPAREN);
    }
    if (strcmp(name, "min") == 0 && n == 2)
        return args[0] < args[1] ? args[0] : args[1];
    if (strcmp(name, "max") == 0 && n == 2)
        return args[0] > args[1] ? args[0] : args[1];
    if (strcmp(name, "gcd") == 0 && n == 2)
        return gcd_u32(args[0], args[1]);
    if (strcmp(name, "rotl") == 0 && n == 2) {
        unsigned r = args[1] & 31u;
        return r ? (args[0] << r) | (args[0] >> (32u - r)) : args[0];
    }
    fail(p, E_UNDEFINED);
    return 0;
}

static uint32_t parse_primary(struct parser *p)
{
    uint32_t v = 0;
    if (p->tok.kind == T_NUM) {
        v = p->tok.value;
        next_token(p);
    } else if (p->tok.kind == T_IDENT) {
        char name[NAME_LEN];
        memcpy(name, p->tok.name, NAME_LEN);
        next_token(p);
        if (accept(p, T_LPAREN)) {
            v = call_function(p, name);
        } else {
            int idx = find_var(p, name);
            if (idx < 0)
                fail(p, E_UNDEFINED);
            else
                v = p->var_values[idx];
        }
    } else if (accept(p, T_LPAREN)) {
        v = parse_expr(p);
        expect(p, T_RPAREN);
    } else {
        fail(p, E_SYNTAX);
        next_token(p);
    }
    return v;
}

static uint32_t parse_unary(struct parser *p)
{
    if (accept(p, T_MINUS))
        return 0u - parse_unary(p);
    if (accept(p, T_TILDE))
        return ~parse_unary(p);
    if (accept(p, T_BANG))
        return parse_unary(p) == 0 ? 1u : 0u;
    return parse_primary(p);
}

static uint32_t parse_mul(struct parser *p)
{
    uint32_t v = parse_unary(p);
    for (;;) {
        enum tok_kind op = p->tok.kind;
        uint32_t r;
        if (op != T_STAR && op != T_SLASH && op != T_PERCENT)
            return v;
        next_token(p);
        r = parse_unary(p);
        if (op == T_STAR) {
            v *= r;
        } else if (r == 0) {
            if (!p->skip)
                fail(p, E_DIV_ZERO);
            v = 0;
        } else {
            v = (op == T_SLASH) ? v / r : v % r;
        }
    }
}

static uint32_t parse_add(struct parser *p)
{
    uint32_t v = parse_mul(p);
    for (;;) {
        if (accept(p, T_PLUS))
            v += parse_mul(p);
        else if (accept(p, T_MINUS))
            v -= parse_mul(p);
        else
            return v;
    }
}

static uint32_t parse_cmp(struct parser *p)
{
    uint32_t v = parse_add(p);
    enum tok_kind op = p->tok.kind;
    uint32_t r;
    switch (op) {
    case T_EQ: case T_NE: case T_LT: case T_LE: case T_GT: case T_GE:
        next_token(p);
        r = parse_add(p);
        switch (op) {
        case T_EQ: return v == r;
        case T_NE: return v != r;
        case T_LT: return v < r;
        case T_LE: return v <= r;
        case T_GT: return v > r;
        default: return v >= r;
        }
    default:
        return v;
    }
}

/* bitwise levels, loosest first: | then ^ then & (all above comparisons) */
static uint32_t parse_bitwise(struct parser *p, int level)
{
    static const enum tok_kind level_op[3] = { T_PIPE, T_CARET, T_AMP };
    uint32_t v = level < 3 ? parse_bitwise(p, level + 1) : parse_cmp(p);
    if (level >= 3)
        return v;
    while (accept(p, level_op[level])) {
        uint32_t r = parse_bitwise(p, level + 1);
        v = level == 0 ? (v | r) : level == 1 ? (v ^ r) : (v & r);
    }
    return v;
}

static uint32_t parse_and(struct parser *p)
{
    uint32_t v = parse_bitwise(p, 0);
    while (accept(p, T_ANDAND)) {
        uint32_t r;
        p->skip += (v == 0);
        r = parse_bitwise(p, 0);
        p->skip -= (v == 0);
        v = (v != 0 && r != 0);
    }
    return v;
}

static uint32_t parse_expr(struct parser *p)
{
    uint32_t v = parse_and(p);
    while (accept(p, T_OROR)) {
        uint32_t r;
        p->skip += (v != 0);
        r = parse_and(p);
        p->skip -= (v != 0);
        v = (v != 0 || r != 0);
    }
    return v;
}

/* statement := IDENT '=' expr | expr ; program := statement (';' statement)* */
static enum err_code run_program(struct parser *p, const char *src, uint32_t *result)
{
    p->src = src;
    p->pos = 0;
    p->err = E_OK;
    p->skip = 0;
    p->nvars = 0;
    *result = 0;
    next_token(p);
    for (;;) {
        if (p->tok.kind == T_IDENT) {
            size_t save_pos = p->pos;
            struct token save_tok = p->tok;
            next_token(p);
            if (accept(p, T_ASSIGN)) {
                uint32_t v = parse_expr(p);
                int idx = find_var(p, save_tok.name);
                if (idx < 0) {
                    if (p->nvars >= MAX_VARS) {
                        fail(p, E_TOO_MANY_VARS);
                        return p->err;
                    }
                    idx = p->nvars++;
                    memcpy(p->var_names[idx], save_tok.name, NAME_LEN);
                }
                p->var_values[idx] = v;
                *result = v;
            } else {
                p->pos = save_pos;
                p->tok = save_tok;
                *result = parse_expr(p);
            }
        } else {
            *result = parse_expr(p);
        }
        if (p->err != E_OK)
            return p->err;
        if (accept(p, T_SEMI))
            continue;
        if (p->tok.kind != T_END)
            fail(p, E_SYNTAX);
        return p->err;
    }
}

/* ---- random expression generator (computes the value as it writes) ---- */
static uint32_t gen_state = 0x6D2B79F5u;
static char gen_buf[GEN_BUF];
static size_t gen_len;

static uint32_t gen_rand(void)
{
    gen_state ^= gen_state << 13;
    gen_state ^= gen_state >> 17;
    gen_state ^= gen_state << 5;
    return gen_state;
}

static void emit(const char *s)
{
    while (*s && gen_len + 1 < GEN_BUF)
        gen_buf[gen_len++] = *s++;
    gen_buf[gen_len] = '\0';
}

static void emit_number(uint32_t v)
{
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%u", (unsigned)v);
    emit(tmp);
}

static uint32_t generate(int depth)
{
    static const char *const ops[] = { "+", "-", "*", "&", "|", "^", "/", "%" };
    uint32_t a, b, op;
    if (depth <= 0 || gen_rand() % 4u == 0) {
        uint32_t v = gen_rand() % 1000u;
        emit_number(v);
        return v;
    }
    emit("(");
    a = generate(depth - 1);
    op = gen_rand() % 8u;
    emit(" ");
    emit(ops[op]);
    emit(" ");
    b = generate(depth - 1);
    emit(")");
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a & b;
    case 4: return a | b;
    case 5: return a ^ b;
    case 6: return b ? a / b : 0xDEADu;
    default: return b ? a % b : 0xBEEFu;
    }
}

struct case_entry {
    const char *src;
    enum err_code err;
    uint32_t value;
};

int main(void)
{
    static const struct case_entry cases[] = {
        { "1 + 2 * 3", E_OK, 7u },
        { "(1 + 2) * 3", E_OK, 9u },
        { "10 - 4 - 3", E_OK, 3u },
        { "100 / 7 % 4", E_OK, 2u },
        { "-3 + 5", E_OK, 2u },
        { "2 * -3 + 7", E_OK, 1u },
        { "1 < 2 && 3 >= 3", E_OK, 1u },
        { "0x10 + max(3, 9) * 2", E_OK, 34u },
        { "~0 == 0xffffffff", E_OK, 1u },
        { "!5 || 0", E_OK, 0u },
        { "a = 6; b = a * 7; b - a", E_OK, 36u },
        { "gcd(84, 36) + min(5, 2)", E_OK, 14u },
        { "6 & 3 | 8 ^ 1", E_OK, 11u },
        { "0 && 1 / 0", E_OK, 0u },
        { "x1 = rotl(1, 31); x1 > 0x7fffffff", E_OK, 1u },
        { "1 + ", E_SYNTAX, 0u },
        { "4 / (2 - 2)", E_DIV_ZERO, 0u },
        { "(3 + 4", E_SYNTAX, 0u },
        { "y + 1", E_UNDEFINED, 0u },
        { "3 $ 4", E_SYNTAX, 0u },
    };
    static struct parser ps;
    uint32_t checksum = 0x13579BDFu;
    int failed = 0;
    size_t i;
    int round;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t v;
        enum err_code e = run_program(&ps, cases[i].src, &v);
        if (e != cases[i].err || (e == E_OK && v != cases[i].value))
            failed = 1;
        checksum = checksum * 31u + (uint32_t)e * 1000u + (e == E_OK ? v : 0u);
    }

    for (round = 0; round < 60; round++) {
        uint32_t expect, got;
        enum err_code e;
        gen_len = 0;
        gen_buf[0] = '\0';
        expect = generate(2 + round % 6);
        e = run_program(&ps, gen_buf, &got);
        /* generator substitutes constants for division by zero; the parser flags it */
        if (e == E_OK) {
            if (got != expect)
                failed = 1;
            checksum = (checksum ^ got) * 0x01000193u;
        } else if (e == E_DIV_ZERO) {
            checksum = (checksum ^ 0xD1D0u) * 0x01000193u;
        } else {
            failed = 1;
        }
        checksum += (uint32_t)gen_len;
    }

    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "str_expr_eval", (unsigned)checksum);
    return failed ? 1 : 0;
}
