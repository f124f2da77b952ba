/*
 * Sessions: a JSON object per id with a sliding TTL.
 *
 *   POST   /sessions             create with a new id (201, Location)
 *   GET    /sessions             list the live ids, a page at a time
 *   GET    /sessions/<id>        read (ETag, If-None-Match -> 304)
 *   PUT    /sessions/<id>        create (201) or replace (200)
 *   PATCH  /sessions/<id>        JSON Merge Patch (RFC 7396)
 *   DELETE /sessions/<id>        204
 *   POST   /sessions/<id>/touch  renew the TTL only
 *
 * A session is a hash in the store's "session" namespace:
 *   data        the document: compact JSON text of an object
 *   created_ms  set when the record is created, kept by a replace
 *   updated_ms  the last write
 *   version     bumped by every write
 * Every write and every read (GET, touch) sets the expiry to now +
 * session_ttl in the same store call.
 *
 * A merge patch cannot be one store step: the merge runs here, in C. A
 * PATCH reads the record, merges, and writes conditioned on the version
 * it read. When another write landed in between, the store refuses with
 * SD_ERR_CONFLICT and hands back the record as it now stands, and the
 * merge is redone on that, so no concurrent write is lost. A new record's
 * version starts at a random number rather than at 1, so that a session
 * deleted and created again while a PATCH is between its read and its
 * write does not repeat the version that PATCH read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "api/api.h"
#include "api/etag.h"
#include "api/merge_patch.h"
#include "statusd/app.h"
#include "statusd/json.h"
#include "statusd/log.h"

#define SESSION_NS "session"
#define SESSION_ID_MAX 128
#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000

/* Merges tried before a PATCH gives up under contention; between tries
 * it waits a random time of up to PATCH_BACKOFF_MAX_MS, doubling from
 * 1 ms, so racing writers spread out instead of colliding again. */
#define PATCH_ATTEMPTS 32
#define PATCH_BACKOFF_MAX_MS 64

/* New ids tried by POST before it gives up (a UUID v4 collision would
 * have to repeat). */
#define CREATE_ATTEMPTS 3

static const char ID_RULE[] =
    "a session id is 1 to 128 characters of A-Z a-z 0-9 . _ : + @ -";

/* ---- ids, numbers, answers ---- */

static bool id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("._:+@-", c) != NULL);
}

static bool session_id_valid(const char *p, size_t len)
{
    if (len == 0 || len > SESSION_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char_ok(p[i]))
            return false;
    return true;
}

/* The :id parameter as a C string when it is a valid session id; else a
 * 400 before any store call. The bad id is not echoed: it may be any
 * bytes. */
static bool session_id_param(sd_req *r, char id[SESSION_ID_MAX + 1])
{
    size_t len = 0;
    const char *p = sd_req_param(r, 0, &len);
    if (!session_id_valid(p, len)) {
        sd_resp_problem(r, SD_ERR_INVALID, "%s", ID_RULE);
        return false;
    }
    memcpy(id, p, len);
    id[len] = '\0';
    return true;
}

/* 64 random bits: from getrandom(2), or, should that fail, from the
 * clocks, which still differ from one call to the next. */
static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
        return v;
    v = (uint64_t)sd_now_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)sd_mono_ms();
    return v ^ (v >> 31);
}

static int64_t ttl_ms(const sd_app *app) { return app->cfg->session_ttl * 1000; }

static void answer_error(sd_req *r, sd_err err, const char *id)
{
    switch (err) {
    case SD_ERR_NOT_FOUND:
        sd_resp_problem(r, err, "no session with id %s (unknown or expired)", id);
        break;
    case SD_ERR_STORE_FULL:
        sd_resp_problem(r, err, "the store is full; retry after Retry-After");
        break;
    case SD_ERR_UNAVAILABLE:
        sd_resp_problem(r, err, "the store cannot answer now; retry later");
        break;
    case SD_ERR_NOMEM:
        sd_resp_problem(r, err, "out of memory while handling the session");
        break;
    default:
        sd_resp_problem(r, err, "session operation failed: %s", sd_err_name(err));
        break;
    }
}

/* ---- data ---- */

/*
 * The session data a body or a merge gives: doc must be an object with no
 * repeated member names; its compact text goes into out. SD_ERR_INVALID
 * or SD_ERR_TOO_LARGE (text over max bytes) with a reason in why;
 * SD_ERR_NOMEM.
 */
