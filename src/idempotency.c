/*
 * Idempotency keys over the store (see statusd/idempotency.h). A claim
 * record holds
 *   fp          the fingerprint, 16 lower-case hex digits
 *   target      what the claiming request creates
 *   claimed_ms  when it was claimed (epoch ms)
 *   state       pending, then done once the target was created
 * and expires ttl_ms after the claim; reads do not renew it, so a key
 * lives no longer than the target it names can.
 *
 * The key itself goes into the record id hex-encoded: a key may hold any
 * printable character, including the braces of a Redis hash tag.
 */
#include "statusd/idempotency.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "statusd/util.h"

#define IDEM_NS "idempotency"
#define SCOPE_MAX 32
#define IDEM_ID_LEN (SCOPE_MAX + 1 + 2 * SD_IDEM_KEY_MAX + 1)

bool sd_idem_key_valid(const char *key)
{
    if (key == NULL)
        return false;
    size_t n = 0;
    for (; key[n] != '\0'; n++)
        if ((unsigned char)key[n] < 0x21 || (unsigned char)key[n] > 0x7e ||
            n >= SD_IDEM_KEY_MAX)
            return false;
    return n > 0;
}

uint64_t sd_idem_fingerprint(const char *scope, const void *body, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)scope;
    for (size_t i = 0; i <= strlen(scope); i++) { /* the NUL separates */
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    p = body;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static bool scope_valid(const char *scope)
{
    size_t n = scope != NULL ? strlen(scope) : 0;
    if (n == 0 || n > SCOPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((scope[i] >= 'a' && scope[i] <= 'z') || scope[i] == '_'))
            return false;
    return true;
}

/* "<scope>:<hex of key>" into id; false for a bad scope or key. */
static bool claim_id(const char *scope, const char *key, char id[IDEM_ID_LEN])
{
    if (!scope_valid(scope) || !sd_idem_key_valid(key))
        return false;
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(scope);
    memcpy(id, scope, n);
    id[n++] = ':';
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        id[n++] = hex[*p >> 4];
        id[n++] = hex[*p & 15];
    }
    id[n] = '\0';
    return true;
}

static bool target_valid(const char *target)
{
    size_t n = target != NULL ? strlen(target) : 0;
    return n > 0 && n <= SD_IDEM_TARGET_MAX;
}

/* Removes claim id when it still names target: deleting every field
 * removes a record, in the one conditioned step. */
static sd_err claim_drop(sd_store *s, const char *id, const char *target)
{
    const char *const cond[] = {target};
    sd_assign a[] = {
        {.name = "fp", .op = SD_ASSIGN_DEL},
        {.name = "target", .op = SD_ASSIGN_DEL},
        {.name = "claimed_ms", .op = SD_ASSIGN_DEL},
        {.name = "state", .op = SD_ASSIGN_DEL},
    };
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "target", .cond_values = cond,
                   .cond_count = 1, .assign = a, .assign_count = sizeof a / sizeof a[0]};
    sd_err err = sd_store_update(s, IDEM_NS, id, &u, NULL);
    return err == SD_ERR_NOT_FOUND || err == SD_ERR_CONFLICT ? SD_OK : err;
}

static sd_err claim_create(sd_store *s, const char *id, const char *fp, const char *target,
                           int64_t ttl_ms)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, sd_now_ms());
    sd_assign a[] = {
        {.name = "fp", .op = SD_ASSIGN_SET, .value = fp, .len = strlen(fp)},
        {.name = "target", .op = SD_ASSIGN_SET, .value = target, .len = strlen(target)},
        {.name = "claimed_ms", .op = SD_ASSIGN_SET, .value = now, .len = strlen(now)},
        {.name = "state", .op = SD_ASSIGN_SET, .value = "pending", .len = 7},
    };
    sd_update u = {.mode = SD_UPDATE_CREATE, .assign = a,
                   .assign_count = sizeof a / sizeof a[0], .ttl_ms = ttl_ms};
    return sd_store_update(s, IDEM_NS, id, &u, NULL);
}

/* What became of an existing claim whose target load found gone: true
 * when its request is over (done, or pending past the grace period), so
 * that the key may be claimed anew. */
