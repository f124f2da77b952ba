/*
 * Choosing the store at start-up (store = auto | memory | redis).
 *
 * auto uses Redis when one is configured (redis_url or redis_host) and
 * answers; when it is configured but does not answer, statusd runs on
 * memory with a loud warning and /health reports "fallback": true, so the
 * split-brain risk is visible. redis refuses to start without Redis. The
 * choice is made once: a Redis outage later is answered with 503s, never
 * by switching stores mid-run, which would split state between instances.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "statusd/config.h"
#include "statusd/log.h"
#include "statusd/store.h"


static bool redis_configured(const sd_config *cfg)
{
    return cfg->redis_url[0] != '\0' || cfg->redis_host[0] != '\0';
}

/* Where Redis is: redis_url when set (its password filled from
 * redis_password when it has none), else redis_host/port/db/password. */
static sd_err redis_target(const sd_config *cfg, sd_redis_target *t, char *err,
                           size_t errlen)
{
    if (cfg->redis_url[0] != '\0') {
        if (sd_redis_url_parse(cfg->redis_url, t, err, errlen) != SD_OK)
            return SD_ERR_INVALID;
    } else {
        memset(t, 0, sizeof *t);
        snprintf(t->host, sizeof t->host, "%s",
                 cfg->redis_host[0] != '\0' ? cfg->redis_host : "127.0.0.1");
        t->port = (int)cfg->redis_port;
        t->db = (int)cfg->redis_db;
    }
    if (t->password[0] == '\0')
        snprintf(t->password, sizeof t->password, "%s", cfg->redis_password);
    return SD_OK;
}

/* redis://[user:***@]host:port/db, for messages: never the password. */
static void target_text(const sd_redis_target *t, char *out, size_t outlen)
{
    bool v6 = strchr(t->host, ':') != NULL;
    snprintf(out, outlen, "redis://%s%s%s%s%s%s:%d/%d", t->username,
             t->password[0] != '\0' ? ":***" : "",
             t->username[0] != '\0' || t->password[0] != '\0' ? "@" : "",
             v6 ? "[" : "", t->host, v6 ? "]" : "", t->port, t->db);
}

/* memory_max_bytes, with auto as a quarter of the physical memory (no
 * cap when the system cannot say how much there is). The cgroup limit of
 * a container is not looked at: set the key there. */
static int64_t memory_cap(const sd_config *cfg)
{
    if (cfg->memory_max_bytes != SD_CONFIG_AUTO)
        return cfg->memory_max_bytes;
    long pages = sysconf(_SC_PHYS_PAGES);
    long page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) {
        sd_warn("memory_max_bytes = auto: the physical memory is unknown; no cap");
        return 0;
    }
    int64_t total = (int64_t)pages > INT64_MAX / page ? INT64_MAX : (int64_t)pages * page;
    return total / 4;
}

static sd_store *redis_open(const sd_config *cfg, char *err, size_t errlen)
{
    sd_redis_target t;
    if (redis_target(cfg, &t, err, errlen) != SD_OK)
        return NULL;
    char where[512], why[256] = "";
    target_text(&t, where, sizeof where);
    sd_redis_opts opts = {
        .host = t.host, .port = t.port, .db = t.db, .username = t.username,
        .password = t.password, .timeout_ms = cfg->redis_timeout_ms,
        .prefix = cfg->key_prefix, .conns = cfg->redis_pool_size,
    };
    sd_store *s = NULL;
    sd_err e = sd_redis_store_new(&opts, &s, why, sizeof why);
    memset(&t, 0, sizeof t); /* the password */
    if (e != SD_OK)
        snprintf(err, errlen, "cannot use Redis at %s: %s", where, why);
    return s;
}

sd_err sd_store_open(const sd_config *cfg, sd_store **out, bool *fallback,
                     char *err, size_t errlen)
{
    *out = NULL;
    *fallback = false;
    if (cfg->store == SD_STORE_REDIS ||
        (cfg->store == SD_STORE_AUTO && redis_configured(cfg))) {
        *out = redis_open(cfg, err, errlen);
        if (*out != NULL)
            return SD_OK;
        if (cfg->store == SD_STORE_REDIS)
            return SD_ERR_UNAVAILABLE;
        sd_warn("WARNING: store = auto: %s. Running on the MEMORY store instead: "
                "jobs are NOT shared with other instances and are lost on restart "
                "(/health reports \"fallback\": true). Set store = redis to refuse "
                "to start without Redis.", err);
        *fallback = true;
    }
    sd_memory_opts mopts = {.max_bytes = memory_cap(cfg)};
    sd_err e = sd_memory_store_new(&mopts, out);
    if (e != SD_OK) {
        snprintf(err, errlen, "cannot create the memory store");
        return e;
    }
    if (mopts.max_bytes > 0)
        sd_info("memory store: holds at most %lld bytes (memory_max_bytes%s)",
                (long long)mopts.max_bytes,
                cfg->memory_max_bytes == SD_CONFIG_AUTO ? " = auto: a quarter of RAM" : "");
    else
        sd_info("memory store: no cap on the bytes it holds (memory_max_bytes = 0)");
    return SD_OK;
}