static sd_err data_text(const cJSON *doc, size_t max, sd_buf *out, char *why,
                        size_t whylen)
{
    if (!cJSON_IsObject(doc)) {
        snprintf(why, whylen, "session data must be a JSON object");
        return SD_ERR_INVALID;
    }
    bool nomem = false;
    if (!merge_patch_names_unique(doc, &nomem)) {
        if (nomem)
            return SD_ERR_NOMEM;
        snprintf(why, whylen, "session data repeats a member name in one object");
        return SD_ERR_INVALID;
    }
    sd_buf_reset(out);
    sd_json_append_item(out, doc);
    if (!sd_buf_ok(out))
        return SD_ERR_NOMEM;
    if (out->len > max) {
        snprintf(why, whylen, "session data would be %zu bytes; max_body allows %zu",
                 out->len, max);
        return SD_ERR_TOO_LARGE;
    }
    return SD_OK;
}

/* The body of a POST or PUT as data text; false when it answered. */
static bool body_data(sd_req *r, sd_buf *out)
{
    char why[160];
    sd_err err = data_text(sd_req_json(r), (size_t)sd_req_app(r)->cfg->max_body, out,
                           why, sizeof why);
    if (err == SD_ERR_INVALID || err == SD_ERR_TOO_LARGE)
        sd_resp_problem(r, err, "%s", why);
    else if (err != SD_OK)
        answer_error(r, err, "");
    return err == SD_OK;
}

/* ---- the view ---- */

static void put_time(sd_buf *b, const char *key, int64_t ms)
{
    char ts[SD_TIME_LEN];
    sd_format_time(ms, ts);
    sd_buf_printf(b, ",\"%s\":\"%s\"", key, ts);
}

/* The client's view of a session record into b, and its ETag, which
 * covers everything but expires_at: a read that only renewed the TTL
 * still matches the client's validator. SD_ERR_INTERNAL for a record
 * that is not a session's. */
static sd_err view_build(const char *id, const sd_record *rec, sd_buf *b, uint64_t *etag)
{
    size_t data_len = 0;
    const char *data = sd_record_get(rec, "data", &data_len);
    int64_t created = 0, updated = 0;
    if (data == NULL || data_len == 0 ||
        sd_record_get_i64(rec, "created_ms", &created) != SD_OK ||
        sd_record_get_i64(rec, "updated_ms", &updated) != SD_OK)
        return SD_ERR_INTERNAL;
    sd_buf_reset(b);
    sd_buf_puts(b, "{\"id\":");
    sd_json_append_string(b, id, strlen(id));
    sd_buf_puts(b, ",\"data\":");
    sd_buf_append(b, data, data_len);
    put_time(b, "created_at", created);
    put_time(b, "updated_at", updated);
    if (!sd_buf_ok(b))
        return SD_ERR_NOMEM;
    *etag = api_etag_hash(b->data, b->len);
    put_time(b, "expires_at", rec->expires_ms);
    sd_buf_putc(b, '}');
    return sd_buf_ok(b) ? SD_OK : SD_ERR_NOMEM;
}

/* Answers with the session's view: status 201 adds Location; conditional
 * answers 304 when If-None-Match lists the view's tag. */
static void answer_view(sd_req *r, unsigned status, const char *id, const sd_record *rec,
                        bool conditional)
{
    sd_buf b = SD_BUF_INIT;
    uint64_t hash = 0;
    sd_err err = view_build(id, rec, &b, &hash);
    if (err != SD_OK) {
        sd_buf_free(&b);
        if (err == SD_ERR_INTERNAL)
            sd_resp_problem(r, err, "session %s is not a well-formed record", id);
        else
            answer_error(r, err, id);
        return;
    }
    char etag[API_ETAG_LEN];
    api_etag_text(hash, etag);
    sd_resp_header(r, "ETag", etag);
    sd_resp_header(r, "Cache-Control", "no-cache");
    if (status == 201) {
        char location[sizeof "/sessions/" + SESSION_ID_MAX];
        snprintf(location, sizeof location, "/sessions/%s", id);
        sd_resp_header(r, "Location", location);
    }
    if (conditional)
        api_etag_answer(r, status, etag, &b);
    else
        sd_resp_json(r, status, &b);
    sd_buf_free(&b);
}

