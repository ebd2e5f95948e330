/* A strict, single-pass XES body scanner that builds columns: the fast path of pipelines.xes.
 *
 * SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * It reads the traces of an XES document (everything after the log header; the header is read
 * by lxml in Python) into one column per attribute key, the way rustxes does: one row per event,
 * event attributes under their key, trace attributes under "case:" + key and repeated on each of
 * the trace's events, dates as microseconds since the epoch in UTC (a date without an offset is
 * UTC), `id` as a string (lowercase UUIDs only: rustxes rewrites any other id). It accepts
 * only a strict subset of XML: `<trace>`, `<event>` and the six flat attribute elements
 * (`string`, `date`, `int`, `float`, `boolean`, `id`, each self-closing with `key` and
 * `value`), whitespace between them, the five predefined entities and character references,
 * valid UTF-8. Everything else (comments, nested attributes, lists,
 * an attribute key used with two types or twice in one event, a value rustxes would read
 * differently, malformed XML) raises `Unsupported`: the caller then reads the file with rustxes
 * or lxml, which also report the errors with their lines. It never guesses.
 *
 * feed() releases the GIL while it scans, so a thread can parse while another imports.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { K_STRING = 0, K_DATE, K_INT, K_FLOAT, K_BOOL, K_ID };
static const char *KIND_NAMES[] = {"string", "date", "int", "float", "boolean", "id"};

typedef struct {
    char *name; /* "case:" + key for trace attributes */
    size_t name_len;
    int kind;
    int trace_scope;
    int64_t len;           /* rows written, values and nulls */
    int64_t cap;           /* rows allocated */
    int64_t last_trace;    /* trace number of the last trace attribute (duplicate check) */
    int from_empty_trace;  /* first named by a trace without events */
    uint8_t *valid;        /* 1 byte per row */
    void *data;            /* int64/double/uint8 per row; int64 offsets (len + 1) for strings */
    char *chars;           /* string bytes */
    int64_t nchars, chars_cap;
} Column;

typedef struct {
    int column;
    const char *value;
    size_t value_len;
} Pending; /* a trace attribute, applied to the trace's rows at </trace> */

typedef struct {
    PyObject_HEAD
    Column *columns;
    int ncolumns, columns_cap;
    int *slots; /* open-addressing hash table of column indices, -1 empty */
    int nslots;
    Pending *pending;
    int npending, pending_cap;
    int64_t rows;
    int64_t traces;
    int closed; /* </log> seen */
    int busy;
    const char *error; /* why the input is not supported (static string) */
    int64_t error_offset;
} Parser;

static PyObject *Unsupported;

/* ---------------------------------------------------------------------------------------------
 * Column storage
 */

static int grow(void **buffer, int64_t *cap, int64_t need, size_t item) {
    if (need <= *cap) return 0;
    int64_t next = *cap ? *cap : 1024;
    while (next < need) next *= 2;
    void *moved = realloc(*buffer, (size_t)next * item);
    if (!moved) return -1;
    *buffer = moved;
    *cap = next;
    return 0;
}

static size_t item_size(int kind) {
    switch (kind) {
    case K_FLOAT: return sizeof(double);
    case K_BOOL: return 1;
    default: return sizeof(int64_t); /* dates and ints; string offsets */
    }
}

static int is_string_kind(int kind) { return kind == K_STRING || kind == K_ID; }

/* Make room for `rows` rows (string offsets need one more). */
static int reserve_rows(Column *c, int64_t rows) {
    if (rows + 1 <= c->cap) return 0;
    int64_t cap = c->cap, cap2 = c->cap;
    if (grow((void **)&c->valid, &cap, rows + 1, 1)) return -1;
    if (grow(&c->data, &cap2, rows + 1, item_size(c->kind))) return -1;
    c->cap = cap;
    return 0;
}

