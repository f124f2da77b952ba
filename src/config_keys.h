#ifndef STATUSD_CONFIG_KEYS_H
#define STATUSD_CONFIG_KEYS_H

/*
 * Private to the configuration: the key table and the helpers its parts
 * share. config.c owns the table, the parsing of one value and
 * sd_config_print; config_check.c the checks on string values (the Redis
 * URL parser among them); config_cli.c where values come from (the file,
 * the environment, the command line) and the --help text.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/config.h"
#include "statusd/error.h"
#include "statusd/util.h"

#define CONFIG_WHY_LEN 512    /* room for one "key: reason" line */
#define CONFIG_EXCERPT_LEN 72 /* see config_excerpt() */
#define CONFIG_MAX_KEYS SD_CONFIG_MAX_KEYS /* at least the table's size (checked in config.c) */

typedef enum key_type { KEY_INT, KEY_STR, KEY_ENUM } key_type;

/* How a string key is shown by sd_config_print (never the secret itself). */
typedef enum key_secret {
    KEY_PLAIN = 0,
    KEY_SECRET,         /* "***" when set, "" when empty */
    KEY_SECRET_URL      /* a redis:// URL with its password as "***" */
} key_secret;

/* Extra check on a string value after the length check; writes the reason,
 * which must not quote a secret value. */
typedef sd_err (*key_check)(const char *value, char *why, size_t whylen);

typedef struct key_def {
    const char *name;
    size_t offset;                 /* into sd_config */
    size_t size;                   /* of the field */
    key_type type;
    int64_t min, max;              /* KEY_INT */
    bool takes_auto;               /* KEY_INT: "auto" is SD_CONFIG_AUTO */
    const char *const *choices;    /* KEY_ENUM: names, index = value, NULL-ended */
    key_check check;               /* KEY_STR, or NULL */
    key_secret secret;             /* KEY_STR */
    const char *def;               /* default, in file syntax */
    const char *help;              /* one line, for --help */
    const char *legacy[3];         /* other environment names, NULL-ended */
} key_def;

/* The table, in the order sd_config_print and --help list it. */
size_t config_key_count(void);
const key_def *config_key_at(size_t i);

/* k's place in the table (k from config_key_at or config_key_find). */
size_t config_key_index(const key_def *k);

/* Records where the value of key (a key of the table, or a
 * handler_<kind> already set) came from (see sd_config_origin); a key
 * that is neither is ignored. */
void config_origin_set(sd_config *cfg, const char *key, sd_config_source source,
                       int line, const char *name);

/* The key called name (exact, lower case), or NULL. */
const key_def *config_key_find(const char *name);

/* Parses value for k into cfg, leaving cfg unchanged on error. err (may be
 * NULL) gets "key: reason"; SD_ERR_INVALID. */
sd_err config_key_set(const key_def *k, sd_config *cfg, const char *value,
                      char *err, size_t errlen);

/*
 * The checks of string keys (config_check.c), key_check functions: why
 * gets the reason, without the key's name. An empty value ("none") passes
 * the checks of the keys whose default is empty.
 */
sd_err config_check_ip(const char *value, char *why, size_t whylen);
sd_err config_check_nonempty(const char *value, char *why, size_t whylen);
sd_err config_check_redis_host(const char *value, char *why, size_t whylen);
sd_err config_check_redis_url(const char *value, char *why, size_t whylen);
sd_err config_check_key_prefix(const char *value, char *why, size_t whylen);
/* trusted_proxies: sd_cidr_list_parse's rules (statusd/netaddr.h). */
sd_err config_check_cidr_list(const char *value, char *why, size_t whylen);
/* api_token, admin_token: at least 16 bytes of printable ASCII, no spaces. */
sd_err config_check_token(const char *value, char *why, size_t whylen);
/* handler_env: "", or comma-separated names [A-Za-z_][A-Za-z0-9_]*,
 * blanks around entries ignored. */
sd_err config_check_env_names(const char *value, char *why, size_t whylen);
/* cors_origins: "*", or comma-separated http(s)://host[:port] origins. */
sd_err config_check_origins(const char *value, char *why, size_t whylen);

/* url with the password of its user part as "***" (redis://u:***@h) into
 * out. Splits at the last '@', as the parser does, so even a URL the
 * parser would reject keeps its secret. */
void config_url_mask(const char *url, char *out, size_t outlen);


/* A value as shown in a message: at most 60 bytes then "...", control
 * bytes as '?'. Returns out. */
const char *config_excerpt(const char *value, char out[CONFIG_EXCERPT_LEN]);

/* Writes the buffer whole to fd, retrying short writes; best effort (a
 * failed buffer or write is dropped), as output to a closed terminal is. */
void config_buf_write(const sd_buf *b, int fd);

#endif
