/* Open connections per client key (see connlimit.h). */
#include "http/connlimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CL_BUCKETS 1024u

typedef struct cl_entry {
    struct cl_entry *next;
    unsigned count;
    char key[SD_ADDR_KEY_LEN];
} cl_entry;

struct sd_connlimit {
    pthread_mutex_t lock;
    unsigned limit;
    unsigned ipv6_prefix;
    cl_entry *buckets[CL_BUCKETS];
};

static size_t bucket_of(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *key != '\0'; key++) {
        h ^= (unsigned char)*key;
        h *= 0x100000001b3ULL;
    }
    return (size_t)(h ^ (h >> 32)) & (CL_BUCKETS - 1);
}

/* The link to key's entry (pointing at NULL when there is none); the lock
 * is held. */
static cl_entry **find(sd_connlimit *c, const char *key)
{
    cl_entry **link = &c->buckets[bucket_of(key)];
    while (*link != NULL && strcmp((*link)->key, key) != 0)
        link = &(*link)->next;
    return link;
}

sd_err sd_connlimit_new(unsigned limit, unsigned ipv6_prefix, sd_connlimit **out)
{
    *out = NULL;
    sd_connlimit *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SD_ERR_NOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return SD_ERR_INTERNAL;
    }
    c->limit = limit;
    c->ipv6_prefix = ipv6_prefix;
    *out = c;
    return SD_OK;
}

void sd_connlimit_free(sd_connlimit *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CL_BUCKETS; i++) {
        cl_entry *e = c->buckets[i];
        while (e != NULL) {
            cl_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

unsigned sd_connlimit_count(sd_connlimit *c, const struct sockaddr *sa)
{
    char key[SD_ADDR_KEY_LEN];
    sd_addr_limit_key(sa, c->ipv6_prefix, key, sizeof key);
    if (key[0] == '\0')
        return 0;
    pthread_mutex_lock(&c->lock);
    cl_entry *e = *find(c, key);
    unsigned n = e != NULL ? e->count : 0;
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool sd_connlimit_allows(sd_connlimit *c, const struct sockaddr *sa)
{
    return sd_connlimit_count(c, sa) < c->limit;
}

bool sd_connlimit_enter(sd_connlimit *c, const struct sockaddr *sa)
{
    char key[SD_ADDR_KEY_LEN];
    sd_addr_limit_key(sa, c->ipv6_prefix, key, sizeof key);
    if (key[0] == '\0')
        return false;
    pthread_mutex_lock(&c->lock);
    cl_entry **link = find(c, key);
    bool ok = true;
    if (*link != NULL) {
        (*link)->count++;
    } else {
        cl_entry *e = calloc(1, sizeof *e);
        ok = e != NULL;
        if (ok) {
            memcpy(e->key, key, sizeof key);
            e->count = 1;
            *link = e;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

void sd_connlimit_leave(sd_connlimit *c, const struct sockaddr *sa)
{
    char key[SD_ADDR_KEY_LEN];
    sd_addr_limit_key(sa, c->ipv6_prefix, key, sizeof key);
    if (key[0] == '\0')
        return;
    pthread_mutex_lock(&c->lock);
    cl_entry **link = find(c, key);
    cl_entry *e = *link;
    if (e != NULL && --e->count == 0) {
        *link = e->next;
        free(e);
    }
    pthread_mutex_unlock(&c->lock);
}