/* Nulls up to row `upto` (exclusive). */
static int pad(Column *c, int64_t upto) {
    if (c->len >= upto) return 0;
    if (reserve_rows(c, upto)) return -1;
    memset(c->valid + c->len, 0, (size_t)(upto - c->len));
    if (is_string_kind(c->kind)) {
        int64_t *offsets = (int64_t *)c->data;
        for (int64_t r = c->len; r < upto; r++) offsets[r + 1] = c->nchars;
    } else {
        memset((char *)c->data + c->len * item_size(c->kind), 0,
               (size_t)(upto - c->len) * item_size(c->kind));
    }
    c->len = upto;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Hash table of columns by (scope, key)
 */

static uint64_t hash_key(const char *key, size_t len, int trace_scope) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)trace_scope;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int rehash(Parser *p) {
    int nslots = p->nslots ? p->nslots * 2 : 64;
    int *slots = malloc(sizeof(int) * (size_t)nslots);
    if (!slots) return -1;
    for (int i = 0; i < nslots; i++) slots[i] = -1;
    for (int i = 0; i < p->ncolumns; i++) {
        Column *c = &p->columns[i];
        size_t skip = c->trace_scope ? 5 : 0;
        uint64_t h = hash_key(c->name + skip, c->name_len - skip, c->trace_scope);
        int s = (int)(h & (uint64_t)(nslots - 1));
        while (slots[s] >= 0) s = (s + 1) & (nslots - 1);
        slots[s] = i;
    }
    free(p->slots);
    p->slots = slots;
    p->nslots = nslots;
    return 0;
}

/* The column of a key (created on first use), or -1 (error set) when its kind conflicts. */
static int column_for(Parser *p, const char *key, size_t len, int trace_scope, int kind) {
    uint64_t h = hash_key(key, len, trace_scope);
    int s = (int)(h & (uint64_t)(p->nslots - 1));
    size_t skip = trace_scope ? 5 : 0;
    while (p->slots[s] >= 0) {
        Column *c = &p->columns[p->slots[s]];
        if (c->trace_scope == trace_scope && c->name_len == len + skip &&
            memcmp(c->name + skip, key, len) == 0) {
            if (c->kind != kind) {
                p->error = "an attribute key is used with two types";
                return -1;
            }
            return p->slots[s];
        }
        s = (s + 1) & (p->nslots - 1);
    }
    /* A new column: its name must not clash with one of the other scope ("case:x"). */
    char *name = malloc(len + skip + 1);
    if (!name) goto nomem;
    memcpy(name, "case:", skip);
    memcpy(name + skip, key, len);
    name[len + skip] = 0;
    for (int i = 0; i < p->ncolumns; i++) {
        if (p->columns[i].name_len == len + skip &&
            memcmp(p->columns[i].name, name, len + skip) == 0) {
            free(name);
            p->error = "a trace attribute and an event attribute share a column name";
            return -1;
        }
    }
    if (p->ncolumns == p->columns_cap) {
        int cap = p->columns_cap ? p->columns_cap * 2 : 16;
        Column *moved = realloc(p->columns, sizeof(Column) * (size_t)cap);
        if (!moved) {
            free(name);
            goto nomem;
        }
        p->columns = moved;
        p->columns_cap = cap;
    }
    Column *c = &p->columns[p->ncolumns];
    memset(c, 0, sizeof(Column));
    c->name = name;
    c->name_len = len + skip;
    c->kind = kind;
    c->trace_scope = trace_scope;
    c->last_trace = -1;
    if (reserve_rows(c, 1)) goto nomem;
    if (is_string_kind(kind)) ((int64_t *)c->data)[0] = 0;
    int index = p->ncolumns++;
    if (p->ncolumns * 2 > p->nslots) {
        if (rehash(p)) goto nomem;
    } else {
        p->slots[s] = index;
    }
    return index;
nomem:
    p->error = "out of memory";
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Values
 */

#define FAIL(msg)                                                                               \
    do {                                                                                        \
        p->error = (msg);                                                                       \
        return -1;                                                                              \
    } while (0)

static int days_in_month(int64_t year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
    return days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM] → microseconds since the epoch, UTC. Sub-
 * microsecond digits must be zero and years within 1678..2261 (rustxes keeps nanoseconds). */
static int parse_date(Parser *p, const char *s, size_t n, int64_t *out) {
    int64_t year, month, day, hour, minute, second, frac = 0, offset = 0;
    if (n < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        FAIL("a date not in the form YYYY-MM-DDTHH:MM:SS");
    if (digits(s, 4, &year) || digits(s + 5, 2, &month) || digits(s + 8, 2, &day) ||
        digits(s + 11, 2, &hour) || digits(s + 14, 2, &minute) || digits(s + 17, 2, &second))
        FAIL("a date with a non-digit");
    if (year < 1678 || year > 2261 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, (int)month) || hour > 23 || minute > 59 || second > 59)
        FAIL("a date out of range");
    size_t i = 19;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        int64_t scale = 100000;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 6) {
                frac += (s[i] - '0') * scale;
                scale /= 10;
            } else if (s[i] != '0') {
                FAIL("a date with sub-microsecond digits");
            }
            i++;
        }
        if (i == start || i - start > 9) FAIL("a date with a bad fraction of a second");
    }
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int64_t oh, om;
        if (n - i != 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) ||
            digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            FAIL("a date with an offset not in the form +HH:MM");
        offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        i = n;
    }
    if (i != n) FAIL("a date with trailing characters");
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                      second - offset;
    *out = seconds * 1000000 + frac;
    return 0;
}

