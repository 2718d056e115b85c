/* sim_vm: a small stack-machine interpreter with a label-resolving
 * assembler.  Five embedded programs (Fibonacci, recursive factorial, GCD via
 * subroutine calls, a sieve of Eratosthenes in VM memory, Collatz step
 * counts) are assembled, run, and their output streams compared with native
 * C implementations.
 */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

enum op {
    OP_HALT, OP_PUSH, OP_DROP, OP_DUP, OP_SWAP, OP_OVER,
    OP_ADD, OP_SUB, OP_MUL, OP_DIVU, OP_MODU, OP_AND, OP_OR, OP_XOR,
    OP_SHL, OP_SHR, OP_LT, OP_EQ, OP_NOT, OP_INC, OP_DEC,
    OP_LOAD, OP_STORE, OP_LOADI, OP_STOREI,
    OP_JMP, OP_JZ, OP_JNZ, OP_CALL, OP_RET, OP_OUT
};

#define CODE_MAX 1024
#define MAX_LABELS 32
#define MAX_FIXUPS 128
#define STACK_MAX 256
#define MEM_SIZE 2048
#define MAX_OUT 512

struct assembler {
    uint32_t code[CODE_MAX];
    uint32_t n;
    int32_t label_at[MAX_LABELS];
    uint32_t nlabels;
    uint32_t fix_pos[MAX_FIXUPS], fix_label[MAX_FIXUPS];
    uint32_t nfix;
    int error;
};

enum trap { T_OK, T_STACK, T_MEM, T_DIV, T_PC, T_STEPS };

struct vm {
    uint32_t stack[STACK_MAX], rstack[STACK_MAX];
    uint32_t sp, rsp, pc;
    uint32_t mem[MEM_SIZE];
    uint32_t out[MAX_OUT];
    uint32_t nout;
    uint32_t steps;
};

static void as_init(struct assembler *a)
{
    memset(a, 0, sizeof *a);
}

static void emit(struct assembler *a, uint32_t w)
{
    if (a->n < CODE_MAX) a->code[a->n++] = w;
    else a->error = 1;
}

static void op1(struct assembler *a, enum op o) { emit(a, (uint32_t)o); }
static void opi(struct assembler *a, enum op o, uint32_t imm) { emit(a, (uint32_t)o); emit(a, imm); }

static uint32_t new_label(struct assembler *a)
{
    if (a->nlabels >= MAX_LABELS) { a->error = 1; return 0; }
    a->label_at[a->nlabels] = -1;
    return a->nlabels++;
}

static void place(struct assembler *a, uint32_t l) { a->label_at[l] = (int32_t)a->n; }

static void jump(struct assembler *a, enum op o, uint32_t l)
{
    emit(a, (uint32_t)o);
    if (a->nfix >= MAX_FIXUPS) { a->error = 1; return; }
    a->fix_pos[a->nfix] = a->n;
    a->fix_label[a->nfix] = l;
    a->nfix++;
    emit(a, 0u);
}

static int resolve(struct assembler *a)
{
    uint32_t i;
    for (i = 0; i < a->nfix; i++) {
        int32_t at = a->label_at[a->fix_label[i]];
        if (at < 0) return 0;
        a->code[a->fix_pos[i]] = (uint32_t)at;
    }
    return !a->error;
}

#define POP(dst) do { if (v->sp == 0u) return T_STACK; (dst) = v->stack[--v->sp]; } while (0)
#define PUSHV(val) do { if (v->sp >= STACK_MAX) return T_STACK; v->stack[v->sp++] = (val); } while (0)

