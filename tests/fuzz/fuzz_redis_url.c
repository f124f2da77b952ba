/* The Redis URL parser (sd_redis_url_parse, a C-string interface) and
 * the same text as the redis_url setting, which masks its password. */
#include "fuzz.h"
#include "statusd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    sd_redis_target t;
    char err[512];
    (void)sd_redis_url_parse(url, &t, err, sizeof err);
    sd_config cfg;
    sd_config_defaults(&cfg);
    (void)sd_config_set(&cfg, "redis_url", url, err, sizeof err);
    free(url);
    return 0;
}
