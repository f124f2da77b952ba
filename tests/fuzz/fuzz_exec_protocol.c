/* The exec handler's line protocol (jobs/exec_protocol.h): one line
 * parsed whole, then the input fed as a stream in chunks whose sizes come
 * from the input itself, and to the stderr tail. */
#include "fuzz.h"
#include "jobs/exec_protocol.h"

static void on_line(void *arg, const char *line, size_t len)
{
    size_t *count = arg;
    char *copy = fuzz_exact((const uint8_t *)line, len);
    sd_exec_line pl;
    if (sd_exec_parse_line(copy, len, &pl) == SD_OK)
        sd_exec_line_free(&pl);
    free(copy);
    (*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_exact(data, size);
    sd_exec_line pl;
    if (sd_exec_parse_line(text, size, &pl) == SD_OK)
        sd_exec_line_free(&pl);

    sd_exec_lines lines = SD_EXEC_LINES_INIT;
    sd_exec_tail *tail = calloc(1, sizeof *tail);
    if (tail == NULL)
        abort();
    size_t count = 0, dropped = 0, off = 0;
    for (size_t i = 0; off < size; i++) {
        size_t chunk = 1 + (size > 0 ? (unsigned char)text[i % size] % 64 : 0);
        if (chunk > size - off)
            chunk = size - off;
        char *part = fuzz_exact(data + off, chunk);
        (void)sd_exec_lines_feed(&lines, part, chunk, on_line, &count, &dropped);
        sd_exec_tail_feed(tail, part, chunk);
        free(part);
        off += chunk;
    }
    sd_exec_lines_end(&lines, on_line, &count);
    (void)sd_exec_tail_text(tail);
    free(tail);
    free(text);
    return 0;
}
