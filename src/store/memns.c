/*
 * The namespaces of the memory table (see memns.h): live counts, the
 * value counters of an indexed field, and pools of field names.
 *
 * Counts. A namespace's live count is atomic, changed by memtable.c under
 * the shard lock whenever one of its records is inserted or removed, so
 * a count is a load, not a scan. Value counters exist while something
 * counts under them, in a list per namespace under its values mutex; a
 * change walks the namespace's distinct live values, which suits a field
 * of few values (a status).
 */
#include "memns.h"
#include "store_common.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MNS_POOL_MAX 255u        /* pooled names: one-byte indexes */
#define MNS_POOL_NAME_MAX 32u    /* longest name pooled, in bytes */

struct mt_ns {
    struct mt_ns *next;
    _Atomic int64_t live;
    int64_t last_seq;            /* the last order key handed out; values_lock */
    char *field;                 /* the indexed field; NULL for none */
    pthread_mutex_t values_lock;
    mt_value *values;            /* under values_lock, as their counts */
    pthread_mutex_t pool_lock;   /* taken to add to the pool */
    _Atomic size_t pooled;       /* names[0..pooled) are set and final */
    char *names[MNS_POOL_MAX];
    unsigned char name_lens[MNS_POOL_MAX];
    char name[];
};

typedef struct mv_member {
    int64_t seq;
    const mt_entry *e;
} mv_member;

struct mt_value {
    struct mt_value *next;
    mt_ns *ns;
    int64_t live;                /* entries counting under it; freed at 0 */
    mv_member *members;          /* [0..nmembers) by seq, room for cap >= live */
    size_t nmembers, cap;
    size_t len;
    char value[];                /* value[0..len), NUL-terminated */
};

int mns_init(mns_set *set)
{
    set->head = NULL;
    return pthread_rwlock_init(&set->lock, NULL) == 0 ? 0 : -1;
}

void mns_free(mns_set *set)
{
    mt_ns *n = set->head;
    while (n != NULL) {
        mt_ns *next = n->next;
        free(n->field);
        size_t pooled = atomic_load(&n->pooled);
        for (size_t i = 0; i < pooled; i++)
            free(n->names[i]);
        pthread_mutex_destroy(&n->pool_lock);
        pthread_mutex_destroy(&n->values_lock);
        free(n);
        n = next;
    }
    set->head = NULL;
    pthread_rwlock_destroy(&set->lock);
}

/* ---- namespaces and live counts ---- */