/* ---- writes ---- */

/*
 * Writes data as the whole document of session id, in mode (CREATE or
 * UPSERT), renewing the TTL; *rec gets the record as written. *created
 * tells whether the write made the record: its version is then the
 * random start this call chose plus one (a replace increments the
 * version the record had).
 */
static sd_err session_write(sd_app *app, const char *id, sd_update_mode mode,
                            const sd_buf *data, sd_record *rec, bool *created)
{
    char now[24], start[24], first[24];
    uint64_t base = random_u64() >> 24; /* 40 bits: far from INCR's limit */
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    snprintf(start, sizeof start, "%" PRIu64, base);
    snprintf(first, sizeof first, "%" PRIu64, base + 1);
    sd_assign a[] = {
        {.name = "data", .op = SD_ASSIGN_SET, .value = data->data, .len = data->len},
        {.name = "created_ms", .op = SD_ASSIGN_SETNX, .value = now, .len = strlen(now)},
        {.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "version", .op = SD_ASSIGN_SETNX, .value = start, .len = strlen(start)},
        {.name = "version", .op = SD_ASSIGN_INCR, .incr = 1},
    };
    sd_update u = {.mode = mode, .assign = a, .assign_count = sizeof a / sizeof a[0],
                   .ttl_ms = ttl_ms(app)};
    sd_err err = sd_store_update(app->store, SESSION_NS, id, &u, rec);
    if (err == SD_OK) {
        const char *version = sd_record_get(rec, "version", NULL);
        *created = version != NULL && strcmp(version, first) == 0;
    }
    return err;
}

void api_sessions_post(sd_req *r)
{
    sd_app *app = sd_req_app(r);
    sd_buf data = SD_BUF_INIT;
    if (!body_data(r, &data)) {
        sd_buf_free(&data);
        return;
    }
    if (!api_create_allowed(r)) {
        sd_buf_free(&data);
        return;
    }
    char id[SD_UUID_LEN + 1];
    sd_record rec = SD_RECORD_INIT;
    bool created = false;
    sd_err err = SD_ERR_EXISTS;
    for (int i = 0; i < CREATE_ATTEMPTS && err == SD_ERR_EXISTS; i++) {
        sd_uuid_new(id);
        err = session_write(app, id, SD_UPDATE_CREATE, &data, &rec, &created);
    }
    sd_buf_free(&data);
    if (err == SD_OK)
        answer_view(r, 201, id, &rec, false);
    else if (err == SD_ERR_EXISTS)
        sd_resp_problem(r, SD_ERR_INTERNAL, "%d new session ids in a row were taken",
                        CREATE_ATTEMPTS);
    else
        answer_error(r, err, id);
    sd_record_clear(&rec);
}

void api_session_put(sd_req *r)
{
    char id[SESSION_ID_MAX + 1];
    if (!session_id_param(r, id))
        return;
    sd_buf data = SD_BUF_INIT;
    if (!body_data(r, &data)) {
        sd_buf_free(&data);
        return;
    }
    sd_app *app = sd_req_app(r);
    sd_record rec = SD_RECORD_INIT;
    bool created = false;
    /* Only a PUT that creates counts against ratelimit_create: a replace
     * is tried first, and the create follows when there was nothing to
     * replace (an upsert, so a session made meanwhile is replaced). */
    sd_err err = SD_ERR_NOT_FOUND;
    if (app->cfg->ratelimit_create > 0)
        err = session_write(app, id, SD_UPDATE_EXISTING, &data, &rec, &created);
    if (err == SD_ERR_NOT_FOUND) {
        if (!api_create_allowed(r)) {
            sd_buf_free(&data);
            return;
        }
        err = session_write(app, id, SD_UPDATE_UPSERT, &data, &rec, &created);
    }
    sd_buf_free(&data);
    if (err == SD_OK)
        answer_view(r, created ? 201 : 200, id, &rec, false);
    else
        answer_error(r, err, id);
    sd_record_clear(&rec);
}

/* ---- reads ---- */