static enum trap vm_run(struct vm *v, const uint32_t *code, uint32_t len, uint32_t max_steps)
{
    uint32_t a, b;
    for (;;) {
        uint32_t op;
        if (v->pc >= len) return T_PC;
        if (++v->steps > max_steps) return T_STEPS;
        op = code[v->pc++];
        switch (op) {
        case OP_HALT: return T_OK;
        case OP_PUSH: if (v->pc >= len) return T_PC; PUSHV(code[v->pc]); v->pc++; break;
        case OP_DROP: POP(a); break;
        case OP_DUP: POP(a); PUSHV(a); PUSHV(a); break;
        case OP_SWAP: POP(b); POP(a); PUSHV(b); PUSHV(a); break;
        case OP_OVER: POP(b); POP(a); PUSHV(a); PUSHV(b); PUSHV(a); break;
        case OP_ADD: POP(b); POP(a); PUSHV(a + b); break;
        case OP_SUB: POP(b); POP(a); PUSHV(a - b); break;
        case OP_MUL: POP(b); POP(a); PUSHV(a * b); break;
        case OP_DIVU: POP(b); POP(a); if (b == 0u) return T_DIV; PUSHV(a / b); break;
        case OP_MODU: POP(b); POP(a); if (b == 0u) return T_DIV; PUSHV(a % b); break;
        case OP_AND: POP(b); POP(a); PUSHV(a & b); break;
        case OP_OR: POP(b); POP(a); PUSHV(a | b); break;
        case OP_XOR: POP(b); POP(a); PUSHV(a ^ b); break;
        case OP_SHL: POP(b); POP(a); PUSHV(a << (b & 31u)); break;
        case OP_SHR: POP(b); POP(a); PUSHV(a >> (b & 31u)); break;
        case OP_LT: POP(b); POP(a); PUSHV(a < b ? 1u : 0u); break;
        case OP_EQ: POP(b); POP(a); PUSHV(a == b ? 1u : 0u); break;
        case OP_NOT: POP(a); PUSHV(a == 0u ? 1u : 0u); break;
        case OP_INC: POP(a); PUSHV(a + 1u); break;
        case OP_DEC: POP(a); PUSHV(a - 1u); break;
        case OP_LOAD: POP(a); if (a >= MEM_SIZE) return T_MEM; PUSHV(v->mem[a]); break;
        case OP_STORE: POP(a); POP(b); if (a >= MEM_SIZE) return T_MEM; v->mem[a] = b; break;
        case OP_LOADI:
        case OP_STOREI:
            if (v->pc >= len) return T_PC;
            a = code[v->pc++];
            if (a >= MEM_SIZE) return T_MEM;
            if (op == OP_LOADI) { PUSHV(v->mem[a]); }
            else { POP(b); v->mem[a] = b; }
            break;
        case OP_JMP: case OP_JZ: case OP_JNZ: case OP_CALL:
            if (v->pc >= len) return T_PC;
            a = code[v->pc++];
            if (op == OP_JZ || op == OP_JNZ) {
                POP(b);
                if ((b == 0u) != (op == OP_JZ)) break;
            } else if (op == OP_CALL) {
                if (v->rsp >= STACK_MAX) return T_STACK;
                v->rstack[v->rsp++] = v->pc;
            }
            v->pc = a;
            break;
        case OP_RET: if (v->rsp == 0u) return T_STACK; v->pc = v->rstack[--v->rsp]; break;
        case OP_OUT: POP(a); if (v->nout < MAX_OUT) v->out[v->nout++] = a; break;
        default: return T_PC;
        }
    }
}

enum { V_A = 1, V_B, V_K, V_I, V_J, V_N, V_C, V_TOT, V_CNT, V_SUM, SIEVE = 100, PAIRS = 1500 };
#define SIEVE_N 1000u
#define NPAIRS 48u
#define COLLATZ_N 300u

