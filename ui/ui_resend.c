/*
 * ui_resend: re-sends a recorded client request through the proxy, from a detached worker
 * thread with libcurl easy, never on the UI loop. The body is POSTed to
 * http://<listen>/v1/messages with x-claude-proxy-replay-of: <original id>, so the proxy
 * records it as a new request linked to the original and it appears as a new row. The thread
 * leaves one line for the status bar, which the loop picks up with ui_resend_poll().
 */
#include "ui_screen.h"

#include "alloc.h"
#include "json.h"
#include "record.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
        char *url, *body, *id, *version, *beta, *session;
};

static void job_free(struct job *j)
{
        free(j->url);
        free(j->body);
        free(j->id);
        free(j->version);
        free(j->beta);
        free(j->session);
        free(j);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char done_msg[512];
static int have_msg;
static int running; /* workers started and not done, under lock */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
        (void)p;
        (void)arg;
        return size * n;
}

static void *run(void *arg)
{
        struct job *j = arg;
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        char line[512], *hdr;
        long status = 0;
        CURLcode rc = CURLE_FAILED_INIT;
        const char *key = getenv("ANTHROPIC_API_KEY");

        if (c) {
                h = curl_slist_append(h, "content-type: application/json");
                hdr = xasprintf("x-claude-proxy-replay-of: %s", j->id);
                h = curl_slist_append(h, hdr);
                free(hdr);
                hdr = xasprintf("anthropic-version: %s", j->version ? j->version : "2023-06-01");
                h = curl_slist_append(h, hdr);
                free(hdr);
                if (j->beta) {
                        hdr = xasprintf("anthropic-beta: %s", j->beta);
                        h = curl_slist_append(h, hdr);
                        free(hdr);
                }
                if (j->session) {
                        hdr = xasprintf("x-claude-code-session-id: %s", j->session);
                        h = curl_slist_append(h, hdr);
                        free(hdr);
                }
                if (key && *key) {
                        hdr = xasprintf("x-api-key: %s", key);
                        h = curl_slist_append(h, hdr);
                        free(hdr);
                }
                curl_easy_setopt(c, CURLOPT_URL, j->url);
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
                curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c, CURLOPT_TIMEOUT, 900L);
                rc = curl_easy_perform(c);
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_slist_free_all(h);
                curl_easy_cleanup(c);
        }
        if (rc == CURLE_OK)
                snprintf(line, sizeof(line), "re-send of %s answered %ld", j->id, status);
        else
                snprintf(line, sizeof(line), "re-send of %s failed: %s", j->id,
                         curl_easy_strerror(rc));
        pthread_mutex_lock(&lock);
        snprintf(done_msg, sizeof(done_msg), "%s", line);
        have_msg = 1;
        running--;
        pthread_mutex_unlock(&lock);
        job_free(j);
        return NULL;
}

static char *header_of(const cJSON *o, const char *name)
{
        const char *v = json_get_str(json_get(o, "headers"), name);
        return v ? xstrdup(v) : NULL;
}

int ui_resend_start(const char *listen, const struct replay_request *r, const char *model_id,
                    char *msg, size_t msgsz)
{
        const struct replay_record *rec = replay_request_find(r, RECORD_CLIENT_REQUEST);
        cJSON *o, *body;
        struct job *j;
        pthread_t t;
        pthread_attr_t attr;

        if (!listen) {
                snprintf(msg, msgsz, "no proxy is listening here: nothing to re-send to");
                return -1;
        }
        if (r->count_tokens) {
                snprintf(msg, msgsz, "count_tokens requests are not re-sent");
                return -1;
        }
        o = rec ? replay_record_parse(r, rec) : NULL;
        body = json_get(o, "body");
        if (!cJSON_IsObject(body)) {
                snprintf(msg, msgsz, "%s has no JSON body to re-send", r->id);
                cJSON_Delete(o);
                return -1;
        }
        if (model_id)
                json_set(body, "model", cJSON_CreateString(model_id));
        j = xcalloc(1, sizeof(*j));
        j->url = xasprintf("http://%s/v1/messages", listen);
        j->body = json_print(body);
        j->id = xstrdup(r->id);
        j->version = header_of(o, "anthropic-version");
        j->beta = header_of(o, "anthropic-beta");
        j->session = r->session[0] ? xstrdup(r->session) : NULL;
        cJSON_Delete(o);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&lock);
        running++;
        pthread_mutex_unlock(&lock);
        if (pthread_create(&t, &attr, run, j) != 0) {
                pthread_mutex_lock(&lock);
                running--;
                pthread_mutex_unlock(&lock);
                pthread_attr_destroy(&attr);
                snprintf(msg, msgsz, "cannot start the re-send thread");
                job_free(j);
                return -1;
        }
        pthread_attr_destroy(&attr);
        snprintf(msg, msgsz, "re-sending %s%s%s", r->id, model_id ? " to " : "",
                 model_id ? model_id : "");
        return 0;
}

bool ui_resend_poll(char *msg, size_t msgsz)
{
        bool got = false;

        pthread_mutex_lock(&lock);
        if (have_msg) {
                snprintf(msg, msgsz, "%s", done_msg);
                have_msg = 0;
                got = true;
        }
        pthread_mutex_unlock(&lock);
        return got;
}

bool ui_resend_busy(void)
{
        bool busy;

        pthread_mutex_lock(&lock);
        busy = running > 0 || have_msg;
        pthread_mutex_unlock(&lock);
        return busy;
}
