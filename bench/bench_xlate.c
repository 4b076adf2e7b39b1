/*
 * bench_xlate: CPU cost of the translators, without sockets, measured with
 * CLOCK_PROCESS_CPUTIME_ID so other processes on the machine do not count.
 *
 *   bench_xlate FIXTURE.json [SECONDS]
 *
 * FIXTURE is a recorded Claude Code request (tests/fixtures/claude-code/01_main_turn1_request.json:
 * the request is its "body"). Three measurements, each repeated until SECONDS of CPU (default 1)
 * have been spent:
 *
 *   request   what the proxy does per /v1/messages before the upstream call: json_parse of the
 *             client's bytes, xlate_request, json_print of the upstream body, and the local
 *             input-token estimate. Once for the recorded request (~50 KB) and once for a
 *             synthetic ~1 MB one: the recorded request continued by tool rounds (an assistant
 *             tool_use of Read and a user tool_result with 16 KB of source text each).
 *   stream    xlate_stream_feed per upstream chunk, over a 5000-chunk text answer in the shape
 *             a real provider sends; fed one chunk per call (each chunk arrives in its own read,
 *             the worst case) and in 16 KB slices (a busy connection).
 *
 * Output: one "name key=value ..." line per measurement, for bench/run.sh to parse.
 * The model entry comes from config_parse, and the options are filled as exchange.c fills them,
 * so the translator runs with the proxy's own defaults.
 */
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "json.h"
#include "tokens.h"
#include "toolmap.h"
#include "xlate_request.h"
#include "xlate_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_CHUNKS 5000
#define ROUND_BYTES   (16 * 1024)
#define BIG_BYTES     (1024 * 1024)

static double cpu_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        struct buf b;
        char chunk[65536];
        size_t n;

        if (f == NULL) {
                perror(path);
                exit(1);
        }
        buf_init(&b);
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                buf_append(&b, chunk, n);
        fclose(f);
        *len = b.len;
        return buf_detach(&b);
}

/* Source-like text with quotes, backslashes, tabs and non-ASCII, as Read results carry. */
static char *source_text(size_t bytes, int seed)
{
        struct buf b;
        int line = 1;

        buf_init(&b);
        for (; b.len < bytes; line++)
                buf_printf(&b,
                           "%6d\t        n = buf_printf(out, \"\\\"%%s\\\" = %d\\n\", name_%d); "
                           "/* größe → %d */\n",
                           line, seed * 31 + line, line % 97, line * 7);
        return buf_detach(&b);
}

/* The recorded request continued by tool rounds until it is about BIG_BYTES long. */
static char *big_request(const cJSON *body)
{
        cJSON *req = cJSON_Duplicate(body, 1);
        cJSON *messages = json_get(req, "messages");
        char *text = json_print(req);
        size_t len = strlen(text);
        int round = 0;

        while (len < BIG_BYTES) {
                char id[64], path[128];
                char *content = source_text(ROUND_BYTES, round);
                cJSON *asst = cJSON_CreateObject();
                cJSON *ablocks = cJSON_AddArrayToObject(asst, "content");
                cJSON *say = cJSON_CreateObject();
                cJSON *use = cJSON_CreateObject();
                cJSON *input = cJSON_CreateObject();
                cJSON *user = cJSON_CreateObject();
                cJSON *ublocks = cJSON_AddArrayToObject(user, "content");
                cJSON *result = cJSON_CreateObject();

                snprintf(id, sizeof id, "toolu_01Bench%011dReadXyz", round);
                snprintf(path, sizeof path, "/home/dev/project/src/module_%d.c", round);
                cJSON_AddStringToObject(asst, "role", "assistant");
                cJSON_AddStringToObject(say, "type", "text");
                cJSON_AddStringToObject(say, "text", "Let me read the next file.");
                cJSON_AddItemToArray(ablocks, say);
                cJSON_AddStringToObject(use, "type", "tool_use");
                cJSON_AddStringToObject(use, "id", id);
                cJSON_AddStringToObject(use, "name", "Read");
                cJSON_AddStringToObject(input, "file_path", path);
                cJSON_AddItemToObject(use, "input", input);
                cJSON_AddItemToArray(ablocks, use);
                cJSON_AddItemToArray(messages, asst);

                cJSON_AddStringToObject(user, "role", "user");
                cJSON_AddStringToObject(result, "tool_use_id", id);
                cJSON_AddStringToObject(result, "type", "tool_result");
                cJSON_AddStringToObject(result, "content", content);
                cJSON_AddItemToArray(ublocks, result);
                cJSON_AddItemToArray(messages, user);
                len += strlen(content) + 400;
                free(content);
                round++;
        }
        free(text);
        text = json_print(req);
        cJSON_Delete(req);
        return text;
}

