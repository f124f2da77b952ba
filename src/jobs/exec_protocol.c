/* The exec handler's line protocol and stream pieces; see the header. */
#include "jobs/exec_protocol.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "statusd/json.h"

/* A malloc'd copy of s[0..len), NUL-terminated; NULL when out of memory. */
static char *copy_bytes(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* progress must be a number with an integer value in 0..100 (so 40 and
 * 40.0 are the same, 40.5 is refused). */
static sd_err parse_progress(const cJSON *item, sd_exec_line *out)
{
    if (!cJSON_IsNumber(item))
        return SD_ERR_INVALID;
    double v = item->valuedouble;
    if (!isfinite(v) || v < 0 || v > 100 || floor(v) != v)
        return SD_ERR_INVALID;
    out->has_progress = true;
    out->progress = (int)v;
    return SD_OK;
}

/* The stage is cut to SD_EXEC_STAGE_MAX bytes on a character boundary;
 * the text is valid UTF-8 (sd_json_check saw to it, and cJSON decodes
 * escapes to valid UTF-8), so backing up over continuation bytes finds
 * the boundary. */
static sd_err parse_stage(const cJSON *item, sd_exec_line *out)
{
    if (cJSON_IsNull(item)) {
        out->has_stage = true;
        out->stage = NULL;
        return SD_OK;
    }
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return SD_ERR_INVALID;
    const char *s = item->valuestring;
    size_t len = strlen(s);
    if (len > SD_EXEC_STAGE_MAX) {
        len = SD_EXEC_STAGE_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    out->stage = copy_bytes(s, len);
    if (out->stage == NULL)
        return SD_ERR_NOMEM;
    out->has_stage = true;
    return SD_OK;
}

static sd_err parse_result(const cJSON *item, sd_exec_line *out)
{
    out->has_result = true;
    if (cJSON_IsNull(item))
        return SD_OK;
    char *printed = cJSON_PrintUnformatted(item);
    if (printed == NULL)
        return SD_ERR_NOMEM;
    /* Copied so that the owner frees it with free(), whatever allocator
     * hooks cJSON was given. */
    out->result = copy_bytes(printed, strlen(printed));
    cJSON_free(printed);
    return out->result != NULL ? SD_OK : SD_ERR_NOMEM;
}

static sd_err parse_error(const cJSON *item, sd_exec_line *out)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(item, "code");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(item, "message");
    if (!cJSON_IsObject(item) || !cJSON_IsString(code) || !cJSON_IsString(message))
        return SD_ERR_INVALID;
    size_t clen = strlen(code->valuestring);
    if (clen == 0 || clen >= SD_ERROR_CODE_MAX)
        return SD_ERR_INVALID;
    out->error_code = copy_bytes(code->valuestring, clen);
    out->error_message = copy_bytes(message->valuestring, strlen(message->valuestring));
    if (out->error_code == NULL || out->error_message == NULL)
        return SD_ERR_NOMEM;
    out->has_error = true;
    return SD_OK;
}

sd_err sd_exec_parse_line(const char *line, size_t len, sd_exec_line *out)
{
    memset(out, 0, sizeof *out);
    /* Cheap test first: most plain output does not start with '{'. */
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
        i++;
    if (i == len || line[i] != '{')
        return SD_ERR_BAD_JSON;

    cJSON *root = NULL;
    sd_err err = sd_json_parse(line, len, SD_JSON_MAX_DEPTH, &root);
    if (err != SD_OK)
        return err;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return SD_ERR_BAD_JSON;
    }

    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "progress");
    if (item != NULL)
        err = parse_progress(item, out);
    item = cJSON_GetObjectItemCaseSensitive(root, "stage");
    if (err == SD_OK && item != NULL)
        err = parse_stage(item, out);
    item = cJSON_GetObjectItemCaseSensitive(root, "result");
    if (err == SD_OK && item != NULL)
        err = parse_result(item, out);
    item = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (err == SD_OK && item != NULL)
        err = parse_error(item, out);

    cJSON_Delete(root);
    if (err != SD_OK)
        sd_exec_line_free(out);
    return err;
}

void sd_exec_line_free(sd_exec_line *l)
{
    if (l == NULL)
        return;
    free(l->stage);
    free(l->result);
    free(l->error_code);
    free(l->error_message);
    memset(l, 0, sizeof *l);
}

sd_err sd_exec_lines_feed(sd_exec_lines *l, const char *data, size_t n,
                          sd_exec_line_fn fn, void *arg, size_t *dropped)
{
    sd_err rc = SD_OK;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t seg = nl != NULL ? (size_t)(nl - data) : n;
        if (!l->discarding) {
            if (l->line.len + seg > SD_EXEC_LINE_MAX) {
                l->discarding = true;
                sd_buf_reset(&l->line);
                if (dropped != NULL)
                    (*dropped)++;
            } else {
                sd_buf_append(&l->line, data, seg);
                if (!sd_buf_ok(&l->line)) {
                    /* The rest of this line goes too: half a line is not
                     * the line the program wrote. */
                    rc = SD_ERR_NOMEM;
                    l->discarding = true;
                    sd_buf_free(&l->line);
                }
            }
        }
        if (nl == NULL)
            break;
        if (!l->discarding)
            fn(arg, l->line.data, l->line.len);
        sd_buf_reset(&l->line);
        l->discarding = false;
        data = nl + 1;
        n -= seg + 1;
    }
    return rc;
}

void sd_exec_lines_end(sd_exec_lines *l, sd_exec_line_fn fn, void *arg)
{
    if (!l->discarding && l->line.len > 0)
        fn(arg, l->line.data, l->line.len);
    sd_buf_free(&l->line);
    l->discarding = false;
}

void sd_exec_tail_feed(sd_exec_tail *t, const char *data, size_t n)
{
    if (t->len + n <= SD_EXEC_TAIL_MAX) {
        memcpy(t->data + t->len, data, n);
        t->len += n;
        return;
    }
    size_t drop = t->len + n - SD_EXEC_TAIL_MAX;
    t->cut = true;
    if (drop >= t->len) {
        /* All the old bytes go, and drop - len of the new ones. */
        size_t skip = drop - t->len;
        t->cut_at_line = (skip > 0 ? data[skip - 1] : t->data[t->len - 1]) == '\n';
        memcpy(t->data, data + skip, n - skip);
    } else {
        t->cut_at_line = t->data[drop - 1] == '\n';
        memmove(t->data, t->data + drop, t->len - drop);
        memcpy(t->data + t->len - drop, data, n);
    }
    t->len = SD_EXEC_TAIL_MAX;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *sd_exec_tail_text(sd_exec_tail *t)
{
    char *s = t->data, *end = t->data + t->len;
    if (t->cut && !t->cut_at_line) {
        char *nl = memchr(s, '\n', t->len);
        if (nl != NULL && nl + 1 < end)
            s = nl + 1;
        else
            while (s < end && ((unsigned char)*s & 0xC0) == 0x80)
                s++;
    }
    while (s < end && is_space(*s))
        s++;
    while (end > s && is_space(end[-1]))
        end--;
    *end = '\0';
    return s;
}
