/* An INI-style configuration parser over an embedded document: sections,
 * comments, quoted values with escapes, inline comments, continuation lines,
 * duplicate keys, error reporting by line, and typed lookups. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define MAX_ENTRIES 64
#define KEY_CAP 24
#define VALUE_MAX 80
#define LINE_MAX_LEN 160
#define MAX_ERRORS 16

enum parse_error { PE_NONE, PE_NO_EQUALS, PE_BAD_SECTION, PE_UNTERMINATED, PE_EMPTY_KEY,
                   PE_TABLE_FULL, PE_TOO_LONG };

struct entry {
    char section[KEY_CAP];
    char key[KEY_CAP];
    char value[VALUE_MAX];
    int line;
};

struct ini_doc {
    struct entry entries[MAX_ENTRIES];
    int count;
    int error_lines[MAX_ERRORS];
    enum parse_error error_kinds[MAX_ERRORS];
    int error_count;
    int overrides;
};

static const char document[] =
    "; global settings come before any section\n"
    "name = OpenPassMarket corpus\n"
    "version=3\n"
    "\n"
    "[compiler]\n"
    "  backend   =   llvm   ; trailing comment\n"
    "opt_level = 2\n"
    "passes = \"instcombine, simplifycfg; gvn\"\n"
    "escaped = \"tab\\there \\\"quoted\\\" back\\\\slash\"\n"
    "inline = yes\n"
    "threshold = -225\n"
    "budget = 64k\n"
    "# hash comments work as well\n"
    "[ limits ]\n"
    "memory = 2M\n"
    "timeout_ms = 0x7d0\n"
    "retries = 3\n"
    "retries = 5\n"
    "verbose = off\n"
    "path = /usr/local/lib \\\n"
    "       /opt/lib\n"
    "this line has no equals sign\n"
    "[broken\n"
    "= value without key\n"
    "[empty]\n"
    "[network]\n"
    "host = \"example.invalid\"\n"
    "port = 8080\n"
    "secure = TRUE\n"
    "motd = \"unterminated\n"
    "ratio = 17\n"
    "[compiler]\n"
    "opt_level = 3\n"
    "extra = \n";

static void copy_trimmed(char *dst, size_t cap, const char *begin, const char *end)
{
    size_t n;
    while (begin < end && (*begin == ' ' || *begin == '\t'))
        begin++;
    while (end > begin && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - begin);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, begin, n);
    dst[n] = '\0';
}

static void record_error(struct ini_doc *doc, int line, enum parse_error e)
{
    if (doc->error_count < MAX_ERRORS) {
        doc->error_lines[doc->error_count] = line;
        doc->error_kinds[doc->error_count] = e;
        doc->error_count++;
    }
}

static struct entry *find_entry(struct ini_doc *doc, const char *section, const char *key)
{
    int i;
    for (i = 0; i < doc->count; i++)
        if (strcmp(doc->entries[i].section, section) == 0 && strcmp(doc->entries[i].key, key) == 0)
            return &doc->entries[i];
    return NULL;
}

/* Parses a value: quoted strings keep everything up to the closing quote and
 * interpret escapes; bare values stop at an inline comment. */
static enum parse_error parse_value(const char *p, const char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p == '"') {
        p++;
        while (p < end && *p != '"') {
            char c = *p++;
            if (c == '\\' && p < end) {
                char e = *p++;
                switch (e) {
                case 't': c = '\t'; break;
                case 'n': c = '\n'; break;
                case '"': c = '"'; break;
                case '\\': c = '\\'; break;
                default: c = e; break;
                }
            }
            if (n + 1 >= cap)
                return PE_TOO_LONG;
            out[n++] = c;
        }
        if (p >= end)
            return PE_UNTERMINATED;
        out[n] = '\0';
        return PE_NONE;
    }
    {
        const char *stop = p;
        while (stop < end && *stop != ';' && *stop != '#')
            stop++;
        copy_trimmed(out, cap, p, stop);
    }
    return PE_NONE;
}

