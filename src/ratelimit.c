/* Request limits over the store's GCRA step. */
#include "statusd/ratelimit.h"

#include <stdio.h>
#include <string.h>

sd_err sd_ratelimit_take(sd_store *s, const char *cls, const char *key,
                         int64_t per_minute, sd_rate *out)
{
    memset(out, 0, sizeof *out);
    if (per_minute <= 0) {
        out->allowed = true;
        return SD_OK;
    }
    char name[320];
    int n = snprintf(name, sizeof name, "%s:%s", cls, key);
    if (n < 0 || (size_t)n >= sizeof name)
        return SD_ERR_INVALID;
    return sd_store_rate_check(s, name, per_minute, SD_RATELIMIT_WINDOW_S * 1000, out);
}
