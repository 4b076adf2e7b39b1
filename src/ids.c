/*
 * ids: identifiers the proxy makes up or rewrites (see ids.h).
 *
 * Random ids use splitmix64 over a state the caller owns, seeded once from getrandom(): ids only
 * need to be unique, not unpredictable, and a caller-held state keeps the translators pure and
 * their tests reproducible.
 *
 * Upstream tool-call ids are a function of the Anthropic id alone. The conversation history is
 * re-sent on every turn, so the same id must map to the same upstream id each time; an id that
 * already fits the upstream's rules is kept as it is, anything else is replaced by a hash.
 */
#include "ids.h"

#include "sha256.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define DEFAULT_MAX 40 /* the longest tool-call id OpenAI accepts */
#define MISTRAL_LEN 9

static uint64_t splitmix64(uint64_t *state)
{
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

uint64_t ids_next(uint64_t *state)
{
        return splitmix64(state);
}

uint64_t ids_seed(void)
{
        uint64_t v = 0;
        struct timespec ts;

        if (getrandom(&v, sizeof v, 0) == (ssize_t)sizeof v)
                return v;
        /* No entropy source (very old kernel, seccomp): uniqueness is all that is needed. */
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
        return splitmix64(&v);
}

/* Copies at most outsz-1 bytes of s and terminates; returns the length written. */
static size_t copy_trunc(char *out, size_t outsz, const char *s)
{
        size_t n = strlen(s);

        if (outsz == 0)
                return 0;
        if (n > outsz - 1)
                n = outsz - 1;
        memcpy(out, s, n);
        out[n] = '\0';
        return n;
}

void ids_random(char *out, size_t outsz, const char *prefix, uint64_t *state)
{
        size_t n;
        uint64_t r = 0;

        if (outsz == 0)
                return;
        n = copy_trunc(out, outsz, prefix != NULL ? prefix : "");
        for (int i = 0; i < 24 && n + 1 < outsz; i++) {
                /* Ten base62 digits fit in 64 bits with room to spare. */
                if (i % 10 == 0)
                        r = splitmix64(state);
                out[n++] = base62[r % 62];
                r /= 62;
        }
        out[n] = '\0';
}

static int is_id_char(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

static int is_alnum(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int fits_default(const char *id)
{
        size_t n = strlen(id);

        if (n == 0 || n > DEFAULT_MAX)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!is_id_char((unsigned char)id[i]))
                        return 0;
        return 1;
}

static int fits_mistral(const char *id)
{
        if (strlen(id) != MISTRAL_LEN)
                return 0;
        for (size_t i = 0; i < MISTRAL_LEN; i++)
                if (!is_alnum((unsigned char)id[i]))
                        return 0;
        return 1;
}

void ids_upstream_tool(const char *id, enum ids_style style, char *out, size_t outsz)
{
        uint8_t d[32];
        char hex[65];
        char tmp[DEFAULT_MAX + 1];

        if (id == NULL)
                id = "";
        if (style == IDS_STYLE_MISTRAL) {
                uint64_t v = 0;

                if (fits_mistral(id)) {
                        copy_trunc(out, outsz, id);
                        return;
                }
                sha256(id, strlen(id), d);
                for (int i = 0; i < 8; i++)
                        v = v << 8 | d[i];
                for (int i = 0; i < MISTRAL_LEN; i++) {
                        tmp[i] = base62[v % 62];
                        v /= 62;
                }
                tmp[MISTRAL_LEN] = '\0';
                copy_trunc(out, outsz, tmp);
                return;
        }
        if (fits_default(id)) {
                copy_trunc(out, outsz, id);
                return;
        }
        /* "call_" and 32 hex digits: 37 characters, and 128 bits make collisions moot. */
        sha256_hex(id, strlen(id), hex);
        memcpy(tmp, "call_", 5);
        memcpy(tmp + 5, hex, 32);
        tmp[37] = '\0';
        copy_trunc(out, outsz, tmp);
}

void ids_client_tool(const char *id, char *out, size_t outsz, uint64_t *state)
{
        size_t n;

        if (outsz == 0)
                return;
        if (id == NULL || id[0] == '\0') {
                ids_random(out, outsz, "toolu_", state);
                return;
        }
        n = copy_trunc(out, outsz, id);
        for (size_t i = 0; i < n; i++)
                if (!is_id_char((unsigned char)out[i]))
                        out[i] = '_';
}
