/* Path decoding and routing over statusd's own route table: the input is
 * a raw request target (a query after '?' is left to fuzz_query), as the
 * server decodes it (server.c, req_decode_target). */
#include "fuzz.h"
#include "http/query.h"
#include "http/router.h"
#include "statusd/http.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                      "OPTIONS"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The first byte picks the method. */
    const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    data++;
    size--;
    const uint8_t *q = memchr(data, '?', size);
    size_t plen = q != NULL ? (size_t)(q - data) : size;
    char *raw = fuzz_exact(data, plen);
    char *path = malloc(plen + 1);
    if (path == NULL)
        abort();
    size_t ctl;
    size_t n = sd_percent_decode(raw, plen, path, 0, &ctl);
    if (ctl != SIZE_MAX)
        for (size_t i = ctl; i < n; i++)
            if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
                path[i] = '?';
    size_t nroutes = 0;
    const sd_route *routes = sd_api_routes(&nroutes);
    const sd_route *route = NULL;
    sd_span params[SD_ROUTE_MAX_PARAMS];
    size_t np = 0;
    char allow[64];
    if (sd_router_match(routes, nroutes, method, path, &route, params, &np, allow,
                        sizeof allow) == SD_OK)
        (void)sd_route_param_name(route, path, params, np, ctl != SIZE_MAX ? ctl : 0);
    (void)sd_media_type_is(path, "application/json");
    free(path);
    free(raw);
    return 0;
}
