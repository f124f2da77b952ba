#ifndef STATUSD_STORE_H
#define STATUSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"

/*
 * The store: where statusd keeps every record, in its own memory or in
 * Redis, with the same behaviour on both. One interface, a struct of
 * function pointers, chosen at start-up; callers use the inline wrappers
 * below and never see the implementation.
 *
 * Data model. A record is addressed by a namespace ("job", "session", ...)
 * and an id, and is either
 *   - a hash: a small set of named string fields (a Redis hash), or
 *   - a list: an ordered list of strings (a Redis list),
 * with an absolute expiry. Every change to a record is one atomic step in
 * the store (one Lua script on Redis, one shard lock in memory): callers
 * describe the change (sd_update) and never read, modify and write back
 * across calls, so concurrent requests lose no write.
 *
 * TTL rule. Any expiry a call sets is capped by the record's field
 * SD_FIELD_DEADLINE (absolute epoch milliseconds) when present; that is how
 * a job's sliding TTL never passes job_max_age after creation.
 *
 * Threads. Every operation but index (a start-up declaration) may be
 * called from any thread at once; an implementation owns whatever
 * per-thread state it needs.
 *
 * Errors common to all operations: SD_ERR_UNAVAILABLE (the backend cannot
 * answer now: connection lost, timeout, loading, read-only), SD_ERR_NOMEM,
 * SD_ERR_INVALID (bad arguments). Writes that add state may also fail
 * with SD_ERR_STORE_FULL: Redis at maxmemory under noeviction, the memory
 * store at its max_bytes; nothing changed, and reads and deletes go on.
 */

#define SD_FIELD_DEADLINE "deadline_ms"

/* Field names and values are arbitrary bytes; values are also kept
 * NUL-terminated for convenience. Names are NUL-terminated text. */
typedef struct sd_field {
    char *name;
    char *value;
    size_t len;
} sd_field;

/* A hash record as read. Owned by the caller; release with
 * sd_record_clear(), which leaves it empty and reusable. */
typedef struct sd_record {
    sd_field *fields;
    size_t count;
    int64_t expires_ms;   /* absolute epoch ms; 0 = never */
} sd_record;

#define SD_RECORD_INIT {NULL, 0, 0}

void sd_record_clear(sd_record *r);
/* The value of a field, or NULL when absent; *len_out (optional) gets its
 * length. The pointer lives as long as the record. */
const char *sd_record_get(const sd_record *r, const char *name, size_t *len_out);
/* A field parsed as a decimal integer: SD_ERR_NOT_FOUND when absent,
 * SD_ERR_INVALID when not a number. */
sd_err sd_record_get_i64(const sd_record *r, const char *name, int64_t *out);
/* Adds or replaces a field in a record (copying name and value); used by
 * store implementations to build results. */
sd_err sd_record_set(sd_record *r, const char *name, const char *value, size_t len);

typedef enum sd_assign_op {
    SD_ASSIGN_SET,     /* field = value */
    SD_ASSIGN_SETNX,   /* field = value only if the field is absent */
    SD_ASSIGN_INCR,    /* field = field (0 when absent) + incr */
    SD_ASSIGN_DEL      /* remove the field */
} sd_assign_op;

typedef struct sd_assign {
    const char *name;
    sd_assign_op op;
    const char *value;   /* SET, SETNX */
    size_t len;          /* length of value */
    int64_t incr;        /* INCR */
} sd_assign;

typedef enum sd_update_mode {
    SD_UPDATE_EXISTING,  /* the record must exist: SD_ERR_NOT_FOUND */
    SD_UPDATE_CREATE,    /* the record must not exist: SD_ERR_EXISTS */
    SD_UPDATE_UPSERT     /* create when absent, else update in place */
} sd_update_mode;

/*
 * One atomic change to a hash record:
 *   1. mode decides what happens when the record is absent or present;
 *   2. when cond_field is set and the record exists, the record's value of
 *      cond_field must equal one of cond_values[0..cond_count), else nothing
 *      changes and the call returns SD_ERR_CONFLICT (with the current
 *      record in *out when out is given, so the caller can say why);
 *   3. assignments apply in order;
 *   4. ttl_ms > 0 sets the expiry to now + ttl_ms (capped by the record's
 *      SD_FIELD_DEADLINE); ttl_ms == 0 keeps the expiry (a new record then
 *      never expires).
 */
