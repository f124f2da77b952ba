/*
 * The Redis store's work over keys found by name (redis_store.h): clear,
 * and the removal of the keys an earlier layout of the value index left.
 * Both walk SCAN MATCH <start>* in batches, never KEYS or FLUSHDB.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"
#include "redis_store.h"

#define SCAN_BATCH "500"
/* Ids of a set of the earlier layout read per script. */
#define LEGACY_BATCH 500

/* True for the namespace indexes and the queues, which clear removes but
 * does not count (records, rate-limit state and probes count, as in the
 * memory store). */
static bool is_index_key(const rd_store *s, const redisReply *k)
{
    static const char *const kinds[] = {"exp:", "lex:", "ixr:", "ix:", "q:"};
    if (k->len < s->prefix_len || memcmp(k->str, s->prefix, s->prefix_len) != 0)
        return false;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t n = strlen(kinds[i]);
        if (k->len - s->prefix_len >= n && memcmp(k->str + s->prefix_len, kinds[i], n) == 0)
            return true;
    }
    return false;
}

/* Which keys of a SCAN batch a caller of unlink_batch removes. */
typedef bool (*key_pick)(const rd_store *s, const redisReply *k, const void *arg);

/* UNLINKs the keys of a SCAN batch that pick(s, key, arg) takes, adding
 * how many existed to *n. */
static sd_err unlink_batch(rd_store *s, const redisReply *keys, key_pick pick,
                           const void *arg, int64_t *n)
{
    if (keys->elements > (size_t)INT_MAX - 1)
        return SD_ERR_INTERNAL;
    const char **argv = calloc(keys->elements + 1, sizeof *argv);
    size_t *lens = calloc(keys->elements + 1, sizeof *lens);
    sd_err err = SD_ERR_NOMEM;
    if (argv == NULL || lens == NULL)
        goto done;
    argv[0] = "UNLINK";
    lens[0] = 6;
    int argc = 1;
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type == REDIS_REPLY_STRING && pick(s, k, arg)) {
            argv[argc] = k->str;
            lens[argc++] = k->len;
        }
    }
    err = SD_OK;
    if (argc > 1) {
        redisReply *r = NULL;
        err = rd_command(s->pool, argc, argv, lens, &r);
        if (err == SD_OK && r->type != REDIS_REPLY_INTEGER)
            err = rd_bad_reply("UNLINK");
        if (err == SD_OK)
            *n += r->integer;
        freeReplyObject(r);
    }
done:
    free(argv);
    free(lens);
    return err;
}

/* Calls each(s, keys, ctx) for every batch of SCAN MATCH <start>* COUNT
 * 500 (glob characters of start escaped): only keys under start, never a
 * KEYS or FLUSHDB. Not one atomic step: keys written meanwhile may be
 * missed. */
static sd_err scan_prefix(rd_store *s, const char *start,
                          sd_err (*each)(rd_store *s, const redisReply *keys, void *ctx),
                          void *ctx)
{
    sd_buf pat = SD_BUF_INIT;
    for (const char *p = start; *p != '\0'; p++) {
        if (strchr("*?[]\\", *p) != NULL)
            sd_buf_putc(&pat, '\\');
        sd_buf_putc(&pat, *p);
    }
    sd_buf_putc(&pat, '*');
    if (!sd_buf_ok(&pat))
        return SD_ERR_NOMEM;
    char cursor[32] = "0";
    sd_err err;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pat.data, "COUNT", SCAN_BATCH};
        size_t lens[] = {4, strlen(cursor), 5, pat.len, 5, strlen(SCAN_BATCH)};
        redisReply *r = NULL;
        err = rd_command(s->pool, 6, argv, lens, &r);
        if (err != SD_OK)
            break;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[0]->len >= sizeof cursor ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            err = rd_bad_reply("SCAN");
        } else {
            memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
            err = each(s, r->element[1], ctx);
        }
        freeReplyObject(r);
    } while (err == SD_OK && strcmp(cursor, "0") != 0);
    sd_buf_free(&pat);
    return err;
}

static bool pick_record(const rd_store *s, const redisReply *k, const void *arg)
{
    (void)arg;
    return !is_index_key(s, k);
}

static bool pick_index(const rd_store *s, const redisReply *k, const void *arg)
{
    (void)arg;
    return is_index_key(s, k);
}

/* How many records (and, not counted, indexes) clear has removed. */
typedef struct clear_count {
    int64_t records, indexes;
} clear_count;

static sd_err clear_batch(rd_store *s, const redisReply *keys, void *ctx)
{
    clear_count *c = ctx;
    sd_err err = unlink_batch(s, keys, pick_record, NULL, &c->records);
    return err == SD_OK ? unlink_batch(s, keys, pick_index, NULL, &c->indexes) : err;
}

/* Every key under the prefix, each SCAN batch UNLINKed: only statusd's
 * own keys, never FLUSHDB. Not one atomic step: a write racing with
 * clear may survive it. */
sd_err rd_store_clear(sd_store *st, int64_t *deleted)
{
    rd_store *s = (rd_store *)st;
    clear_count c = {0, 0};
    sd_err err = scan_prefix(s, s->prefix, clear_batch, &c);
    if (err == SD_OK && deleted != NULL)
        *deleted = c.records;
    return err;
}

/* ---- the earlier layouts of the value index ---- */

/*
 * Keys that earlier statusd versions kept for the value index of a
 * namespace and this one does not: <prefix>ixr:<ns>:s (each id's order
 * key, now the score of its entry in its value's ordered set) and the
 * sets <prefix>ix:<ns>:<v> scored by expiry (count_by now counts the
 * ordered sets <prefix>ix:<ns>:<v>:o; an encoded value holds no ':', so
 * such a set is a key from <prefix>ix:<ns>: on with no ':' after it).
 * The oldest layout kept only those sets and the id -> value hash, no
 * ordered sets. The walk that removes them runs while the marker
 * <prefix>ixr:<ns>:v is missing (set once a walk succeeds) or the
 * order-key hash is there (an earlier instance still running beside this
 * one writes it again).
 */
