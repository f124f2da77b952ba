#ifndef STATUSD_API_HELD_H
#define STATUSD_API_HELD_H

#include <stdbool.h>
#include <stdint.h>

#include "api/etag.h"
#include "statusd/app.h"
#include "statusd/http.h"
#include "statusd/util.h"

/*
 * Long-polls (longpoll.c) and event streams (events.c) of a resource
 * read whole each time: a job (GET /status/<id>) or an upload run (GET
 * /upload-status). A source says how to read it, answer with it and
 * refuse; the held request follows the resource's own record and the
 * job records it is made of (an upload run's fields not final yet), and
 * is woken when any of them changes (api/watch.h).
 */

/* One read of a resource. */
typedef struct held_view {
    sd_buf json;
    char etag[API_ETAG_LEN];
    bool terminal;                     /* it has reached an end state */
    int64_t expires_ms;                /* epoch ms its record expires at */
    char (*jobs)[SD_UUID_LEN + 1];     /* malloc'd: job records it is made of */
    size_t njobs;
} held_view;

void held_view_clear(held_view *v);

typedef struct held_source {
    const char *ns;       /* the namespace of the resource's own record */
    /* Reads the resource whose record is ns/id into an empty *v. */
    sd_err (*read)(sd_app *app, const char *id, held_view *v);
    /* Adds the headers of an answer with v (ETag, Cache-Control, ...). */
    void (*headers)(sd_req *r, const held_view *v);
    /* Answers the problem of err for the resource id. */
    void (*error)(sd_req *r, sd_err err, const char *id);
} held_source;

/* GET with a wait and an If-None-Match: answered at once unless the tag
 * is the resource's current one, else held until it changes (200), is
 * gone (404) or the wait ends (304 with Preference-Applied). */
void api_hold_poll(sd_req *r, const held_source *src, const char *id, int64_t wait_s);

/* The resource as server-sent events, ending after a terminal view. */
void api_hold_events(sd_req *r, const held_source *src, const char *id);

/* ---- what both share (longpoll.c) ---- */

/* The records a held request follows: the resource's own and its jobs;
 * keys[0] is the resource's. */
typedef struct held_keys {
    struct watch_waiter *wts;
    uint64_t *seqs;
    size_t n, cap;
} held_keys;

/* Sets the keys to the resource's (src->ns, id) only. false: NOMEM. */
bool held_keys_init(held_keys *k, sd_req *r, const held_source *src, const char *id);
/* Makes the keys those of v (the resource's and v's jobs): false when
 * they were already, true when they changed (read again: the counts were
 * not taken for the new ones); *err NOMEM on failure. */
bool held_keys_follow(held_keys *k, const held_view *v, sd_err *err);
/* Takes the notice counts of every key (before a read). */
void held_keys_count(held_keys *k, struct sd_watch *w);
void held_keys_free(held_keys *k);

/* The monotonic time at which v's record expires (a little after), or
 * limit when that comes first. */
int64_t held_due(const held_view *v, int64_t limit);

#endif
