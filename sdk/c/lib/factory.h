/* factory SDK for C plugins: the parts the generated bindings leave to you.
 *
 *  - reading the fields of a JSON object (the tool's or role's input);
 *  - writing JSON (the output) into a growable buffer, strings escaped;
 *  - naming the tool-error kind for an errno (a sandbox refusal is `denied`).
 *
 * Host calls with C strings (log, kv, tools, model) are in factory_host.h;
 * everything else goes through the generated bindings
 * (`factory sdk bindgen --lang c`).
 */
#ifndef FACTORY_SDK_H
#define FACTORY_SDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reading JSON ------------------------------------------------------ */

/* The value of `key` in the top-level JSON object `json` (`len` bytes): a
 * pointer to its first byte and, in *value_len, its length. NULL when the
 * document is not an object, is malformed, or has no such key. */
const char *fjson_get(const char *json, size_t len, const char *key, size_t *value_len);

/* The JSON value at `v` as a string: unescaped, NUL-terminated, malloc'ed
 * (free it). NULL when it is not a string or is malformed. */
char *fjson_string(const char *v, size_t len);

/* The JSON value at `v` as a number / a boolean; false when it is not one. */
bool fjson_number(const char *v, size_t len, double *out);
bool fjson_bool(const char *v, size_t len, bool *out);

/* Whether `json` is exactly one well-formed JSON value (whitespace around). */
bool fjson_valid(const char *json, size_t len);

/* ---- writing JSON ------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* set when an allocation failed; the content is then cut */
} fbuf_t;

void fbuf_free(fbuf_t *b);
void fbuf_put(fbuf_t *b, const char *s, size_t n);
void fbuf_puts(fbuf_t *b, const char *s);
void fbuf_printf(fbuf_t *b, const char *fmt, ...);
/* A JSON string literal for `n` bytes of UTF-8 at `s`, quotes included. */
void fbuf_json_string(fbuf_t *b, const char *s, size_t n);

/* ---- errors ------------------------------------------------------------ */

/* "denied" for a refusal by the sandbox (EPERM, EACCES, ENOTCAPABLE),
 * "invalid-input" for ENOENT/ENOTDIR/EISDIR/EINVAL, else "failed". */
const char *factory_errno_kind(int err);

#endif
