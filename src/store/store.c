/*
 * Helpers shared by every store implementation and its callers: the owned
 * record, list and page types of statusd/store.h.
 */
#include "statusd/store.h"

#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"

void sd_record_clear(sd_record *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->fields[i].name);
        free(r->fields[i].value);
    }
    free(r->fields);
    r->fields = NULL;
    r->count = 0;
    r->expires_ms = 0;
}

static sd_field *record_find(const sd_record *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

const char *sd_record_get(const sd_record *r, const char *name, size_t *len_out)
{
    const sd_field *f = record_find(r, name);
    if (f == NULL)
        return NULL;
    if (len_out != NULL)
        *len_out = f->len;
    return f->value;
}

sd_err sd_record_get_i64(const sd_record *r, const char *name, int64_t *out)
{
    size_t len = 0;
    const char *v = sd_record_get(r, name, &len);
    if (v == NULL)
        return SD_ERR_NOT_FOUND;
    /* A value with an embedded NUL is not a number, whatever its prefix. */
    if (strlen(v) != len)
        return SD_ERR_INVALID;
    return sd_parse_i64(v, INT64_MIN, INT64_MAX, out);
}

/* A NUL-terminated copy of value[0..len); NULL on allocation failure. */
static char *value_dup(const char *value, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = malloc(len + 1);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, value, len);
    p[len] = '\0';
    return p;
}

sd_err sd_record_set(sd_record *r, const char *name, const char *value, size_t len)
{
    if (r == NULL || name == NULL || (value == NULL && len > 0))
        return SD_ERR_INVALID;
    char *copy = value_dup(value, len);
    if (copy == NULL)
        return SD_ERR_NOMEM;
    sd_field *f = record_find(r, name);
    if (f != NULL) {
        free(f->value);
        f->value = copy;
        f->len = len;
        return SD_OK;
    }
    char *name_copy = strdup(name);
    if (name_copy == NULL) {
        free(copy);
        return SD_ERR_NOMEM;
    }
    if (r->count >= SIZE_MAX / sizeof *r->fields - 1)
        goto nomem;
    sd_field *fields = realloc(r->fields, (r->count + 1) * sizeof *fields);
    if (fields == NULL)
        goto nomem;
    r->fields = fields;
    r->fields[r->count++] = (sd_field){name_copy, copy, len};
    return SD_OK;
nomem:
    free(name_copy);
    free(copy);
    return SD_ERR_NOMEM;
}

void sd_list_clear(sd_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    free(l->lens);
    l->items = NULL;
    l->lens = NULL;
    l->count = 0;
    l->expires_ms = 0;
}

void sd_page_clear(sd_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->next_cursor);
    p->ids = NULL;
    p->count = 0;
    p->next_cursor = NULL;
}
