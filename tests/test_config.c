/*
 * test_config: models.yaml loading. The seed project's files must keep loading unchanged, every
 * mistake a user can make must come back as one message with the exact line:column and what to
 * write instead, and routing must pick entries in the documented order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EXAMPLE_PATH
#define EXAMPLE_PATH FIXTURES_DIR "/../../models.yaml.example"
#endif

/* Parses text that must load; fails the test with the cause otherwise. */
static struct config *load_ok(const char *text)
{
        struct config *c = NULL;
        char *cause = NULL;

        if (config_parse(text, strlen(text), "t.yaml", &c, &cause) != 0) {
                fail_msg("unexpected error: %s", cause);
        }
        assert_null(cause);
        assert_non_null(c);
        return c;
}

/* Parses text that must fail with exactly this message. */
static void load_fails(const char *text, const char *want)
{
        struct config *c = (struct config *)1;
        char *cause = NULL;

        if (config_parse(text, strlen(text), "t.yaml", &c, &cause) == 0) {
                config_free(c);
                fail_msg("loaded, but expected: %s\ninput:\n%s", want, text);
        }
        assert_null(c);
        assert_non_null(cause);
        if (strcmp(cause, want) != 0)
                fail_msg("input:\n%s\n got: %s\nwant: %s", text, cause, want);
        free(cause);
}

static void test_seed_list_form(void **state)
{
        struct config *c = NULL;
        char *cause = NULL;
        const struct model_entry *e;
        char *body;

        (void)state;
        assert_int_equal(config_load(FIXTURES_DIR "/config/seed.yaml", &c, &cause), 0);
        assert_null(cause);
        assert_string_equal(c->path, FIXTURES_DIR "/config/seed.yaml");
        assert_int_equal(c->n_warnings, 0);
        assert_int_equal(c->n_models, 3);
        assert_int_equal(c->default_model, 0);
        assert_false(c->default_explicit);
        assert_null(c->host);
        assert_int_equal(c->port, 0);
        assert_int_equal(c->connect_timeout_ms, 0);
        assert_int_equal(c->read_timeout_ms, 0);
        assert_int_equal(c->max_retries, -1);

        e = &c->models[0];
        assert_string_equal(e->model_id, "deepseek-chat");
        assert_string_equal(e->model_name, "deepseek-chat");
        assert_string_equal(e->api_base, "https://api.deepseek.com/v1");
        assert_true(e->can_stream);
        assert_false(e->direct);
        assert_int_equal(e->max_tokens, 8192);
        assert_int_equal(e->max_input_tokens, 65536);
        assert_string_equal(e->reasoning_effort, "medium");
        assert_true(e->has_temperature);
        assert_true(e->temperature > 0.599 && e->temperature < 0.601);
        assert_string_equal(e->api_key_name, "DEEPSEEK_API_KEY");
        assert_int_equal(e->n_extra_headers, 1);
        assert_string_equal(e->extra_headers[0].name, "X-Custom");
        assert_string_equal(e->extra_headers[0].value, "abc");
        body = cJSON_PrintUnformatted(e->extra_body);
        assert_string_equal(body, "{\"top_k\":40,\"response_format\":{\"type\":\"text\"}}");
        cJSON_free(body);
        assert_int_equal(e->line, 2);
        /* Provider defaults from the URL. */
        assert_int_equal(e->reasoning, XLATE_REASONING_DEEPSEEK);
        assert_int_equal(e->history_thinking, XLATE_HISTORY_REASONING_CONTENT);
        assert_true(e->stream_usage);

        e = &c->models[1];
        assert_string_equal(e->model_name, "kimi-k2-turbo-preview");
        assert_true(e->direct);
        assert_int_equal(e->max_input_tokens, 204800);
        assert_int_equal(e->max_tokens, 16000);
        assert_null(e->reasoning_effort);
        assert_false(e->has_temperature);
        assert_null(e->extra_body);
        assert_null(e->api_key_name);
        assert_int_equal(e->auth, CONFIG_AUTH_DEFAULT);

        e = &c->models[2];
        assert_string_equal(e->model_name, "local");
        assert_false(e->can_stream);
        assert_int_equal(e->max_tokens, 0);
        assert_int_equal(e->line, 24);
        config_free(c);
}