static void parse_line(struct ini_doc *doc, char *section, const char *line, int lineno)
{
    const char *end = line + strlen(line);
    const char *p = line, *eq;
    char key[KEY_CAP];
    char value[VALUE_MAX];
    enum parse_error err;
    struct entry *e;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == ';' || *p == '#')
        return;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL) {
            record_error(doc, lineno, PE_BAD_SECTION);
            return;
        }
        copy_trimmed(section, KEY_CAP, p + 1, close);
        return;
    }
    eq = strchr(p, '=');
    if (eq == NULL) {
        record_error(doc, lineno, PE_NO_EQUALS);
        return;
    }
    copy_trimmed(key, sizeof key, p, eq);
    if (key[0] == '\0') {
        record_error(doc, lineno, PE_EMPTY_KEY);
        return;
    }
    err = parse_value(eq + 1, end, value, sizeof value);
    if (err != PE_NONE) {
        record_error(doc, lineno, err);
        return;
    }
    e = find_entry(doc, section, key);
    if (e != NULL) {
        doc->overrides++;
    } else {
        if (doc->count >= MAX_ENTRIES) {
            record_error(doc, lineno, PE_TABLE_FULL);
            return;
        }
        e = &doc->entries[doc->count++];
        strcpy(e->section, section);
        strcpy(e->key, key);
    }
    strcpy(e->value, value);
    e->line = lineno;
}

static void parse_document(struct ini_doc *doc, const char *text)
{
    char section[KEY_CAP] = "";
    char line[LINE_MAX_LEN];
    size_t len = 0;
    int lineno = 0, start_line = 1;
    const char *p = text;

    memset(doc, 0, sizeof *doc);
    for (;;) {
        char c = *p;
        if (c == '\n' || c == '\0') {
            lineno++;
            /* a trailing backslash joins the next physical line */
            if (c == '\n' && len > 0 && line[len - 1] == '\\') {
                len--;
                p++;
                continue;
            }
            line[len] = '\0';
            parse_line(doc, section, line, start_line);
            len = 0;
            start_line = lineno + 1;
            if (c == '\0')
                break;
        } else if (len + 1 < LINE_MAX_LEN) {
            line[len++] = c;
        }
        p++;
    }
}