static void prog_fib(struct assembler *a)
{
    uint32_t loop = new_label(a), end = new_label(a);
    opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_A);
    opi(a, OP_PUSH, 1); opi(a, OP_STOREI, V_B);
    opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_K);
    place(a, loop);
    opi(a, OP_LOADI, V_K); opi(a, OP_PUSH, 60); op1(a, OP_LT); jump(a, OP_JZ, end);
    opi(a, OP_LOADI, V_A); op1(a, OP_OUT);
    opi(a, OP_LOADI, V_A); opi(a, OP_LOADI, V_B); op1(a, OP_ADD);
    opi(a, OP_LOADI, V_B); opi(a, OP_STOREI, V_A); opi(a, OP_STOREI, V_B);
    opi(a, OP_LOADI, V_K); op1(a, OP_INC); opi(a, OP_STOREI, V_K); jump(a, OP_JMP, loop);
    place(a, end); op1(a, OP_HALT);
}

static void prog_fact(struct assembler *a)
{
    uint32_t loop = new_label(a), end = new_label(a), fact = new_label(a), rec = new_label(a);
    opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_K);
    place(a, loop);
    opi(a, OP_LOADI, V_K); opi(a, OP_PUSH, 20); op1(a, OP_LT); jump(a, OP_JZ, end);
    opi(a, OP_LOADI, V_K); jump(a, OP_CALL, fact); op1(a, OP_OUT);
    opi(a, OP_LOADI, V_K); op1(a, OP_INC); opi(a, OP_STOREI, V_K); jump(a, OP_JMP, loop);
    place(a, end); op1(a, OP_HALT);
    place(a, fact);                     /* n -- n! */
    op1(a, OP_DUP); opi(a, OP_PUSH, 2); op1(a, OP_LT); jump(a, OP_JZ, rec);
    op1(a, OP_DROP); opi(a, OP_PUSH, 1); op1(a, OP_RET);
    place(a, rec);
    op1(a, OP_DUP); op1(a, OP_DEC); jump(a, OP_CALL, fact); op1(a, OP_MUL); op1(a, OP_RET);
}

static void prog_gcd(struct assembler *a)
{
    uint32_t loop = new_label(a), end = new_label(a), gcd = new_label(a);
    uint32_t gl = new_label(a), gd = new_label(a);
    opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_I); opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_SUM);
    place(a, loop);
    opi(a, OP_LOADI, V_I); opi(a, OP_PUSH, NPAIRS); op1(a, OP_LT); jump(a, OP_JZ, end);
    opi(a, OP_LOADI, V_I); op1(a, OP_DUP); op1(a, OP_ADD); opi(a, OP_PUSH, PAIRS); op1(a, OP_ADD);
    op1(a, OP_DUP); op1(a, OP_LOAD); op1(a, OP_SWAP); op1(a, OP_INC); op1(a, OP_LOAD);
    jump(a, OP_CALL, gcd); op1(a, OP_DUP); op1(a, OP_OUT);
    opi(a, OP_LOADI, V_SUM); op1(a, OP_ADD); opi(a, OP_STOREI, V_SUM);
    opi(a, OP_LOADI, V_I); op1(a, OP_INC); opi(a, OP_STOREI, V_I); jump(a, OP_JMP, loop);
    place(a, end); opi(a, OP_LOADI, V_SUM); op1(a, OP_OUT); op1(a, OP_HALT);
    place(a, gcd);                      /* a b -- gcd(a, b) */
    place(a, gl);
    op1(a, OP_DUP); jump(a, OP_JZ, gd);
    op1(a, OP_SWAP); op1(a, OP_OVER); op1(a, OP_MODU); jump(a, OP_JMP, gl);
    place(a, gd); op1(a, OP_DROP); op1(a, OP_RET);
}

