/*
 * tokens: the local token estimate used for count_tokens on OpenAI upstreams, for message_start
 * before the upstream reports usage, and when an upstream never reports it. docs/translation.md
 * says how it is computed and how close it comes on recorded Claude Code requests.
 */
#ifndef CP_TOKENS_H
#define CP_TOKENS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Tokens in a piece of text. */
long tokens_estimate_text(const char *s, size_t n);
/* Input tokens of an Anthropic Messages (or count_tokens) body: system, messages and tools. */
long tokens_estimate_request(const cJSON *req);

#endif
