/*
 * POST /chat, GET and DELETE /chat/history/<user_id>: a chat context per
 * user, kept for conversation_ttl seconds after its last append or read.
 *
 * Two records per user. The messages are a bounded list in namespace
 * "chat" (each item the compact JSON text of one message, produced here,
 * so a read concatenates them without parsing); the conversation's id
 * and creation time are a small hash in namespace "chatmeta". An append
 * of all the messages of one request is one atomic list step, so
 * concurrent appends lose nothing and trimming to the newest
 * conversation_max_messages happens in the same step.
 *
 * Ordering, so that history never shows messages without an id:
 *   - POST writes the id (upsert, set only when absent) before it
 *     appends; messages therefore never exist before their id.
 *   - The id's expiry is META_GRACE_MS past the messages' (each write
 *     renews both), so on expiry the messages go first, never a moment
 *     after their id. The price is that a conversation_id may outlive
 *     its messages: for those seconds, after a POST whose append failed
 *     once the id was written, or after a read that raced a DELETE. A
 *     POST in that window carries the id on into the new conversation;
 *     the other way round, the last reads of an expiring conversation
 *     could show its messages under a new id.
 *   - A DELETE racing a POST can still leave messages whose id is gone
 *     (POST wrote the id, DELETE removed both, POST appended). Reads
 *     therefore upsert the id too: such messages get a fresh id on their
 *     first read rather than being shown without one.
 *   - DELETE removes the id first, then the messages: of its interleavings
 *     with a POST, that order leaves the fewest messages without an id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "statusd/app.h"
#include "statusd/json.h"
#include "statusd/store.h"

#define CHAT_NS "chat"
#define CHAT_META_NS "chatmeta"
#define USER_ID_MAX 128
#define CONTENT_MAX_CHARS 32768
#define META_GRACE_MS 5000

static const char *const roles[] = {"user", "assistant", "system", "tool"};

/* [A-Za-z0-9._:+@-]{1,128}, the user id rule of the whole API. */
static bool user_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > USER_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || strchr("._:+@-", c) != NULL;
        if (!ok || c == '\0')
            return false;
    }
    return true;
}

/* Checks one element of "messages": an object of exactly a known role
 * and a content of 1..CONTENT_MAX_CHARS characters. SD_ERR_INVALID with
 * a reason naming the element. */
static sd_err message_check(const cJSON *m, size_t i, char *why, size_t whylen)
{
    if (!cJSON_IsObject(m)) {
        snprintf(why, whylen, "messages[%zu] must be an object", i);
        return SD_ERR_INVALID;
    }
    const cJSON *role = NULL, *content = NULL;
    for (const cJSON *it = m->child; it != NULL; it = it->next) {
        if (strcmp(it->string, "role") == 0 && role == NULL) {
            role = it;
        } else if (strcmp(it->string, "content") == 0 && content == NULL) {
            content = it;
        } else {
            snprintf(why, whylen, "messages[%zu]: unknown or repeated field '%.64s'",
                     i, it->string);
            return SD_ERR_INVALID;
        }
    }
    bool role_ok = false;
    for (size_t k = 0; role != NULL && cJSON_IsString(role) && k < sizeof roles / sizeof roles[0];
         k++)
        role_ok = role_ok || strcmp(role->valuestring, roles[k]) == 0;
    if (!role_ok) {
        snprintf(why, whylen,
                 "messages[%zu].role must be \"user\", \"assistant\", \"system\" or \"tool\"",
                 i);
        return SD_ERR_INVALID;
    }
    if (content == NULL) {
        snprintf(why, whylen, "messages[%zu].content is required", i);
        return SD_ERR_INVALID;
    }
    if (!cJSON_IsString(content)) {
        snprintf(why, whylen, "messages[%zu].content must be a string", i);
        return SD_ERR_INVALID;
    }
    const char *text = content->valuestring;
    size_t chars = sd_utf8_length(text, strlen(text));
    if (chars == 0 || chars > CONTENT_MAX_CHARS) {
        snprintf(why, whylen, "messages[%zu].content must be 1 to %d characters, got %zu",
                 i, CONTENT_MAX_CHARS, chars);
        return SD_ERR_INVALID;
    }
    return SD_OK;
}

