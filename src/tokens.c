/*
 * tokens: a local input-token estimate (see tokens.h and docs/translation.md).
 *
 * No tokenizer ships with the proxy, and the number only sizes Claude Code's context meter and
 * compaction, so a fast approximation of a BPE tokenizer is enough: text is cut into runs of
 * letters, digits, punctuation and whitespace, and each run costs what a typical BPE vocabulary
 * spends on it (a word is one token, a long word one per 8 letters, digits go in threes,
 * punctuation in threes, a single space rides along with the next word). Non-ASCII text costs
 * about a token per character. JSON (tool schemas, tool inputs) is walked rather than printed,
 * so escapes such as "\n" are not counted as text.
 */
#include "tokens.h"

#include "json.h"

#include <string.h>

#define IMAGE_TOKENS        1600 /* Anthropic's cost of an image at the usual 1.15 megapixels */
#define PDF_TOKENS_PER_PAGE 2000
#define PDF_BYTES_PER_PAGE  60000 /* a rough average for a page of a text PDF */
#define MESSAGE_OVERHEAD    3     /* role and turn markers */
#define BLOCK_OVERHEAD      2
#define TOOLS_OVERHEAD      346 /* the tool-use instructions Anthropic adds (its docs) */

static int is_alpha(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
        return c >= '0' && c <= '9';
}

static int is_space(unsigned char c)
{
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

long tokens_estimate_text(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        long t = 0;
        size_t i = 0;

        while (i < n) {
                unsigned char c = p[i];
                size_t j = i + 1;

                if (c >= 0x80) {
                        /* One code point: 4-byte sequences (emoji) usually take two tokens. */
                        t += c >= 0xF0 ? 2 : 1;
                        while (j < n && (p[j] & 0xC0) == 0x80)
                                j++;
                } else if (is_alpha(c)) {
                        while (j < n && is_alpha(p[j]))
                                j++;
                        t += (long)((j - i + 7) / 8);
                } else if (is_digit(c)) {
                        while (j < n && is_digit(p[j]))
                                j++;
                        t += (long)((j - i + 2) / 3);
                } else if (c == ' ') {
                        while (j < n && p[j] == ' ')
                                j++;
                        t += j - i > 1; /* indentation; a lone space joins the next word */
                } else if (is_space(c)) {
                        while (j < n && is_space(p[j]))
                                j++;
                        t += 1;
                } else {
                        while (j < n && p[j] < 0x80 && !is_alpha(p[j]) && !is_digit(p[j]) &&
                               !is_space(p[j]))
                                j++;
                        t += (long)((j - i + 2) / 3);
                }
                i = j;
        }
        return t;
}

static int type_is(const cJSON *b, const char *type)
{
        const char *t = json_get_str(b, "type");
        return t != NULL && strcmp(t, type) == 0;
}

static long str_tokens(const char *s)
{
        return s != NULL ? tokens_estimate_text(s, strlen(s)) : 0;
}

/* A JSON value as a model sees it: strings as text, one token per bit of structure. */
static long json_tokens(const cJSON *v)
{
        const cJSON *k;
        long t = 0;

        if (cJSON_IsString(v))
                return 1 + str_tokens(v->valuestring);
        if (cJSON_IsNumber(v))
                return 1 + (v->valuedouble >= 1000 || v->valuedouble <= -1000 ? 1 : 0);
        if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
                t = 1;
                cJSON_ArrayForEach(k, v)
                {
                        if (k->string != NULL)
                                t += 1 + str_tokens(k->string);
                        t += json_tokens(k);
                }
                return t;
        }
        return 1;
}

static long document_tokens(const cJSON *b)
{
        const cJSON *src = json_get(b, "source");
        const char *data = json_get_str(src, "data");

        if (type_is(src, "text"))
                return str_tokens(data);
        if (data != NULL) {
                size_t bytes = strlen(data) / 4 * 3;
                return (long)(bytes / PDF_BYTES_PER_PAGE + 1) * PDF_TOKENS_PER_PAGE;
        }
        return json_tokens(json_get(src, "content")) + 1;
}

static long blocks_tokens(const cJSON *content);

static long block_tokens(const cJSON *b)
{
        if (type_is(b, "text"))
                return str_tokens(json_get_str(b, "text"));
        if (type_is(b, "image"))
                return IMAGE_TOKENS;
        if (type_is(b, "document"))
                return document_tokens(b);
        if (type_is(b, "thinking"))
                return str_tokens(json_get_str(b, "thinking"));
        if (type_is(b, "redacted_thinking"))
                return 0;
        if (type_is(b, "tool_use"))
                return str_tokens(json_get_str(b, "name")) + json_tokens(json_get(b, "input"));
        if (type_is(b, "tool_result"))
                return blocks_tokens(json_get(b, "content"));
        return json_tokens(b);
}

/* A content field: a string or an array of blocks. */
static long blocks_tokens(const cJSON *content)
{
        const cJSON *b;
        long t = 0;

        if (cJSON_IsString(content))
                return str_tokens(content->valuestring);
        cJSON_ArrayForEach(b, content)
        {
                t += BLOCK_OVERHEAD + block_tokens(b);
        }
        return t;
}

long tokens_estimate_request(const cJSON *req)
{
        const cJSON *m, *tool;
        long t = 0;
        int n_tools = 0;

        t += blocks_tokens(json_get(req, "system"));
        cJSON_ArrayForEach(m, json_get(req, "messages"))
        {
                t += MESSAGE_OVERHEAD + blocks_tokens(json_get(m, "content"));
        }
        cJSON_ArrayForEach(tool, json_get(req, "tools"))
        {
                /* Only what the model reads: not cache_control, defer_loading and the like. */
                t += str_tokens(json_get_str(tool, "name")) +
                     str_tokens(json_get_str(tool, "description"));
                if (json_get(tool, "input_schema") != NULL)
                        t += json_tokens(json_get(tool, "input_schema"));
                else
                        t += json_tokens(tool);
                n_tools++;
        }
        if (n_tools > 0)
                t += TOOLS_OVERHEAD;
        return t;
}
