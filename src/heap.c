/* The intrusive binary heap of statusd/heap.h. */
#include "statusd/heap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t *slot_of(const sd_heap_ops *ops, void *e)
{
    return (size_t *)(void *)((char *)e + ops->slot);
}

static void heap_set(sd_heap *h, const sd_heap_ops *ops, size_t i, void *e)
{
    h->v[i] = e;
    *slot_of(ops, e) = i;
}

static void heap_up(sd_heap *h, const sd_heap_ops *ops, size_t i)
{
    void *e = h->v[i];
    while (i > 0 && ops->before(e, h->v[(i - 1) / 2])) {
        heap_set(h, ops, i, h->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(h, ops, i, e);
}

static void heap_down(sd_heap *h, const sd_heap_ops *ops, size_t i)
{
    void *e = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && ops->before(h->v[c + 1], h->v[c]))
            c++;
        if (!ops->before(h->v[c], e))
            break;
        heap_set(h, ops, i, h->v[c]);
        i = c;
    }
    heap_set(h, ops, i, e);
}

bool sd_heap_reserve(sd_heap *h, size_t first)
{
    if (h->n < h->cap)
        return true;
    size_t cap = h->cap == 0 ? first : h->cap * 2;
    if (cap == 0 || cap > SIZE_MAX / sizeof *h->v)
        return false;
    void **v = realloc(h->v, cap * sizeof *v);
    if (v == NULL)
        return false;
    h->v = v;
    h->cap = cap;
    return true;
}

void sd_heap_push(sd_heap *h, const sd_heap_ops *ops, void *e)
{
    heap_set(h, ops, h->n++, e);
    heap_up(h, ops, h->n - 1);
}

void sd_heap_fix(sd_heap *h, const sd_heap_ops *ops, void *e)
{
    heap_up(h, ops, *slot_of(ops, e));
    heap_down(h, ops, *slot_of(ops, e));
}

void sd_heap_remove(sd_heap *h, const sd_heap_ops *ops, void *e)
{
    size_t i = *slot_of(ops, e);
    void *last = h->v[--h->n];
    if (last == e)
        return;
    heap_set(h, ops, i, last);
    sd_heap_fix(h, ops, last);
}