static int parse_int(Parser *p, const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int negative = 0;
    if (n && (s[0] == '+' || s[0] == '-')) negative = s[i++] == '-';
    if (i == n || n - i > 18) FAIL("an int that is not a plain number of up to 18 digits");
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') FAIL("an int with a non-digit");
        v = v * 10 + (s[i] - '0');
    }
    *out = negative ? -v : v;
    return 0;
}

static int parse_float(Parser *p, const char *s, size_t n, double *out) {
    /* [+-]?(d+[.d*]|.d+)([eE][+-]?d+)? : read the same by strtod and Rust's f64 parser. */
    char buffer[64];
    size_t i = 0, mantissa = 0;
    if (n == 0 || n >= sizeof buffer) FAIL("a float that is empty or too long");
    if (s[i] == '+' || s[i] == '-') i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, mantissa++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, mantissa++;
    }
    if (!mantissa) FAIL("a float that is not a plain number");
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exponent = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, exponent++;
        if (!exponent) FAIL("a float with an empty exponent");
    }
    if (i != n) FAIL("a float with trailing characters");
    memcpy(buffer, s, n);
    buffer[n] = 0;
    errno = 0;
    *out = strtod(buffer, NULL);
    if (errno == ERANGE) FAIL("a float out of range");
    return 0;
}

