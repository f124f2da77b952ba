/* The strict query string (http/query.h): parsed from the bytes after
 * '?', then read as the route handlers read it. */
#include "fuzz.h"
#include "http/query.h"

static const char *const keys[] = {"confirm", "limit", "cursor", "post_id", "run_id", "a"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = fuzz_exact(data, size);
    char why[256];
    sd_query q;
    if (sd_query_parse(raw, size, &q, why, sizeof why) == SD_OK) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const char *v;
            if (sd_query_get(&q, keys[i], &v, why, sizeof why) == SD_OK && v != NULL)
                (void)strlen(v);
        }
        for (size_t i = 0; i < q.n; i++)
            (void)strlen(q.args[i].key);
    }
    sd_query_free(&q);
    free(raw);
    return 0;
}
