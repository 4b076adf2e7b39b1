/*
 * log: stderr logging with a timestamp and level (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static int quiet;

void log_set_level(enum log_level level)
{
        current_level = level;
}

enum log_level log_get_level(void)
{
        return current_level;
}

void log_set_quiet(int q)
{
        quiet = q;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        static const char *names[] = {"error", "warn", "info", "debug", "trace"};
        char stamp[32];
        struct timespec ts;
        struct tm tm;
        va_list ap;

        if (level > current_level || quiet)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
        flockfile(stderr);
        fprintf(stderr, "%s.%03ld %-5s ", stamp, ts.tv_nsec / 1000000, names[level]);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        funlockfile(stderr);
}

void log_redact(const char *secret, char *out, size_t outsz)
{
        size_t n = secret != NULL ? strlen(secret) : 0;

        if (n == 0)
                snprintf(out, outsz, "(none)");
        else if (n >= 16)
                snprintf(out, outsz, "%.4s\xE2\x80\xA6(%zu)", secret, n);
        else
                snprintf(out, outsz, "\xE2\x80\xA6(%zu)", n);
}

void log_scrub(struct buf *b, const char *secret, const char *safe)
{
        struct buf clean;
        const char *p = b->data;
        const char *hit;
        size_t n = strlen(secret);

        if (n < 4 || b->len == 0 || strstr(b->data, secret) == NULL)
                return;
        buf_init(&clean);
        while ((hit = strstr(p, secret)) != NULL) {
                buf_append(&clean, p, (size_t)(hit - p));
                buf_puts(&clean, safe);
                p = hit + n;
        }
        buf_puts(&clean, p);
        buf_fini(b);
        *b = clean;
}
