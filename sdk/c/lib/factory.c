/* factory SDK for C plugins: JSON in and out, errno to error kind. */
#include "factory.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENOTCAPABLE
#define ENOTCAPABLE 76
#endif

/* ---- reading ------------------------------------------------------------ */

typedef struct {
    const char *p;
    const char *end;
    int depth;
} cur_t;

static void ws(cur_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool skip_value(cur_t *c);

static bool skip_string(cur_t *c) {
    if (c->p >= c->end || *c->p != '"') return false;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') return true;
        if (ch < 0x20) return false;
        if (ch == '\\') {
            if (c->p >= c->end) return false;
            char e = *c->p++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, c->p++)
                    if (c->p >= c->end || !isxdigit((unsigned char)*c->p)) return false;
            } else if (!strchr("\"\\/bfnrt", e) || !e) {
                return false;
            }
        }
    }
    return false;
}

static bool skip_number(cur_t *c) {
    const char *start = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p >= c->end) return false;
    if (*c->p == '0') c->p++;
    else if (*c->p >= '1' && *c->p <= '9') while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    else return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    }
    return c->p > start;
}

static bool literal(cur_t *c, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return false;
    c->p += n;
    return true;
}

static bool skip_container(cur_t *c, char close, bool object) {
    if (++c->depth > 512) return false;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) { c->p++; c->depth--; return true; }
    for (;;) {
        ws(c);
        if (object) {
            if (!skip_string(c)) return false;
            ws(c);
            if (c->p >= c->end || *c->p++ != ':') return false;
        }
        if (!skip_value(c)) return false;
        ws(c);
        if (c->p >= c->end) return false;
        char ch = *c->p++;
        if (ch == close) { c->depth--; return true; }
        if (ch != ',') return false;
    }
}

static bool skip_value(cur_t *c) {
    ws(c);
    if (c->p >= c->end) return false;
    switch (*c->p) {
    case '"': return skip_string(c);
    case '{': return skip_container(c, '}', true);
    case '[': return skip_container(c, ']', false);
    case 't': return literal(c, "true");
    case 'f': return literal(c, "false");
    case 'n': return literal(c, "null");
    default: return skip_number(c);
    }
}

bool fjson_valid(const char *json, size_t len) {
    cur_t c = {json, json + len, 0};
    if (!skip_value(&c)) return false;
    ws(&c);
    return c.p == c.end;
}

const char *fjson_get(const char *json, size_t len, const char *key, size_t *value_len) {
    cur_t c = {json, json + len, 0};
    ws(&c);
    if (c.p >= c.end || *c.p != '{') return NULL;
    c.p++;
    ws(&c);
    if (c.p < c.end && *c.p == '}') return NULL;
    for (;;) {
        ws(&c);
        const char *k = c.p;
        if (!skip_string(&c)) return NULL;
        char *name = fjson_string(k, (size_t)(c.p - k));
        ws(&c);
        if (c.p >= c.end || *c.p++ != ':') { free(name); return NULL; }
        ws(&c);
        const char *v = c.p;
        if (!skip_value(&c)) { free(name); return NULL; }
        bool hit = name && strcmp(name, key) == 0;
        free(name);
        if (hit) {
            if (value_len) *value_len = (size_t)(c.p - v);
            return v;
        }
        ws(&c);
        if (c.p >= c.end) return NULL;
        char ch = *c.p++;
        if (ch == '}') return NULL;
        if (ch != ',') return NULL;
    }
}

static int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= ch - '0';
        else if (ch >= 'a' && ch <= 'f') v |= ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') v |= ch - 'A' + 10;
        else return -1;
    }
    return v;
}

static size_t utf8_put(char *out, unsigned cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xc0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 63)); out[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 63));
    out[2] = (char)(0x80 | ((cp >> 6) & 63)); out[3] = (char)(0x80 | (cp & 63));
    return 4;
}

char *fjson_string(const char *v, size_t len) {
    cur_t c = {v, v + len, 0};
    if (!skip_string(&c)) return NULL;
    char *out = malloc(len + 1); /* unescaping never grows the text */
    if (!out) return NULL;
    size_t n = 0;
    for (const char *p = v + 1; p < c.p - 1;) {
        if (*p != '\\') { out[n++] = *p++; continue; }
        p++;
        char e = *p++;
        switch (e) {
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            int cp = hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && p + 6 <= c.p - 1 && p[0] == '\\' && p[1] == 'u') {
                int lo = hex4(p + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; /* a lone surrogate */
            n += utf8_put(out + n, (unsigned)cp);
            break;
        }
        default: out[n++] = e; break;
        }
    }
    out[n] = 0;
    return out;
}

bool fjson_number(const char *v, size_t len, double *out) {
    cur_t c = {v, v + len, 0};
    if (!skip_number(&c) || c.p != c.end) return false;
    char tmp[64];
    if (len >= sizeof tmp) return false;
    memcpy(tmp, v, len);
    tmp[len] = 0;
    *out = strtod(tmp, NULL);
    return true;
}

bool fjson_bool(const char *v, size_t len, bool *out) {
    if (len == 4 && memcmp(v, "true", 4) == 0) { *out = true; return true; }
    if (len == 5 && memcmp(v, "false", 5) == 0) { *out = false; return true; }
    return false;
}

/* ---- writing ------------------------------------------------------------ */

void fbuf_free(fbuf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void fbuf_put(fbuf_t *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) { b->oom = true; return; }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void fbuf_puts(fbuf_t *b, const char *s) { fbuf_put(b, s, strlen(s)); }

void fbuf_printf(fbuf_t *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) { fbuf_put(b, small, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) { b->oom = true; return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    fbuf_put(b, big, (size_t)n);
    free(big);
}

void fbuf_json_string(fbuf_t *b, const char *s, size_t n) {
    fbuf_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        fbuf_put(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (ch) {
        case '"': fbuf_puts(b, "\\\""); break;
        case '\\': fbuf_puts(b, "\\\\"); break;
        case '\n': fbuf_puts(b, "\\n"); break;
        case '\r': fbuf_puts(b, "\\r"); break;
        case '\t': fbuf_puts(b, "\\t"); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            fbuf_puts(b, esc);
        }
    }
    fbuf_put(b, s + run, n - run);
    fbuf_put(b, "\"", 1);
}

/* ---- errors ------------------------------------------------------------- */

const char *factory_errno_kind(int err) {
    switch (err) {
    case EPERM:
    case EACCES:
    case ENOTCAPABLE:
        return "denied";
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
        return "invalid-input";
    default:
        return "failed";
    }
}
