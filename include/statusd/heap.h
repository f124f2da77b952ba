#ifndef STATUSD_HEAP_H
#define STATUSD_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * An intrusive binary min-heap of pointers. Each element keeps its own
 * index in the heap (a size_t at ops->slot bytes into it), so it can be
 * taken out or re-ordered in O(log n) wherever it is. The owner grows v
 * (sd_heap_reserve, or its own counting of bytes) and locks it; a zeroed
 * sd_heap is empty.
 */
typedef struct sd_heap {
    void **v;
    size_t n, cap;
} sd_heap;

typedef struct sd_heap_ops {
    bool (*before)(const void *a, const void *b);  /* a comes out first */
    size_t slot;                                   /* offsetof the index */
} sd_heap_ops;

/* Room for one more element: v doubles from first when full. false on an
 * allocation failure, with nothing changed. */
bool sd_heap_reserve(sd_heap *h, size_t first);
/* Adds e; room must have been made. */
void sd_heap_push(sd_heap *h, const sd_heap_ops *ops, void *e);
/* Takes e, an element of h, out. */
void sd_heap_remove(sd_heap *h, const sd_heap_ops *ops, void *e);
/* Restores the order around e after its key changed. */
void sd_heap_fix(sd_heap *h, const sd_heap_ops *ops, void *e);

/* The first element, or NULL. */
static inline void *sd_heap_top(const sd_heap *h) { return h->n > 0 ? h->v[0] : NULL; }

#endif
