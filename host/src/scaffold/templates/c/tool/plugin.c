/* {{name}}: a factory tool in C. Counts the characters, lines and words of
 * a text; replace the body of invoke with what your tool does. */
#include "tool_with_host.h"
#include "factory.h"
#define FACTORY_WORLD tool_with_host
#include "factory_host.h" /* factory_log, factory_call_tool, factory_ask, factory_kv_* */

#include <stdlib.h>
#include <string.h>

static bool error(exports_factory_plugin_tool_tool_error_t *err, uint8_t tag, const char *msg) {
    err->tag = tag;
    tool_with_host_string_dup(&err->val.failed, msg); /* every case holds a string */
    return false;
}

void exports_factory_plugin_tool_describe(exports_factory_plugin_tool_info_t *ret) {
    tool_with_host_string_dup(&ret->name, "{{name}}");
    tool_with_host_string_dup(&ret->description, "Count the characters, lines and words of a text.");
    tool_with_host_string_dup(&ret->input_schema,
        "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
        "\"required\":[\"text\"],\"additionalProperties\":false}");
}

bool exports_factory_plugin_tool_invoke(tool_with_host_string_t *input, tool_with_host_string_t *ret,
                                        exports_factory_plugin_tool_tool_error_t *err) {
    size_t len = 0;
    const char *v = fjson_get((const char *)input->ptr, input->len, "text", &len);
    char *text = v ? fjson_string(v, len) : NULL;
    tool_with_host_string_free(input);
    if (!text) return error(err, EXPORTS_FACTORY_PLUGIN_TOOL_TOOL_ERROR_INVALID_INPUT, "expected {\"text\": \"...\"}");

    unsigned long chars = 0, lines = 0, words = 0;
    bool in_word = false;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool space = strchr(" \t\n\r\v\f", *p) != NULL;
        if ((*p & 0xc0) != 0x80) chars++; /* count UTF-8 lead bytes: code points */
        if (*p == '\n') lines++;
        if (!space && !in_word) words++;
        in_word = !space;
    }
    free(text);

    factory_log(FACTORY_PLUGIN_LOG_LEVEL_DEBUG, "counted");

    fbuf_t out = {0};
    fbuf_printf(&out, "{\"chars\":%lu,\"lines\":%lu,\"words\":%lu}", chars, lines, words);
    if (out.oom) return error(err, EXPORTS_FACTORY_PLUGIN_TOOL_TOOL_ERROR_FAILED, "out of memory");
    ret->ptr = (uint8_t *)out.data; /* the bindings free it */
    ret->len = out.len;
    return true;
}
