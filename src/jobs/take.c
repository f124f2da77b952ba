/*
 * Taking jobs from the store's queue (see jobs_internal.h). Every take
 * starts the jobs it takes in the same store step (queued -> processing,
 * attempts + 1, run = the take's lease owner), so a job is never leased
 * without its record saying which run holds it.
 *
 * Two takers. The pool's fill takes due jobs, as many as there are idle
 * workers: one round trip hands out a batch with their records. And a
 * busy worker, ending its run with an ack while the pool wants work,
 * takes its own next job in that same step (ack_take): under load a job
 * then costs its submit and one step that ends the job before it and
 * starts it, and the worker goes on without a wake-up.
 *
 * A take whose answer was lost (the store went away after it applied)
 * must not strand what it took until the lease runs out. The fill
 * retries with the same owner and gets its jobs back (resume). An
 * ack_take is retried as a plain ack (which finds the item gone if the
 * first try landed), then its owner, one per ack_take, takes with resume:
 * back comes the job the lost step took, if any, or another.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/log.h"
#include "statusd/util.h"

#include "jobs_internal.h"

/* The change that starts a run: queued -> processing under owner. */
typedef struct start_change {
    char now[24];
    sd_assign a[9];
    sd_update u;
    sd_queue_rec rec;
} start_change;

static void start_init(start_change *c, const sd_jobs *j, const char *owner)
{
    static const char *const queued[] = {"queued"};
    job_i64(c->now, sd_now_ms());
    size_t n = 0;
    c->a[n++] = job_set_text(JOB_F_STATUS, "processing");
    c->a[n++] = (sd_assign){.name = JOB_F_ATTEMPTS, .op = SD_ASSIGN_INCR, .incr = 1};
    c->a[n++] = job_set_text(JOB_F_RUN, owner);
    c->a[n++] = job_set_text(JOB_F_PROGRESS, "0");
    c->a[n++] = (sd_assign){.name = JOB_F_STAGE, .op = SD_ASSIGN_DEL};
    c->a[n++] = (sd_assign){.name = JOB_F_ERROR, .op = SD_ASSIGN_DEL};
    c->a[n++] = (sd_assign){.name = JOB_F_RETRY_MS, .op = SD_ASSIGN_DEL};
    c->a[n++] = job_set_text(JOB_F_UPDATED_MS, c->now);
    c->a[n++] = job_set_text(JOB_F_HEARTBEAT_MS, c->now);
    c->u = (sd_update){.mode = SD_UPDATE_EXISTING, .cond_field = JOB_F_STATUS,
                       .cond_values = queued, .cond_count = 1, .assign = c->a,
                       .assign_count = n, .ttl_ms = j->ttl_ms, .slack_ms = j->slack_ms};
    c->rec = (sd_queue_rec){JOB_NS, &c->u, NULL, SD_OK};
}

/* The pool item of a job got, taken by owner, its record moved into the
 * item's data. False when out of memory: the job is handed back. */
static bool taken_item(sd_jobs *j, sd_queue_item *got, const char owner[SD_QUEUE_OWNER_MAX],
                       sd_pool_item *out)
{
    job_taken *d = malloc(sizeof *d);
    if (d == NULL) {
        /* It cannot be handed over: back to the queue, uncounted. */
        sd_warn("job %s: out of memory; handed back", got->item);
        job_give_back(j, got->item, owner, false);
        sd_record_clear(&got->rec);
        return false;
    }
    d->rec = got->rec;
    got->rec = (sd_record)SD_RECORD_INIT;
    memcpy(out->name, got->item, SD_POOL_ITEM_MAX);
    memcpy(out->tag, owner, SD_POOL_ITEM_MAX);
    out->data = d;
    return true;
}

void job_taken_free(sd_pool_item *item)
{
    job_taken *d = item->data;
    sd_record_clear(&d->rec);
    free(d);
    item->data = NULL;
}

size_t job_fill(void *arg, sd_pool_item *items, size_t max)
{
    sd_jobs *j = arg;
    char owner[SD_QUEUE_OWNER_MAX];
    snprintf(owner, sizeof owner, "%s:%" PRIu64, j->instance, j->take_seq);
    start_change c;
    start_init(&c, j, owner);
    sd_queue_take t = {.owner = owner, .lease_ms = j->lease_ms, .max = max,
                       .resume = j->take_lost};
    size_t n = 0;
    sd_err err = sd_queue_take_items(j->store, JOB_QUEUE, &t, &c.rec, j->take_buf, &n);
    if (err != SD_OK) {
        if (!j->take_lost)
            sd_debug("jobs: taking from the queue failed: %s", sd_err_name(err));
        j->take_lost = true;
        return 0;
    }
    j->take_lost = false;
    if (n > 0)
        j->take_seq++;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (taken_item(j, &j->take_buf[i], owner, &items[k]))
            k++;
    return k;
}

/* One take of one job by nx->owner into nx->slot: with the ack of a run
 * (id, owner, rec) in the same step, or, id NULL, alone, resuming what
 * a lost take of that owner took. */
static sd_err next_take(job_next *nx, const char *id, const char *owner, sd_queue_rec *rec)
{
    sd_jobs *j = nx->j;
    start_change c;
    start_init(&c, j, nx->owner);
    sd_queue_take t = {.owner = nx->owner, .lease_ms = j->lease_ms, .max = 1,
                       .resume = id == NULL};
    sd_queue_item got[1];
    size_t n = 0;
    sd_err err = id != NULL ? sd_queue_ack_take(j->store, JOB_QUEUE, id, owner, rec, &t,
                                                &c.rec, got, &n)
                            : sd_queue_take_items(j->store, JOB_QUEUE, &t, &c.rec, got, &n);
    if (n == 1)
        nx->taken = taken_item(j, &got[0], nx->owner, nx->slot);
    sd_queue_items_clear(got, n);
    return err;
}

sd_err job_ack_take(job_next *nx, const char *id, const char *owner, sd_queue_rec *rec)
{
    nx->tried = true;
    snprintf(nx->owner, sizeof nx->owner, "%s:n%" PRIu64, nx->j->instance,
             (uint64_t)atomic_fetch_add(&nx->j->next_seq, 1));
    sd_err err = next_take(nx, id, owner, rec);
    /* Refused (not held, bad arguments, no room: the store changed
     * nothing) or answered: nothing to resume. */
    if (err != SD_OK && err != SD_ERR_NOT_FOUND && err != SD_ERR_INVALID &&
        err != SD_ERR_STORE_FULL)
        nx->lost = true;
    return err;
}

static sd_err resume_do(void *arg)
{
    return next_take(arg, NULL, NULL, NULL);
}

void job_next_resume(job_next *nx, const atomic_int *cancel)
{
    if (!nx->lost || nx->taken)
        return;
    sd_err err = job_persist(cancel, resume_do, nx, nx->owner);
    if (err != SD_OK)
        sd_debug("jobs: the take of %s not resumed: %s", nx->owner, sd_err_name(err));
}