typedef struct sd_update {
    sd_update_mode mode;
    const char *cond_field;
    const char *const *cond_values;
    size_t cond_count;
    const sd_assign *assign;
    size_t assign_count;
    int64_t ttl_ms;
    /* The change finishes or carries on work already accepted (a run's
     * end, its token, an app's final report): the memory store's cap
     * (memory_max_bytes) does not refuse it, so accepted work can always
     * end. Redis's maxmemory applies to every write. */
    bool settles;
    /* With ttl_ms: the renewal of a live record is left out when it would
     * move the record's expiry forward by no more than slack_ms (0: every
     * change renews), as a poll's is (sd_store_poll), so a record changed
     * often costs no expiry write per change; one the deadline field caps
     * is renewed. >= 0. */
    int64_t slack_ms;
} sd_update;

/* A list record as read. Owned by the caller; release with sd_list_clear(). */
typedef struct sd_list {
    char **items;        /* each NUL-terminated too */
    size_t *lens;
    size_t count;
    int64_t expires_ms;
} sd_list;

#define SD_LIST_INIT {NULL, NULL, 0, 0}

void sd_list_clear(sd_list *l);

/* The answer of a rate-limit check (GCRA). */
typedef struct sd_rate {
    bool allowed;
    int64_t limit;          /* requests per period, as asked */
    int64_t remaining;      /* requests still allowed right now */
    int64_t reset_ms;       /* until the limit is fully available again */
    int64_t retry_after_ms; /* until the next request is allowed; 0 if allowed */
} sd_rate;

/* Ids of one page of a namespace listing. Owned by the caller; release
 * with sd_page_clear(). next_cursor is NULL on the last page. */
typedef struct sd_page {
    char **ids;
    size_t count;
    char *next_cursor;
    int64_t *keys;       /* scan_by: each id's order key; NULL otherwise */
} sd_page;

#define SD_PAGE_INIT {NULL, 0, NULL, NULL}

void sd_page_clear(sd_page *p);

/* What /health/store reports about a store. */
typedef struct sd_store_info {
    const char *backend;    /* "memory" or "redis" */
    char url[256];          /* where it lives, password masked; "" for memory */
    bool shared;            /* other processes see the same records and queues */
    bool remote;            /* a call waits on a network round trip (and can
                             * wait up to the store's timeout) */
    int64_t bytes_held;     /* what the store counts it holds; -1 when it does not count */
    int64_t bytes_max;      /* the cap of bytes_held, 0 for none; -1 when it does not count */
} sd_store_info;

/*
 * Queues. A queue, named like a namespace, holds items (short strings:
 * ids of records) shared by every process on the store. An item is in a
 * queue at most once, and is either
 *   waiting: due at a time (now, or later: a delayed retry), or
 *   leased:  taken by an owner (a string naming one taker, e.g. one run
 *            of one process) until its lease expires.
 * take hands out due waiting items, earliest due first (equal times in
 * byte order of the items), each leased to the taker. The owner renews
 * the lease while it works, then acks the item (it leaves the queue) or
 * releases it (waiting again, perhaps after a delay). A lease that runs
 * out means its owner died: reap leases such items to a new owner in one
 * step, so that two reapers never both get one. Times are judged by the
 * calling process's clock, as expiries are.
 *
 * Record changes. Every queue operation is one atomic step, and most can
 * carry a change to the hash record (ns, item) that the item names: an
 * sd_update applied in that same step (sd_queue_rec). A job's record and
 * its place in the queue thus never disagree, whatever dies between two
 * calls. Each operation says when the change is tried and what its
 * failure does to the queue step; rec->err gets the change's result
 * (SD_OK, SD_ERR_CONFLICT, SD_ERR_NOT_FOUND, SD_ERR_EXISTS,
 * SD_ERR_INVALID) whenever the change was tried, and is left alone when
 * it was not.
 */

#define SD_QUEUE_ITEM_MAX 64   /* bytes of an item, NUL included */
#define SD_QUEUE_OWNER_MAX 64  /* bytes of an owner, NUL included */

