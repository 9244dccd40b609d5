/* file-wc: count the lines, words, characters and bytes of a file in a
 * granted directory, like `wc` (C, wasi-libc, componentized by factory). */
#include "tool_with_host.h"
#include "factory.h"
#define FACTORY_WORLD tool_with_host
#include "factory_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES (64u << 20)

static bool fail(exports_factory_plugin_tool_tool_error_t *err, const char *kind, const char *fmt, const char *arg) {
    fbuf_t msg = {0};
    fbuf_printf(&msg, fmt, arg);
    err->tag = strcmp(kind, "denied") == 0          ? EXPORTS_FACTORY_PLUGIN_TOOL_TOOL_ERROR_DENIED
               : strcmp(kind, "invalid-input") == 0 ? EXPORTS_FACTORY_PLUGIN_TOOL_TOOL_ERROR_INVALID_INPUT
                                                    : EXPORTS_FACTORY_PLUGIN_TOOL_TOOL_ERROR_FAILED;
    tool_with_host_string_dup(&err->val.failed, msg.data ? msg.data : "out of memory");
    fbuf_free(&msg);
    return false;
}

void exports_factory_plugin_tool_describe(exports_factory_plugin_tool_info_t *ret) {
    tool_with_host_string_dup(&ret->name, "file-wc");
    tool_with_host_string_dup(&ret->description,
        "Count the lines, words, characters (UTF-8 code points) and bytes of a file, like wc. "
        "Needs a read grant on the file's directory.");
    tool_with_host_string_dup(&ret->input_schema,
        "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},"
        "\"required\":[\"path\"],\"additionalProperties\":false}");
}

bool exports_factory_plugin_tool_invoke(tool_with_host_string_t *input, tool_with_host_string_t *ret,
                                        exports_factory_plugin_tool_tool_error_t *err) {
    const char *json = (const char *)input->ptr;
    size_t vlen = 0;
    const char *v = fjson_get(json, input->len, "path", &vlen);
    char *path = v ? fjson_string(v, vlen) : NULL;
    tool_with_host_string_free(input);
    if (!path) return fail(err, "invalid-input", "%s", "expected {\"path\": \"/granted/dir/file\"}");

    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        fbuf_t msg = {0};
        fbuf_printf(&msg, "%s: ", strerror(e));
        fbuf_puts(&msg, path);
        bool r = fail(err, factory_errno_kind(e), "%s", msg.data);
        fbuf_free(&msg);
        free(path);
        return r;
    }
    unsigned long long lines = 0, words = 0, chars = 0, bytes = 0;
    bool in_word = false;
    static unsigned char buf[65536]; /* not on the stack: the default wasm stack is 64 KiB */
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = buf[i];
            bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
            if (c == '\n') lines++;
            if ((c & 0xc0) != 0x80) chars++;
            if (!space && !in_word) words++;
            in_word = !space;
        }
        bytes += n;
        if (bytes > MAX_BYTES) {
            fclose(f);
            bool r = fail(err, "invalid-input", "%s is larger than 64 MiB", path);
            free(path);
            return r;
        }
    }
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        bool r = fail(err, "failed", "cannot read %s", path);
        free(path);
        return r;
    }

    factory_log(FACTORY_PLUGIN_LOG_LEVEL_DEBUG, path);

    fbuf_t out = {0};
    fbuf_printf(&out, "{\"bytes\":%llu,\"chars\":%llu,\"lines\":%llu,\"path\":", bytes, chars, lines);
    fbuf_json_string(&out, path, strlen(path));
    fbuf_printf(&out, ",\"words\":%llu}", words);
    free(path);
    if (out.oom) {
        fbuf_free(&out);
        return fail(err, "failed", "%s", "out of memory");
    }
    ret->ptr = (uint8_t *)out.data; /* ownership passes to the bindings */
    ret->len = out.len;
    return true;
}
