/* {{name}}: a factory role in C, of kind `reviewer`: it requests changes
 * when an added line of the diff has a TODO. The step's input and output
 * per role kind are in docs/roles.md of factory. */
#include "role_plugin.h"
#include "factory.h"
#define FACTORY_WORLD role_plugin
#include "factory_host.h" /* factory_log, factory_call_tool, factory_ask, factory_kv_* */

#include <stdlib.h>
#include <string.h>

static bool error(exports_factory_plugin_role_role_error_t *err, uint8_t tag, const char *msg) {
    err->tag = tag;
    role_plugin_string_dup(&err->val.failed, msg); /* every case holds a string */
    return false;
}

void exports_factory_plugin_role_describe(exports_factory_plugin_role_info_t *ret) {
    role_plugin_string_dup(&ret->name, "{{name}}");
    role_plugin_string_dup(&ret->kind, "reviewer");
    role_plugin_string_dup(&ret->description, "Requests changes when an added line has a TODO.");
}

bool exports_factory_plugin_role_run(role_plugin_string_t *input, role_plugin_string_t *ret,
                                     exports_factory_plugin_role_role_error_t *err) {
    size_t len = 0;
    const char *v = fjson_get((const char *)input->ptr, input->len, "diff", &len);
    char *diff = v ? fjson_string(v, len) : NULL;
    role_plugin_string_free(input);
    if (!diff) return error(err, EXPORTS_FACTORY_PLUGIN_ROLE_ROLE_ERROR_INVALID_INPUT, "missing `diff` (a unified diff)");

    unsigned long todos = 0;
    for (char *line = diff; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = 0;
        if (line[0] == '+' && strncmp(line, "+++", 3) != 0 && strstr(line, "TODO")) todos++;
        line = end ? end + 1 : NULL;
    }
    free(diff);

    fbuf_t detail = {0};
    fbuf_printf(&detail, "added lines with a TODO: %lu", todos);
    factory_log(FACTORY_PLUGIN_LOG_LEVEL_INFO, detail.data ? detail.data : "");

    fbuf_t out = {0};
    fbuf_puts(&out, "{\"checks\":[{\"detail\":");
    fbuf_json_string(&out, detail.data, detail.len);
    fbuf_printf(&out, ",\"name\":\"no-todo\",\"passed\":%s}],\"comments\":[],\"summary\":", todos ? "false" : "true");
    if (todos) fbuf_json_string(&out, detail.data, detail.len);
    else fbuf_puts(&out, "\"no added line has a TODO\"");
    fbuf_printf(&out, ",\"verdict\":\"%s\"}", todos ? "request-changes" : "approve");
    bool oom = detail.oom || out.oom;
    fbuf_free(&detail);
    if (oom) {
        fbuf_free(&out);
        return error(err, EXPORTS_FACTORY_PLUGIN_ROLE_ROLE_ERROR_FAILED, "out of memory");
    }
    ret->ptr = (uint8_t *)out.data; /* the bindings free it */
    ret->len = out.len;
    return true;
}
