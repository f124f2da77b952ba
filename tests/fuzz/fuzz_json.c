/* The JSON input checks and the strict parse (statusd/json.h). */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "statusd/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_exact(data, size);
    (void)sd_json_check(text, size, SD_JSON_MAX_DEPTH);
    cJSON *v = NULL;
    if (sd_json_parse(text, size, SD_JSON_MAX_DEPTH, &v) == SD_OK) {
        sd_buf b = SD_BUF_INIT;
        sd_json_append_item(&b, v);
        if (sd_buf_ok(&b))
            (void)sd_utf8_length(b.data, b.len);
        sd_buf_free(&b);
        cJSON_Delete(v);
    }
    free(text);
    return 0;
}