/* Validates {"user_id": ..., "messages": [...]} and hands back the two
 * fields (owned by body). SD_ERR_INVALID with a reason. */
static sd_err chat_input(const cJSON *body, int64_t max_messages, const char **user_id,
                         const cJSON **messages, char *why, size_t whylen)
{
    if (!cJSON_IsObject(body)) {
        snprintf(why, whylen, "body must be a JSON object");
        return SD_ERR_INVALID;
    }
    const cJSON *uid = NULL, *msgs = NULL;
    for (const cJSON *it = body->child; it != NULL; it = it->next) {
        if (strcmp(it->string, "user_id") == 0 && uid == NULL) {
            uid = it;
        } else if (strcmp(it->string, "messages") == 0 && msgs == NULL) {
            msgs = it;
        } else {
            snprintf(why, whylen, "unknown or repeated field '%.64s'", it->string);
            return SD_ERR_INVALID;
        }
    }
    if (uid == NULL) {
        snprintf(why, whylen, "'user_id' is required");
        return SD_ERR_INVALID;
    }
    if (!cJSON_IsString(uid) || !user_id_valid(uid->valuestring, strlen(uid->valuestring))) {
        snprintf(why, whylen,
                 "'user_id' must be 1 to 128 characters of A-Z a-z 0-9 . _ : + @ -");
        return SD_ERR_INVALID;
    }
    if (msgs == NULL) {
        snprintf(why, whylen, "'messages' is required");
        return SD_ERR_INVALID;
    }
    if (!cJSON_IsArray(msgs)) {
        snprintf(why, whylen, "'messages' must be an array");
        return SD_ERR_INVALID;
    }
    int n = cJSON_GetArraySize(msgs);
    if (n < 1 || n > max_messages) {
        snprintf(why, whylen, "'messages' must hold 1 to %lld messages, got %d",
                 (long long)max_messages, n);
        return SD_ERR_INVALID;
    }
    size_t i = 0;
    for (const cJSON *m = msgs->child; m != NULL; m = m->next, i++) {
        sd_err err = message_check(m, i, why, whylen);
        if (err != SD_OK)
            return err;
    }
    *user_id = uid->valuestring;
    *messages = msgs;
    return SD_OK;
}

/* The list items of a POST: each message of msgs (already checked) as
 * {"role":..,"content":..,"timestamp":..} in *text, item k at
 * text->data + offs[k], offs[k + 1] - offs[k] bytes long. offs has n + 1
 * slots. SD_ERR_NOMEM. */
static sd_err items_build(const cJSON *msgs, const char *stamp, sd_buf *text, size_t *offs)
{
    size_t k = 0;
    for (const cJSON *m = msgs->child; m != NULL; m = m->next, k++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        offs[k] = text->len;
        sd_buf_puts(text, "{\"role\":");
        sd_json_append_string(text, role->valuestring, strlen(role->valuestring));
        sd_buf_puts(text, ",\"content\":");
        sd_json_append_string(text, content->valuestring, strlen(content->valuestring));
        sd_buf_puts(text, ",\"timestamp\":\"");
        sd_buf_puts(text, stamp);
        sd_buf_puts(text, "\"}");
    }
    offs[k] = text->len;
    return sd_buf_ok(text) ? SD_OK : SD_ERR_NOMEM;
}

/*
 * Gives the user's conversation an id when it has none, and renews the
 * id's expiry either way, in one step; the id goes to id_out. mode
 * SD_UPDATE_EXISTING only renews an id there is (SD_ERR_NOT_FOUND when
 * none). Errors from the store; SD_ERR_INTERNAL when the record holds no
 * id of the right shape.
 */