struct phases {
        double parse, xlate, print, tokens;
};

/* One request as the proxy handles it; adds each phase's CPU time to *ph. */
static size_t one_request(const char *text, size_t len, const struct xlate_request_opts *o,
                          struct phases *ph)
{
        char *cause = NULL;
        double t0 = cpu_now(), t1, t2, t3, t4;
        cJSON *body = json_parse(text, len, &cause);
        struct toolmap *names = toolmap_new();
        cJSON *openai = NULL;
        char *payload;
        size_t out;
        long est;

        t1 = cpu_now();
        if (body == NULL || xlate_request(body, o, names, &openai, &cause) != 0) {
                fprintf(stderr, "bench_xlate: request failed: %s\n", cause ? cause : "?");
                exit(1);
        }
        t2 = cpu_now();
        payload = json_print(openai);
        out = strlen(payload);
        t3 = cpu_now();
        est = tokens_estimate_request(body);
        t4 = cpu_now();
        if (est <= 0) {
                fprintf(stderr, "bench_xlate: token estimate %ld\n", est);
                exit(1);
        }
        free(payload);
        cJSON_Delete(openai);
        toolmap_free(names);
        cJSON_Delete(body);
        ph->parse += t1 - t0;
        ph->xlate += t2 - t1;
        ph->print += t3 - t2;
        ph->tokens += t4 - t3;
        return out;
}

static void bench_request(const char *name, const char *text, const struct xlate_request_opts *o,
                          double seconds)
{
        size_t len = strlen(text), out = 0;
        struct phases ph = {0}, warm = {0};
        double start, total;
        long iters = 0;

        one_request(text, len, o, &warm);
        start = cpu_now();
        do {
                out = one_request(text, len, o, &ph);
                iters++;
        } while (cpu_now() - start < seconds || iters < 10);
        total = cpu_now() - start;
        printf("%s bytes=%zu upstream_bytes=%zu iters=%ld cpu_us=%.1f parse_us=%.1f "
               "xlate_us=%.1f print_us=%.1f tokens_us=%.1f\n",
               name, len, out, iters, total / (double)iters * 1e6, ph.parse / (double)iters * 1e6,
               ph.xlate / (double)iters * 1e6, ph.print / (double)iters * 1e6,
               ph.tokens / (double)iters * 1e6);
}

/* A 5000-chunk text answer as a provider streams it; *ends[i] is where chunk i ends. */
static char *stream_bytes(size_t *len, size_t *ends)
{
        static const char head[] = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion."
                                   "chunk\",\"created\":1700000000,\"model\":\"bench-model\","
                                   "\"system_fingerprint\":\"fp_bench\",\"choices\":[{\"index\":"
                                   "0,\"delta\":";
        struct buf b;

        buf_init(&b);
        buf_printf(&b,
                   "%s{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                   "\"finish_reason\":null}]}\n\n",
                   head);
        for (int i = 0; i < STREAM_CHUNKS; i++) {
                buf_printf(
                    &b,
                    "%s{\"content\":\" word%d\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
                    head, i);
                ends[i] = b.len;
        }
        buf_printf(&b, "%s{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n", head);
        buf_puts(&b, "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1700000000,\"model\":\"bench-model\",\"choices\":[],\"usage\":"
                     "{\"prompt_tokens\":12,\"completion_tokens\":5000,\"total_tokens\":5012}}"
                     "\n\n");
        buf_puts(&b, "data: [DONE]\n\n");
        *len = b.len;
        return buf_detach(&b);
}

