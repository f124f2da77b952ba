/*
 * The handler factory and the outcome helpers. A spec names one handler:
 *   builtin:demo                   (demo.c)
 *   exec:/path/to/program [args]   (exec.c)
 *   http://... or https://...      (http_handler.c)
 *   external                       (here: it has no run at all)
 * Anything else is refused at construction, so a bad config fails at
 * start-up rather than on the first job.
 *
 * The words of a spec (program and arguments) are split the way a shell
 * would split simple words, but no shell is ever involved:
 *   - words are separated by spaces and tabs;
 *   - '...' groups text as it is;
 *   - "..." groups text in which \" and \\ stand for " and \ (any other
 *     backslash is kept as it is); outside quotes a backslash is plain;
 *   - pieces written next to each other join into one word, so
 *     --name="a b" is one word, and "" is an empty word.
 */
#include "statusd/handler.h"
#include "statusd/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/handlers.h"
#include "statusd/util.h"

/* Longest error message an outcome keeps, in bytes. */
#define MESSAGE_MAX 4096

/* Used when the caller passes no options: the config file's defaults. */
static const sd_handler_opts default_opts = {
    .demo_step_ms = 300,
    .kill_grace_ms = 2000,
};

void sd_outcome_clear(sd_outcome *o)
{
    if (o == NULL)
        return;
    free(o->result);
    free(o->error_message);
    memset(o, 0, sizeof *o);
}

/*
 * Messages come from programs' stderr and may hold any bytes, but they end
 * up in JSON: each byte that does not start a valid UTF-8 sequence becomes
 * U+FFFD, and the copy stops at a character boundary within MESSAGE_MAX.
 * NULL when out of memory.
 */
static char *message_copy(const char *message)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)message;
    size_t len = strlen(message);
    sd_buf b = SD_BUF_INIT;
    size_t i = 0;
    while (i < len) {
        size_t n = sd_utf8_seq(message + i, len - i);
        const void *piece = n > 0 ? (const void *)(p + i) : (const void *)replacement;
        size_t piece_len = n > 0 ? n : sizeof replacement - 1;
        if (b.len + piece_len > MESSAGE_MAX)
            break;
        sd_buf_append(&b, piece, piece_len);
        i += n > 0 ? n : 1;
    }
    return sd_buf_steal(&b, NULL);
}

/* *o must be initialised (zeroed or a previous outcome): strings it holds
 * are freed. */
void sd_outcome_fail(sd_outcome *o, const char *code, const char *message)
{
    free(o->result);
    o->result = NULL;
    free(o->error_message);
    o->error_message = NULL;
    o->kind = SD_OUTCOME_FAILED;
    snprintf(o->error_code, sizeof o->error_code, "%s", code != NULL ? code : "failed");
    /* Out of memory leaves the message NULL; the code still says what
     * happened. */
    if (message != NULL)
        o->error_message = message_copy(message);
}

void sd_outcome_fail_timeout(sd_outcome *o, int64_t timeout_ms)
{
    char msg[96];
    int64_t secs = timeout_ms / 1000, frac = timeout_ms % 1000;
    if (frac == 0) {
        snprintf(msg, sizeof msg, "job exceeded job_timeout of %lld s", (long long)secs);
    } else {
        char digits[8];
        snprintf(digits, sizeof digits, "%03lld", (long long)frac);
        for (int i = 2; i > 0 && digits[i] == '0'; i--)
            digits[i] = '\0';
        snprintf(msg, sizeof msg, "job exceeded job_timeout of %lld.%s s",
                 (long long)secs, digits);
    }
    sd_outcome_fail(o, "timeout", msg);
}

void sd_handler_free_words(char **argv)
{
    if (argv == NULL)
        return;
    for (char **a = argv; *a != NULL; a++)
        free(*a);
    free(argv);
}

/* Appends the finished word to *argv (NULL-terminated, *argc words). */
static sd_err push_word(char ***argv, size_t *argc, sd_buf *word)
{
    char **grown = realloc(*argv, (*argc + 2) * sizeof **argv);
    if (grown == NULL)
        return SD_ERR_NOMEM;
    *argv = grown;
    char *w = sd_buf_steal(word, NULL);
    if (w == NULL)
        return SD_ERR_NOMEM;
    grown[(*argc)++] = w;
    grown[*argc] = NULL;
    return SD_OK;
}