typedef struct sd_queue_rec {
    const char *ns;          /* namespace of the record the item names */
    const sd_update *u;      /* the change */
    sd_record *out;          /* optional: as sd_store_update's out */
    sd_err err;              /* out: the change's result, when tried */
} sd_queue_rec;

/* One item handed out by take or reap. Release the records with
 * sd_queue_items_clear(). */
typedef struct sd_queue_item {
    char item[SD_QUEUE_ITEM_MAX];
    char owner[SD_QUEUE_OWNER_MAX];  /* reap: the owner whose lease ran out */
    sd_record rec;                   /* take with a change: the record after it */
} sd_queue_item;

void sd_queue_items_clear(sd_queue_item *items, size_t n);

/* What take asks for. */
typedef struct sd_queue_take {
    const char *owner;       /* leases go to it */
    int64_t lease_ms;        /* > 0 */
    int64_t ahead_ms;        /* items due by now + ahead_ms (0: due now) */
    size_t max;              /* items at most, >= 1 */
    bool resume;             /* first hand back items leased to owner already */
} sd_queue_take;

/* A queue's items: waiting and due now, waiting for a later time, leased
 * (including leases that ran out and were not reaped yet). */
typedef struct sd_queue_stats {
    int64_t ready;
    int64_t delayed;
    int64_t leased;
} sd_queue_stats;

typedef struct sd_store sd_store;

/*
 * A poll that does not wait (sd_store_poll_start): the caller's, alive
 * from the start until done(arg) has run. The store fills the answer:
 *   err, rec   as sd_store_poll's result and out (rec is the caller's to
 *              clear), when retry is false;
 *   retry      the store did not answer this way (something to write or
 *              repair, or the connection went before the reply): the
 *              caller calls sd_store_poll, which does;
 *   read_done  with retry: the reads were made and showed something to
 *              write or repair (a renewal due, a record gone or
 *              damaged): the caller calls sd_store_get instead, which
 *              decides and writes without making them again.
 */
typedef struct sd_poll {
    void (*done)(void *arg);   /* set by the caller */
    void *arg;
    sd_err err;
    sd_record rec;
    bool retry;
    bool read_done;
} sd_poll;

/* A change notice (see sd_store_on_change). */
typedef void (*sd_store_change_fn)(void *arg, const char *ns, const char *id);