void api_session_get(sd_req *r)
{
    char id[SESSION_ID_MAX + 1];
    if (!session_id_param(r, id))
        return;
    sd_app *app = sd_req_app(r);
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(app->store, SESSION_NS, id, ttl_ms(app), &rec);
    if (err == SD_OK)
        answer_view(r, 200, id, &rec, true);
    else
        answer_error(r, err, id);
    sd_record_clear(&rec);
}

void api_session_touch(sd_req *r)
{
    char id[SESSION_ID_MAX + 1];
    if (!session_id_param(r, id))
        return;
    sd_app *app = sd_req_app(r);
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(app->store, SESSION_NS, id, ttl_ms(app), &rec);
    if (err != SD_OK) {
        answer_error(r, err, id);
        sd_record_clear(&rec);
        return;
    }
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "{\"id\":");
    sd_json_append_string(&b, id, strlen(id));
    char ts[SD_TIME_LEN];
    sd_format_time(rec.expires_ms, ts);
    sd_buf_printf(&b, ",\"expires_at\":\"%s\"}", ts);
    sd_resp_json(r, 200, &b);
    sd_buf_free(&b);
    sd_record_clear(&rec);
}

void api_session_delete(sd_req *r)
{
    char id[SESSION_ID_MAX + 1];
    if (!session_id_param(r, id))
        return;
    sd_err err = sd_store_del(sd_req_app(r)->store, SESSION_NS, id);
    if (err == SD_OK)
        sd_resp_empty(r, 204);
    else
        answer_error(r, err, id);
}

/* ---- PATCH ---- */

/* Waits before merge attempt number attempt (2, 3, ...): a random time
 * of up to 1, 2, 4 ... PATCH_BACKOFF_MAX_MS milliseconds. */
static void patch_backoff(int attempt)
{
    int shift = attempt - 2 < 16 ? attempt - 2 : 16;
    int64_t cap = (int64_t)1 << shift;
    if (cap > PATCH_BACKOFF_MAX_MS)
        cap = PATCH_BACKOFF_MAX_MS;
    (void)sd_sleep_ms_unless((int64_t)(random_u64() % (uint64_t)(cap + 1)), NULL);
}

/*
 * One merge attempt on *rec, the record as read: merges patch into its
 * data and writes the result conditioned on the version read. *rec then
 * holds the record as written or, on SD_ERR_CONFLICT, as it stands now.
 * SD_ERR_TOO_LARGE with a reason in why; SD_ERR_INTERNAL for a record
 * that is not a session's; what the store answers.
 */
