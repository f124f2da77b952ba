/*
 * Route matching over the static table of api/routes.c. The table is
 * small (tens of routes), so a linear scan with a segment-wise compare is
 * both the simplest and the fastest choice; no allocation happens here.
 */
#include "http/router.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Matches path against pattern segment by segment; ":x" segments match
 * any non-empty segment and are recorded in params. */
static bool pattern_match(const char *pattern, const char *path,
                          sd_span params[SD_ROUTE_MAX_PARAMS], size_t *nparams)
{
    size_t np = 0;
    const char *pa = pattern;
    const char *p = path;
    while (*pa != '\0' && *p != '\0') {
        if (*pa != '/' || *p != '/')
            return false;
        pa++;
        p++;
        const char *pa_end = strchrnul(pa, '/');
        const char *p_end = strchrnul(p, '/');
        if (*pa == ':') {
            if (p_end == p || np == SD_ROUTE_MAX_PARAMS)
                return false;
            params[np].p = p;
            params[np].len = (size_t)(p_end - p);
            np++;
        } else if ((size_t)(pa_end - pa) != (size_t)(p_end - p) ||
                   memcmp(pa, p, (size_t)(p_end - p)) != 0) {
            return false;
        }
        pa = pa_end;
        p = p_end;
    }
    if (*pa != '\0' || *p != '\0')
        return false;
    *nparams = np;
    return true;
}

static bool method_serves(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

static void allow_add(char *allow, size_t allowlen, const char *method)
{
    size_t used = strlen(allow);
    /* skip duplicates ("GET" listed by two patterns) */
    const char *hit = strstr(allow, method);
    size_t mlen = strlen(method);
    while (hit != NULL) {
        bool start = hit == allow || hit[-1] == ' ';
        bool end = hit[mlen] == '\0' || hit[mlen] == ',';
        if (start && end)
            return;
        hit = strstr(hit + 1, method);
    }
    if (used + mlen + 3 > allowlen)
        return;
    if (used > 0) {
        memcpy(allow + used, ", ", 2);
        used += 2;
    }
    memcpy(allow + used, method, mlen + 1);
}

sd_err sd_router_match(const sd_route *routes, size_t n, const char *method,
                       const char *path, const sd_route **out,
                       sd_span params[SD_ROUTE_MAX_PARAMS], size_t *nparams,
                       char *allow, size_t allowlen)
{
    bool path_known = false;
    if (allowlen > 0)
        allow[0] = '\0';
    *out = NULL;
    *nparams = 0;
    for (size_t i = 0; i < n; i++) {
        sd_span tmp[SD_ROUTE_MAX_PARAMS];
        size_t ntmp = 0;
        if (!pattern_match(routes[i].pattern, path, tmp, &ntmp))
            continue;
        if (method_serves(routes[i].method, method)) {
            *out = &routes[i];
            memcpy(params, tmp, ntmp * sizeof tmp[0]);
            *nparams = ntmp;
            return SD_OK;
        }
        path_known = true;
        allow_add(allow, allowlen, routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            allow_add(allow, allowlen, "HEAD");
    }
    return path_known ? SD_ERR_METHOD : SD_ERR_NOT_FOUND;
}

bool sd_media_type_is(const char *header, const char *media_type)
{
    if (header == NULL)
        return false;
    while (*header == ' ' || *header == '\t')
        header++;
    size_t n = strlen(media_type);
    if (strncasecmp(header, media_type, n) != 0)
        return false;
    const char *rest = header + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

bool sd_media_type_in(const char *header, const char *list)
{
    static const char sep[] = " or ";
    char one[96];
    for (const char *p = list; p != NULL;) {
        const char *end = strstr(p, sep);
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n < sizeof one) {
            memcpy(one, p, n);
            one[n] = '\0';
            if (sd_media_type_is(header, one))
                return true;
        }
        p = end != NULL ? end + sizeof sep - 1 : NULL;
    }
    return false;
}

const char *sd_route_param_name(const sd_route *route, const char *path,
                                const sd_span *params, size_t nparams, size_t at)
{
    static _Thread_local char name[64];
    size_t which = nparams;
    for (size_t i = 0; i < nparams; i++) {
        size_t off = (size_t)(params[i].p - path);
        if (at >= off && at < off + params[i].len)
            which = i;
    }
    if (which == nparams)
        return NULL;
    /* The which-th ":name" segment of the pattern. */
    const char *p = route->pattern;
    for (size_t i = 0; (p = strchr(p, ':')) != NULL; i++, p++) {
        if (i != which)
            continue;
        size_t len = strcspn(p + 1, "/");
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, p + 1, len);
        name[len] = '\0';
        return name;
    }
    return NULL;
}