typedef struct sd_store_ops {
    const char *name;

    /* Reads a hash record. renew_ttl_ms > 0 also sets the expiry to
     * now + renew_ttl_ms (capped by the deadline) in the same step,
     * unless that would move it forward by no more than slack_ms (or not
     * at all; slack_ms < renew_ttl_ms): with slack the read then writes
     * nothing. *out carries the expiry as it stands after the read.
     * SD_ERR_NOT_FOUND when absent, expired or a list. */
    sd_err (*get)(sd_store *s, const char *ns, const char *id,
                  int64_t renew_ttl_ms, int64_t slack_ms, sd_record *out);

    /* Applies *u atomically (see sd_update). out, when given, receives the
     * record as it stands after the change, or, on SD_ERR_CONFLICT, as it
     * stood. SD_ERR_NOT_FOUND, SD_ERR_EXISTS, SD_ERR_CONFLICT. */
    sd_err (*update)(sd_store *s, const char *ns, const char *id,
                     const sd_update *u, sd_record *out);

    /* Deletes a record of either kind. SD_ERR_NOT_FOUND when absent. */
    sd_err (*del)(sd_store *s, const char *ns, const char *id);

    /* Appends items to a list record in one step, creating it when absent,
     * keeps only the newest max_len items (0 = unbounded) and sets the
     * expiry to now + ttl_ms (ttl_ms > 0). out, when given, receives the
     * whole list after the change. */
    sd_err (*list_append)(sd_store *s, const char *ns, const char *id,
                          const char *const *items, const size_t *lens,
                          size_t n, size_t max_len, int64_t ttl_ms,
                          sd_list *out);

    /* Reads a list record; renew_ttl_ms as for get. SD_ERR_NOT_FOUND. */
    sd_err (*list_get)(sd_store *s, const char *ns, const char *id,
                       int64_t renew_ttl_ms, sd_list *out);

    /* One page of the live ids of a namespace, at most limit of them.
     * sd_store_scan takes a cursor: NULL or "" for the first page, else a
     * next_cursor from a previous page (SD_ERR_INVALID for a malformed
     * one), and hands the implementation the id the page starts after
     * (NULL: the first page) and a limit cut to SD_STORE_SCAN_MAX. Every
     * id live for the whole listing appears on some page. */
    sd_err (*scan)(sd_store *s, const char *ns, const char *after,
                   size_t limit, sd_page *out);

    /* Number of live records in a namespace. */
    sd_err (*count)(sd_store *s, const char *ns, int64_t *out);

    /* Declares that the hash records of namespace ns are counted by the
     * value of their field `field` (see count_by). One field per
     * namespace: declaring the same field again is SD_OK, another field
     * SD_ERR_INVALID. Call at start-up, before the store is shared between
     * threads, and alike in every process sharing the store. Records
     * created before the declaration need not be counted: such a record
     * is counted from its next update on. */
    sd_err (*index)(sd_store *s, const char *ns, const char *field);

    /* Number of live records of namespace ns whose indexed field now holds
     * exactly value; a record without the field counts under no value.
     * Every change to a record updates these counts in the same atomic
     * step, so this reads an index, never scans; an expired record stops
     * counting no later than count stops counting it. (On Redis, while
     * more than 20,000 expired records of ns are left to drop, it may
     * count some of them; the store drops them every second by itself,
     * so that backlog only builds when Redis cannot keep up.)
     * SD_ERR_INVALID when ns has no index. */
    sd_err (*count_by)(sd_store *s, const char *ns, const char *value, int64_t *out);

    /* One page of the live records of namespace ns whose indexed field
     * now holds exactly value, newest first: ordered by an order key
     * (> 0) that a record gets when it is first counted under any value
     * of the index and keeps while it moves between values, higher for
     * later records of the namespace. At most limit ids (cut to
     * SD_STORE_SCAN_MAX), each with its key in out->keys, all with keys
     * below `before` (0: no bound); out->next_cursor is non-NULL (the
     * last key, in decimal) when more may follow. Reads the value's own
     * ordered set, so its cost follows the page and the records of that
     * value, never those of other values. SD_ERR_INVALID when ns has no
     * index. */
    sd_err (*scan_by)(sd_store *s, const char *ns, const char *value, int64_t before,
                      size_t limit, sd_page *out);

    /* Deletes every record statusd keeps (every namespace) and empties
     * every queue; *deleted gets how many records. Never touches anything
     * outside statusd's own keys. */
    sd_err (*clear)(sd_store *s, int64_t *deleted);

    /* One GCRA step for key: at most limit requests per period_ms, all of
     * them allowed in a burst. The key's state expires on its own. */
    sd_err (*rate_check)(sd_store *s, const char *key, int64_t limit,
                         int64_t period_ms, sd_rate *out);

    /* ---- queues (see above); every one refuses a bad queue name, item
     * (empty, or SD_QUEUE_ITEM_MAX bytes or more), owner, negative time
     * or malformed change with SD_ERR_INVALID, touching nothing ---- */

    /* Adds item, due delay_ms from now. A push with a record change that
     * does not settle is new work, which a full memory store refuses
     * (SD_ERR_STORE_FULL); one without a change, or whose change settles,
     * carries on work accepted already and is not refused for space.
     * Refused, with nothing changed:
     * SD_ERR_EXISTS when item is in the queue already; SD_ERR_QUEUE_FULL
     * when capacity > 0 items are waiting already. Then rec (optional) is
     * tried, and only when it succeeds is the item added; otherwise its
     * error is returned. */
    sd_err (*queue_push)(sd_store *s, const char *queue, const char *item,
                         int64_t delay_ms, int64_t capacity, sd_queue_rec *rec);

    /* Takes up to t->max due items into items[0..*n) (items[0..t->max)
     * are overwritten: clear records left there first). With t->resume,
     * items leased to t->owner already come first, as they stand (a take
     * whose answer was lost, retried with the same owner, gets its items
     * back; rec is not applied to them again). Each newly taken item gets
     * rec's change (optional; its out is not used): an item whose change
     * fails leaves the queue and is not handed out (its record says there
     * is nothing to run); the others are leased to t->owner for
     * t->lease_ms, each with its record after the change in items[i].rec
     * (resumed items: the record as it stands, empty when it is gone). */
    sd_err (*queue_take)(sd_store *s, const char *queue, const sd_queue_take *t,
                         const sd_queue_rec *rec, sd_queue_item *items, size_t *n);

    /* Extends owner's lease of item to lease_ms from now. SD_ERR_NOT_FOUND
     * when owner does not hold item (nothing changes, rec is not tried);
     * else the lease is extended and rec (optional) tried. */
    sd_err (*queue_renew)(sd_store *s, const char *queue, const char *item,
                          const char *owner, int64_t lease_ms, sd_queue_rec *rec);

    /* Removes item leased to owner. SD_ERR_NOT_FOUND when owner does not
     * hold it (nothing changes, rec is not tried); else rec (optional) is
     * tried and the item leaves the queue whatever the change gave. */
    sd_err (*queue_ack)(sd_store *s, const char *queue, const char *item,
                        const char *owner, sd_queue_rec *rec);

    /* An ack and a take in one step, what a worker ending a run does to
     * start its next one in a single round trip: acks item as queue_ack
     * does (SD_ERR_NOT_FOUND when owner does not hold it: then nothing
     * changes, rec is not tried and nothing is taken), then takes as
     * queue_take does with t (never t->resume) and take_rec into
     * items[0..*n). rec and take_rec, when both given, change records
     * of one namespace. A take that cannot go on (out of memory) takes
     * no more and the ack stands: the result is the ack's. */
    sd_err (*queue_ack_take)(sd_store *s, const char *queue, const char *item,
                             const char *owner, sd_queue_rec *rec, const sd_queue_take *t,
                             const sd_queue_rec *take_rec, sd_queue_item *items, size_t *n);

    /* Puts item, leased to owner, back to waiting, due delay_ms from now
     * (no capacity check: it was accepted already). SD_ERR_NOT_FOUND when
     * owner does not hold it (nothing changes, rec is not tried). rec
     * (optional) is tried first: when it fails the item leaves the queue
     * instead (its record says it must not run again) and SD_OK is
     * returned with the change's error in rec->err. */
    sd_err (*queue_release)(sd_store *s, const char *queue, const char *item,
                            const char *owner, int64_t delay_ms, sd_queue_rec *rec);

    /* Takes a waiting item out of the queue, rec (optional) first: when
     * the change fails nothing else happens and SD_OK is returned with the
     * change's error in rec->err. SD_ERR_NOT_FOUND when the item is not
     * waiting (leased: its owner finds out; or absent), after the change.
     * For a cancel: the record changes whatever the item's state. */
    sd_err (*queue_remove)(sd_store *s, const char *queue, const char *item,
                           sd_queue_rec *rec);

    /* Leases to owner, for lease_ms, up to max items whose lease ran out
     * by now, earliest expiry first, into items[0..*n) (overwritten as
     * take's) with the owner each had in items[i].owner. */
    sd_err (*queue_reap)(sd_store *s, const char *queue, const char *owner,
                         int64_t lease_ms, size_t max, sd_queue_item *items, size_t *n);

    /* The queue's counts. */
    sd_err (*queue_stats)(sd_store *s, const char *queue, sd_queue_stats *out);

    /* A real write, read and delete of a probe key; SD_OK when all worked. */
    sd_err (*ping)(sd_store *s);

    void (*info)(sd_store *s, sd_store_info *out);

    /* Optional (NULL: every call is answered by waiting, as the memory
     * store's are, which never wait on I/O). get as a poll, with the
     * answer coming later: true when started, and then p->done(p->arg)
     * runs once, on a thread of the store's, after p has its answer
     * (sd_poll); false when it cannot start now (not connected, stalled,
     * stopping, out of memory), p untouched. */
    bool (*poll_start)(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                       int64_t slack_ms, sd_poll *p);

    /* Optional, with poll_start: refuses further starts and returns once
     * every poll started has had its done. */
    void (*poll_stop)(sd_store *s);

    /* Optional (NULL for a store no other process shares): also hands
     * the changes other processes make to fn(arg, ns, id), from a thread
     * of its own, and fn(arg, NULL, NULL) whenever some may have been
     * missed (an outage); fn NULL stops that. sd_store_on_change calls
     * it. SD_ERR_NOMEM when it cannot start. */
    sd_err (*share_changes)(sd_store *s, sd_store_change_fn fn, void *arg);

    /* Stops background threads and frees everything. */
    void (*free)(sd_store *s);
} sd_store_ops;

