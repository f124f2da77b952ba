/*
 * JSON Merge Patch (RFC 7396). The pseudo-code of section 2, with the
 * target changed in place: members keep their order, a replaced member
 * keeps its position, new members go at the end.
 */
#include "api/merge_patch.h"

#include <stdlib.h>
#include <string.h>

static sd_err merge_into(cJSON *target, const cJSON *patch);

/* The value patch gives a member that target lacks or holds as a
 * non-object (MergePatch of a non-object target): an object patch merged
 * into {}, which drops its nulls, else a copy of the patch. NULL on
 * allocation failure. */
static cJSON *merge_fresh(const cJSON *patch)
{
    if (!cJSON_IsObject(patch))
        return cJSON_Duplicate(patch, true);
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL)
        return NULL;
    if (merge_into(obj, patch) != SD_OK) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* Merges the members of the object patch into the object target. */
static sd_err merge_into(cJSON *target, const cJSON *patch)
{
    for (const cJSON *m = patch->child; m != NULL; m = m->next) {
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, m->string);
        if (cJSON_IsNull(m)) {
            if (cur != NULL)
                cJSON_Delete(cJSON_DetachItemViaPointer(target, cur));
            continue;
        }
        if (cur != NULL && cJSON_IsObject(cur) && cJSON_IsObject(m)) {
            sd_err err = merge_into(cur, m);
            if (err != SD_OK)
                return err;
            continue;
        }
        cJSON *value = merge_fresh(m);
        if (value == NULL)
            return SD_ERR_NOMEM;
        cJSON_bool ok = cur != NULL
                            ? cJSON_ReplaceItemInObjectCaseSensitive(target, m->string, value)
                            : cJSON_AddItemToObject(target, m->string, value);
        if (!ok) {
            cJSON_Delete(value);
            return SD_ERR_NOMEM;
        }
    }
    return SD_OK;
}

sd_err merge_patch_apply(cJSON **target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch)) {
        cJSON *copy = cJSON_Duplicate(patch, true);
        if (copy == NULL)
            return SD_ERR_NOMEM;
        cJSON_Delete(*target);
        *target = copy;
        return SD_OK;
    }
    if (!cJSON_IsObject(*target)) {
        cJSON *obj = cJSON_CreateObject();
        if (obj == NULL)
            return SD_ERR_NOMEM;
        cJSON_Delete(*target);
        *target = obj;
    }
    return merge_into(*target, patch);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Objects are checked by sorting their names (n log n, so an object of
 * tens of thousands of members costs no more than parsing it did). */
bool merge_patch_names_unique(const cJSON *v, bool *nomem)
{
    *nomem = false;
    size_t n = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
        if (!merge_patch_names_unique(c, nomem))
            return false;
        n++;
    }
    if (!cJSON_IsObject(v) || n < 2)
        return true;
    const char **names = malloc(n * sizeof *names);
    if (names == NULL) {
        *nomem = true;
        return false;
    }
    size_t i = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next)
        names[i++] = c->string;
    qsort(names, n, sizeof *names, name_cmp);
    bool unique = true;
    for (i = 1; i < n && unique; i++)
        unique = strcmp(names[i - 1], names[i]) != 0;
    free(names);
    return unique;
}