static bool claim_over(const sd_record *rec)
{
    const char *state = sd_record_get(rec, "state", NULL);
    int64_t claimed = 0;
    if (state != NULL && strcmp(state, "done") == 0)
        return true;
    if (sd_record_get_i64(rec, "claimed_ms", &claimed) != SD_OK)
        return true;
    return sd_now_ms() - claimed >= SD_IDEM_PENDING_GRACE_MS;
}

sd_err sd_idem_begin(sd_store *s, const char *scope, const char *key, uint64_t fingerprint,
                     const char *target, int64_t ttl_ms, sd_idem_load_fn load, void *arg,
                     sd_idem_claim *out)
{
    char id[IDEM_ID_LEN];
    memset(out, 0, sizeof *out);
    if (!claim_id(scope, key, id) || !target_valid(target) || ttl_ms <= 0 || load == NULL)
        return SD_ERR_INVALID;
    char fp[17];
    snprintf(fp, sizeof fp, "%016" PRIx64, fingerprint);

    /* A second round only after a claim was dropped or expired meanwhile. */
    for (int round = 0; round < 2; round++) {
        sd_err err = claim_create(s, id, fp, target, ttl_ms);
        if (err == SD_OK) {
            out->outcome = SD_IDEM_NEW;
            return SD_OK;
        }
        if (err != SD_ERR_EXISTS)
            return err;
        sd_record rec = SD_RECORD_INIT;
        err = sd_store_get(s, IDEM_NS, id, 0, &rec);
        if (err == SD_ERR_NOT_FOUND)
            continue; /* expired since the create */
        if (err != SD_OK) {
            sd_record_clear(&rec);
            return err;
        }
        const char *stored_fp = sd_record_get(&rec, "fp", NULL);
        size_t tlen = 0;
        const char *stored = sd_record_get(&rec, "target", &tlen);
        if (stored_fp == NULL || strcmp(stored_fp, fp) != 0) {
            sd_record_clear(&rec);
            out->outcome = SD_IDEM_MISMATCH;
            return SD_OK;
        }
        if (stored == NULL || tlen == 0 || tlen > SD_IDEM_TARGET_MAX) {
            sd_record_clear(&rec);
            return SD_ERR_INTERNAL;
        }
        memcpy(out->target, stored, tlen + 1);
        err = load(arg, out->target);
        bool over = claim_over(&rec);
        sd_record_clear(&rec);
        if (err == SD_OK) {
            out->outcome = SD_IDEM_REPLAY;
            return SD_OK;
        }
        if (err != SD_ERR_NOT_FOUND)
            return err;
        if (!over) {
            out->outcome = SD_IDEM_BUSY;
            return SD_OK;
        }
        /* The target expired, or its request died before making it: the
         * key is free again. */
        err = claim_drop(s, id, out->target);
        if (err != SD_OK)
            return err;
        out->target[0] = '\0';
    }
    /* Dropped and taken again by another request whose target is gone
     * too: let the client try again rather than loop. */
    out->outcome = SD_IDEM_BUSY;
    return SD_OK;
}

sd_err sd_idem_done(sd_store *s, const char *scope, const char *key, const char *target)
{
    char id[IDEM_ID_LEN];
    if (!claim_id(scope, key, id) || !target_valid(target))
        return SD_ERR_INVALID;
    const char *const cond[] = {target};
    sd_assign a[] = {{.name = "state", .op = SD_ASSIGN_SET, .value = "done", .len = 4}};
    sd_update u = {.mode = SD_UPDATE_EXISTING, .cond_field = "target", .cond_values = cond,
                   .cond_count = 1, .assign = a, .assign_count = 1};
    sd_err err = sd_store_update(s, IDEM_NS, id, &u, NULL);
    return err == SD_ERR_NOT_FOUND || err == SD_ERR_CONFLICT ? SD_OK : err;
}

sd_err sd_idem_release(sd_store *s, const char *scope, const char *key, const char *target)
{
    char id[IDEM_ID_LEN];
    if (!claim_id(scope, key, id) || !target_valid(target))
        return SD_ERR_INVALID;
    return claim_drop(s, id, target);
}
