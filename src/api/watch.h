#ifndef STATUSD_API_WATCH_H
#define STATUSD_API_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"
#include "statusd/http.h"

/*
 * The requests held until a record changes: long-polls and event
 * streams. A holder (api/longpoll.c, api/events.c) reads a record,
 * finds nothing new to say, and holds its request here, keyed by the
 * record's namespace and id, with a time to be woken at in any case. The
 * request is suspended (statusd/http.h): it holds no HTTP thread.
 *
 * Wake-ups come from the store's change notices (sd_watch_notify is an
 * sd_store_change_fn; on Redis the notices of other instances arrive
 * through the store's subscriber the same way), from the timer, and
 * from the drain. A woken request is unlinked and resumed; its holder
 * reads why it woke, reads the record again and answers or holds again.
 *
 * Lost wake-ups. A change between the holder's read and its hold would
 * wake nobody, so every key's bucket counts the notices it got: the
 * holder takes the count (sd_watch_seq) before reading, and the hold is
 * refused (SD_ERR_CONFLICT: read again) when the count moved meanwhile.
 */

typedef struct sd_watch sd_watch;

typedef enum watch_why {
    WATCH_NONE = 0,
    WATCH_CHANGED,    /* the record changed (or may have) */
    WATCH_TIMER,      /* the time given to the hold came */
    WATCH_DRAIN       /* the instance is shutting down: answer now */
} watch_why;

#define WATCH_KEY_MAX 160

/* One held request, embedded in its holder's state. */
typedef struct watch_waiter {
    sd_req *req;
    char key[WATCH_KEY_MAX];      /* "<ns>\n<id>", set by sd_watch_key */
    uint32_t hash;
    int64_t due_ms;               /* monotonic: woken with WATCH_TIMER then */
    watch_why why;                /* why it was woken, for the holder */
    /* the watch's */
    struct watch_waiter *group;   /* sd_watch_hold_group's array, or NULL */
    size_t ngroup;
    struct watch_waiter *prev, *next;
    size_t heap_at;
    bool linked;
} watch_waiter;

/* The watch, in *out; max: requests held at once (sd_watch_admit).
 * SD_ERR_NOMEM, or SD_ERR_INTERNAL when a lock or the timer thread cannot
 * be made: *out is then NULL and err has the reason. */
sd_err sd_watch_new(size_t max, sd_watch **out, char *err, size_t errlen);
/* Stops the timer; no request may be held any more (drain first). */
void sd_watch_free(sd_watch *w);

/* Sets wt's key for record ns/id and its request. */
void sd_watch_key(watch_waiter *wt, sd_req *req, const char *ns, const char *id);

/* Counts a held request or an open stream for its whole life against
 * max: SD_OK (leave once later), SD_ERR_TOO_MANY_WAITERS. */
sd_err sd_watch_admit(sd_watch *w);
void sd_watch_leave(sd_watch *w);

/* The notices counted for wt's key so far (see above). */
uint64_t sd_watch_seq(sd_watch *w, const watch_waiter *wt);

/*
 * Suspends wt->req (sd_req_suspend(req, again, arg)) and holds it until a
 * notice for its key, wt->due_ms, or the drain. SD_OK: held, the caller
 * returns without answering; SD_ERR_CONFLICT: a notice came since seq,
 * read again; SD_ERR_SHUTTING_DOWN: draining, answer now.
 */
sd_err sd_watch_hold(sd_watch *w, watch_waiter *wt, uint64_t seq, sd_req_again_fn again,
                     void *arg);

/*
 * The same for one request that follows several records: wts[0..n)
 * share wts[0].req and are held and woken together, whichever key is
 * notified; wts[0].due_ms is the time, and wts[0].why says why it woke.
 * seqs[i] is the count taken for wts[i] before the read.
 */
sd_err sd_watch_hold_group(sd_watch *w, watch_waiter *wts, size_t n, const uint64_t *seqs,
                           sd_req_again_fn again, void *arg);

/* Lets go of wt (and its group) if it is held (its request ended). */
void sd_watch_cancel(sd_watch *w, watch_waiter *wt);

/* sd_store_change_fn: wakes the holders of ns/id; ns NULL wakes all. */
void sd_watch_notify(void *w, const char *ns, const char *id);

/* Wakes every held request with WATCH_DRAIN; later holds are refused. */
void sd_watch_drain(sd_watch *w);

#endif
