/*
 * fuzz: the contract between a fuzz target and what runs it. Each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (clang -fsanitize=fuzzer, by
 * tests/fuzz/run.sh) or with driver.c, which replays a corpus and a fixed number of seeded
 * mutations of it, so ctest exercises every target on each run without clang.
 *
 * A target returns 0 and aborts (through assert-like fuzz_check) when a property breaks, so
 * both runners report it the same way.
 */
#ifndef CP_FUZZ_H
#define CP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message when cond is false: a property of the target broke. */
#define fuzz_check(cond, what)                                                                     \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "fuzz: %s (%s:%d)\n", (what), __FILE__, __LINE__);         \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#endif
