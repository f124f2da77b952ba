#ifndef SD_FUZZ_H
#define SD_FUZZ_H

/*
 * Shared by the libFuzzer harnesses. Every harness hands a parser its
 * input exactly as the fuzzer gives it: copied into a heap block of
 * exactly that size, with no terminating NUL, so AddressSanitizer stops a
 * parser that reads one byte past the length it was given. Parsers whose
 * interface is a C string get the input with a NUL added (they read up to
 * it by contract).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..size) in a block of exactly size bytes (at least 1 allocated
 * byte when size is 0, never read). The caller frees it. */
static inline char *fuzz_exact(const uint8_t *data, size_t size)
{
    char *p = malloc(size > 0 ? size : 1);
    if (p == NULL)
        abort();
    if (size > 0)
        memcpy(p, data, size);
    return p;
}

/* data[0..size) and a NUL, for C-string interfaces. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);
    if (p == NULL)
        abort();
    if (size > 0)
        memcpy(p, data, size);
    p[size] = '\0';
    return p;
}

#endif