static mt_ns *find_locked(mns_set *set, const char *name)
{
    for (mt_ns *n = set->head; n != NULL; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

/* A new namespace name[0..len), not in any set; NULL on failure. */
static mt_ns *ns_new(const char *name, size_t len)
{
    mt_ns *n = calloc(1, sizeof *n + len + 1);
    if (n == NULL)
        return NULL;
    if (pthread_mutex_init(&n->values_lock, NULL) != 0) {
        free(n);
        return NULL;
    }
    if (pthread_mutex_init(&n->pool_lock, NULL) != 0) {
        pthread_mutex_destroy(&n->values_lock);
        free(n);
        return NULL;
    }
    memcpy(n->name, name, len + 1);
    atomic_init(&n->live, 0);
    atomic_init(&n->pooled, 0);
    return n;
}

mt_ns *mns_get(mns_set *set, const char *name, size_t len)
{
    if (pthread_rwlock_rdlock(&set->lock) != 0)
        return NULL;
    mt_ns *n = find_locked(set, name);
    pthread_rwlock_unlock(&set->lock);
    if (n != NULL)
        return n;
    if (pthread_rwlock_wrlock(&set->lock) != 0)
        return NULL;
    n = find_locked(set, name);
    if (n == NULL) {
        n = ns_new(name, len);
        if (n != NULL) {
            n->next = set->head;
            set->head = n;
        }
    }
    pthread_rwlock_unlock(&set->lock);
    return n;
}

void mns_live_add(mt_ns *n, int64_t delta) { atomic_fetch_add(&n->live, delta); }

/* Namespace ns into *out (NULL when never used) and its indexed field
 * into *field (NULL for none); false when the lock fails. */
static bool ns_field(mns_set *set, const char *ns, mt_ns **out, const char **field)
{
    if (pthread_rwlock_rdlock(&set->lock) != 0)
        return false;
    *out = find_locked(set, ns);
    *field = *out != NULL ? (*out)->field : NULL;
    pthread_rwlock_unlock(&set->lock);
    return true;
}

int64_t mns_count(mns_set *set, const char *ns)
{
    mt_ns *n = NULL;
    const char *field;
    return ns_field(set, ns, &n, &field) && n != NULL ? atomic_load(&n->live) : 0;
}

/* ---- value counters ---- */

/* Namespace ns into *out when it has an index: SD_ERR_INVALID when not,
 * SD_ERR_INTERNAL when the lock fails. */
static sd_err indexed_ns(mns_set *set, const char *ns, mt_ns **out)
{
    const char *field = NULL;
    if (!ns_field(set, ns, out, &field))
        return SD_ERR_INTERNAL;
    return field != NULL ? SD_OK : SD_ERR_INVALID;
}


sd_err mns_index(mns_set *set, const char *ns, const char *field)
{
    mt_ns *n = mns_get(set, ns, strlen(ns));
    char *copy = strdup(field);
    sd_err err = SD_ERR_NOMEM;
    if (n == NULL || copy == NULL)
        goto done;
    err = SD_ERR_INTERNAL;
    if (pthread_rwlock_wrlock(&set->lock) != 0)
        goto done;
    err = SD_OK;
    if (n->field == NULL) {
        n->field = copy;
        copy = NULL;
    } else if (strcmp(n->field, field) != 0) {
        err = SD_ERR_INVALID;
    }
    pthread_rwlock_unlock(&set->lock);
done:
    free(copy);
    return err;
}

/* The counter of value[0..len) in n, NULL when none (values_lock held). */
static mt_value *value_find_locked(mt_ns *n, const char *value, size_t len)
{
    for (mt_value *v = n->values; v != NULL; v = v->next)
        if (v->len == len && memcmp(v->value, value, len) == 0)
            return v;
    return NULL;
}

/* Gives back one count of v; frees it at 0 (values_lock held). */
static void release_locked(mt_value *v)
{
    if (--v->live > 0)
        return;
    mt_value **link = &v->ns->values;
    while (*link != v)
        link = &(*link)->next;
    *link = v->next;
    free(v->members);
    free(v);
}

/* Room in v's members for every entry counting under it. */
static bool members_reserve(mt_value *v)
{
    if (v->cap >= (size_t)v->live)
        return true;
    size_t cap = v->cap < 8 ? 8 : v->cap * 2;
    if (cap > SIZE_MAX / sizeof *v->members)
        return false;
    mv_member *m = realloc(v->members, cap * sizeof *m);
    if (m == NULL)
        return false;
    v->members = m;
    v->cap = cap;
    return true;
}

sd_err mns_value_take(mns_set *set, const char *ns_name, const sd_field *f, size_t n,
                      mt_value **out)
{
    *out = NULL;
    mt_ns *ns = NULL;
    const char *field = NULL;
    if (!ns_field(set, ns_name, &ns, &field))
        return SD_ERR_INTERNAL;
    size_t i = 0;
    while (field != NULL && i < n && strcmp(f[i].name, field) != 0)
        i++;
    if (field == NULL || i == n)
        return SD_OK;
    pthread_mutex_lock(&ns->values_lock);
    mt_value *v = value_find_locked(ns, f[i].value, f[i].len);
    if (v == NULL && f[i].len < SIZE_MAX - sizeof *v) {
        v = malloc(sizeof *v + f[i].len + 1);
        if (v != NULL) {
            *v = (mt_value){.next = ns->values, .ns = ns, .len = f[i].len};
            memcpy(v->value, f[i].value, f[i].len);
            v->value[f[i].len] = '\0';
            ns->values = v;
        }
    }
    if (v != NULL) {
        v->live++;
        if (!members_reserve(v)) {
            release_locked(v);
            v = NULL;
        }
    }
    pthread_mutex_unlock(&ns->values_lock);
    *out = v;
    return v != NULL ? SD_OK : SD_ERR_NOMEM;
}

void mns_value_release(mt_value *v)
{
    if (v == NULL)
        return;
    mt_ns *ns = v->ns;
    pthread_mutex_lock(&ns->values_lock);
    release_locked(v);
    pthread_mutex_unlock(&ns->values_lock);
}

/* ---- members ---- */

/* The position of the first member of v with a key >= seq. */
static size_t member_find(const mt_value *v, int64_t seq)
{
    size_t lo = 0, hi = v->nmembers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->members[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void member_remove(mt_value *v, int64_t seq)
{
    size_t i = member_find(v, seq);
    if (i == v->nmembers || v->members[i].seq != seq)
        return;
    memmove(&v->members[i], &v->members[i + 1],
            (v->nmembers - i - 1) * sizeof *v->members);
    v->nmembers--;
}

/* Room was reserved by mns_value_take: cap >= live > nmembers. */
static void member_insert(mt_value *v, int64_t seq, const mt_entry *e)
{
    size_t i = member_find(v, seq);
    if (v->nmembers == v->cap)
        return;
    memmove(&v->members[i + 1], &v->members[i], (v->nmembers - i) * sizeof *v->members);
    v->members[i] = (mv_member){seq, e};
    v->nmembers++;
}

void mns_entry_move(mt_entry *e, mt_value *v)
{
    mt_value *old = e->value;
    mt_ns *ns = old != NULL ? old->ns : v != NULL ? v->ns : NULL;
    if (ns == NULL)
        return;
    pthread_mutex_lock(&ns->values_lock);
    if (old != v) {
        if (old != NULL)
            member_remove(old, e->seq);
        if (v != NULL) {
            if (e->seq == 0)
                e->seq = ++ns->last_seq;
            member_insert(v, e->seq, e);
        }
    }
    e->value = v;
    if (old != NULL)
        release_locked(old);
    pthread_mutex_unlock(&ns->values_lock);
}

void mns_entry_swap(const mt_entry *old, const mt_entry *fresh)
{
    mt_value *v = old->value;
    if (v == NULL)
        return;
    pthread_mutex_lock(&v->ns->values_lock);
    size_t i = member_find(v, old->seq);
    if (i < v->nmembers && v->members[i].seq == old->seq)
        v->members[i].e = fresh;
    pthread_mutex_unlock(&v->ns->values_lock);
}

/* Copies the ids of up to limit members of v below before (0: any),
 * highest key first, into out; next_cursor when more remain. */
static sd_err members_page(const mt_value *v, int64_t before, size_t limit, sd_page *out)
{
    size_t end = before > 0 ? member_find(v, before) : v->nmembers;
    size_t n = end < limit ? end : limit;
    if (n == 0)
        return SD_OK;
    out->ids = calloc(n, sizeof *out->ids);
    out->keys = calloc(n, sizeof *out->keys);
    if (out->ids == NULL || out->keys == NULL)
        return SD_ERR_NOMEM;
    for (size_t k = 0; k < n; k++) {
        const mv_member *m = &v->members[end - 1 - k];
        out->ids[k] = strdup(mt_entry_id(m->e));
        if (out->ids[k] == NULL)
            return SD_ERR_NOMEM;
        out->keys[k] = m->seq;
        out->count = k + 1;
    }
    if (end > n) {
        out->next_cursor = sd_store_key_cursor(out->keys[n - 1]);
        if (out->next_cursor == NULL)
            return SD_ERR_NOMEM;
    }
    return SD_OK;
}

sd_err mns_scan_by(mns_set *set, const char *ns, const char *value, int64_t before,
                   size_t limit, sd_page *out)
{
    mt_ns *n = NULL;
    sd_err err = indexed_ns(set, ns, &n);
    if (err != SD_OK)
        return err;
    pthread_mutex_lock(&n->values_lock);
    const mt_value *v = value_find_locked(n, value, strlen(value));
    err = v != NULL ? members_page(v, before, limit, out) : SD_OK;
    pthread_mutex_unlock(&n->values_lock);
    if (err != SD_OK)
        sd_page_clear(out);
    return err;
}

sd_err mns_count_by(mns_set *set, const char *ns, const char *value, int64_t *out)
{
    mt_ns *n = NULL;
    *out = 0;
    sd_err err = indexed_ns(set, ns, &n);
    if (err != SD_OK)
        return err;
    pthread_mutex_lock(&n->values_lock);
    const mt_value *v = value_find_locked(n, value, strlen(value));
    if (v != NULL)
        *out = v->live;
    pthread_mutex_unlock(&n->values_lock);
    return SD_OK;
}

/* ---- pooled field names ---- */

int mns_pool_find(mt_ns *n, const char *name)
{
    size_t count = atomic_load_explicit(&n->pooled, memory_order_acquire);
    for (size_t i = 0; i < count; i++)
        if (n->names[i][0] == name[0] && strcmp(n->names[i], name) == 0)
            return (int)i;
    return -1;
}

int mns_pool_intern(mt_ns *n, const char *name, size_t len)
{
    if (n == NULL || len > MNS_POOL_NAME_MAX)
        return -1;
    int i = mns_pool_find(n, name);
    if (i >= 0 || atomic_load_explicit(&n->pooled, memory_order_relaxed) == MNS_POOL_MAX)
        return i;
    pthread_mutex_lock(&n->pool_lock);
    i = mns_pool_find(n, name);
    size_t count = atomic_load_explicit(&n->pooled, memory_order_relaxed);
    if (i < 0 && count < MNS_POOL_MAX) {
        n->names[count] = strdup(name);
        n->name_lens[count] = (unsigned char)len;
        if (n->names[count] != NULL) {
            atomic_store_explicit(&n->pooled, count + 1, memory_order_release);
            i = (int)count;
        }
    }
    pthread_mutex_unlock(&n->pool_lock);
    return i;
}

char *const *mns_pool_names(const mt_ns *n) { return n->names; }

const unsigned char *mns_pool_lens(const mt_ns *n) { return n->name_lens; }
