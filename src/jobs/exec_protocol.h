#ifndef STATUSD_JOBS_EXEC_PROTOCOL_H
#define STATUSD_JOBS_EXEC_PROTOCOL_H

/*
 * The line protocol of exec handlers, as a pure parser with no I/O. A
 * program reports by printing one JSON object a line on stdout:
 *   {"progress": 40}                      progress, an integer 0..100
 *   {"stage": "fetching"}                 stage text (null: no stage)
 *   {"progress": 80, "stage": "writing"}
 *   {"result": {...}}                     the job's result, any JSON value
 *   {"error": {"code": "...", "message": "..."}}   the run failed (read by
 *                                         the http handler's streams; exec
 *                                         programs fail by their exit status)
 * Members may be combined in one line; other members are ignored. Lines
 * that are not JSON objects are the program's own output and are skipped.
 *
 * Besides the line parser, the two stream pieces the handler needs, both
 * free of I/O: a splitter of stdout into capped lines, and the tail kept
 * of stderr for the error message.
 */

#include <stdbool.h>
#include <stddef.h>

#include "statusd/error.h"
#include "statusd/handler.h"
#include "statusd/util.h"

/* Longest stage kept, in bytes; a longer one is cut at the last whole
 * UTF-8 character that fits. */
#define SD_EXEC_STAGE_MAX 200

typedef struct sd_exec_line {
    bool has_progress;
    int progress;          /* 0..100 */
    bool has_stage;
    char *stage;           /* NULL when the line says "stage": null */
    bool has_result;
    char *result;          /* compact JSON text; NULL for "result": null */
    bool has_error;
    char *error_code;      /* 1..SD_ERROR_CODE_MAX-1 bytes */
    char *error_message;   /* may be "" */
} sd_exec_line;

/*
 * Parses line[0..len) (no newline needed; surrounding white space is fine)
 * into *out, which is overwritten. Returns:
 *   SD_OK            a protocol line: a JSON object; *out holds what it set
 *                    (possibly nothing) and is released with
 *                    sd_exec_line_free()
 *   SD_ERR_BAD_JSON  not a protocol line: not JSON (or not UTF-8), or JSON
 *                    that is not an object (array, string, number, empty)
 *   SD_ERR_TOO_DEEP  an object nested deeper than SD_JSON_MAX_DEPTH
 *   SD_ERR_INVALID   an object with a malformed member: progress that is
 *                    not an integer-valued number in 0..100, stage that
 *                    is neither a string nor null, or error that is not
 *                    {"code": non-empty string, "message": string}; the
 *                    whole line is void
 *   SD_ERR_NOMEM
 * On any error *out holds nothing to free.
 */
sd_err sd_exec_parse_line(const char *line, size_t len, sd_exec_line *out);

/* Frees what sd_exec_parse_line() set and clears *l. */
void sd_exec_line_free(sd_exec_line *l);

/* Longest stdout line read, in bytes, without its newline. */
#define SD_EXEC_LINE_MAX (1024 * 1024)

/* Splits a byte stream into lines. Start from SD_EXEC_LINES_INIT. */
typedef struct sd_exec_lines {
    sd_buf line;        /* the line being read */
    bool discarding;    /* it passed SD_EXEC_LINE_MAX: dropped up to its newline */
} sd_exec_lines;

#define SD_EXEC_LINES_INIT {SD_BUF_INIT, false}

typedef void (*sd_exec_line_fn)(void *arg, const char *line, size_t len);

/*
 * Feeds data[0..n): fn gets each complete line, without its newline. A
 * line longer than SD_EXEC_LINE_MAX bytes is dropped whole, and *dropped
 * (when not NULL) counts it when it passes the limit. SD_ERR_NOMEM loses
 * the line being read; reading may go on.
 */
sd_err sd_exec_lines_feed(sd_exec_lines *l, const char *data, size_t n,
                          sd_exec_line_fn fn, void *arg, size_t *dropped);

/* End of the stream: fn gets the last line when it had no newline (and was
 * not dropped); l's memory is freed and l can be fed again. */
void sd_exec_lines_end(sd_exec_lines *l, sd_exec_line_fn fn, void *arg);

/* Longest stderr tail kept, in bytes. */
#define SD_EXEC_TAIL_MAX 4096

/* The last SD_EXEC_TAIL_MAX bytes of a stream. Start from all zeroes. */
typedef struct sd_exec_tail {
    char data[SD_EXEC_TAIL_MAX + 1];
    size_t len;
    bool cut;           /* older bytes were dropped */
    bool cut_at_line;   /* ... and the last of them was a newline */
} sd_exec_tail;

void sd_exec_tail_feed(sd_exec_tail *t, const char *data, size_t n);

/*
 * The tail as one message, without surrounding white space: when older
 * bytes were dropped it starts at the first whole line (or, with no line
 * break, at the first whole UTF-8 character). "" when nothing is left. Points
 * into t, which it NUL-terminates; feeding t again invalidates it.
 */
const char *sd_exec_tail_text(sd_exec_tail *t);

#endif