static sd_err patch_once(sd_app *app, const char *id, const cJSON *patch, sd_record *rec,
                         char *why, size_t whylen)
{
    /* The condition must outlive *rec, which the store empties first. */
    char version[24];
    size_t vlen = 0, dlen = 0;
    const char *v = sd_record_get(rec, "version", &vlen);
    const char *data = sd_record_get(rec, "data", &dlen);
    if (v == NULL || vlen == 0 || vlen >= sizeof version || data == NULL)
        return SD_ERR_INTERNAL;
    memcpy(version, v, vlen + 1);

    cJSON *doc = NULL;
    sd_err err = sd_json_parse(data, dlen, SD_JSON_MAX_DEPTH, &doc);
    if (err != SD_OK)
        return err == SD_ERR_NOMEM ? err : SD_ERR_INTERNAL;
    err = merge_patch_apply(&doc, patch);
    sd_buf text = SD_BUF_INIT;
    if (err == SD_OK)
        err = data_text(doc, (size_t)app->cfg->max_body, &text, why, whylen);
    cJSON_Delete(doc);
    if (err != SD_OK) {
        sd_buf_free(&text);
        return err;
    }

    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    const char *const cond[] = {version};
    sd_assign a[] = {
        {.name = "data", .op = SD_ASSIGN_SET, .value = text.data, .len = text.len},
        {.name = "updated_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "version", .op = SD_ASSIGN_INCR, .incr = 1},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "version",
                   .cond_values = cond, .cond_count = 1, .assign = a,
                   .assign_count = sizeof a / sizeof a[0], .ttl_ms = ttl_ms(app)};
    err = sd_store_update(app->store, SESSION_NS, id, &u, rec);
    sd_buf_free(&text);
    return err;
}

void api_session_patch(sd_req *r)
{
    char id[SESSION_ID_MAX + 1];
    if (!session_id_param(r, id))
        return;
    const cJSON *patch = sd_req_json(r);
    if (!cJSON_IsObject(patch)) {
        sd_resp_problem(r, SD_ERR_INVALID,
                        "a merge patch of session data must be a JSON object "
                        "(the data stays an object)");
        return;
    }
    bool nomem = false;
    if (!merge_patch_names_unique(patch, &nomem)) {
        if (nomem)
            answer_error(r, SD_ERR_NOMEM, id);
        else
            sd_resp_problem(r, SD_ERR_INVALID, "the patch repeats a member name in one object");
        return;
    }

    sd_app *app = sd_req_app(r);
    sd_record rec = SD_RECORD_INIT;
    char why[160] = "";
    sd_err err = sd_store_get(app->store, SESSION_NS, id, 0, &rec);
    for (int attempt = 1; err == SD_OK; attempt++) {
        err = patch_once(app, id, patch, &rec, why, sizeof why);
        if (err != SD_ERR_CONFLICT || attempt == PATCH_ATTEMPTS)
            break;
        patch_backoff(attempt + 1);
        err = SD_OK; /* rec holds the record as it now stands */
    }
    switch (err) {
    case SD_OK:
        answer_view(r, 200, id, &rec, false);
        break;
    case SD_ERR_INVALID:
    case SD_ERR_TOO_LARGE:
        sd_resp_problem(r, err, "%s", why);
        break;
    case SD_ERR_CONFLICT:
        sd_resp_header(r, "Retry-After", "1");
        sd_resp_problem(r, err, "session %s changed during each of %d merge attempts; retry",
                        id, PATCH_ATTEMPTS);
        break;
    case SD_ERR_INTERNAL:
        sd_resp_problem(r, err, "session %s is not a well-formed record", id);
        break;
    default:
        answer_error(r, err, id);
        break;
    }
    sd_record_clear(&rec);
}

/* ---- listing ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* True when c is a cursor a page can have handed out: the lower-case hex
 * of a session id. */
static bool cursor_valid(const char *c)
{
    size_t n = strlen(c);
    if (n == 0 || n % 2 != 0 || n > 2 * SESSION_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_value(c[i]), lo = hex_value(c[i + 1]);
        if (hi < 0 || lo < 0 || !id_char_ok((char)(hi << 4 | lo)))
            return false;
    }
    return true;
}

void api_sessions_list(sd_req *r)
{
    int64_t limit = LIST_LIMIT_DEFAULT;
    const char *limit_text, *cursor;
    if (!sd_req_query(r, "limit", &limit_text) || !sd_req_query(r, "cursor", &cursor))
        return;
    if (limit_text != NULL &&
        sd_parse_i64(limit_text, 1, LIST_LIMIT_MAX, &limit) != SD_OK) {
        sd_resp_problem(r, SD_ERR_INVALID, "limit must be an integer from 1 to %d",
                        LIST_LIMIT_MAX);
        return;
    }
    if (cursor != NULL && cursor[0] != '\0' && !cursor_valid(cursor)) {
        sd_resp_problem(r, SD_ERR_INVALID,
                        "cursor must be a next_cursor that this listing handed out");
        return;
    }
    sd_page page = SD_PAGE_INIT;
    sd_err err = sd_store_scan(sd_req_app(r)->store, SESSION_NS, cursor, (size_t)limit,
                               &page);
    if (err != SD_OK) {
        if (err == SD_ERR_INVALID)
            sd_resp_problem(r, err, "cursor must be a next_cursor that this listing handed out");
        else
            answer_error(r, err, "");
        sd_page_clear(&page);
        return;
    }
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "{\"ids\":[");
    for (size_t i = 0; i < page.count; i++) {
        if (i > 0)
            sd_buf_putc(&b, ',');
        sd_json_append_string(&b, page.ids[i], strlen(page.ids[i]));
    }
    sd_buf_puts(&b, "],\"next_cursor\":");
    if (page.next_cursor != NULL)
        sd_json_append_string(&b, page.next_cursor, strlen(page.next_cursor));
    else
        sd_buf_puts(&b, "null");
    sd_buf_putc(&b, '}');
    sd_resp_header(r, "Cache-Control", "no-store");
    sd_resp_json(r, 200, &b);
    sd_buf_free(&b);
    sd_page_clear(&page);
}
