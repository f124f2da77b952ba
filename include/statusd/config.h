#ifndef STATUSD_CONFIG_H
#define STATUSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "statusd/error.h"
#include "statusd/log.h"

/*
 * statusd's configuration. Values come, later ones winning, from the
 * built-in defaults, the config file, the environment (STATUSD_<KEY> for
 * every key, plus the names apps already use: PORT, ...) and the command
 * line. Every key, its default and its meaning is documented in
 * config/statusd.conf; the table in config.c is the single list of keys.
 */

typedef enum sd_store_kind {
    SD_STORE_AUTO = 0,
    SD_STORE_MEMORY,
    SD_STORE_REDIS
} sd_store_kind;

#define SD_CONFIG_STR 1024
/* An integer key set to "auto" (only keys that say they take it). */
#define SD_CONFIG_AUTO (-1)
#define SD_CONFIG_MAX_WARNINGS 16
#define SD_CONFIG_MAX_KEYS 64    /* at least the key table's size */

/* Where a key's effective value came from (later ones win). */
typedef enum sd_config_source {
    SD_SOURCE_DEFAULT = 0,    /* the built-in default */
    SD_SOURCE_FILE,           /* the config file, at line */
    SD_SOURCE_ENV,            /* the environment variable name */
    SD_SOURCE_FLAG            /* the command-line flag name (--port, --set) */
} sd_config_source;

/* A key that is on or off. */
typedef enum sd_switch {
    SD_OFF = 0,
    SD_ON
} sd_switch;

typedef struct sd_config_origin {
    sd_config_source source;
    int line;                 /* SD_SOURCE_FILE */
    char name[48];            /* SD_SOURCE_ENV, SD_SOURCE_FLAG */
} sd_config_origin;

/* Job kinds of their own (handler_<kind> keys besides handler_research
 * and handler_upload): at most SD_KINDS_MAX of them, each named
 * [a-z][a-z0-9_-]{0,31}. */
#define SD_KINDS_MAX 16
#define SD_KIND_MAX 32

typedef struct sd_kind_handler {
    char kind[SD_KIND_MAX + 1];
    char spec[SD_CONFIG_STR];
    sd_config_origin origin;          /* where spec came from */
} sd_kind_handler;

/* True when s[0..len) is a kind name: [a-z][a-z0-9_-]{0,31}. */
bool sd_kind_name_valid(const char *s, size_t len);

typedef struct sd_config {
    /* HTTP */
    char bind[64];                    /* listen address, IPv4 or IPv6 */
    int64_t port;
    int64_t threads;                  /* HTTP threads (MHD thread pool) */
    int64_t max_connections;
    int64_t connection_timeout;       /* seconds idle before close */
    int64_t header_timeout;           /* seconds for a request's headers, in all */
    int64_t body_timeout;             /* seconds for its body, after the headers */
    int64_t per_ip_connection_limit;  /* 0 = off */
    int64_t connection_memory_limit;  /* bytes per connection */
    int64_t max_body;                 /* bytes */
    int64_t max_wait;                 /* seconds a long-poll waits at most */
    int64_t max_waiters;              /* long-polls and event streams held at once */

    /* store */
    sd_store_kind store;
    /* memory store: cap of the bytes it holds; SD_CONFIG_AUTO = a quarter
     * of physical memory (sd_config_memory_max), 0 = no cap */
    int64_t memory_max_bytes;

    /* Redis; redis_url, when set, wins over redis_host/port/db */
    char redis_url[SD_CONFIG_STR];    /* "" or redis://[[user]:password@]host[:port][/db] */
    char redis_host[256];             /* "" = none */
    int64_t redis_port;
    int64_t redis_db;
    char redis_password[256];         /* secret; fills a redis_url without one */
    int64_t redis_timeout_ms;         /* ms, connect and command timeout */
    int64_t redis_pool_size;          /* connections the calls share, 0 = 2 */
    char key_prefix[65];              /* [A-Za-z0-9:._-]{1,64} */

    /* jobs */
    int64_t workers;
    int64_t queue_capacity;
    int64_t job_ttl;                  /* seconds */
    int64_t job_max_age;              /* seconds */
    int64_t job_timeout;              /* seconds */
    int64_t job_lease;                /* seconds a taken job's lease lasts unrenewed */
    int64_t max_attempts;             /* runs of a job at most, retries included */
    int64_t retry_backoff_ms;         /* delay before the first retry; doubles */
    int64_t retry_backoff_max_ms;     /* cap of the retry delay */
    int64_t progress_interval_ms;     /* a run's progress written once per this, at most */
    int64_t job_kill_grace;           /* ms between SIGTERM and SIGKILL */
    int64_t drain_timeout;            /* seconds */
    int64_t demo_step_ms;
    char handler_research[SD_CONFIG_STR];
    char handler_upload[SD_CONFIG_STR];
    sd_kind_handler kinds[SD_KINDS_MAX];  /* handler_<kind>, in the order first set */
    size_t kind_count;
    /* "" or comma-separated environment variable names ([A-Za-z_][A-Za-z0-9_]*)
     * that exec handlers get from statusd's environment */
    char handler_env[SD_CONFIG_STR];

    /* sessions and conversations; TTLs slide: every read and write renews */
    int64_t session_ttl;              /* seconds */
    int64_t conversation_ttl;         /* seconds */
    int64_t conversation_max_messages;    /* newest kept per conversation */

    /* rate limits, requests a minute, 0 = off */
    int64_t ratelimit_chat;           /* POST /chat, per user_id */
    int64_t ratelimit_submit;         /* POST /research, /uploads, per client address */
    int64_t ratelimit_create;         /* new sessions and conversations, per client address */
    int64_t ipv6_prefix;              /* bits of an IPv6 address a client is keyed by */
    /* "" or comma-separated addresses and CIDR blocks, blanks around
     * entries ignored; valid for sd_cidr_list_parse (statusd/netaddr.h) */
    char trusted_proxies[SD_CONFIG_STR];

    /* access; a token is "" (none) or 16+ bytes of printable ASCII
     * without spaces */
    char api_token[SD_CONFIG_STR];    /* secret; Bearer token of mutating endpoints */
    char admin_token[SD_CONFIG_STR];  /* secret; "" = admin endpoints off */
    /* "", "*" or comma-separated origins "http[s]://host[:port]" (lower
     * case, no default port, no path), blanks around entries ignored */
    char cors_origins[SD_CONFIG_STR];

    /* logging */
    sd_log_level log_level;
    sd_log_format log_format;
    sd_switch access_log;             /* a line at info for every answer */

    /* the operations console at /console */
    sd_switch console;

    /* the demo page at / */
    sd_switch web_ui;

    /* where the file values came from, "" for none (built-in defaults) */
    char config_path[SD_CONFIG_STR];
    /* where each key's value came from, by its place in the key table */
    sd_config_origin origin[SD_CONFIG_MAX_KEYS];

    /* warnings met while loading (unknown STATUSD_ variables ...), to be
     * logged once logging is set up */
    char warnings[SD_CONFIG_MAX_WARNINGS][256];
    int warning_count;
} sd_config;