static void prog_sieve(struct assembler *a)
{
    uint32_t li = new_label(a), lj = new_label(a), ni = new_label(a), marked = new_label(a);
    uint32_t lc = new_label(a), skip = new_label(a), end = new_label(a);
    opi(a, OP_PUSH, 2); opi(a, OP_STOREI, V_I);
    place(a, li);
    opi(a, OP_LOADI, V_I); op1(a, OP_DUP); op1(a, OP_MUL); opi(a, OP_PUSH, SIEVE_N); op1(a, OP_LT);
    jump(a, OP_JZ, marked);
    opi(a, OP_LOADI, V_I); opi(a, OP_PUSH, SIEVE); op1(a, OP_ADD); op1(a, OP_LOAD); jump(a, OP_JNZ, ni);
    opi(a, OP_LOADI, V_I); op1(a, OP_DUP); op1(a, OP_MUL); opi(a, OP_STOREI, V_J);
    place(a, lj);
    opi(a, OP_LOADI, V_J); opi(a, OP_PUSH, SIEVE_N); op1(a, OP_LT); jump(a, OP_JZ, ni);
    opi(a, OP_PUSH, 1); opi(a, OP_LOADI, V_J); opi(a, OP_PUSH, SIEVE); op1(a, OP_ADD); op1(a, OP_STORE);
    opi(a, OP_LOADI, V_J); opi(a, OP_LOADI, V_I); op1(a, OP_ADD); opi(a, OP_STOREI, V_J);
    jump(a, OP_JMP, lj);
    place(a, ni);
    opi(a, OP_LOADI, V_I); op1(a, OP_INC); opi(a, OP_STOREI, V_I); jump(a, OP_JMP, li);
    place(a, marked);
    opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_CNT); opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_SUM);
    opi(a, OP_PUSH, 2); opi(a, OP_STOREI, V_I);
    place(a, lc);
    opi(a, OP_LOADI, V_I); opi(a, OP_PUSH, SIEVE_N); op1(a, OP_LT); jump(a, OP_JZ, end);
    opi(a, OP_LOADI, V_I); opi(a, OP_PUSH, SIEVE); op1(a, OP_ADD); op1(a, OP_LOAD); jump(a, OP_JNZ, skip);
    opi(a, OP_LOADI, V_CNT); op1(a, OP_INC); opi(a, OP_STOREI, V_CNT);
    opi(a, OP_LOADI, V_SUM); opi(a, OP_LOADI, V_I); op1(a, OP_ADD); opi(a, OP_STOREI, V_SUM);
    place(a, skip);
    opi(a, OP_LOADI, V_I); op1(a, OP_INC); opi(a, OP_STOREI, V_I); jump(a, OP_JMP, lc);
    place(a, end);
    opi(a, OP_LOADI, V_CNT); op1(a, OP_OUT); opi(a, OP_LOADI, V_SUM); op1(a, OP_OUT); op1(a, OP_HALT);
}

static void prog_collatz(struct assembler *a)
{
    uint32_t outer = new_label(a), inner = new_label(a), done = new_label(a);
    uint32_t even = new_label(a), cnt = new_label(a), end = new_label(a);
    opi(a, OP_PUSH, 1); opi(a, OP_STOREI, V_N); opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_TOT);
    place(a, outer);
    opi(a, OP_LOADI, V_N); opi(a, OP_PUSH, COLLATZ_N); op1(a, OP_LT); jump(a, OP_JZ, end);
    opi(a, OP_LOADI, V_N); opi(a, OP_PUSH, 0); opi(a, OP_STOREI, V_C);
    place(a, inner);
    op1(a, OP_DUP); opi(a, OP_PUSH, 1); op1(a, OP_EQ); jump(a, OP_JNZ, done);
    op1(a, OP_DUP); opi(a, OP_PUSH, 1); op1(a, OP_AND); jump(a, OP_JZ, even);
    opi(a, OP_PUSH, 3); op1(a, OP_MUL); op1(a, OP_INC); jump(a, OP_JMP, cnt);
    place(a, even); opi(a, OP_PUSH, 1); op1(a, OP_SHR);
    place(a, cnt); opi(a, OP_LOADI, V_C); op1(a, OP_INC); opi(a, OP_STOREI, V_C); jump(a, OP_JMP, inner);
    place(a, done);
    op1(a, OP_DROP); opi(a, OP_LOADI, V_TOT); opi(a, OP_LOADI, V_C); op1(a, OP_ADD); opi(a, OP_STOREI, V_TOT);
    opi(a, OP_LOADI, V_C); op1(a, OP_OUT);
    opi(a, OP_LOADI, V_N); op1(a, OP_INC); opi(a, OP_STOREI, V_N); jump(a, OP_JMP, outer);
    place(a, end); opi(a, OP_LOADI, V_TOT); op1(a, OP_OUT); op1(a, OP_HALT);
}