sd_err sd_handler_split_words(const char *s, char ***argv_out, char *err, size_t errlen)
{
    char **argv = NULL;
    size_t argc = 0;
    sd_buf word = SD_BUF_INIT;
    bool in_word = false;
    sd_err rc = SD_OK;
    const char *p = s;
    for (;;) {
        char c = *p;
        if (c == '\0' || c == ' ' || c == '\t') {
            if (in_word && (rc = push_word(&argv, &argc, &word)) != SD_OK)
                break;
            in_word = false;
            if (c == '\0')
                break;
            p++;
            continue;
        }
        in_word = true;
        if (c == '\'') {
            const char *close = strchr(p + 1, '\'');
            if (close == NULL) {
                sd_errf(err, errlen, "handler spec has an unterminated ' quote");
                rc = SD_ERR_INVALID;
                break;
            }
            sd_buf_append(&word, p + 1, (size_t)(close - p - 1));
            p = close + 1;
        } else if (c == '"') {
            for (p++; *p != '\0' && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                sd_buf_putc(&word, *p);
            }
            if (*p == '\0') {
                sd_errf(err, errlen, "handler spec has an unterminated \" quote");
                rc = SD_ERR_INVALID;
                break;
            }
            p++;
        } else {
            sd_buf_putc(&word, c);
            p++;
        }
        if (!sd_buf_ok(&word)) {
            rc = SD_ERR_NOMEM;
            break;
        }
    }
    sd_buf_free(&word);
    if (rc == SD_OK && argc == 0) {
        sd_errf(err, errlen, "handler spec names no program");
        rc = SD_ERR_INVALID;
    }
    if (rc != SD_OK) {
        sd_handler_free_words(argv);
        return rc;
    }
    *argv_out = argv;
    return SD_OK;
}

/* external: jobs start processing at submit and the app reports on them;
 * no worker ever runs one, so a run is a broken invariant. */
static sd_err external_run(sd_handler *h, const sd_job_run *job, sd_outcome *out)
{
    (void)h;
    (void)job;
    memset(out, 0, sizeof *out);
    sd_outcome_fail(out, "no_handler", "external jobs are run by the app, not by statusd");
    out->final = true;
    return SD_ERR_INTERNAL;
}

static void external_free(sd_handler *h)
{
    (void)h;
}

static const sd_handler_ops external_ops = {
    .scheme = "external",
    .flags = SD_HANDLER_TOKEN | SD_HANDLER_EXTERNAL,
    .run = external_run,
    .free = external_free,
};

static sd_handler external_handler = {&external_ops};

sd_err sd_handler_new(const char *spec, const sd_handler_opts *opts,
                      sd_handler **out, char *err, size_t errlen)
{
    static const char builtin[] = "builtin:", exec[] = "exec:";
    if (out == NULL)
        return SD_ERR_INVALID;
    *out = NULL;
    if (spec == NULL) {
        sd_errf(err, errlen, "no handler spec given");
        return SD_ERR_INVALID;
    }
    if (opts == NULL)
        opts = &default_opts;
    if (opts->demo_step_ms < 0 || opts->kill_grace_ms < 0) {
        sd_errf(err, errlen, "handler options must not be negative");
        return SD_ERR_INVALID;
    }

    if (strncmp(spec, builtin, sizeof builtin - 1) == 0) {
        const char *name = spec + sizeof builtin - 1;
        if (strcmp(name, "demo") == 0)
            return sd_demo_new(opts, out);
        sd_errf(err, errlen, "unknown builtin handler '%s' (known: demo)", name);
        return SD_ERR_INVALID;
    }
    if (strncmp(spec, exec, sizeof exec - 1) == 0)
        return sd_exec_new(spec + sizeof exec - 1, opts, out, err, errlen);
    if (strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0)
        return sd_http_handler_new(spec, out, err, errlen);
    if (strcmp(spec, "external") == 0) {
        *out = &external_handler;
        return SD_OK;
    }

    sd_errf(err, errlen,
                    "unknown handler '%s' (expected builtin:demo, exec:/path/to/program, "
                    "http(s)://url or external)", spec);
    return SD_ERR_INVALID;
}
