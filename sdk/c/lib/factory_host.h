/* factory SDK for C plugins: the host interfaces (log, kv, tools, model)
 * with C strings instead of the generated records. Header-only; include it
 * after the generated header, with the world's C name defined:
 *
 *   #include "tool_with_host.h"
 *   #define FACTORY_WORLD tool_with_host     (or role_plugin)
 *   #include "factory_host.h"
 *
 * Each call returns NULL/false on failure and sets *err (if err is not NULL)
 * to a malloc'ed "kind: message" (kind: denied, invalid-input, not-found,
 * limit-exceeded, failed); a refusal is also in the operator's journal.
 * Returned strings are malloc'ed and NUL-terminated: free them. */
#ifndef FACTORY_HOST_H
#define FACTORY_HOST_H

#ifndef FACTORY_WORLD
#error "define FACTORY_WORLD (tool_with_host or role_plugin) before including factory_host.h"
#endif

#include <stdlib.h>
#include <string.h>

#define FACTORY_CAT2(a, b) a##b
#define FACTORY_CAT(a, b) FACTORY_CAT2(a, b)
#define FACTORY_W(suffix) FACTORY_CAT(FACTORY_WORLD, suffix)

typedef FACTORY_W(_string_t) factory_wstring_t;

static inline char *factory_cstr_(const uint8_t *p, size_t n) {
    char *s = malloc(n + 1);
    if (s) { memcpy(s, p, n); s[n] = 0; }
    return s;
}

static inline void factory_set_err_(char **err, factory_plugin_types_error_code_t *code) {
    static const char *kinds[] = {"denied", "invalid-input", "not-found", "limit-exceeded", "failed"};
    if (err) {
        const char *kind = code->tag < 5 ? kinds[code->tag] : "failed";
        factory_wstring_t *m = &code->val.failed; /* every case holds a string */
        size_t k = strlen(kind);
        *err = malloc(k + 2 + m->len + 1);
        if (*err) {
            memcpy(*err, kind, k);
            memcpy(*err + k, ": ", 2);
            memcpy(*err + k + 2, m->ptr, m->len);
            (*err)[k + 2 + m->len] = 0;
        }
    }
    factory_plugin_types_error_code_free(code);
}

/* Log into the journal; level is FACTORY_PLUGIN_LOG_LEVEL_{TRACE,DEBUG,INFO,WARN,ERROR}. */
static inline void factory_log(factory_plugin_log_level_t level, const char *msg) {
    factory_wstring_t s;
    FACTORY_W(_string_set)(&s, msg);
    factory_plugin_log_log(level, &s);
}

/* Call another tool (granted with `--tool NAME`) with JSON arguments; returns its JSON output. */
static inline char *factory_call_tool(const char *name, const char *json_args, char **err) {
    factory_wstring_t n, in, out;
    factory_plugin_types_error_code_t code;
    FACTORY_W(_string_set)(&n, name);
    FACTORY_W(_string_set)(&in, json_args);
    if (!factory_plugin_tools_call(&n, &in, &out, &code)) {
        factory_set_err_(err, &code);
        return NULL;
    }
    char *s = factory_cstr_(out.ptr, out.len);
    FACTORY_W(_string_free)(&out);
    return s;
}

/* Ask the plugin's default model (granted with `--model NAME`) one question. */
static inline char *factory_ask(const char *system, const char *prompt, char **err) {
    factory_plugin_model_message_t msgs[2];
    memset(msgs, 0, sizeof msgs);
    size_t n = 0;
    if (system && *system) {
        msgs[n].role = FACTORY_PLUGIN_MODEL_ROLE_SYSTEM;
        FACTORY_W(_string_set)(&msgs[n].content, system);
        n++;
    }
    msgs[n].role = FACTORY_PLUGIN_MODEL_ROLE_USER;
    FACTORY_W(_string_set)(&msgs[n].content, prompt);
    n++;
    factory_plugin_model_request_t req;
    memset(&req, 0, sizeof req);
    req.messages.ptr = msgs;
    req.messages.len = n;
    factory_plugin_model_response_t resp;
    factory_plugin_types_error_code_t code;
    if (!factory_plugin_model_complete(&req, &resp, &code)) {
        factory_set_err_(err, &code);
        return NULL;
    }
    char *s = factory_cstr_(resp.message.content.ptr, resp.message.content.len);
    factory_plugin_model_response_free(&resp);
    return s;
}

/* The plugin's key-value store (trust read-only or higher). Returns the
 * value (NUL-terminated, *len bytes) or NULL; *found says whether the key
 * exists when there was no error. */
static inline char *factory_kv_get(const char *key, size_t *len, bool *found, char **err) {
    factory_wstring_t k;
    FACTORY_W(_option_list_u8_t) v;
    factory_plugin_types_error_code_t code;
    FACTORY_W(_string_set)(&k, key);
    *found = false;
    if (!factory_plugin_kv_get(&k, &v, &code)) {
        factory_set_err_(err, &code);
        return NULL;
    }
    if (!v.is_some) return NULL;
    *found = true;
    if (len) *len = v.val.len;
    char *s = factory_cstr_(v.val.ptr, v.val.len);
    FACTORY_W(_option_list_u8_free)(&v);
    return s;
}

static inline bool factory_kv_set(const char *key, const void *value, size_t len, char **err) {
    factory_wstring_t k;
    FACTORY_W(_list_u8_t) v = {(uint8_t *)value, len};
    factory_plugin_types_error_code_t code;
    FACTORY_W(_string_set)(&k, key);
    if (!factory_plugin_kv_set(&k, &v, &code)) {
        factory_set_err_(err, &code);
        return false;
    }
    return true;
}

#endif