static void test_mapping_form(void **state)
{
        struct config *c = NULL;
        char *cause = NULL;

        (void)state;
        assert_int_equal(config_load(FIXTURES_DIR "/config/mapping.yaml", &c, &cause), 0);
        assert_int_equal(c->n_warnings, 0);
        assert_string_equal(c->host, "0.0.0.0");
        assert_int_equal(c->port, 9000);
        assert_int_equal(c->connect_timeout_ms, 500);
        assert_int_equal(c->read_timeout_ms, 300000);
        assert_int_equal(c->max_retries, 4);
        assert_int_equal(c->n_models, 2);
        assert_int_equal(c->default_model, 1);
        assert_true(c->default_explicit);
        assert_int_equal(c->models[1].n_aliases, 2);
        assert_string_equal(c->models[1].aliases[1], "claude-*");
        config_free(c);
}

static void test_durations(void **state)
{
        static const struct {
                const char *text;
                long ms;
        } cases[] = {
            {"30", 30000},  {"30s", 30000},  {"500ms", 500},
            {"5m", 300000}, {"1h", 3600000}, {"\"45s\"", 45000},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char text[256];
                struct config *c;

                snprintf(text, sizeof text,
                         "read_timeout: %s\nmodels:\n- {model_id: a, api_base: http://h}\n",
                         cases[i].text);
                c = load_ok(text);
                assert_int_equal(c->read_timeout_ms, cases[i].ms);
                config_free(c);
        }
}

static void test_tokens(void **state)
{
        static const struct {
                const char *text;
                long want;
        } cases[] = {
            {"8192", 8192},
            {"8k", 8192},
            {"16K", 16384},
            {"200k", 204800},
            {"0", 0},
            {"1m", 1048576},
            {"1M", 1048576},
            {"200_000", 200000},
            {"", -1},
            {"k", -1},
            {"8kk", -1},
            {"8 k", -1},
            {" 8k", -1},
            {"-5", -1},
            {"1.5k", -1},
            {"8kb", -1},
            {"lots", -1},
            {"_8", -1},
            {"8_", -1},
            {"99999999999999999999", -1},
            {"9007199254740993k", -1},
        };
        size_t i;

        (void)state;
        assert_int_equal(config_parse_tokens(NULL), -1);
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
                if (config_parse_tokens(cases[i].text) != cases[i].want)
                        fail_msg("config_parse_tokens(\"%s\") = %ld, want %ld", cases[i].text,
                                 config_parse_tokens(cases[i].text), cases[i].want);
}

