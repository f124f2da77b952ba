/* Bearer tokens, CORS origins and client addresses. */
#include "http/access.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "statusd/http.h"
#include "statusd/util.h"

/* Copies the comma-separated entries of list, trimmed, into origins. */
static sd_err origins_parse(sd_access *a, const char *list, char *err, size_t errlen)
{
    const char *p = list, *entry;
    size_t n;
    while (sd_list_next(&p, &entry, &n)) {
        if (n == 1 && *entry == '*') {
            a->cors_any = true;
            continue;
        }
        if (a->norigins == SD_ACCESS_MAX_ORIGINS || n >= sizeof a->origins[0]) {
            snprintf(err, errlen, "cors_origins: at most %d origins of up to %zu characters",
                     SD_ACCESS_MAX_ORIGINS, sizeof a->origins[0] - 1);
            return SD_ERR_INVALID;
        }
        memcpy(a->origins[a->norigins], entry, n);
        a->origins[a->norigins][n] = '\0';
        a->norigins++;
    }
    a->cors_on = a->cors_any || a->norigins > 0;
    return SD_OK;
}

sd_err sd_access_init(sd_access *a, const sd_config *cfg, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->api_token = cfg->api_token;
    a->admin_token = cfg->admin_token;
    if (sd_cidr_list_parse(cfg->trusted_proxies, &a->trusted, err, errlen) != SD_OK)
        return SD_ERR_INVALID;
    return origins_parse(a, cfg->cors_origins, err, errlen);
}

/* Equal strings, in time that depends on the lengths only. */
static bool token_equal(const char *given, size_t given_len, const char *want)
{
    size_t want_len = strlen(want);
    unsigned char diff = given_len != want_len;
    for (size_t i = 0; i < want_len; i++)
        diff |= (unsigned char)(want[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

sd_err sd_access_check(const sd_access *a, unsigned route_flags,
                       const char *authorization)
{
    const char *want;
    if (route_flags & SD_ROUTE_OPS) {
        if (a->admin_token[0] == '\0' && a->api_token[0] == '\0')
            return SD_OK;
        size_t len = 0;
        const char *tok = sd_access_bearer(authorization, &len);
        if (tok == NULL)
            return SD_ERR_UNAUTHORIZED;
        /* Both compared, whichever matches: no early answer to time. */
        bool admin = a->admin_token[0] != '\0' && token_equal(tok, len, a->admin_token);
        bool api = a->api_token[0] != '\0' && token_equal(tok, len, a->api_token);
        return admin || api ? SD_OK : SD_ERR_UNAUTHORIZED;
    }
    if (route_flags & SD_ROUTE_ADMIN) {
        if (a->admin_token[0] == '\0')
            return SD_ERR_FORBIDDEN;
        want = a->admin_token;
    } else if (route_flags & SD_ROUTE_AUTH) {
        if (a->api_token[0] == '\0')
            return SD_OK;
        want = a->api_token;
    } else {
        return SD_OK;
    }
    size_t len = 0;
    const char *tok = sd_access_bearer(authorization, &len);
    if (tok == NULL)
        return SD_ERR_UNAUTHORIZED;
    return token_equal(tok, len, want) ? SD_OK : SD_ERR_UNAUTHORIZED;
}

const char *sd_access_bearer(const char *authorization, size_t *len)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *tok = authorization + 7;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    size_t n = strlen(tok);
    while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
        n--;
    *len = n;
    return tok;
}

bool sd_access_is_admin(const sd_access *a, const char *authorization)
{
    size_t len = 0;
    const char *tok = sd_access_bearer(authorization, &len);
    return tok != NULL && a->admin_token[0] != '\0' && token_equal(tok, len, a->admin_token);
}

bool sd_access_origin_allowed(const sd_access *a, const char *origin)
{
    if (!a->cors_on || origin == NULL || origin[0] == '\0')
        return false;
    if (a->cors_any)
        return true;
    for (size_t i = 0; i < a->norigins; i++)
        if (strcmp(a->origins[i], origin) == 0)
            return true;
    return false;
}

/* Appends one X-Forwarded-For header line to the joined list. */
static enum MHD_Result xff_collect(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    (void)kind;
    sd_buf *b = cls;
    if (value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    if (b->len > 0)
        sd_buf_puts(b, ", ");
    sd_buf_puts(b, value);
    return MHD_YES;
}

void sd_access_client(const sd_access *a, struct MHD_Connection *conn,
                      char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    /* Every X-Forwarded-For line, in order, read as one list: a proxy
     * that adds its own line (instead of appending to the client's) must
     * not leave the client's forged line as the one that counts. */
    sd_buf xff = SD_BUF_INIT;
    if (ci != NULL && ci->client_addr != NULL && a->trusted.count > 0)
        MHD_get_connection_values(conn, MHD_HEADER_KIND, xff_collect, &xff);
    const char *list = sd_buf_ok(&xff) && xff.len > 0 ? xff.data : NULL;
    if (ci == NULL || ci->client_addr == NULL ||
        sd_client_address(ci->client_addr, list, &a->trusted, out, outlen) != SD_OK)
        snprintf(out, outlen, "unknown");
    sd_buf_free(&xff);
}
