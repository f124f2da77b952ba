/*
 * hiredis reply objects built in an arena (see redis_arena.h).
 *
 * hiredis builds a reply top down through the reader's object functions:
 * each object is made for a read task, whose parent task holds the array
 * it goes into, and the reader's privdata comes with the task of the top
 * object. That top object also carries its arena, so that dropping the
 * reply (freeObject, called with the top object only) finds it and
 * empties it.
 */
#include "redis_arena.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/read.h>

#define ARENA_BLOCK 16384                     /* bytes; a larger object gets its own */
#define ARENA_ALIGN (_Alignof(max_align_t))

typedef struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    max_align_t data[];
} arena_block;

struct rd_arena {
    arena_block *blocks;                      /* the newest first */
    const void *top;                          /* the reply built last, until dropped */
};

typedef struct arena_top {
    rd_arena *arena;
    redisReply r;
} arena_top;

rd_arena *rd_arena_new(void)
{
    return calloc(1, sizeof(rd_arena));
}

static void *arena_alloc(rd_arena *a, size_t n)
{
    if (n > SIZE_MAX - sizeof(arena_block) - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_block *b = a->blocks;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->blocks;
        a->blocks = b;
    }
    void *p = (unsigned char *)b->data + b->used;
    b->used += n;
    return p;
}

/* Empties a, keeping one block of the usual size for the next reply. */
static void arena_reset(rd_arena *a)
{
    arena_block *keep = NULL, *next;
    for (arena_block *b = a->blocks; b != NULL; b = next) {
        next = b->next;
        if (keep == NULL && b->cap == ARENA_BLOCK) {
            keep = b;
            continue;
        }
        free(b);
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->blocks = keep;
    a->top = NULL;
}

void rd_arena_free(rd_arena *a)
{
    if (a == NULL)
        return;
    arena_reset(a);
    free(a->blocks);
    free(a);
}

static rd_arena *task_arena(const redisReadTask *t)
{
    while (t->parent != NULL)
        t = t->parent;
    return t->privdata;
}

/* A new object of type for task t, in its parent array if it has one. */
static redisReply *arena_object(rd_arena *a, const redisReadTask *t, int type)
{
    redisReply *r;
    if (t->parent == NULL) {
        arena_top *top = arena_alloc(a, sizeof *top);
        if (top == NULL)
            return NULL;
        top->arena = a;
        a->top = top;
        r = &top->r;
    } else {
        r = arena_alloc(a, sizeof *r);
        if (r == NULL)
            return NULL;
    }
    memset(r, 0, sizeof *r);
    r->type = type;
    if (t->parent != NULL) {
        redisReply *parent = t->parent->obj;
        parent->element[t->idx] = r;
    }
    return r;
}

static void *arena_string(const redisReadTask *t, char *str, size_t len)
{
    rd_arena *a = task_arena(t);
    if (len == SIZE_MAX)
        return NULL;
    char *buf = arena_alloc(a, len + 1);
    redisReply *r = buf != NULL ? arena_object(a, t, t->type) : NULL;
    if (r == NULL)
        return NULL;
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    return r;
}

static void *arena_array(const redisReadTask *t, int elements)
{
    rd_arena *a = task_arena(t);
    redisReply **element = NULL;
    if (elements < 0)
        return NULL;
    if (elements > 0) {
        if ((size_t)elements > SIZE_MAX / sizeof *element)
            return NULL;
        element = arena_alloc(a, (size_t)elements * sizeof *element);
        if (element == NULL)
            return NULL;
        memset(element, 0, (size_t)elements * sizeof *element);
    }
    redisReply *r = arena_object(a, t, REDIS_REPLY_ARRAY);
    if (r == NULL)
        return NULL;
    r->element = element;
    r->elements = (size_t)elements;
    return r;
}

static void *arena_integer(const redisReadTask *t, long long value)
{
    redisReply *r = arena_object(task_arena(t), t, REDIS_REPLY_INTEGER);
    if (r != NULL)
        r->integer = value;
    return r;
}

static void *arena_nil(const redisReadTask *t)
{
    return arena_object(task_arena(t), t, REDIS_REPLY_NIL);
}

/* hiredis drops a reply by its top object: the arena is emptied, unless
 * a later reply was begun since (a reply of a reader attached before and
 * freed late), whose objects stay. */
static void arena_drop(void *obj)
{
    arena_top *top = (arena_top *)((unsigned char *)obj - offsetof(arena_top, r));
    if (top->arena->top == top)
        arena_reset(top->arena);
}

static redisReplyObjectFunctions arena_functions = {
    arena_string, arena_array, arena_integer, arena_nil, arena_drop,
};

void rd_arena_attach(rd_arena *a, redisReader *reader)
{
    reader->fn = &arena_functions;
    reader->privdata = a;
}