/*
 * Change notices. fn(arg, ns, id) is called after every call below that
 * changed a record of this process's making: an update, a delete, a list
 * append, a queue operation whose record change succeeded (one call per
 * item taken with a change); sd_store_clear calls fn(arg, NULL, NULL) for
 * every record at once. It runs on the writing thread, after the store's
 * own locks are released, so it may read the store but must be quick.
 * Changes other processes make to a shared store, and expiries, are not
 * seen here unless the store shares them (share_changes below). Set it
 * before the store is shared between threads.
 */

/* Every implementation starts with this member (zeroed: no notices). */
struct sd_store {
    const sd_store_ops *ops;
    sd_store_change_fn on_change;
    void *on_change_arg;
};

/* Sets (fn NULL: clears) the change notices of s; on a shared store the
 * notices of other processes' changes too (share_changes), when that
 * can start: SD_ERR_NOMEM otherwise, with this process's notices set. */
sd_err sd_store_on_change(sd_store *s, sd_store_change_fn fn, void *arg);

/*
 * The calls through the vtable. Each first checks its arguments as the
 * operation's comment above says (a bad one: SD_ERR_INVALID, with nothing
 * touched and out cleared where it can be) and clears the caller's out,
 * so an implementation is only ever called with checked arguments and an
 * empty out. scan hands the implementation the decoded cursor (the id
 * the page starts after, NULL for the first page) and the capped limit;
 * rate_check the GCRA parameters worked out from limit and period.
 */