static void test_errors(void **state)
{
        static const struct {
                const char *text;
                const char *want;
        } cases[] = {
            /* The shape of the file. */
            {"", "t.yaml: no model entries: the file is empty; write a YAML list with one entry "
                 "per model, each with at least model_id and api_base, for example `- {model_id: "
                 "deepseek-chat, api_base: \"https://api.deepseek.com/v1\", api_key_name: "
                 "DEEPSEEK_API_KEY}` (models.yaml.example documents every key)"},
            {"# only a comment\n",
             "t.yaml: no model entries: the file is empty; write a YAML list with one entry "
             "per model, each with at least model_id and api_base, for example `- {model_id: "
             "deepseek-chat, api_base: \"https://api.deepseek.com/v1\", api_key_name: "
             "DEEPSEEK_API_KEY}` (models.yaml.example documents every key)"},
            {"[]\n", "t.yaml:1:1: no model entries: the list is empty; write a YAML list with one "
                     "entry per model, each with at least model_id and api_base, for example `- "
                     "{model_id: deepseek-chat, api_base: \"https://api.deepseek.com/v1\", "
                     "api_key_name: DEEPSEEK_API_KEY}` (models.yaml.example documents every key)"},
            {"port: 8082\nmodels: []\n",
             "t.yaml:2:9: no model entries: the list is empty; write a YAML list with one "
             "entry per model, each with at least model_id and api_base, for example `- "
             "{model_id: deepseek-chat, api_base: \"https://api.deepseek.com/v1\", "
             "api_key_name: DEEPSEEK_API_KEY}` (models.yaml.example documents every key)"},
            {"port: 8082\n",
             "t.yaml:1:1: no models: list in the top-level mapping; write a YAML list with "
             "one entry per model, each with at least model_id and api_base, for example `- "
             "{model_id: deepseek-chat, api_base: \"https://api.deepseek.com/v1\", "
             "api_key_name: DEEPSEEK_API_KEY}` (models.yaml.example documents every key)"},
            {"hello\n", "t.yaml:1:1: expected a list of model entries (or a mapping with "
                        "models:), got a single value; see models.yaml.example"},
            {"models: deepseek\n",
             "t.yaml:1:9: models: expected a list of model entries, got \"deepseek\""},
            {"- deepseek-chat\n", "t.yaml:1:3: model entry: expected a mapping with at least "
                                  "model_id and api_base, got \"deepseek-chat\""},
            /* YAML syntax, in libyaml's words. */
            {"- model_id: a\n  api_base: http://h\n  bad: [\n",
             "t.yaml:4:1: YAML syntax error: did not find expected node content (while "
             "parsing a flow node at line 4, column 1)"},
            {"- model_id: a\n api_base: http://h\n",
             "t.yaml:2:2: YAML syntax error: did not find expected '-' indicator (while "
             "parsing a block collection at line 1, column 1)"},
            {"- model_id: a\n  api_base: *nowhere\n",
             "t.yaml:2:13: YAML syntax error: found undefined alias"},
            {"- model_id: a\n  api_base: http://h\n\xff\n",
             "t.yaml:3:1: invalid leading UTF-8 octet (byte 0xff)"},
            {"- model_id: a\n  api_base: http://h\n---\n- [\n",
             "t.yaml:5:1: YAML syntax error: did not find expected node content (while "
             "parsing a flow node at line 5, column 1)"},
            /* Required keys. */
            {"- model_id: a\n",
             "t.yaml:1:3: model entry \"a\" has no api_base (the provider's URL, like "
             "https://api.deepseek.com/v1)"},
            {"- api_base: http://h\n", "t.yaml:1:3: model entry has no model_id (the name "
                                       "clients ask for, like deepseek-chat)"},
            {"- model_id:\n  api_base: http://h\n",
             "t.yaml:1:12: model_id: expected a non-empty string, got nothing"},
            {"- model_id: \"\"\n  api_base: http://h\n",
             "t.yaml:1:13: model_id: expected a non-empty string, got \"\""},
            {"- model_id: a\n  api_base:\n",
             "t.yaml:2:12: api_base: expected the provider's URL, like "
             "https://api.deepseek.com/v1, got nothing"},
            {"- model_id: a\n  api_base: ftp://h\n",
             "t.yaml:2:13: api_base: expected a URL starting with http:// or https://, got "
             "\"ftp://h\""},
            {"- model_id: a\n  api_base: https://\n",
             "t.yaml:2:13: api_base: expected a URL with a host and no spaces, got "
             "\"https://\""},
            /* Duplicates. */
            {"- model_id: a\n  api_base: http://h\n- model_id: a\n  api_base: http://i\n",
             "t.yaml:3:3: duplicate model_id \"a\": the entry at line 1 already uses it"},
            {"- model_id: a\n  api_base: http://h\n  max_tokens: 1\n  max_tokens: 2\n",
             "t.yaml:4:3: key \"max_tokens\" appears twice in model entry (first at line 3)"},
            /* Types. */
            {"- model_id: a\n  api_base: http://h\n  max_tokens: lots\n",
             "t.yaml:3:15: max_tokens: expected a token count like 8192 or 8k, got "
             "\"lots\""},
            {"- model_id: a\n  api_base: http://h\n  context: [8k]\n",
             "t.yaml:3:12: context: expected a token count like 8192 or 8k, got a list"},
            {"- model_id: a\n  api_base: http://h\n  model_name: {x: 1}\n",
             "t.yaml:3:15: model_name: expected a non-empty string, got a mapping"},
            {"- model_id: a\n  api_base: http://h\n  direct: maybe\n",
             "t.yaml:3:11: direct: expected true or false, got \"maybe\""},
            {"- model_id: a\n  api_base: http://h\n  max_completion_tokens: 8192\n",
             "t.yaml:3:26: max_completion_tokens: expected true or false (the cap itself is "
             "max_tokens), got \"8192\""},
            {"- model_id: a\n  api_base: http://h\n  temperature: hot\n",
             "t.yaml:3:16: temperature: expected a number from 0 to 2, like 0.7, got "
             "\"hot\""},
            {"- model_id: a\n  api_base: http://h\n  temperature: 2.5\n",
             "t.yaml:3:16: temperature: expected a number from 0 to 2, like 0.7, got "
             "\"2.5\""},
            {"- model_id: a\n  api_base: http://h\n  reasoning_effort: extreme\n",
             "t.yaml:3:21: reasoning_effort: expected one of minimal, low, medium or high, "
             "got \"extreme\""},
            {"- model_id: a\n  api_base: http://h\n  thinking_style: deep\n",
             "t.yaml:3:19: thinking_style: expected one of effort, deepseek, openrouter, "
             "qwen or none, got \"deep\""},
            {"- model_id: a\n  api_base: http://h\n  history_thinking: keep\n",
             "t.yaml:3:21: history_thinking: expected one of drop or reasoning_content, got "
             "\"keep\""},
            {"- model_id: a\n  api_base: http://h\n  tool_id_style: short\n",
             "t.yaml:3:18: tool_id_style: expected one of default or mistral, got "
             "\"short\""},
            {"- model_id: a\n  api_base: http://h\n  auth: basic\n",
             "t.yaml:3:9: auth: expected one of bearer or x-api-key, got \"basic\""},
            {"- model_id: a\n  api_base: http://h\n  extra_body: [1]\n",
             "t.yaml:3:15: extra_body: expected a mapping of fields to merge into the "
             "upstream body, got a list"},
            {"- model_id: a\n  api_base: http://h\n  extra_body: &x\n    self: *x\n",
             "t.yaml:3:15: extra_body: nested too deeply (or through a recursive alias)"},
            {"- model_id: a\n  api_base: http://h\n  extra_body: {a: 1, a: 2}\n",
             "t.yaml:3:22: extra_body: field \"a\" appears twice"},
            {"- model_id: a\n  api_base: http://h\n  extra_headers: [X-A]\n",
             "t.yaml:3:18: extra_headers: expected a mapping of header names to values, "
             "like {X-Title: my-app}, got a list"},
            {"- model_id: a\n  api_base: http://h\n  extra_headers: {\"X A\": b}\n",
             "t.yaml:3:19: extra_headers: expected a header name, got \"X A\""},
            {"- model_id: a\n  api_base: http://h\n  extra_headers: {X-A: \"b\\r\\nX-B: c\"}\n",
             "t.yaml:3:24: extra_headers: the value of X-A must be text on one line"},
            {"- model_id: a\n  api_base: http://h\n  api_key_name: sk-0123456789abcdef\n",
             "t.yaml:3:17: api_key_name: expected the name of an environment variable "
             "holding the key, like DEEPSEEK_API_KEY (not the key itself)"},
            {"- model_id: a\n  api_base: http://h\n  api_key_name: MY KEY\n",
             "t.yaml:3:17: api_key_name: expected the name of an environment variable "
             "holding the key, like DEEPSEEK_API_KEY (not the key itself)"},
            {"- model_id: a\n  api_base: http://h\n  aliases: [claude-*, [x]]\n",
             "t.yaml:3:23: aliases: expected a list of strings, got a list"},
            {"- model_id: a\n  api_base: http://h\n  drop_betas: {a: b}\n",
             "t.yaml:3:15: drop_betas: expected a list of strings, got a mapping"},
            {"- model_id: a\n  api_base: http://h\n  price: 3\n",
             "t.yaml:3:10: price: expected a mapping like {input: 0.28, output: 0.42} (USD "
             "per million tokens), got \"3\""},
            {"- model_id: a\n  api_base: http://h\n  price: {input: -1}\n",
             "t.yaml:3:18: input: expected a price in USD per million tokens, like 0.28, got "
             "\"-1\""},
            /* Server settings. */
            {"port: http\nmodels:\n- {model_id: a, api_base: http://h}\n",
             "t.yaml:1:7: port: expected a port number from 1 to 65535, got \"http\""},
            {"port: 70000\nmodels:\n- {model_id: a, api_base: http://h}\n",
             "t.yaml:1:7: port: expected a port number from 1 to 65535, got \"70000\""},
            {"read_timeout: 10 minutes\nmodels:\n- {model_id: a, api_base: http://h}\n",
             "t.yaml:1:15: read_timeout: expected a duration like 30 (seconds), 30s, 500ms "
             "or 5m, got \"10 minutes\""},
            {"connect_timeout: 0\nmodels:\n- {model_id: a, api_base: http://h}\n",
             "t.yaml:1:18: connect_timeout: expected a duration like 30 (seconds), 30s, "
             "500ms or 5m, got \"0\""},
            {"max_retries: -1\nmodels:\n- {model_id: a, api_base: http://h}\n",
             "t.yaml:1:14: max_retries: expected a number of retries from 0 to 100, got "
             "\"-1\""},
            {"host: [a]\nmodels:\n- {model_id: a, api_base: http://h}\n",
             "t.yaml:1:7: host: expected a non-empty string, got a list"},
            {"default: b\nmodels:\n- {model_id: a, api_base: http://h}\n- {model_id: c, "
             "api_base: http://h}\n",
             "t.yaml:1:10: default: \"b\" is not the model_id of any entry (a, c)"},
            {"models: [{model_id: a, api_base: http://h}]\nmodels: []\n",
             "t.yaml:2:1: key \"models\" appears twice in the top-level mapping (first at "
             "line 1)"},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
                load_fails(cases[i].text, cases[i].want);
}

/* A long value is cut in "got ..." on a character boundary, never inside a UTF-8 sequence. */
static void test_long_value_truncated(void **state)
{
        char text[256], want[256];
        int i;

        (void)state;
        strcpy(text, "- model_id: a\n  api_base: http://h\n  max_tokens: x");
        strcpy(want, "t.yaml:3:15: max_tokens: expected a token count like 8192 or 8k, got \"x");
        for (i = 0; i < 40; i++)
                strcat(text, "\xc3\xa9"); /* é */
        for (i = 0; i < 29; i++)
                strcat(want, "\xc3\xa9");
        strcat(text, "\n");
        strcat(want, "...\"");
        load_fails(text, want);
}

static void test_load_missing_file(void **state)
{
        struct config *c = (struct config *)1;
        char *cause = NULL;

        (void)state;
        assert_int_equal(config_load(FIXTURES_DIR "/config/no-such-file.yaml", &c, &cause), -1);
        assert_null(c);
        assert_string_equal(cause, FIXTURES_DIR
                            "/config/no-such-file.yaml: cannot open: No such file or directory");
        free(cause);
}

static void test_unknown_keys_warn(void **state)
{
        struct config *c;

        (void)state;
        c = load_ok("colour: blue\n"
                    "models:\n"
                    "  - model_id: a\n"
                    "    api_base: http://h\n"
                    "    max_token: 8k\n"
                    "    price: {input: 1, outptu: 2}\n");
        assert_int_equal(c->n_warnings, 3);
        assert_string_equal(c->warnings[0],
                            "t.yaml:1:1: unknown key \"colour\" in the top-level mapping (known "
                            "keys: models, default, host, port, connect_timeout, read_timeout, "
                            "max_retries)");
        assert_string_equal(
            c->warnings[1],
            "t.yaml:5:5: unknown key \"max_token\" in model entry (known keys: model_id, "
            "model_name, api_base, direct, can_stream, max_tokens, max_input_tokens, context, "
            "temperature, reasoning_effort, extra_body, extra_headers, api_key_name, aliases, "
            "thinking_style, history_thinking, tool_id_style, max_completion_tokens, "
            "stream_usage, sanitize_schema, drop_sampling, developer_role, "
            "empty_content_string, empty_tool_result, content_filter_end_turn, drop_betas, auth, "
            "price)");
        assert_string_equal(c->warnings[2],
                            "t.yaml:6:23: unknown key \"outptu\" in price (known keys: input, "
                            "output, cache_read, cache_write)");
        /* The entry itself still loaded, without the misspelt key. */
        assert_int_equal(c->models[0].max_tokens, 0);
        assert_true(c->models[0].price_input == 1.0);
        assert_true(c->models[0].price_output == 0.0);
        config_free(c);
}

static void test_other_warnings(void **state)
{
        struct config *c;

        (void)state;
        c = load_ok("- model_id: a\n"
                    "  api_base: http://h\n"
                    "  max_input_tokens: 32k\n"
                    "  context: 64k\n"
                    "---\n"
                    "- model_id: b\n");
        assert_int_equal(c->n_warnings, 2);
        assert_string_equal(c->warnings[0], "t.yaml:4:3: context and max_input_tokens (line 3) "
                                            "both set; using max_input_tokens");
        assert_string_equal(c->warnings[1],
                            "t.yaml:6:1: only the first YAML document is read; this one is "
                            "ignored");
        assert_int_equal(c->models[0].max_input_tokens, 32768);
        assert_int_equal(c->n_models, 1);
        config_free(c);
}

static void test_nulls_mean_unset(void **state)
{
        struct config *c;
        const struct model_entry *e;

        (void)state;
        c = load_ok("- model_id: a\n"
                    "  api_base: https://api.deepseek.com/v1\n"
                    "  model_name:\n"
                    "  max_tokens: ~\n"
                    "  can_stream: null\n"
                    "  thinking_style:\n"
                    "  extra_body:\n"
                    "  price:\n");
        e = &c->models[0];
        assert_int_equal(c->n_warnings, 0);
        assert_string_equal(e->model_name, "a");
        assert_int_equal(e->max_tokens, 0);
        assert_true(e->can_stream);
        assert_int_equal(e->reasoning, XLATE_REASONING_DEEPSEEK);
        assert_null(e->extra_body);
        config_free(c);
}

static void test_extension_keys(void **state)
{
        struct config *c;
        const struct model_entry *e;

        (void)state;
        c = load_ok("- model_id: a\n"
                    "  api_base: https://api.deepseek.com/v1/\n"
                    "  aliases: claude-*\n"
                    "  thinking_style: qwen\n"
                    "  history_thinking: drop\n"
                    "  tool_id_style: mistral\n"
                    "  max_completion_tokens: yes\n"
                    "  stream_usage: false\n"
                    "  sanitize_schema: True\n"
                    "  drop_sampling: on\n"
                    "  developer_role: true\n"
                    "  empty_content_string: true\n"
                    "  empty_tool_result: (no output)\n"
                    "  content_filter_end_turn: true\n"
                    "  drop_betas: [a-1, b-2]\n"
                    "  auth: bearer\n"
                    "  direct: false\n"
                    "  temperature: 0\n"
                    "  price: {input: 0.28, output: 0.42, cache_read: 0.028, cache_write: 1}\n");
        e = &c->models[0];
        assert_string_equal(e->api_base, "https://api.deepseek.com/v1");
        assert_int_equal(e->n_aliases, 1);
        assert_string_equal(e->aliases[0], "claude-*");
        assert_int_equal(e->reasoning, XLATE_REASONING_QWEN);
        assert_int_equal(e->history_thinking, XLATE_HISTORY_DROP);
        assert_int_equal(e->tool_ids, IDS_STYLE_MISTRAL);
        assert_true(e->max_completion_tokens);
        assert_false(e->stream_usage);
        assert_true(e->sanitize_schema);
        assert_true(e->drop_sampling);
        assert_true(e->developer_role);
        assert_true(e->empty_content_string);
        assert_string_equal(e->empty_tool_result, "(no output)");
        assert_true(e->content_filter_end_turn);
        assert_int_equal(e->n_drop_betas, 2);
        assert_string_equal(e->drop_betas[1], "b-2");
        assert_int_equal(e->auth, CONFIG_AUTH_BEARER);
        assert_true(e->has_temperature);
        assert_true(e->temperature == 0.0);
        assert_true(e->price_input == 0.28);
        assert_true(e->price_output == 0.42);
        assert_true(e->price_cache_read == 0.028);
        assert_true(e->price_cache_write == 1.0);
        config_free(c);
}

static void test_provider_defaults(void **state)
{
        struct config *c;
        const struct model_entry *e;

        (void)state;
        c = load_ok("- {model_id: ds, api_base: https://api.deepseek.com/v1}\n"
                    "- {model_id: or, api_base: https://openrouter.ai/api/v1}\n"
                    "- {model_id: gm, api_base: "
                    "'https://generativelanguage.googleapis.com/v1beta/openai'}\n"
                    "- {model_id: mi, api_base: https://api.mistral.ai/v1}\n"
                    "- {model_id: an, api_base: 'https://API.anthropic.com:443/'}\n"
                    "- {model_id: an2, api_base: https://api.anthropic.com.evil.example}\n"
                    "- {model_id: ds2, api_base: https://api.deepseek.com/v1, thinking_style: "
                    "effort}\n"
                    "- {model_id: an3, api_base: https://api.anthropic.com, direct: false, auth: "
                    "x-api-key}\n");
        assert_int_equal(c->n_models, 8);

        e = config_find(c, "ds");
        assert_int_equal(e->reasoning, XLATE_REASONING_DEEPSEEK);
        assert_int_equal(e->history_thinking, XLATE_HISTORY_REASONING_CONTENT);
        assert_false(e->sanitize_schema);
        assert_false(e->direct);

        e = config_find(c, "or");
        assert_int_equal(e->reasoning, XLATE_REASONING_OPENROUTER);
        assert_int_equal(e->history_thinking, XLATE_HISTORY_DROP);

        e = config_find(c, "gm");
        assert_int_equal(e->reasoning, XLATE_REASONING_EFFORT);
        assert_true(e->sanitize_schema);
        assert_true(e->empty_content_string);
        assert_int_equal(e->tool_ids, IDS_STYLE_DEFAULT);

        e = config_find(c, "mi");
        assert_int_equal(e->tool_ids, IDS_STYLE_MISTRAL);
        assert_false(e->sanitize_schema);

        e = config_find(c, "an");
        assert_true(e->direct);
        assert_string_equal(e->api_base, "https://API.anthropic.com:443");
        assert_false(config_find(c, "an2")->direct);

        /* An explicit style moves the history default with it. */
        e = config_find(c, "ds2");
        assert_int_equal(e->reasoning, XLATE_REASONING_EFFORT);
        assert_int_equal(e->history_thinking, XLATE_HISTORY_DROP);

        e = config_find(c, "an3");
        assert_false(e->direct);
        assert_int_equal(e->auth, CONFIG_AUTH_X_API_KEY);
        config_free(c);
}

static void test_extra_body_types(void **state)
{
        struct config *c;
        cJSON *want;

        (void)state;
        c = load_ok("- model_id: a\n"
                    "  api_base: http://h\n"
                    "  extra_body:\n"
                    "    int: 42\n"
                    "    neg: -7\n"
                    "    float: 0.5\n"
                    "    exp: 1.5e3\n"
                    "    half: .5\n"
                    "    quoted_int: \"42\"\n"
                    "    single_quoted: '1.5'\n"
                    "    yes_bool: true\n"
                    "    no_bool: False\n"
                    "    quoted_bool: \"true\"\n"
                    "    word_yes: yes\n"
                    "    nil: null\n"
                    "    tilde: ~\n"
                    "    empty:\n"
                    "    quoted_null: \"null\"\n"
                    "    hex: 0x10\n"
                    "    inf: .inf\n"
                    "    version: 1.2.3\n"
                    "    text: hello world\n"
                    "    list: [1, two, {three: 3}, [false]]\n"
                    "    nested: {a: {b: {c: []}}}\n"
                    "    empty_map: {}\n"
                    "    block: |\n"
                    "      line one\n"
                    "      line two\n");
        want = testutil_json(
            "{\"int\":42,\"neg\":-7,\"float\":0.5,\"exp\":1500,\"half\":0.5,"
            "\"quoted_int\":\"42\",\"single_quoted\":\"1.5\",\"yes_bool\":true,"
            "\"no_bool\":false,\"quoted_bool\":\"true\",\"word_yes\":\"yes\",\"nil\":null,"
            "\"tilde\":null,\"empty\":null,\"quoted_null\":\"null\",\"hex\":\"0x10\","
            "\"inf\":\".inf\",\"version\":\"1.2.3\",\"text\":\"hello world\","
            "\"list\":[1,\"two\",{\"three\":3},[false]],\"nested\":{\"a\":{\"b\":{\"c\":[]}}},"
            "\"empty_map\":{},\"block\":\"line one\\nline two\\n\"}");
        if (!testutil_json_equal(c->models[0].extra_body, want)) {
                char *got = cJSON_Print(c->models[0].extra_body);
                fail_msg("extra_body:\n%s", got);
        }
        cJSON_Delete(want);
        config_free(c);
}

static void test_anchors_and_aliases(void **state)
{
        struct config *c;

        (void)state;
        /* Shared settings through YAML anchors, as people write for several models of one
         * provider. */
        c = load_ok("- model_id: a\n"
                    "  api_base: &ds https://api.deepseek.com/v1\n"
                    "  extra_body: &body {x: 1}\n"
                    "- model_id: b\n"
                    "  api_base: *ds\n"
                    "  extra_body: *body\n");
        assert_string_equal(c->models[1].api_base, "https://api.deepseek.com/v1");
        assert_true(testutil_json_equal(c->models[0].extra_body, c->models[1].extra_body));
        assert_true(c->models[0].extra_body != c->models[1].extra_body);
        config_free(c);
}

static void test_routing(void **state)
{
        struct config *c = NULL;
        char *cause = NULL;
        const struct model_entry *e;
        bool fallback = true;

        (void)state;
        assert_int_equal(config_load(FIXTURES_DIR "/config/mapping.yaml", &c, &cause), 0);

        /* Exact model_id. */
        e = config_route(c, "deepseek-chat", &fallback);
        assert_string_equal(e->model_id, "deepseek-chat");
        assert_false(fallback);
        /* Exact beats any alias, even one listed earlier that would match. */
        e = config_route(c, "deepseek-reasoner", &fallback);
        assert_string_equal(e->model_id, "deepseek-reasoner");
        assert_false(fallback);
        /* Aliases in file order: the first entry's haiku globs before the second's claude-*. */
        e = config_route(c, "claude-haiku-4-5-20251001", &fallback);
        assert_string_equal(e->model_id, "deepseek-chat");
        assert_false(fallback);
        e = config_route(c, "claude-3-5-haiku-20241022", &fallback);
        assert_string_equal(e->model_id, "deepseek-chat");
        assert_false(fallback);
        /* '?' matches exactly one character. */
        e = config_route(c, "claude-3-5-haiku-2024102", &fallback);
        assert_string_equal(e->model_id, "deepseek-reasoner");
        e = config_route(c, "claude-sonnet-4-5-20250929", &fallback);
        assert_string_equal(e->model_id, "deepseek-reasoner");
        assert_false(fallback);
        /* No match: the explicit default, flagged. */
        fallback = false;
        e = config_route(c, "gpt-4o", &fallback);
        assert_string_equal(e->model_id, "deepseek-reasoner");
        assert_true(fallback);
        fallback = false;
        e = config_route(c, NULL, &fallback);
        assert_string_equal(e->model_id, "deepseek-reasoner");
        assert_true(fallback);
        assert_non_null(config_route(c, "x", NULL));

        /* config_find is exact only. */
        assert_null(config_find(c, "claude-haiku-4-5"));
        assert_null(config_find(c, "DeepSeek-Chat"));
        assert_non_null(config_find(c, "deepseek-chat"));
        config_free(c);

        /* List form: the first entry is the default. */
        c = load_ok("- {model_id: first, api_base: http://h}\n"
                    "- {model_id: second, api_base: http://h}\n");
        e = config_route(c, "claude-opus-4-1", &fallback);
        assert_string_equal(e->model_id, "first");
        assert_true(fallback);
        e = config_route(c, "second", &fallback);
        assert_string_equal(e->model_id, "second");
        assert_false(fallback);
        config_free(c);

        /* Mapping form without `default:`: an unknown model matches nothing. */
        c = load_ok("models:\n"
                    "  - {model_id: only, api_base: http://h}\n");
        assert_null(config_route(c, "claude-opus-4-1", &fallback));
        assert_non_null(config_route(c, "only", &fallback));
        config_free(c);

        assert_null(config_route(NULL, "x", &fallback));
        assert_null(config_find(NULL, "x"));
        config_free(NULL);
}

static void test_example_file(void **state)
{
        struct config *c = NULL;
        char *cause = NULL;
        size_t i;
        const struct model_entry *e;

        (void)state;
        if (config_load(EXAMPLE_PATH, &c, &cause) != 0)
                fail_msg("models.yaml.example: %s", cause);
        for (i = 0; i < c->n_warnings; i++)
                print_message("warning: %s\n", c->warnings[i]);
        assert_int_equal(c->n_warnings, 0);
        assert_true(c->n_models >= 8);
        /* The default is the first entry, and every entry names its key variable or is local. */
        assert_string_equal(c->models[c->default_model].model_id, "deepseek-chat");
        for (i = 0; i < c->n_models; i++) {
                e = &c->models[i];
                if (strncmp(e->api_base, "http://127.0.0.1", 16) != 0 && e->api_key_name == NULL)
                        fail_msg("%s has no api_key_name", e->model_id);
        }
        e = config_find(c, "deepseek-anthropic");
        assert_non_null(e);
        assert_true(e->direct);
        e = config_find(c, "anthropic-sonnet");
        assert_non_null(e);
        assert_true(e->direct);
        e = config_route(c, "claude-haiku-4-5-20251001", NULL);
        assert_string_equal(e->model_id, "deepseek-chat");
        config_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_seed_list_form),
            cmocka_unit_test(test_mapping_form),
            cmocka_unit_test(test_durations),
            cmocka_unit_test(test_tokens),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_long_value_truncated),
            cmocka_unit_test(test_load_missing_file),
            cmocka_unit_test(test_unknown_keys_warn),
            cmocka_unit_test(test_other_warnings),
            cmocka_unit_test(test_nulls_mean_unset),
            cmocka_unit_test(test_extension_keys),
            cmocka_unit_test(test_provider_defaults),
            cmocka_unit_test(test_extra_body_types),
            cmocka_unit_test(test_anchors_and_aliases),
            cmocka_unit_test(test_routing),
            cmocka_unit_test(test_example_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
