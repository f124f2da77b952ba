/* Weak entity tags and If-None-Match (see etag.h). */
#include "api/etag.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t api_etag_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void api_etag_text(uint64_t etag, char out[API_ETAG_LEN])
{
    snprintf(out, API_ETAG_LEN, "W/\"%016" PRIx64 "\"", etag);
}

bool api_etag_listed(const char *header, const char *tag)
{
    const char *opaque = tag + 2; /* skip W/ */
    size_t olen = strlen(opaque);
    const char *p = header;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = p;
        if (*p == '"') {
            end = strchr(p + 1, '"');
            if (end == NULL)
                return false;
            end++;
        } else {
            while (*end != '\0' && *end != ',')
                end++;
        }
        if ((size_t)(end - p) == olen && memcmp(p, opaque, olen) == 0)
            return true;
        p = end;
    }
    return false;
}

void api_etag_answer(sd_req *r, unsigned status, const char *tag, sd_buf *json)
{
    const char *inm = sd_req_header(r, "If-None-Match");
    if (inm != NULL && api_etag_listed(inm, tag))
        sd_resp_empty(r, 304);
    else
        sd_resp_json(r, status, json);
}

void api_view_headers(sd_req *r, const char *tag, bool moving)
{
    sd_resp_header(r, "ETag", tag);
    sd_resp_header(r, "Cache-Control", "no-cache");
    if (moving)
        sd_resp_header(r, "Retry-After", "1");
}
