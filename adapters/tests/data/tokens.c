/* A state-machine tokenizer over a fixed text: counts and hashes tokens; prints `tokens <checksum>`. */
#include <stdint.h>
#include <stdio.h>

enum kind { SPACE, WORD, NUMBER, PUNCT };

static enum kind classify(char c) {
    if (c == ' ' || c == '\n' || c == '\t')
        return SPACE;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return WORD;
    if (c >= '0' && c <= '9')
        return NUMBER;
    return PUNCT;
}

static uint32_t fnv1a(const char *start, const char *end) {
    uint32_t h = 2166136261u;
    for (const char *p = start; p < end; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static const char text[] =
    "int main(void) { return 42 + x_1 * (y - 7); }\n"
    "while (n-- > 0) total += weights[n] * 3;\n"
    "if (a == b && c != d) goto done; else flag = 0x1F;\n";

int main(void) {
    uint32_t counts[4] = {0, 0, 0, 0};
    uint32_t hash = 0;
    const char *p = text;
    while (*p) {
        enum kind k = classify(*p);
        const char *start = p;
        if (k == PUNCT) {
            p++;
        } else {
            while (*p && classify(*p) == k)
                p++;
        }
        counts[k]++;
        if (k != SPACE)
            hash = hash * 33u ^ fnv1a(start, p);
    }
    for (int i = 0; i < 4; i++)
        hash += counts[i] << (i * 8);
    printf("tokens %08x\n", hash);
    return 0;
}
