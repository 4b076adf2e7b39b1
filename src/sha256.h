/*
 * sha256: FIPS 180-4 SHA-256, for hashing identifiers (user ids, tool names and ids) into forms
 * an upstream accepts. Not used for anything secret.
 */
#ifndef CP_SHA256_H
#define CP_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex digest, NUL-terminated. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
