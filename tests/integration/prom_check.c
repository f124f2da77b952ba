/*
 * A checker of the Prometheus text exposition format (version 0.0.4),
 * line by line, for the /metrics tests. It is strict where statusd's
 * output has no reason to differ from the format: the only comments are
 * "# HELP" and "# TYPE", and there are no empty lines.
 */
#include "prom_check.h"

#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"

#define MAX_FAMILIES 64

typedef struct family {
    char name[128];
    char type[16];
    bool help;
    bool done;           /* its samples ended: it must not come back */
} family;

typedef struct families {
    family f[MAX_FAMILIES];
    size_t n;
    family *current;     /* the family of the last sample */
} families;

static family *family_find(families *fs, const char *name, size_t len)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strlen(fs->f[i].name) == len && memcmp(fs->f[i].name, name, len) == 0)
            return &fs->f[i];
    return NULL;
}

static family *family_get(families *fs, const char *name, size_t len)
{
    family *f = family_find(fs, name, len);
    if (f != NULL)
        return f;
    assert_true(fs->n < MAX_FAMILIES && len < sizeof fs->f[0].name);
    f = &fs->f[fs->n++];
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    return f;
}

/* Length of the metric or label name at s ([a-zA-Z_:][a-zA-Z0-9_:]*, no
 * ':' for labels); 0 when there is none. */
static size_t name_len(const char *s, bool label)
{
    size_t n = 0;
    for (;; n++) {
        char c = s[n];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                     (c == ':' && !label);
        if (!alpha && !(n > 0 && c >= '0' && c <= '9'))
            return n;
    }
}

/* A float as the format writes it: Go's ParseFloat syntax or ±Inf/NaN. */
static bool value_ok(const char *s)
{
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0)
        return true;
    char *end = NULL;
    double v = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(v);
}

/* {name="value",...} at p; returns the text after '}', or NULL. Values
 * escape only backslash, double quote and newline. */
static const char *labels_end(const char *p)
{
    assert_true(*p == '{');
    p++;
    while (*p != '}') {
        size_t n = name_len(p, true);
        if (n == 0 || p[n] != '=' || p[n + 1] != '"')
            return NULL;
        p += n + 2;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return NULL;
            if (*p == '\\' && strchr("\\\"n", p[1]) == NULL)
                return NULL;
            p += *p == '\\' ? 2 : 1;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

/* The family a sample name belongs to: itself, or for _bucket, _sum and
 * _count the histogram it names. */
static family *sample_family(families *fs, const char *name, size_t len)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && memcmp(name + len - sl, suffixes[i], sl) == 0) {
            family *h = family_find(fs, name, len - sl);
            if (h != NULL && strcmp(h->type, "histogram") == 0)
                return h;
        }
    }
    family *f = family_find(fs, name, len);
    if (f != NULL && strcmp(f->type, "histogram") == 0)
        fail_msg("histogram sample without a suffix: %.*s", (int)len, name);
    return f;
}

static void check_comment(families *fs, const char *line)
{
    bool help = strncmp(line, "# HELP ", 7) == 0;
    if (!help && strncmp(line, "# TYPE ", 7) != 0)
        fail_msg("a comment that is neither # HELP nor # TYPE: %s", line);
    const char *name = line + 7;
    size_t n = name_len(name, false);
    if (n == 0 || name[n] != ' ' || name[n + 1] == '\0')
        fail_msg("malformed line: %s", line);
    family *f = family_get(fs, name, n);
    if (f->done || fs->current == f)
        fail_msg("%s after the family's samples", line);
    if (help) {
        if (f->help)
            fail_msg("a second HELP: %s", line);
        f->help = true;
        return;
    }
    const char *type = name + n + 1;
    if (f->type[0] != '\0')
        fail_msg("a second TYPE: %s", line);
    if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
        strcmp(type, "histogram") != 0 && strcmp(type, "summary") != 0 &&
        strcmp(type, "untyped") != 0)
        fail_msg("unknown type: %s", line);
    snprintf(f->type, sizeof f->type, "%s", type);
}

static void check_sample(families *fs, const char *line)
{
    size_t n = name_len(line, false);
    if (n == 0)
        fail_msg("neither a comment nor a sample: %s", line);
    const char *p = line + n;
    if (*p == '{')
        p = labels_end(p);
    if (p == NULL || *p != ' ') {
        fail_msg("malformed labels or no value: %s", line);
        return;
    }
    char value[64];
    const char *sp = strchr(p + 1, ' ');
    size_t vlen = sp != NULL ? (size_t)(sp - p - 1) : strlen(p + 1);
    assert_true(vlen < sizeof value);
    memcpy(value, p + 1, vlen);
    value[vlen] = '\0';
    if (!value_ok(value))
        fail_msg("bad value: %s", line);
    if (sp != NULL) {   /* an optional integer timestamp */
        char *end = NULL;
        (void)strtoll(sp + 1, &end, 10);
        if (end == sp + 1 || *end != '\0')
            fail_msg("bad timestamp: %s", line);
    }
    family *f = sample_family(fs, line, n);
    if (f == NULL || f->type[0] == '\0')
        fail_msg("a sample without a TYPE before it: %s", line);
    if (f != fs->current) {
        if (f->done)
            fail_msg("the samples of %s are not one group: %s", f->name, line);
        if (fs->current != NULL)
            fs->current->done = true;
        fs->current = f;
    }
}

void prom_assert_exposition(const char *body)
{
    families *fs = calloc(1, sizeof *fs);
    assert_non_null(fs);
    size_t len = strlen(body);
    assert_true(len > 0 && body[len - 1] == '\n');
    char *copy = strdup(body);
    assert_non_null(copy);
    char *save = NULL;
    size_t lines = 0;
    for (char *line = copy; (line = strchr(line, '\n')) != NULL; line++)
        lines++;
    size_t seen = 0;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), seen++) {
        if (line[0] == '#')
            check_comment(fs, line);
        else
            check_sample(fs, line);
    }
    if (seen != lines)
        fail_msg("empty lines in the exposition");
    for (size_t i = 0; i < fs->n; i++)
        if (!fs->f[i].help || fs->f[i].type[0] == '\0')
            fail_msg("family %s lacks HELP or TYPE", fs->f[i].name);
    free(copy);
    free(fs);
}

void prom_assert_promtool(const char *body)
{
    char *dir = test_tempdir("promtool");
    assert_non_null(dir);
    char *in = test_write_file(dir, "metrics.txt", body, 0600);
    assert_non_null(in);
    char out[600];
    snprintf(out, sizeof out, "%s/report.txt", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fin = open(in, O_RDONLY), fout = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fin < 0 || fout < 0 || dup2(fin, STDIN_FILENO) < 0 ||
            dup2(fout, STDOUT_FILENO) < 0 || dup2(fout, STDERR_FILENO) < 0)
            _exit(126);
        execlp("promtool", "promtool", "check", "metrics", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        FILE *f = fopen(out, "r");
        char line[512];
        while (f != NULL && fgets(line, sizeof line, f) != NULL)
            fputs(line, stderr);
        if (f != NULL)
            fclose(f);
        fail_msg("promtool check metrics exited %d (127: promtool is not on PATH)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    free(in);
    test_rmdir(dir);
    free(dir);
}