static const char *ini_get(struct ini_doc *doc, const char *section, const char *key)
{
    struct entry *e = find_entry(doc, section, key);
    return e ? e->value : NULL;
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int equals_nocase(const char *a, const char *b)
{
    while (*a && *b && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

/* returns 1 on success; accepts decimal, 0x hex, sign, k/M suffixes */
static int ini_get_int(struct ini_doc *doc, const char *section, const char *key, int32_t *out)
{
    const char *s = ini_get(doc, section, key);
    int64_t v = 0;
    int neg = 0, digits = 0;
    unsigned base = 10;
    if (s == NULL)
        return 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (;; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && ascii_lower((unsigned char)*s) >= 'a' && ascii_lower((unsigned char)*s) <= 'f')
            d = ascii_lower((unsigned char)*s) - 'a' + 10;
        else
            break;
        v = v * (int64_t)base + d;
        digits++;
        if (v > 0x7FFFFFFF)
            return 0;
    }
    if (digits == 0)
        return 0;
    switch (*s) {
    case 'k': case 'K': v *= 1024; s++; break;
    case 'M': v *= 1024 * 1024; s++; break;
    default: break;
    }
    if (*s != '\0' || v > 0x7FFFFFFF)
        return 0;
    *out = (int32_t)(neg ? -v : v);
    return 1;
}

static int ini_get_bool(struct ini_doc *doc, const char *section, const char *key, int *out)
{
    static const char *const truthy[] = { "1", "yes", "true", "on" };
    static const char *const falsy[] = { "0", "no", "false", "off" };
    const char *s = ini_get(doc, section, key);
    int i;
    if (s == NULL)
        return 0;
    for (i = 0; i < 4; i++) {
        if (equals_nocase(s, truthy[i])) {
            *out = 1;
            return 1;
        }
        if (equals_nocase(s, falsy[i])) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

static uint32_t hash_str(uint32_t h, const char *s)
{
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 0x01000193u;
    }
    return h * 0x01000193u;
}

struct int_query {
    const char *section, *key;
    int ok;
    int32_t value;
};

int main(void)
{
    static struct ini_doc doc;
    static const struct int_query int_queries[] = {
        { "", "version", 1, 3 },
        { "compiler", "opt_level", 1, 3 },
        { "compiler", "threshold", 1, -225 },
        { "compiler", "budget", 1, 65536 },
        { "limits", "memory", 1, 2097152 },
        { "limits", "timeout_ms", 1, 2000 },
        { "limits", "retries", 1, 5 },
        { "network", "port", 1, 8080 },
        { "network", "ratio", 1, 17 },
        { "network", "host", 0, 0 },
        { "network", "missing", 0, 0 },
    };
    uint32_t checksum = 0x811C9DC5u;
    int failed = 0, i, b;
    const char *s;

    parse_document(&doc, document);

    for (i = 0; i < doc.count; i++) {
        checksum = hash_str(checksum, doc.entries[i].section);
        checksum = hash_str(checksum, doc.entries[i].key);
        checksum = hash_str(checksum, doc.entries[i].value);
        checksum ^= (uint32_t)doc.entries[i].line;
    }
    for (i = 0; i < doc.error_count; i++)
        checksum = checksum * 31u + (uint32_t)doc.error_lines[i] * 8u + (uint32_t)doc.error_kinds[i];
    checksum = checksum * 31u + (uint32_t)doc.overrides;

    for (i = 0; i < (int)(sizeof int_queries / sizeof int_queries[0]); i++) {
        int32_t v = 0;
        int ok = ini_get_int(&doc, int_queries[i].section, int_queries[i].key, &v);
        if (ok != int_queries[i].ok || (ok && v != int_queries[i].value))
            failed = 1;
        checksum = checksum * 31u + (uint32_t)v + (uint32_t)ok;
    }

    if (!ini_get_bool(&doc, "compiler", "inline", &b) || b != 1)
        failed = 1;
    if (!ini_get_bool(&doc, "limits", "verbose", &b) || b != 0)
        failed = 1;
    if (!ini_get_bool(&doc, "network", "secure", &b) || b != 1)
        failed = 1;
    if (ini_get_bool(&doc, "compiler", "backend", &b))
        failed = 1;

    s = ini_get(&doc, "compiler", "backend");
    if (s == NULL || strcmp(s, "llvm") != 0)
        failed = 1;
    s = ini_get(&doc, "compiler", "passes");
    if (s == NULL || strcmp(s, "instcombine, simplifycfg; gvn") != 0)
        failed = 1;
    s = ini_get(&doc, "compiler", "escaped");
    if (s == NULL || strcmp(s, "tab\there \"quoted\" back\\slash") != 0)
        failed = 1;
    s = ini_get(&doc, "limits", "path");
    if (s == NULL || strcmp(s, "/usr/local/lib        /opt/lib") != 0)
        failed = 1;
    s = ini_get(&doc, "compiler", "extra");
    if (s == NULL || s[0] != '\0')
        failed = 1;
    if (ini_get(&doc, "network", "motd") != NULL || ini_get(&doc, "empty", "x") != NULL)
        failed = 1;
    if (doc.error_count != 4)
        failed = 1;

    checksum = checksum * 31u + (uint32_t)doc.count;
    checksum ^= (uint32_t)failed;
    printf("%s %08x\n", "str_ini_parser", (unsigned)checksum);
    return failed ? 1 : 0;
}
