/*
 * Request threads (see reqpool.h). One mutex and one condition variable
 * guard a FIFO of intrusive tasks: a push is a lock, two stores and a
 * signal, and never allocates, so handing a request off cannot fail for
 * memory once the pool runs.
 */
#include "http/reqpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statusd/util.h"

struct sd_reqpool {
    pthread_mutex_t lock;
    pthread_cond_t work;           /* a task was queued, or stopping */
    sd_task *head, *tail;          /* under lock */
    bool stopping;                 /* under lock */
    sd_task_fn run;
    void *arg;
    size_t nthreads;               /* started */
    pthread_t *threads;
};

static void *reqpool_main(void *arg)
{
    sd_reqpool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        sd_task *t = p->head;
        if (t == NULL)
            break; /* stopping, and nothing is left to run */
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        t->next = NULL;
        p->run(p->arg, t);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Refuses further pushes and joins the threads started so far, once
 * they have run what was queued. */
static void reqpool_stop(sd_reqpool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

/* Stops p (reqpool_stop) and frees it. */
static void reqpool_end(sd_reqpool *p)
{
    reqpool_stop(p);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

sd_err sd_reqpool_new(size_t threads, sd_task_fn run, void *arg, sd_reqpool **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    if (threads == 0)
        threads = 1;
    sd_reqpool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        sd_errf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    p->run = run;
    p->arg = arg;
    p->threads = calloc(threads, sizeof *p->threads);
    if (p->threads == NULL) {
        free(p);
        sd_errf(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->threads);
        free(p);
        sd_errf(err, errlen, "cannot make a mutex");
        return SD_ERR_INTERNAL;
    }
    if (pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        free(p->threads);
        free(p);
        sd_errf(err, errlen, "cannot make a condition variable");
        return SD_ERR_INTERNAL;
    }
    for (; p->nthreads < threads; p->nthreads++) {
        int rc = pthread_create(&p->threads[p->nthreads], NULL, reqpool_main, p);
        if (rc != 0) {
            sd_errf(err, errlen, "cannot start a request thread: %s", strerror(rc));
            reqpool_end(p);
            return SD_ERR_INTERNAL;
        }
    }
    *out = p;
    return SD_OK;
}

bool sd_reqpool_push(sd_reqpool *p, sd_task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    if (p->tail != NULL)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return true;
}

void sd_reqpool_stop(sd_reqpool *p)
{
    if (p != NULL)
        reqpool_stop(p);
}

void sd_reqpool_free(sd_reqpool *p)
{
    if (p != NULL)
        reqpool_end(p);
}