typedef enum sd_cli_action {
    SD_CLI_RUN = 0,
    SD_CLI_CHECK_CONFIG,  /* --check-config: load, validate, print, exit */
    SD_CLI_VERSION,
    SD_CLI_HELP,
    SD_CLI_PROBE          /* --probe: GET /health on this host's port, exit 0 on 200 */
} sd_cli_action;

/* Where a Redis URL points. Strings are NUL-terminated; username and
 * password are percent-decoded, "" when absent. */
typedef struct sd_redis_target {
    char host[256];       /* name, IPv4 or IPv6 address (without brackets) */
    int port;             /* 6379 when the URL has none */
    int db;               /* 0 when the URL has none */
    char username[128];
    char password[256];
} sd_redis_target;

/*
 * Parses redis://[[user]:password@]host[:port][/db] into *out (port 1..65535,
 * db 0..255, an IPv6 host in brackets). SD_ERR_INVALID with a one-line
 * reason in err (may be NULL) on anything else, rediss:// (TLS) included;
 * the reason never contains the password. *out is written only on success.
 */
sd_err sd_redis_url_parse(const char *url, sd_redis_target *out, char *err,
                          size_t errlen);

/* Fills cfg with the built-in defaults. */
void sd_config_defaults(sd_config *cfg);

/*
 * Sets one key from its text form, as written in the file: a key of the
 * table or handler_<kind> for any kind name. SD_ERR_NOT_FOUND for an
 * unknown key, SD_ERR_INVALID for a bad value; err (may be NULL)
 * gets a one-line reason naming the key.
 */
sd_err sd_config_set(sd_config *cfg, const char *key, const char *value,
                     char *err, size_t errlen);

/* Reads a config file. On error, err names the file, the line and the key:
 * "config/statusd.conf:12: port: expected an integer in 1..65535, got 'x'". A missing
 * file is SD_ERR_NOT_FOUND. */
sd_err sd_config_load_file(sd_config *cfg, const char *path,
                           char *err, size_t errlen);
/* The same from an open stream (not closed here); path names it in
 * messages and in config_path. */
sd_err sd_config_load_stream(sd_config *cfg, FILE *f, const char *path, char *err,
                             size_t errlen);

/* Applies the environment (envp: NULL-terminated "NAME=value" strings).
 * A bad value is an error naming the variable; an unknown STATUSD_
 * variable adds a warning. */
sd_err sd_config_load_env(sd_config *cfg, char *const *envp,
                          char *err, size_t errlen);

/*
 * The whole chain: defaults, the file (--config, else STATUSD_CONFIG, else
 * ./config/statusd.conf, else /etc/statusd/statusd.conf, else none), the
 * environment, then the flags. *action says what main should do.
 * SD_ERR_INVALID with err set on any bad input (main exits 2).
 */
sd_err sd_config_build(sd_config *cfg, int argc, char **argv, char *const *envp,
                       sd_cli_action *action, char *err, size_t errlen);

/* Writes every key and its effective value, one "key = value" per line.
 * Secrets are masked. */
void sd_config_print(const sd_config *cfg, int fd);

/*
 * What --check-config prints: a comment line naming the config file read
 * ("none" when there was none), then every key as sd_config_print writes
 * it, each followed by a comment saying where its value came from:
 *   port = 9000    # environment STATUSD_PORT
 * (default, file line N, environment NAME, flag --NAME). The text loads
 * back as a config file to the same values.
 */
void sd_config_report(const sd_config *cfg, int fd);

/* The --help text. */
void sd_config_usage(int fd);

/*
 * The request threads run the requests that need a remote store while
 * the HTTP threads go on serving. A request thread waits for each of its
 * round trips, so with one per HTTP thread the cores idle while Redis
 * answers: there are SD_REQUEST_THREADS_PER_HTTP_THREAD per HTTP thread.
 * They share the store's connections with the workers (redis_pool_size).
 */
#define SD_REQUEST_THREADS_PER_HTTP_THREAD 4
int64_t sd_config_request_threads(const sd_config *cfg);

#endif