sd_err sd_store_get(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                    sd_record *out);
/* get for a poll: renews the expiry (renew_ttl_ms > 0) only when that
 * moves it by more than renew_ttl_ms / SD_POLL_SLACK_DIV, so a client
 * polling often costs the store reads, not writes, and the record lives
 * at least (1 - 1 / SD_POLL_SLACK_DIV) of the TTL after its last poll. */
#define SD_POLL_SLACK_DIV 10
sd_err sd_store_poll(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                     sd_record *out);
/* sd_store_poll without waiting for the answer, on a store that has
 * poll_start: true when started (p's done runs later, once, on another
 * thread; see sd_poll), false when the caller must call sd_store_poll
 * itself (a store that answers at once, the connection not up, bad
 * arguments, which sd_store_poll names). p->done and p->arg are set by
 * the caller; the rest is reset here. */
bool sd_store_poll_start(sd_store *s, const char *ns, const char *id, int64_t renew_ttl_ms,
                         sd_poll *p);
/* Refuses further poll starts and waits for the polls started to end:
 * before the threads their done wakes go away. NULL is fine. */
void sd_store_poll_stop(sd_store *s);
sd_err sd_store_update(sd_store *s, const char *ns, const char *id, const sd_update *u,
                       sd_record *out);
sd_err sd_store_del(sd_store *s, const char *ns, const char *id);
sd_err sd_store_list_append(sd_store *s, const char *ns, const char *id,
                            const char *const *items, const size_t *lens, size_t n,
                            size_t max_len, int64_t ttl_ms, sd_list *out);
sd_err sd_store_list_get(sd_store *s, const char *ns, const char *id,
                         int64_t renew_ttl_ms, sd_list *out);
sd_err sd_store_scan(sd_store *s, const char *ns, const char *cursor, size_t limit,
                     sd_page *out);
sd_err sd_store_count(sd_store *s, const char *ns, int64_t *out);
sd_err sd_store_index(sd_store *s, const char *ns, const char *field);
sd_err sd_store_count_by(sd_store *s, const char *ns, const char *value, int64_t *out);
sd_err sd_store_scan_by(sd_store *s, const char *ns, const char *value, int64_t before,
                        size_t limit, sd_page *out);
sd_err sd_store_clear(sd_store *s, int64_t *deleted);
sd_err sd_store_rate_check(sd_store *s, const char *key, int64_t limit, int64_t period_ms,
                           sd_rate *out);
sd_err sd_queue_push(sd_store *s, const char *queue, const char *item, int64_t delay_ms,
                     int64_t capacity, sd_queue_rec *rec);