static bool pick_legacy_set(const rd_store *s, const redisReply *k, const void *arg)
{
    (void)s;
    size_t start = *(const size_t *)arg;
    return k->len >= start && memchr(k->str + start, ':', k->len - start) == NULL;
}

typedef struct legacy_walk {
    const char *ns, *field;
    size_t start;           /* the length of <prefix>ix:<ns>: */
    int64_t removed;        /* keys */
    int64_t counted;        /* ids only a removed set counted */
} legacy_walk;

/* Empties legacy set key a batch at a time, counting under its value,
 * with a new order key, each id that the value index names under that
 * value but whose ordered set lacks it (a record only that set counted),
 * so that it stays counted. */
static sd_err migrate_legacy_set(rd_store *s, legacy_walk *w, const redisReply *key)
{
    char *name = strndup(key->str, key->len);
    if (name == NULL)
        return SD_ERR_NOMEM;
    sd_err err = SD_OK;
    for (;;) {
        rd_args a;
        rd_args_namespace(&a, s->prefix, w->ns, sd_now_ms(), w->field);
        rd_args_str(&a, name);
        rd_args_i64(&a, LEGACY_BATCH);
        redisReply *r = NULL;
        err = rd_store_run(s, RD_SCRIPT_LEGACY_INDEX, &a, &r);
        if (err == SD_OK &&
            (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
             r->element[0]->type != REDIS_REPLY_INTEGER ||
             r->element[1]->type != REDIS_REPLY_INTEGER ||
             r->element[0]->integer < 0 || r->element[0]->integer > LEGACY_BATCH))
            err = rd_bad_reply("legacy_index");
        int64_t read = err == SD_OK ? r->element[0]->integer : 0;
        if (err == SD_OK)
            w->counted += r->element[1]->integer;
        freeReplyObject(r);
        if (err != SD_OK || read < LEGACY_BATCH)
            break;
    }
    free(name);
    return err;
}

static sd_err legacy_batch(rd_store *s, const redisReply *keys, void *ctx)
{
    legacy_walk *w = ctx;
    sd_err err = SD_OK;
    for (size_t i = 0; i < keys->elements && err == SD_OK; i++) {
        const redisReply *k = keys->element[i];
        if (k->type == REDIS_REPLY_STRING && pick_legacy_set(s, k, &w->start)) {
            err = migrate_legacy_set(s, w, k);
            if (err == SD_OK)
                w->removed++; /* emptied, so gone */
        }
    }
    /* One written again since it was emptied goes too. */
    return err == SD_OK ? unlink_batch(s, keys, pick_legacy_set, &w->start, &w->removed)
                        : err;
}

/* One command on key whose reply is an integer: *n gets it. */
static sd_err key_command(rd_store *s, int argc, const char **argv, int64_t *n)
{
    size_t lens[3];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = NULL;
    sd_err err = rd_command(s->pool, argc, argv, lens, &r);
    if (err == SD_OK && r->type != REDIS_REPLY_INTEGER)
        err = rd_bad_reply(argv[0]);
    if (err == SD_OK)
        *n = r->integer;
    freeReplyObject(r);
    return err;
}

/* The walk of rd_store_drop_legacy_index: the sets first, then the
 * order-key hash, the marker last, so that a walk cut short is made
 * again at the next start. */
static sd_err drop_legacy(rd_store *s, legacy_walk *w, const char *seqs, const char *mark,
                          const char *sets)
{
    int64_t marked = 0, hash = 0;
    sd_err err = key_command(s, 2, (const char *[]){"EXISTS", mark}, &marked);
    if (err == SD_OK)
        err = key_command(s, 2, (const char *[]){"EXISTS", seqs}, &hash);
    if (err != SD_OK || (marked > 0 && hash == 0))
        return err;
    err = scan_prefix(s, sets, legacy_batch, w);
    int64_t gone = 0;
    if (err == SD_OK)
        err = key_command(s, 2, (const char *[]){"UNLINK", seqs}, &gone);
    w->removed += gone;
    int64_t set = 0;
    if (err == SD_OK)
        err = key_command(s, 3, (const char *[]){"SETNX", mark, "1"}, &set);
    return err;
}

void rd_store_drop_legacy_index(rd_store *s, const char *ns, const char *field)
{
    char *seqs = rd_ns_key_own(s->prefix, "ixr:", ns, ":s");
    char *mark = rd_ns_key_own(s->prefix, "ixr:", ns, ":v");
    char *sets = rd_ns_key_own(s->prefix, "ix:", ns, ":");
    legacy_walk w = {ns, field, sets != NULL ? strlen(sets) : 0, 0, 0};
    /* Best effort: an unreachable Redis must not stop a start, and the
     * keys are only memory; the next start tries again. The SCAN walks
     * the whole database, whatever it matches, hence the marker. */
    sd_err err = seqs != NULL && mark != NULL && sets != NULL
                     ? drop_legacy(s, &w, seqs, mark, sets)
                     : SD_ERR_NOMEM;
    if (err != SD_OK)
        sd_warn("redis: the value index of '%s': cannot remove the keys of earlier "
                "versions (%s); the next start tries again", ns, sd_err_name(err));
    else if (w.removed > 0)
        sd_info("redis: the value index of '%s': removed %lld keys of earlier versions; "
                "%lld records only they listed are listed again, as the newest",
                ns, (long long)w.removed, (long long)w.counted);
    free(seqs);
    free(mark);
    free(sets);
}
