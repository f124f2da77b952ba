/* JSON Merge Patch (api/merge_patch.h): the input is a target document
 * and a patch, separated by the first newline; both go through the same
 * checks as a request body first. */
#include <cjson/cJSON.h>

#include "api/merge_patch.h"
#include "fuzz.h"
#include "statusd/json.h"

static cJSON *parse(const uint8_t *data, size_t size)
{
    char *text = fuzz_exact(data, size);
    cJSON *v = NULL;
    if (sd_json_parse(text, size, SD_JSON_MAX_DEPTH, &v) != SD_OK)
        v = NULL;
    free(text);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL)
        return 0;
    size_t tlen = (size_t)(nl - data);
    cJSON *target = parse(data, tlen);
    cJSON *patch = parse(nl + 1, size - tlen - 1);
    bool nomem = false;
    if (patch != NULL && merge_patch_names_unique(patch, &nomem) &&
        (target == NULL || merge_patch_names_unique(target, &nomem))) {
        (void)merge_patch_apply(&target, patch);
        char *out = target != NULL ? cJSON_PrintUnformatted(target) : NULL;
        cJSON_free(out);
    }
    cJSON_Delete(target);
    cJSON_Delete(patch);
    return 0;
}