/* Append a string value, decoding entities; the raw value holds no '<' (checked by the scan). */
static int append_chars(Parser *p, Column *c, const char *s, size_t n) {
    if (grow((void **)&c->chars, &c->chars_cap, c->nchars + (int64_t)n, 1)) FAIL("out of memory");
    const char *amp = memchr(s, '&', n);
    if (!amp) {
        memcpy(c->chars + c->nchars, s, n);
        c->nchars += (int64_t)n;
        return 0;
    }
    char *out = c->chars + c->nchars;
    size_t i = 0;
    while (i < n) {
        if (s[i] != '&') {
            *out++ = s[i++];
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        if (!semi) FAIL("an '&' that starts no entity");
        size_t len = (size_t)(semi - (s + i)) + 1;
        const char *e = s + i;
        if (len == 5 && !memcmp(e, "&amp;", 5)) *out++ = '&';
        else if (len == 4 && !memcmp(e, "&lt;", 4)) *out++ = '<';
        else if (len == 4 && !memcmp(e, "&gt;", 4)) *out++ = '>';
        else if (len == 6 && !memcmp(e, "&quot;", 6)) *out++ = '"';
        else if (len == 6 && !memcmp(e, "&apos;", 6)) *out++ = '\'';
        else if (len >= 4 && e[1] == '#') {
            uint32_t code = 0;
            size_t k = 2;
            int hex = e[2] == 'x';
            if (hex) k++;
            if (k >= len - 1) FAIL("an empty character reference");
            for (; k < len - 1; k++) {
                char ch = e[k];
                int d;
                if (ch >= '0' && ch <= '9') d = ch - '0';
                else if (hex && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
                else if (hex && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
                else FAIL("a malformed character reference");
                code = code * (hex ? 16 : 10) + (uint32_t)d;
                if (code > 0x10FFFF) FAIL("a character reference out of range");
            }
            /* Only characters that need no attribute-value normalisation and are valid XML. */
            if (code < 0x20 || (code >= 0xD800 && code <= 0xDFFF) || code == 0xFFFE ||
                code == 0xFFFF)
                FAIL("a character reference to a control character");
            /* A reference is never longer than its UTF-8 encoding: &#N; has ≥ 4 bytes. */
            if (code < 0x80) {
                *out++ = (char)code;
            } else if (code < 0x800) {
                *out++ = (char)(0xC0 | (code >> 6));
                *out++ = (char)(0x80 | (code & 0x3F));
            } else if (code < 0x10000) {
                *out++ = (char)(0xE0 | (code >> 12));
                *out++ = (char)(0x80 | ((code >> 6) & 0x3F));
                *out++ = (char)(0x80 | (code & 0x3F));
            } else {
                *out++ = (char)(0xF0 | (code >> 18));
                *out++ = (char)(0x80 | ((code >> 12) & 0x3F));
                *out++ = (char)(0x80 | ((code >> 6) & 0x3F));
                *out++ = (char)(0x80 | (code & 0x3F));
            }
        } else {
            FAIL("an entity other than the five predefined ones");
        }
        i += len;
    }
    c->nchars = out - c->chars;
    return 0;
}

/* A UUID as rustxes writes it: lowercase 8-4-4-4-12 hex digits (it rewrites other ids). */
static int is_canonical_uuid(const char *s, size_t n) {
    if (n != 36) return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* Set row `row` of column `c` to a value (a string's raw bytes, or a parsed number). */
static int set_value(Parser *p, Column *c, int64_t row, const char *s, size_t n) {
    if (pad(c, row) || reserve_rows(c, row + 1)) FAIL("out of memory");
    switch (c->kind) {
    case K_ID:
        if (!is_canonical_uuid(s, n)) FAIL("an id that is not a UUID in lowercase");
        /* fall through */
    case K_STRING:
        if (append_chars(p, c, s, n)) return -1;
        ((int64_t *)c->data)[row + 1] = c->nchars;
        break;
    case K_DATE:
        if (parse_date(p, s, n, &((int64_t *)c->data)[row])) return -1;
        break;
    case K_INT:
        if (parse_int(p, s, n, &((int64_t *)c->data)[row])) return -1;
        break;
    case K_FLOAT:
        if (parse_float(p, s, n, &((double *)c->data)[row])) return -1;
        break;
    case K_BOOL:
        if (n == 4 && !memcmp(s, "true", 4)) ((uint8_t *)c->data)[row] = 1;
        else if (n == 5 && !memcmp(s, "false", 5)) ((uint8_t *)c->data)[row] = 0;
        else FAIL("a boolean other than true or false");
        break;
    }
    c->valid[row] = 1;
    c->len = row + 1;
    return 0;
}

/* Repeat a parsed trace value on rows [start, end): parse once into `start`, copy after. */
static int set_trace_value(Parser *p, Column *c, int64_t start, int64_t end, const char *s,
                           size_t n) {
    if (set_value(p, c, start, s, n)) return -1;
    if (reserve_rows(c, end)) FAIL("out of memory");
    if (is_string_kind(c->kind)) {
        int64_t *offsets = (int64_t *)c->data;
        int64_t size = offsets[start + 1] - offsets[start];
        if (grow((void **)&c->chars, &c->chars_cap, c->nchars + size * (end - start - 1), 1))
            FAIL("out of memory");
        for (int64_t r = start + 1; r < end; r++) {
            memcpy(c->chars + c->nchars, c->chars + offsets[start], (size_t)size);
            c->nchars += size;
            offsets[r + 1] = c->nchars;
        }
    } else {
        size_t item = item_size(c->kind);
        char *data = (char *)c->data;
        for (int64_t r = start + 1; r < end; r++)
            memcpy(data + r * item, data + start * item, item);
    }
    memset(c->valid + start, 1, (size_t)(end - start));
    c->len = end;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The scanner
 */

/* Byte classes inside an attribute value: 0 plain ASCII, 1 needs a look. */
static uint8_t VALUE_CLASS[256];

static void init_classes(void) {
    for (int i = 0; i < 256; i++) VALUE_CLASS[i] = (i < 0x20 || i >= 0x80 || i == '<' ||
                                                    i == '"' || i == '\'');
}

static int is_space(char ch) { return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r'; }

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), or 0. */
static size_t utf8_length(const unsigned char *s, const unsigned char *end) {
    unsigned char c = s[0];
    size_t n;
    uint32_t min, code;
    if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80, code = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800, code = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000, code = c & 0x07;
    else return 0;
    if ((size_t)(end - s) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        code = (code << 6) | (s[i] & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) || code == 0xFFFE ||
        code == 0xFFFF)
        return 0;
    return n;
}

typedef struct {
    const char *s; /* cursor */
    const char *end;
} Cursor;

static void skip_space(Cursor *cur) {
    while (cur->s < cur->end && is_space(*cur->s)) cur->s++;
}

static int starts(Cursor *cur, const char *text, size_t n) {
    return (size_t)(cur->end - cur->s) >= n && memcmp(cur->s, text, n) == 0;
}

/* After `<kind`: the key and value of a self-closing attribute element, cursor after "/>". */
static int scan_attribute(Parser *p, Cursor *cur, const char **key, size_t *key_len,
                          const char **value, size_t *value_len) {
    *key = *value = NULL;
    if (cur->s >= cur->end || !is_space(*cur->s)) FAIL("an unknown element");
    for (;;) {
        skip_space(cur);
        if (cur->s >= cur->end) FAIL("a truncated attribute element");
        if (*cur->s == '/') {
            if (cur->end - cur->s < 2 || cur->s[1] != '>') FAIL("a malformed attribute element");
            cur->s += 2;
            break;
        }
        if (*cur->s == '>') FAIL("an attribute element with children");
        const char *name = cur->s;
        while (cur->s < cur->end && ((*cur->s >= 'a' && *cur->s <= 'z') ||
                                     (*cur->s >= 'A' && *cur->s <= 'Z') || *cur->s == ':' ||
                                     *cur->s == '_' || *cur->s == '-' || *cur->s == '.' ||
                                     (*cur->s >= '0' && *cur->s <= '9')))
            cur->s++;
        size_t name_len = (size_t)(cur->s - name);
        int letter = (*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z') ||
                     *name == '_';
        if (!name_len || !letter) FAIL("a malformed XML attribute name");
        skip_space(cur);
        if (cur->s >= cur->end || *cur->s != '=') FAIL("an XML attribute without '='");
        cur->s++;
        skip_space(cur);
        if (cur->s >= cur->end || (*cur->s != '"' && *cur->s != '\'')) FAIL("an unquoted value");
        char quote = *cur->s++;
        const char *start = cur->s;
        for (;;) {
            while (cur->s < cur->end && !VALUE_CLASS[(unsigned char)*cur->s]) cur->s++;
            if (cur->s >= cur->end) FAIL("a truncated XML attribute value");
            unsigned char ch = (unsigned char)*cur->s;
            if (ch == (unsigned char)quote) break;
            if (ch == '"' || ch == '\'') {
                cur->s++;
                continue;
            }
            if (ch >= 0x80) {
                size_t n = utf8_length((const unsigned char *)cur->s,
                                       (const unsigned char *)cur->end);
                if (!n) FAIL("invalid UTF-8");
                cur->s += n;
                continue;
            }
            /* '<' is malformed; tabs and newlines would be normalised to spaces by XML. */
            FAIL("a '<', control character or line break in an XML attribute value");
        }
        const char *stop = cur->s++;
        if (cur->s < cur->end && !is_space(*cur->s) && *cur->s != '/')
            FAIL("XML attributes without space between them");
        const char **slot = NULL;
        size_t *slot_len = NULL;
        if (name_len == 3 && !memcmp(name, "key", 3)) slot = key, slot_len = key_len;
        else if (name_len == 5 && !memcmp(name, "value", 5)) slot = value, slot_len = value_len;
        if (slot) {
            if (*slot) FAIL("a repeated XML attribute");
            *slot = start;
            *slot_len = (size_t)(stop - start);
        }
    }
    if (!*key || !*value) FAIL("an attribute element without key or value");
    if (memchr(*key, '&', *key_len)) FAIL("an entity in an attribute key");
    return 0;
}

/* `<kind` at the cursor: the attribute kind and the cursor after the name, or -1. */
static int attribute_kind(Cursor *cur) {
    static const struct {
        const char *tag;
        size_t len;
        int kind;
    } TAGS[] = {{"<string", 7, K_STRING}, {"<date", 5, K_DATE}, {"<int", 4, K_INT},
                {"<float", 6, K_FLOAT},   {"<boolean", 8, K_BOOL}, {"<id", 3, K_ID}};
    for (size_t i = 0; i < sizeof TAGS / sizeof TAGS[0]; i++) {
        if (starts(cur, TAGS[i].tag, TAGS[i].len) && cur->s + TAGS[i].len < cur->end &&
            is_space(cur->s[TAGS[i].len])) {
            cur->s += TAGS[i].len;
            return TAGS[i].kind;
        }
    }
    return -1;
}

/* A flat attribute element at the cursor: the index of its column in the scope (event 0,
 * trace 1) and its raw value; -1 with the error set for any other element. */
static int scan_column_value(Parser *p, Cursor *cur, int trace_scope, const char **value,
                             size_t *value_len) {
    int kind = attribute_kind(cur);
    if (kind < 0 && trace_scope) FAIL("an element other than an event or attribute in a trace");
    if (kind < 0) FAIL("an element other than a flat attribute in an event");
    const char *key;
    size_t key_len;
    if (scan_attribute(p, cur, &key, &key_len, value, value_len)) return -1;
    return column_for(p, key, key_len, trace_scope, kind);
}

static int scan_event(Parser *p, Cursor *cur) {
    int64_t row = p->rows;
    for (;;) {
        skip_space(cur);
        if (starts(cur, "</event>", 8)) {
            cur->s += 8;
            break;
        }
        const char *value;
        size_t value_len;
        int index = scan_column_value(p, cur, 0, &value, &value_len);
        if (index < 0) return -1;
        Column *c = &p->columns[index];
        if (c->len > row) FAIL("an attribute key twice in one event");
        if (set_value(p, c, row, value, value_len)) return -1;
    }
    p->rows++;
    return 0;
}

static int scan_trace(Parser *p, Cursor *cur) {
    int64_t first_row = p->rows;
    int columns_before = p->ncolumns;
    p->npending = 0;
    for (;;) {
        skip_space(cur);
        if (starts(cur, "</trace>", 8)) {
            cur->s += 8;
            break;
        }
        if (starts(cur, "<event>", 7)) {
            cur->s += 7;
            if (scan_event(p, cur)) return -1;
            continue;
        }
        const char *value;
        size_t value_len;
        int index = scan_column_value(p, cur, 1, &value, &value_len);
        if (index < 0) return -1;
        if (p->columns[index].last_trace == p->traces) FAIL("an attribute key twice in a trace");
        p->columns[index].last_trace = p->traces;
        if (p->npending == p->pending_cap) {
            int cap = p->pending_cap ? p->pending_cap * 2 : 16;
            Pending *moved = realloc(p->pending, sizeof(Pending) * (size_t)cap);
            if (!moved) FAIL("out of memory");
            p->pending = moved;
            p->pending_cap = cap;
        }
        p->pending[p->npending++] = (Pending){index, value, value_len};
    }
    /* rustxes drops traces without events; whether it keeps a column only they name is not
     * reproduced here (finish() refuses such a column if it stays empty). */
    for (int i = columns_before; p->rows == first_row && i < p->ncolumns; i++)
        p->columns[i].from_empty_trace = 1;
    if (p->rows > first_row) {
        for (int i = 0; i < p->npending; i++) {
            Pending *t = &p->pending[i];
            if (set_trace_value(p, &p->columns[t->column], first_row, p->rows, t->value,
                                t->value_len))
                return -1;
        }
    }
    p->traces++;
    return 0;
}

static int scan(Parser *p, const char *data, size_t n) {
    Cursor cur = {data, data + n};
    for (;;) {
        skip_space(&cur);
        if (cur.s >= cur.end) return 0;
        if (p->closed) FAIL("content after </log>");
        if (starts(&cur, "<trace>", 7)) {
            cur.s += 7;
            if (scan_trace(p, &cur)) {
                p->error_offset = cur.s - data;
                return -1;
            }
        } else if (starts(&cur, "</log>", 6)) {
            cur.s += 6;
            p->closed = 1;
        } else {
            p->error_offset = cur.s - data;
            FAIL("an element other than <trace> in the log");
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Python type
 */

static void parser_clear(Parser *p) {
    for (int i = 0; i < p->ncolumns; i++) {
        free(p->columns[i].name);
        free(p->columns[i].valid);
        free(p->columns[i].data);
        free(p->columns[i].chars);
    }
    free(p->columns);
    free(p->slots);
    free(p->pending);
    p->columns = NULL;
    p->slots = NULL;
    p->pending = NULL;
    p->ncolumns = p->columns_cap = p->nslots = p->npending = p->pending_cap = 0;
}

static void parser_dealloc(Parser *p) {
    parser_clear(p);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static int parser_init(Parser *p, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist)) return -1;
    parser_clear(p);
    p->rows = p->traces = 0;
    p->closed = p->busy = 0;
    p->error = NULL;
    if (rehash(p)) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static PyObject *parser_feed(Parser *p, PyObject *arg) {
    Py_buffer view;
    if (p->error) {
        PyErr_Format(Unsupported, "%s", p->error);
        return NULL;
    }
    if (p->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Parser used by two threads at once");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE)) return NULL;
    int failed;
    p->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    failed = scan(p, (const char *)view.buf, (size_t)view.len);
    Py_END_ALLOW_THREADS
    p->busy = 0;
    PyBuffer_Release(&view);
    if (failed) {
        if (p->error && !strcmp(p->error, "out of memory")) return PyErr_NoMemory();
        PyErr_Format(Unsupported, "%s (at byte %lld of the piece)", p->error,
                     (long long)p->error_offset);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Bit-packed validity (Arrow layout) from one byte per row; NULL-free columns give None. */
static PyObject *bitmap(const uint8_t *bytes, int64_t n, int64_t *nulls) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, (n + 7) / 8);
    if (!out) return NULL;
    uint8_t *bits = (uint8_t *)PyBytes_AS_STRING(out);
    memset(bits, 0, (size_t)((n + 7) / 8));
    int64_t set = 0;
    for (int64_t i = 0; i < n; i++) {
        if (bytes[i]) {
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
            set++;
        }
    }
    *nulls = n - set;
    return out;
}

static PyObject *parser_finish(Parser *p, PyObject *Py_UNUSED(ignored)) {
    if (p->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Parser used by two threads at once");
        return NULL;
    }
    if (p->error) {
        PyErr_Format(Unsupported, "%s", p->error);
        return NULL;
    }
    if (!p->closed) {
        PyErr_SetString(Unsupported, "the log is not closed by </log>");
        return NULL;
    }
    PyObject *result = PyList_New(0);
    if (!result) return NULL;
    for (int i = 0; i < p->ncolumns; i++) {
        Column *c = &p->columns[i];
        if (pad(c, p->rows)) {
            Py_DECREF(result);
            return PyErr_NoMemory();
        }
        int64_t nulls;
        PyObject *valid = bitmap(c->valid, p->rows, &nulls), *data = NULL, *chars = NULL;
        if (!valid) goto fail;
        if (c->from_empty_trace && nulls == p->rows) {
            PyErr_SetString(Unsupported, "an attribute only traces without events have");
            goto fail;
        }
        if (c->kind == K_BOOL) {
            data = bitmap((const uint8_t *)c->data, p->rows, &(int64_t){0});
        } else {
            size_t size = (size_t)(p->rows + is_string_kind(c->kind)) * item_size(c->kind);
            data = PyBytes_FromStringAndSize((const char *)c->data, (Py_ssize_t)size);
        }
        if (!data) goto fail;
        if (is_string_kind(c->kind)) chars = PyBytes_FromStringAndSize(c->chars, c->nchars);
        else chars = Py_NewRef(Py_None);
        if (!chars) goto fail;
        PyObject *item = Py_BuildValue("(s#sLLNNN)", c->name, (Py_ssize_t)c->name_len,
                                       KIND_NAMES[c->kind], (long long)p->rows, (long long)nulls,
                                       valid, data, chars);
        valid = data = chars = NULL;
        if (!item || PyList_Append(result, item)) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
        free(c->valid); /* copied: freed now, so that the peak is not twice the columns */
        free(c->data);
        free(c->chars);
        c->valid = NULL;
        c->data = NULL;
        c->chars = NULL;
        continue;
    fail:
        Py_XDECREF(valid);
        Py_XDECREF(data);
        Py_XDECREF(chars);
        Py_DECREF(result);
        return NULL;
    }
    parser_clear(p);
    p->error = "finished";
    return result;
}

static PyObject *parser_rows(Parser *p, void *Py_UNUSED(closure)) {
    return PyLong_FromLongLong(p->rows);
}

static PyMethodDef parser_methods[] = {
    {"feed", (PyCFunction)parser_feed, METH_O,
     "feed(data): scan whole traces (and finally </log>) of an XES body; the GIL is released."},
    {"finish", (PyCFunction)parser_finish, METH_NOARGS,
     "finish() -> [(name, kind, rows, nulls, validity, data, chars)] in first-seen order."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef parser_getset[] = {
    {"rows", (getter)parser_rows, NULL, "events scanned so far", NULL}, {NULL}};

static PyTypeObject ParserType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipelines._xesscan.Parser",
    .tp_basicsize = sizeof(Parser),
    .tp_dealloc = (destructor)parser_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Columns of the traces of an XES document (see the module docstring).",
    .tp_methods = parser_methods,
    .tp_getset = parser_getset,
    .tp_init = (initproc)parser_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_xesscan",
    "Strict single-pass scanner of XES traces into columns (C; see pipelines.xes).", -1, NULL,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__xesscan(void) {
    init_classes();
    if (PyType_Ready(&ParserType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Unsupported = PyErr_NewException("pipelines._xesscan.Unsupported", PyExc_ValueError, NULL);
    if (!Unsupported || PyModule_AddObjectRef(m, "Unsupported", Unsupported) < 0 ||
        PyModule_AddObjectRef(m, "Parser", (PyObject *)&ParserType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
