/*
 * The listing of jobs (sd_jobs_list, GET /jobs): the store's status
 * index read newest first, one lane per status asked for, merged by the
 * order key every job keeps from its creation (store.h, scan_by). A page
 * reads only the ordered sets of the statuses asked for, at most
 * limit + 1 ids of each per round, then each listed job's record; what
 * jobs of other statuses there are costs nothing.
 */
#include <string.h>

#include "statusd/json.h"
#include "job_view.h"
#include "jobs_internal.h"

/* One status's ids, read a page at a time below a key. */
typedef struct lane {
    const char *status;
    sd_page page;
    size_t next;        /* the next id of page to merge */
    int64_t before;     /* where the next read starts */
    bool last;          /* page is the last one */
} lane;

/* Reads the lane's next page once its current one is merged. */
static sd_err lane_fill(sd_jobs *j, lane *l, size_t want)
{
    if (l->next < l->page.count || l->last)
        return SD_OK;
    sd_page_clear(&l->page);
    l->next = 0;
    sd_err err = sd_store_scan_by(j->store, JOB_NS, l->status, l->before, want, &l->page);
    if (err != SD_OK)
        return err;
    if (l->page.count > 0)
        l->before = l->page.keys[l->page.count - 1];
    l->last = l->page.next_cursor == NULL;
    return SD_OK;
}

/* The lane whose next id is the newest; NULL when all are done. */
static lane *lane_newest(lane *lanes, size_t n)
{
    lane *best = NULL;
    for (size_t i = 0; i < n; i++) {
        lane *l = &lanes[i];
        if (l->next < l->page.count &&
            (best == NULL || l->page.keys[l->next] > best->page.keys[best->next]))
            best = l;
    }
    return best;
}

/* Appends job id's view to out when it still has status (it may have
 * moved on since its lane was read) and the kind asked for. *added says
 * whether it did. */
static sd_err list_one(sd_jobs *j, const sd_jobs_query *q, const char *id,
                       const char *status, sd_job_view *v, sd_buf *out, bool *added)
{
    *added = false;
    sd_record rec = SD_RECORD_INIT;
    sd_err err = sd_store_get(j->store, JOB_NS, id, 0, &rec);
    if (err == SD_ERR_NOT_FOUND) {
        err = SD_OK;
        goto done;
    }
    if (err != SD_OK)
        goto done;
    const char *now = sd_record_get(&rec, JOB_F_STATUS, NULL);
    const char *kind = sd_record_get(&rec, JOB_F_KIND, NULL);
    if (now == NULL || strcmp(now, status) != 0 ||
        (q->kind != NULL && (kind == NULL || strcmp(kind, q->kind) != 0)))
        goto done;
    err = job_view_build_as(id, &rec, q->full, v);
    if (err != SD_OK)
        goto done;
    if (out->len > 0 && out->data[out->len - 1] != '[')
        sd_buf_putc(out, ',');
    sd_buf_append(out, v->json.data, v->json.len);
    *added = true;
done:
    sd_record_clear(&rec);
    return err;
}

sd_err sd_jobs_list(sd_jobs *j, const sd_jobs_query *q, sd_buf *out)
{
    lane lanes[SD_JOB_STATUS_COUNT];
    size_t n = 0;
    for (size_t i = 0; i < SD_JOB_STATUS_COUNT; i++)
        if (q->status == NULL || strcmp(q->status, sd_job_statuses[i]) == 0)
            lanes[n++] = (lane){sd_job_statuses[i], SD_PAGE_INIT, 0, q->before, false};
    sd_job_view v = SD_JOB_VIEW_INIT;
    sd_err err = SD_OK;
    size_t items = 0, examined = 0;
    int64_t last_key = 0;
    bool more = false;
    sd_buf_puts(out, "{\"items\":[");
    while (err == SD_OK) {
        for (size_t i = 0; err == SD_OK && i < n; i++)
            err = lane_fill(j, &lanes[i], q->limit + 1);
        lane *l = err == SD_OK ? lane_newest(lanes, n) : NULL;
        if (l == NULL)
            break;
        if (items == q->limit || examined == SD_JOBS_LIST_EXAMINE) {
            more = true;
            break;
        }
        const char *id = l->page.ids[l->next];
        last_key = l->page.keys[l->next++];
        examined++;
        bool added = false;
        err = list_one(j, q, id, l->status, &v, out, &added);
        items += added;
    }
    for (size_t i = 0; i < n; i++)
        sd_page_clear(&lanes[i].page);
    sd_job_view_clear(&v);
    if (err != SD_OK)
        return err;
    sd_buf_puts(out, "],\"next_cursor\":");
    if (more) {
        char key[24];
        sd_buf_putc(out, '"');
        sd_buf_puts(out, job_i64(key, last_key));
        sd_buf_putc(out, '"');
    } else {
        sd_buf_puts(out, "null");
    }
    sd_buf_putc(out, '}');
    return sd_buf_ok(out) ? SD_OK : SD_ERR_NOMEM;
}
