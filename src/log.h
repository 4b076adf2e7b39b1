/*
 * log: leveled logging to stderr, and the one place that turns secrets into something safe to
 * print. Nothing else in the proxy prints a key: it calls log_redact() first.
 */
#ifndef CP_LOG_H
#define CP_LOG_H

#include "buf.h"

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* When quiet (the inspector owns the terminal) messages are kept out of stderr. */
void log_set_quiet(int quiet);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Writes a safe form of a secret into out: the first 4 characters of a long key and its length
 * ("sk-a…(51)"), or "…(n)" for short ones, so two keys can be told apart without revealing them.
 */
void log_redact(const char *secret, char *out, size_t outsz);

/* Replaces every occurrence of secret in b by safe (its log_redact form). Secrets shorter than
 * 4 characters are left alone: replacing them would mangle ordinary text. */
void log_scrub(struct buf *b, const char *secret, const char *safe);

#endif