/* ---- native reference implementations ---------------------------------- */

static uint32_t native(int which, const uint32_t *pairs, uint32_t *out)
{
    uint32_t n = 0, i, k;
    switch (which) {
    case 0: {
        uint32_t a = 0, b = 1, t;
        for (k = 0; k < 60u; k++) { out[n++] = a; t = a + b; a = b; b = t; }
        break;
    }
    case 1:
        for (k = 0; k < 20u; k++) {
            uint32_t f = 1;
            for (i = 2; i <= k; i++) f *= i;
            out[n++] = f;
        }
        break;
    case 2: {
        uint32_t sum = 0;
        for (k = 0; k < NPAIRS; k++) {
            uint32_t x = pairs[2u * k], y = pairs[2u * k + 1u], t;
            while (y != 0u) { t = x % y; x = y; y = t; }
            out[n++] = x;
            sum += x;
        }
        out[n++] = sum;
        break;
    }
    case 3: {
        static uint8_t comp[SIEVE_N];
        uint32_t cnt = 0, sum = 0;
        memset(comp, 0, sizeof comp);
        for (i = 2; i * i < SIEVE_N; i++)
            if (!comp[i])
                for (k = i * i; k < SIEVE_N; k += i) comp[k] = 1;
        for (i = 2; i < SIEVE_N; i++)
            if (!comp[i]) { cnt++; sum += i; }
        out[n++] = cnt;
        out[n++] = sum;
        break;
    }
    default: {
        uint32_t tot = 0;
        for (k = 1; k < COLLATZ_N; k++) {
            uint32_t x = k, c = 0;
            while (x != 1u) { x = (x & 1u) ? 3u * x + 1u : x >> 1; c++; }
            out[n++] = c;
            tot += c;
        }
        out[n++] = tot;
        break;
    }
    }
    return n;
}

int main(void)
{
    static struct assembler as;
    static struct vm vm;
    static uint32_t expect[MAX_OUT];
    static uint32_t pairs[2u * NPAIRS];
    uint32_t h = 0x13579BDFu, bad = 0, seed = 7u, i;
    int p;

    for (i = 0; i < 2u * NPAIRS; i++) {
        seed = seed * 1103515245u + 12345u;
        pairs[i] = 1u + ((seed >> 4) % 5000u) * (1u + i % 7u);
    }
    for (p = 0; p < 5; p++) {
        enum trap t;
        uint32_t nexp;
        as_init(&as);
        switch (p) {
        case 0: prog_fib(&as); break;
        case 1: prog_fact(&as); break;
        case 2: prog_gcd(&as); break;
        case 3: prog_sieve(&as); break;
        default: prog_collatz(&as); break;
        }
        if (!resolve(&as)) bad++;
        memset(&vm, 0, sizeof vm);
        memcpy(&vm.mem[PAIRS], pairs, sizeof pairs);
        t = vm_run(&vm, as.code, as.n, 2000000u);
        if (t != T_OK || vm.sp != 0u || vm.rsp != 0u) bad++;
        nexp = native(p, pairs, expect);
        if (nexp != vm.nout) bad++;
        for (i = 0; i < vm.nout; i++) {
            if (i < nexp && expect[i] != vm.out[i]) bad++;
            h = (h ^ vm.out[i]) * 0x01000193u;
        }
        h = (h ^ vm.steps) * 0x01000193u;
        h = (h ^ as.n) * 0x01000193u;
    }
    h ^= bad;
    printf("%s %08" PRIx32 "\n", "sim_vm", h);
    return bad == 0u ? 0 : 1;
}