/* One whole answer; slice 0 feeds chunk by chunk, else slice bytes per call. */
static size_t one_stream(const char *data, size_t len, const size_t *ends, size_t slice,
                         const struct xlate_reply_opts *ro, struct buf *out)
{
        struct xlate_stream *s = xlate_stream_new(ro);
        size_t pos = 0, sent = 0;

        xlate_stream_begin(s, out);
        sent += out->len;
        buf_clear(out);
        if (slice == 0) {
                for (int i = 0; i < STREAM_CHUNKS; i++) {
                        xlate_stream_feed(s, data + pos, ends[i] - pos, out);
                        sent += out->len;
                        buf_clear(out);
                        pos = ends[i];
                }
        }
        while (pos < len) {
                size_t n = slice == 0 || len - pos < slice ? len - pos : slice;

                xlate_stream_feed(s, data + pos, n, out);
                sent += out->len;
                buf_clear(out);
                pos += n;
        }
        if (xlate_stream_eof(s, out) != XLATE_STREAM_DONE) {
                fprintf(stderr, "bench_xlate: the stream did not finish\n");
                exit(1);
        }
        sent += out->len;
        buf_clear(out);
        xlate_stream_free(s);
        return sent;
}

static void bench_stream(double seconds)
{
        static size_t ends[STREAM_CHUNKS];
        size_t len, sent = 0;
        char *data = stream_bytes(&len, ends);
        struct xlate_reply_opts ro = {0};
        const size_t slices[2] = {0, 16384};
        const char *names[2] = {"chunk", "slice16k"};
        struct buf out;

        ro.model = "claude-sonnet-4-5";
        ro.input_estimate = 12;
        ro.seed = 42;
        buf_init(&out);
        for (int k = 0; k < 2; k++) {
                double start, total;
                long iters = 0;

                one_stream(data, len, ends, slices[k], &ro, &out);
                start = cpu_now();
                do {
                        sent = one_stream(data, len, ends, slices[k], &ro, &out);
                        iters++;
                } while (cpu_now() - start < seconds || iters < 5);
                total = cpu_now() - start;
                printf("stream_%s chunks=%d upstream_bytes=%zu client_bytes=%zu iters=%ld "
                       "us_per_chunk=%.3f\n",
                       names[k], STREAM_CHUNKS, len, sent, iters,
                       total / (double)iters / STREAM_CHUNKS * 1e6);
        }
        buf_fini(&out);
        free(data);
}

int main(int argc, char **argv)
{
        static const char yaml[] = "- model_id: bench-model\n"
                                   "  api_base: http://127.0.0.1:9/v1\n";
        double seconds = argc > 2 ? atof(argv[2]) : 1.0;
        struct config *cfg = NULL;
        struct xlate_request_opts o;
        char *cause = NULL, *fixture, *text, *big;
        size_t len;
        cJSON *rec;

        if (argc < 2) {
                fprintf(stderr, "usage: bench_xlate FIXTURE.json [SECONDS]\n");
                return 2;
        }
        alloc_init_cjson();
        if (config_parse(yaml, strlen(yaml), "bench", &cfg, &cause) != 0) {
                fprintf(stderr, "bench_xlate: %s\n", cause);
                return 1;
        }
        config_request_opts(&cfg->models[0], cfg->models[0].can_stream, &o);
        fixture = read_file(argv[1], &len);
        rec = json_parse(fixture, len, &cause);
        if (rec == NULL || !cJSON_IsObject(json_get(rec, "body"))) {
                fprintf(stderr, "bench_xlate: %s: no request \"body\"\n", argv[1]);
                return 1;
        }
        text = json_print(json_get(rec, "body"));
        big = big_request(json_get(rec, "body"));

        bench_request("request_50k", text, &o, seconds);
        bench_request("request_1m", big, &o, seconds);
        bench_stream(seconds);

        free(big);
        free(text);
        cJSON_Delete(rec);
        free(fixture);
        config_free(cfg);
        return 0;
}