static sd_err meta_write(sd_store *st, const sd_config *cfg, const char *user_id,
                         sd_update_mode mode, char id_out[SD_UUID_LEN + 1])
{
    char fresh[SD_UUID_LEN + 1], created[24];
    sd_uuid_new(fresh);
    snprintf(created, sizeof created, "%lld", (long long)sd_now_ms());
    const sd_assign assign[] = {
        {"conversation_id", SD_ASSIGN_SETNX, fresh, SD_UUID_LEN, 0},
        {"created_ms", SD_ASSIGN_SETNX, created, strlen(created), 0},
    };
    const sd_update u = {mode, NULL, NULL, 0, assign, 2,
                         cfg->conversation_ttl * 1000 + META_GRACE_MS, false, 0};
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_update(st, CHAT_META_NS, user_id, &u, &rec);
    if (err == SD_OK) {
        size_t len = 0;
        const char *id = sd_record_get(&rec, "conversation_id", &len);
        if (id != NULL && sd_uuid_valid(id, len))
            memcpy(id_out, id, SD_UUID_LEN + 1);
        else
            err = SD_ERR_INTERNAL;
    }
    sd_record_clear(&rec);
    return err;
}

/* The conversation view, from the list's items (message texts made by
 * items_build) and its expiry. */
static void view_build(sd_buf *b, const char *conv_id, const char *user_id,
                       const sd_list *l)
{
    char expires[SD_TIME_LEN];
    sd_format_time(l->expires_ms, expires);
    sd_buf_printf(b, "{\"conversation_id\":\"%s\",\"user_id\":", conv_id);
    sd_json_append_string(b, user_id, strlen(user_id));
    sd_buf_puts(b, ",\"status\":\"active\",\"messages\":[");
    for (size_t i = 0; i < l->count; i++) {
        if (i > 0)
            sd_buf_putc(b, ',');
        sd_buf_append(b, l->items[i], l->lens[i]);
    }
    sd_buf_printf(b, "],\"expires_at\":\"%s\"}", expires);
}

static void answer_error(sd_req *r, sd_err err, const char *user_id)
{
    switch (err) {
    case SD_ERR_NOT_FOUND:
        sd_resp_problem(r, err, "no conversation for user_id %s (none, expired or deleted)",
                        user_id);
        break;
    case SD_ERR_STORE_FULL:
        sd_resp_problem(r, err, "the store is full; retry after Retry-After");
        break;
    case SD_ERR_UNAVAILABLE:
        sd_resp_problem(r, err, "the store cannot answer now");
        break;
    default:
        sd_resp_problem(r, err, "conversation operation failed: %s", sd_err_name(err));
        break;
    }
}

/* Stores and answers a checked POST: the id first, then the append. */
static void chat_store(sd_req *r, const char *user_id, const cJSON *msgs)
{
    sd_app *app = sd_req_app(r);
    const sd_config *cfg = app->cfg;
    size_t n = (size_t)cJSON_GetArraySize(msgs);
    char stamp[SD_TIME_LEN];
    sd_format_time(sd_now_ms(), stamp);

    sd_buf text = SD_BUF_INIT, view = SD_BUF_INIT;
    sd_list list = SD_LIST_INIT;
    size_t *offs = calloc(n + 1, sizeof *offs);
    size_t *lens = calloc(n, sizeof *lens);
    const char **items = calloc(n, sizeof *items);
    char conv_id[SD_UUID_LEN + 1];
    sd_err err = SD_ERR_NOMEM;
    if (offs == NULL || lens == NULL || items == NULL ||
        items_build(msgs, stamp, &text, offs) != SD_OK)
        goto fail;
    for (size_t k = 0; k < n; k++) {
        items[k] = text.data + offs[k];
        lens[k] = offs[k + 1] - offs[k];
    }
    /* A user without a conversation starts one: that counts against
     * ratelimit_create, appends to an existing one do not. */
    err = SD_ERR_NOT_FOUND;
    if (cfg->ratelimit_create > 0)
        err = meta_write(app->store, cfg, user_id, SD_UPDATE_EXISTING, conv_id);
    if (err == SD_ERR_NOT_FOUND) {
        if (!api_create_allowed(r))
            goto done;
        err = meta_write(app->store, cfg, user_id, SD_UPDATE_UPSERT, conv_id);
    }
    if (err != SD_OK)
        goto fail;
    err = sd_store_list_append(app->store, CHAT_NS, user_id, items, lens, n,
                               (size_t)cfg->conversation_max_messages,
                               cfg->conversation_ttl * 1000, &list);
    if (err != SD_OK)
        goto fail;
    view_build(&view, conv_id, user_id, &list);
    sd_resp_header(r, "Cache-Control", "no-store");
    sd_resp_json(r, 200, &view);
    goto done;
fail:
    answer_error(r, err, user_id);
done:
    sd_buf_free(&view);
    sd_list_clear(&list);
    sd_buf_free(&text);
    free(offs);
    free(lens);
    free(items);
}