sd_err sd_queue_take_items(sd_store *s, const char *queue, const sd_queue_take *t,
                           const sd_queue_rec *rec, sd_queue_item *items, size_t *n);
sd_err sd_queue_renew(sd_store *s, const char *queue, const char *item, const char *owner,
                      int64_t lease_ms, sd_queue_rec *rec);
sd_err sd_queue_ack(sd_store *s, const char *queue, const char *item, const char *owner,
                    sd_queue_rec *rec);
/* queue_ack_take; a take that would resume, or changes of two
 * namespaces, are SD_ERR_INVALID. */
sd_err sd_queue_ack_take(sd_store *s, const char *queue, const char *item, const char *owner,
                         sd_queue_rec *rec, const sd_queue_take *t,
                         const sd_queue_rec *take_rec, sd_queue_item *items, size_t *n);
sd_err sd_queue_release(sd_store *s, const char *queue, const char *item,
                        const char *owner, int64_t delay_ms, sd_queue_rec *rec);
sd_err sd_queue_remove(sd_store *s, const char *queue, const char *item,
                       sd_queue_rec *rec);
sd_err sd_queue_reap(sd_store *s, const char *queue, const char *owner, int64_t lease_ms,
                     size_t max, sd_queue_item *items, size_t *n);
sd_err sd_queue_stats_get(sd_store *s, const char *queue, sd_queue_stats *out);

static inline sd_err sd_store_ping(sd_store *s) { return s->ops->ping(s); }

static inline void sd_store_info_get(sd_store *s, sd_store_info *out)
{ s->ops->info(s, out); }

static inline void sd_store_free(sd_store *s)
{ if (s != NULL) s->ops->free(s); }

/* The memory store. shards: number of independently locked shards (a power
 * of two; 0 picks the default); sweep_interval_ms: how often the sweeper
 * drops expired records (0 picks the default); max_bytes: the cap of
 * what it holds, counted as its allocations take from the heap, past
 * which writes that add state fail with SD_ERR_STORE_FULL (0: none).
 * opts may be NULL (every default). The store in *out, freed with
 * sd_store_free; SD_ERR_NOMEM, or SD_ERR_INTERNAL when a lock or the
 * sweeper's thread cannot be made, with *out NULL. */
typedef struct sd_memory_opts {
    unsigned shards;
    int64_t sweep_interval_ms;
    int64_t max_bytes;         /* cap of what the store holds, 0 = none */
} sd_memory_opts;

sd_err sd_memory_store_new(const sd_memory_opts *opts, sd_store **out);

/* The Redis store. Connections are opened lazily, one per calling thread,
 * each with timeout_ms as connect and command timeout. */
typedef struct sd_redis_opts {
    const char *host;          /* name or address */
    int port;
    int db;
    const char *username;      /* NULL or "": AUTH with the password only */
    const char *password;      /* NULL or "": no AUTH */
    int64_t timeout_ms;        /* connect and command timeout */
    const char *prefix;        /* key prefix, e.g. "statusd:" */
    int64_t conns;             /* connections the calls share, pipelined;
                                * 0 = 2 (the polls' and the subscriber's
                                * are two more) */
    int64_t sweep_interval_ms; /* how often the expired records of indexed
                                * namespaces leave their indexes by
                                * themselves; 0 = 1000 */
} sd_redis_opts;

/*
 * Creates the Redis store in *out (freed with sd_store_free) and checks it
 * can reach the server (connect, AUTH, SELECT, PING on the calling
 * thread). When it cannot, *out is NULL, err gets a one-line reason that
 * never contains the password, and the result says why: SD_ERR_INVALID
 * (bad options), SD_ERR_NOMEM, SD_ERR_INTERNAL (a lock), or what the check
 * failed with (SD_ERR_UNAVAILABLE: unreachable, refused, a script not
 * loaded).
 */
sd_err sd_redis_store_new(const sd_redis_opts *opts, sd_store **out,
                          char *err, size_t errlen);

struct sd_config;

/*
 * Opens the store the config asks for (store = auto | memory | redis).
 * *fallback is true when auto wanted Redis and fell back to memory. On
 * failure err gets one line saying why.
 */
sd_err sd_store_open(const struct sd_config *cfg, sd_store **out,
                     bool *fallback, char *err, size_t errlen);

#endif