void api_chat_post(sd_req *r)
{
    const sd_config *cfg = sd_req_app(r)->cfg;
    const char *user_id = NULL;
    const cJSON *msgs = NULL;
    char why[192];
    if (chat_input(sd_req_json(r), cfg->conversation_max_messages, &user_id, &msgs,
                   why, sizeof why) != SD_OK) {
        sd_resp_problem(r, SD_ERR_INVALID, "%s", why);
        return;
    }
    /* Only well-formed requests are counted: a refused body never reaches
     * the store, and the limit's key is a user id known to be valid. */
    if (!sd_req_ratelimit(r, "chat", user_id, cfg->ratelimit_chat))
        return;
    chat_store(r, user_id, msgs);
}

/* The :user_id parameter as a C string when valid; else 400 before any
 * store call. libmicrohttpd hands the path percent-decoded. */
static bool user_id_param(sd_req *r, char out[USER_ID_MAX + 1])
{
    size_t len = 0;
    const char *p = sd_req_param(r, 0, &len);
    if (!user_id_valid(p, len)) {
        sd_resp_problem(r, SD_ERR_INVALID,
                        "user_id must be 1 to 128 characters of A-Z a-z 0-9 . _ : + @ -");
        return false;
    }
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

/* Reads the messages first (renewing them) and only then the id, so that
 * a read of no conversation creates nothing; see the top of the file. */
void api_chat_history_get(sd_req *r)
{
    char user_id[USER_ID_MAX + 1];
    if (!user_id_param(r, user_id))
        return;
    sd_app *app = sd_req_app(r);
    sd_list list = SD_LIST_INIT;
    sd_buf view = SD_BUF_INIT;
    char conv_id[SD_UUID_LEN + 1];
    sd_err err = sd_store_list_get(app->store, CHAT_NS, user_id,
                                   app->cfg->conversation_ttl * 1000, &list);
    if (err == SD_OK)
        err = meta_write(app->store, app->cfg, user_id, SD_UPDATE_UPSERT, conv_id);
    if (err == SD_OK) {
        view_build(&view, conv_id, user_id, &list);
        sd_resp_header(r, "Cache-Control", "no-store");
        sd_resp_json(r, 200, &view);
    } else {
        answer_error(r, err, user_id);
    }
    sd_buf_free(&view);
    sd_list_clear(&list);
}

/* 404 when there were no messages, even if a leftover id was removed:
 * GET answers 404 for that state too. */
void api_chat_history_delete(sd_req *r)
{
    char user_id[USER_ID_MAX + 1];
    if (!user_id_param(r, user_id))
        return;
    sd_store *st = sd_req_app(r)->store;
    sd_err err = sd_store_del(st, CHAT_META_NS, user_id);
    if (err == SD_OK || err == SD_ERR_NOT_FOUND)
        err = sd_store_del(st, CHAT_NS, user_id);
    if (err == SD_OK)
        sd_resp_empty(r, 204);
    else
        answer_error(r, err, user_id);
}
