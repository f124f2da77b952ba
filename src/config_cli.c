/*
 * Where configuration values come from besides the defaults: the config
 * file, the environment and the command line (sd_config_build runs the
 * whole chain), and the --help text.
 *
 * Everything here goes through the key table in config.c (config_keys.h),
 * so a key added there is at once settable from the file, as STATUSD_<KEY>
 * and with --set, and listed by --help.
 */
#include "statusd/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_keys.h"
#include "statusd/util.h"

#define LINE_MAX_BYTES 4096
#define ENV_PREFIX "STATUSD_"
#define ENV_CONFIG "STATUSD_CONFIG"

/* ---- the file ---- */

typedef enum line_status { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_NUL } line_status;

/* Reads one line without its newline into buf (LINE_MAX_BYTES + 1 bytes). */
static line_status line_read(FILE *f, char *buf)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (c == '\0')
            return LINE_NUL;
        if (n == LINE_MAX_BYTES)
            return LINE_TOO_LONG;
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return (c == EOF && n == 0) ? LINE_EOF : LINE_OK;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/*
 * Splits a line in place. *key is NULL for a blank or comment line. A value
 * is either bare (ending at a '#' that opens it or follows whitespace, then
 * trimmed) or double-quoted, where \" and \\ stand for " and \.
 */
static sd_err line_split(char *line, char **key, char **value, char *why, size_t whylen)
{
    *key = NULL;
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return SD_OK;
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        s[strcspn(s, " \t")] = '\0';
        sd_errf(why, whylen, "%s: missing '=' (expected 'key = value')", s);
        return SD_ERR_INVALID;
    }
    *eq = '\0';
    char *k = trim(s);
    if (*k == '\0')
        return sd_errf(why, whylen, "empty key before '='");
    char *v = eq + 1;
    while (is_space(*v))
        v++;
    if (*v != '"') {
        for (char *p = v; *p != '\0'; p++) {
            if (*p == '#' && (p == v || is_space(p[-1]))) {
                *p = '\0';
                break;
            }
        }
        *key = k;
        *value = trim(v);
        return SD_OK;
    }
    char *src = v + 1, *dst = v;
    while (*src != '"') {
        if (*src == '\0')
            return sd_errf(why, whylen, "%s: unterminated quote", k);
        if (*src == '\\' && (src[1] == '"' || src[1] == '\\'))
            src++;
        *dst++ = *src++;
    }
    *dst = '\0';
    for (src++; is_space(*src); src++)
        ;
    if (*src != '\0' && !(*src == '#' && is_space(src[-1])))
        return sd_errf(why, whylen, "%s: unexpected text after the closing quote", k);
    *key = k;
    *value = v;
    return SD_OK;
}

/* True when key is handler_<kind> of a kind this file set already (kinds
 * past the first start_kinds, which came from elsewhere). */
static bool kind_set_before(const sd_config *cfg, const char *key, size_t start_kinds)
{
    static const char prefix[] = "handler_";
    if (strncmp(key, prefix, sizeof prefix - 1) != 0)
        return false;
    for (size_t i = start_kinds; i < cfg->kind_count; i++)
        if (strcmp(cfg->kinds[i].kind, key + sizeof prefix - 1) == 0)
            return true;
    return false;
}

sd_err sd_config_load_file(sd_config *cfg, const char *path, char *err, size_t errlen)
{
    if (strlen(path) >= sizeof cfg->config_path)
        return sd_errf(err, errlen, "config file path is longer than %zu bytes",
                           sizeof cfg->config_path - 1);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        sd_errf(err, errlen, "%s: %s", path, strerror(e));
        return (e == ENOENT || e == ENOTDIR) ? SD_ERR_NOT_FOUND : SD_ERR_INVALID;
    }
    sd_err rc = sd_config_load_stream(cfg, f, path, err, errlen);
    if (fclose(f) != 0 && rc == SD_OK) {
        sd_errf(err, errlen, "%s: %s", path, strerror(errno));
        rc = SD_ERR_INVALID;
    }
    return rc;
}

sd_err sd_config_load_stream(sd_config *cfg, FILE *f, const char *path, char *err,
                             size_t errlen)
{
    if (strlen(path) >= sizeof cfg->config_path)
        return sd_errf(err, errlen, "config file path is longer than %zu bytes",
                           sizeof cfg->config_path - 1);
    sd_config tmp = *cfg;
    int first_line[CONFIG_MAX_KEYS] = {0};
    size_t start_kinds = tmp.kind_count;
    char line[LINE_MAX_BYTES + 1];
    char why[CONFIG_WHY_LEN];
    sd_err rc = SD_OK;
    for (int lineno = 1; rc == SD_OK; lineno++) {
        line_status st = line_read(f, line);
        if (st == LINE_EOF)
            break;
        if (st != LINE_OK) {
            if (st == LINE_NUL)
                sd_errf(err, errlen, "%s:%d: line contains a NUL byte", path, lineno);
            else
                sd_errf(err, errlen, "%s:%d: line is longer than %d bytes", path,
                            lineno, LINE_MAX_BYTES);
            rc = SD_ERR_INVALID;
            break;
        }
        char *text = line;
        if (lineno == 1 && strncmp(text, "\xEF\xBB\xBF", 3) == 0)
            text += 3;    /* a UTF-8 byte order mark some editors add */
        char *key, *value;
        rc = line_split(text, &key, &value, why, sizeof why);
        if (rc == SD_OK && key != NULL) {
            const key_def *k = config_key_find(key);
            size_t idx = k != NULL ? (size_t)(k - config_key_at(0)) : 0;
            if (k != NULL && first_line[idx] != 0) {
                snprintf(why, sizeof why, "%s: duplicate key, first set on line %d",
                         key, first_line[idx]);
                rc = SD_ERR_INVALID;
            } else if (k == NULL && kind_set_before(&tmp, key, start_kinds)) {
                snprintf(why, sizeof why, "%s: duplicate key", key);
                rc = SD_ERR_INVALID;
            } else {
                rc = sd_config_set(&tmp, key, value, why, sizeof why);
                if (k != NULL)
                    first_line[idx] = lineno;
                if (rc == SD_OK)
                    config_origin_set(&tmp, key, SD_SOURCE_FILE, lineno, NULL);
            }
        }
        if (rc != SD_OK) {
            sd_errf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = SD_ERR_INVALID;
        }
    }
    if (rc == SD_OK && ferror(f)) {
        sd_errf(err, errlen, "%s: %s", path, strerror(errno));
        rc = SD_ERR_INVALID;
    }
    if (rc != SD_OK)
        return rc;
    snprintf(tmp.config_path, sizeof tmp.config_path, "%s", path);
    *cfg = tmp;
    return SD_OK;
}

/* ---- the environment ---- */

/*
 * Legacy variables whose values are translated before they set a key
 * (USE_REDIS=true means store = redis). Applied after the plain legacy
 * names of the key table and before STATUSD_<KEY>, which wins over both.
 */
typedef struct env_value {
    const char *from;    /* compared case-insensitively */
    const char *to;      /* the key's value, in file syntax */
} env_value;

typedef struct env_mapped {
    const char *var;
    const char *key;
    const env_value *values;    /* {NULL, NULL}-ended */
} env_mapped;

static const env_value bool_to_store[] = {
    {"true", "redis"}, {"1", "redis"}, {"yes", "redis"}, {"on", "redis"},
    {"false", "memory"}, {"0", "memory"}, {"no", "memory"}, {"off", "memory"},
    {NULL, NULL}};

static const env_mapped env_mapped_vars[] = {
    {"USE_REDIS", "store", bool_to_store},
    {"REDIS_ENABLED", "store", bool_to_store},
};

#define MAPPED_COUNT (sizeof env_mapped_vars / sizeof env_mapped_vars[0])

static void __attribute__((format(printf, 2, 3)))
warn_add(sd_config *cfg, const char *fmt, ...)
{
    int slot = cfg->warning_count;
    if (slot >= SD_CONFIG_MAX_WARNINGS) {
        snprintf(cfg->warnings[SD_CONFIG_MAX_WARNINGS - 1],
                 sizeof cfg->warnings[0], "more configuration warnings not shown");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->warnings[slot], sizeof cfg->warnings[0], fmt, ap);
    va_end(ap);
    cfg->warning_count++;
}

/* The value of name in envp, or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

/* The key a STATUSD_<KEY> name (up to '=') refers to, or NULL. */
static const key_def *env_key(const char *name, size_t len)
{
    char lower[64];
    if (len >= sizeof lower)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'a' && c <= 'z')
            return NULL;
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    lower[len] = '\0';
    return config_key_find(lower);
}

/*
 * STATUSD_HANDLER_<KIND>: handler_<kind> with the kind in lower case
 * (STATUSD_HANDLER_RESIZE_IMAGES sets handler_resize_images). False when
 * name is not of that form; else true, with *rc the outcome of setting it.
 */
static bool env_kind_handler(sd_config *cfg, const char *name, size_t len, const char *var,
                             const char *value, char *err, size_t errlen, sd_err *rc)
{
    static const char prefix[] = "HANDLER_";
    char key[64];
    if (len <= sizeof prefix - 1 || len >= sizeof key ||
        strncmp(name, prefix, sizeof prefix - 1) != 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'a' && c <= 'z')
            return false;
        key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    key[len] = '\0';
    char why[CONFIG_WHY_LEN];
    *rc = sd_config_set(cfg, key, value, why, sizeof why);
    if (*rc == SD_OK)
        config_origin_set(cfg, key, SD_SOURCE_ENV, 0, var);
    else
        *rc = sd_errf(err, errlen, "environment variable %s: %s", var, why);
    return true;
}

static sd_err env_apply(sd_config *cfg, const key_def *k, const char *var,
                        const char *value, char *err, size_t errlen)
{
    char why[CONFIG_WHY_LEN];
    if (config_key_set(k, cfg, value, why, sizeof why) == SD_OK) {
        config_origin_set(cfg, k->name, SD_SOURCE_ENV, 0, var);
        return SD_OK;
    }
    return sd_errf(err, errlen, "environment variable %s: %s", var, why);
}

/* What m's variable, whose value is v, sets its key to; NULL with err set
 * when v is none of the accepted values. */
static const char *env_translate(const env_mapped *m, const char *v, char *err,
                                 size_t errlen)
{
    char names[128] = "", ex[CONFIG_EXCERPT_LEN];
    for (size_t i = 0; m->values[i].from != NULL; i++) {
        if (strcasecmp(m->values[i].from, v) == 0)
            return m->values[i].to;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? "|" : "",
                 m->values[i].from);
    }
    sd_errf(err, errlen, "environment variable %s: expected one of %s, got '%s'",
                m->var, names, config_excerpt(v, ex));
    return NULL;
}

/* Applies env_mapped_vars[]. Two of them setting one key to different
 * values is an error rather than a silent choice. */
static sd_err env_apply_mapped(sd_config *cfg, char *const *envp, char *err,
                               size_t errlen)
{
    const char *set_to[MAPPED_COUNT] = {NULL};
    for (size_t i = 0; i < MAPPED_COUNT; i++) {
        const env_mapped *m = &env_mapped_vars[i];
        const char *v = env_get(envp, m->var);
        if (v == NULL)
            continue;
        if ((set_to[i] = env_translate(m, v, err, errlen)) == NULL)
            return SD_ERR_INVALID;
        for (size_t j = 0; j < i; j++) {
            if (set_to[j] != NULL && strcmp(env_mapped_vars[j].key, m->key) == 0 &&
                strcmp(set_to[j], set_to[i]) != 0) {
                sd_errf(err, errlen, "environment variables %s and %s disagree "
                            "(%s = %s against %s = %s)", env_mapped_vars[j].var, m->var,
                            m->key, set_to[j], m->key, set_to[i]);
                return SD_ERR_INVALID;
            }
        }
        const key_def *k = config_key_find(m->key);
        if (k == NULL) {
            sd_errf(err, errlen, "environment variable %s: no key %s", m->var, m->key);
            return SD_ERR_INTERNAL;
        }
        if (env_apply(cfg, k, m->var, set_to[i], err, errlen) != SD_OK)
            return SD_ERR_INVALID;
    }
    return SD_OK;
}

sd_err sd_config_load_env(sd_config *cfg, char *const *envp, char *err, size_t errlen)
{
    sd_config tmp = *cfg;
    /* Legacy names first, so STATUSD_<KEY> wins when both are set. */
    for (size_t i = 0; i < config_key_count(); i++) {
        const key_def *k = config_key_at(i);
        for (size_t j = 0; k->legacy[j] != NULL; j++) {
            const char *v = env_get(envp, k->legacy[j]);
            if (v != NULL && env_apply(&tmp, k, k->legacy[j], v, err, errlen) != SD_OK)
                return SD_ERR_INVALID;
        }
    }
    sd_err rc = env_apply_mapped(&tmp, envp, err, errlen);
    if (rc != SD_OK)
        return rc;
    const size_t plen = strlen(ENV_PREFIX);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *entry = envp[i];
        const char *eq = strchr(entry, '=');
        if (strncmp(entry, ENV_PREFIX, plen) != 0 || eq == NULL)
            continue;
        char var[128];
        snprintf(var, sizeof var, "%.*s", (int)(eq - entry), entry);
        if (strcmp(var, ENV_CONFIG) == 0)
            continue;
        const key_def *k = env_key(entry + plen, (size_t)(eq - entry) - plen);
        if (k == NULL && env_kind_handler(&tmp, entry + plen, (size_t)(eq - entry) - plen,
                                          var, eq + 1, err, errlen, &rc)) {
            if (rc != SD_OK)
                return rc;
            continue;
        }
        if (k == NULL) {
            warn_add(&tmp, "unknown environment variable %s ignored (no such key)", var);
            continue;
        }
        if (env_apply(&tmp, k, var, eq + 1, err, errlen) != SD_OK)
            return SD_ERR_INVALID;
    }
    *cfg = tmp;
    return SD_OK;
}

/* ---- the command line ---- */

typedef enum flag_kind { FLAG_CONFIG, FLAG_KEY, FLAG_SET, FLAG_ACTION } flag_kind;

typedef struct flag_def {
    const char *name;
    flag_kind kind;
    const char *key;          /* FLAG_KEY */
    sd_cli_action action;     /* FLAG_ACTION */
    const char *arg;          /* name of the value in --help, NULL for none */
    const char *help;
} flag_def;

static const flag_def flags[] = {
    {"--config", FLAG_CONFIG, NULL, SD_CLI_RUN, "PATH",
     "config file to read (search order below)"},
    {"--port", FLAG_KEY, "port", SD_CLI_RUN, "N", "TCP port to listen on"},
    {"--store", FLAG_KEY, "store", SD_CLI_RUN, "KIND", "auto, memory or redis"},
    {"--set", FLAG_SET, NULL, SD_CLI_RUN, "KEY=VALUE", "set any key (repeatable)"},
    {"--check-config", FLAG_ACTION, NULL, SD_CLI_CHECK_CONFIG, NULL,
     "load and validate the configuration, print it, exit"},
    {"--probe", FLAG_ACTION, NULL, SD_CLI_PROBE, NULL,
     "health check: GET /health on this host, exit 0 on 200, else 1"},
    {"--version", FLAG_ACTION, NULL, SD_CLI_VERSION, NULL, "print the version, exit"},
    {"--help", FLAG_ACTION, NULL, SD_CLI_HELP, NULL, "this text (also -h)"},
    {"-h", FLAG_ACTION, NULL, SD_CLI_HELP, NULL, NULL},
};

#define FLAG_COUNT (sizeof flags / sizeof flags[0])

/*
 * Reads the flag at argv[*i] (and its value, "--x v" or "--x=v"), advancing
 * *i past what it used. Hand-parsed: no global state, so repeated calls
 * (tests) behave the same.
 */
static sd_err flag_next(int argc, char **argv, int *i, const flag_def **f,
                        const char **value, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    char ex[CONFIG_EXCERPT_LEN];
    *f = NULL;
    for (size_t j = 0; j < FLAG_COUNT; j++)
        if (strlen(flags[j].name) == nlen && strncmp(flags[j].name, arg, nlen) == 0)
            *f = &flags[j];
    if (*f == NULL)
        return sd_errf(err, errlen,
                           arg[0] == '-' ? "unknown option '%s' (see --help)"
                                         : "unexpected argument '%s' (see --help)",
                           config_excerpt(arg, ex));
    *value = NULL;
    if ((*f)->arg == NULL) {
        if (eq != NULL)
            return sd_errf(err, errlen, "option %s takes no value", (*f)->name);
    } else if (eq != NULL) {
        *value = eq + 1;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        return sd_errf(err, errlen, "option %s needs a value (%s %s)", (*f)->name,
                           (*f)->name, (*f)->arg);
    }
    ++*i;
    return SD_OK;
}

/* Which action runs when several are given: the highest rank. */
static int action_rank(sd_cli_action a)
{
    switch (a) {
    case SD_CLI_HELP:
        return 4;
    case SD_CLI_VERSION:
        return 3;
    case SD_CLI_CHECK_CONFIG:
        return 2;
    case SD_CLI_PROBE:
        return 1;
    case SD_CLI_RUN:
        break;
    }
    return 0;
}

/* Applies one --port/--store/--set flag to cfg. */
static sd_err flag_apply(sd_config *cfg, const flag_def *f, const char *value,
                         char *err, size_t errlen)
{
    char why[CONFIG_WHY_LEN];
    char ex[CONFIG_EXCERPT_LEN];
    if (f->kind == FLAG_KEY) {
        if (sd_config_set(cfg, f->key, value, why, sizeof why) == SD_OK) {
            config_origin_set(cfg, f->key, SD_SOURCE_FLAG, 0, f->name);
            return SD_OK;
        }
        return sd_errf(err, errlen, "%s: %s", f->name, why);
    }
    const char *eq = strchr(value, '=');
    char key[128];
    if (eq == NULL || eq == value)
        return sd_errf(err, errlen, "--set: expected KEY=VALUE, got '%s'",
                           config_excerpt(value, ex));
    if ((size_t)(eq - value) >= sizeof key)
        return sd_errf(err, errlen, "--set: %s: unknown key",
                           config_excerpt(value, ex));
    snprintf(key, sizeof key, "%.*s", (int)(eq - value), value);
    if (sd_config_set(cfg, key, eq + 1, why, sizeof why) == SD_OK) {
        config_origin_set(cfg, key, SD_SOURCE_FLAG, 0, f->name);
        return SD_OK;
    }
    return sd_errf(err, errlen, "--set: %s", why);
}

/* Loads the file the search order picks; see config.h. */
static sd_err file_choose_and_load(sd_config *cfg, const char *flag_path,
                                   char *const *envp, char *err, size_t errlen)
{
    char why[CONFIG_WHY_LEN];
    const char *env_path = env_get(envp, ENV_CONFIG);
    const char *path = flag_path, *from = "--config";
    if (path == NULL && env_path != NULL && env_path[0] != '\0') {
        path = env_path;
        from = ENV_CONFIG;
    }
    if (path != NULL) {
        if (path[0] == '\0')
            return sd_errf(err, errlen, "%s: empty path", from);
        sd_err rc = sd_config_load_file(cfg, path, why, sizeof why);
        if (rc == SD_ERR_NOT_FOUND)
            sd_errf(err, errlen, "config file %s (from %s) not found", path, from);
        else if (rc != SD_OK)
            sd_errf(err, errlen, "%s", why);
        return rc == SD_OK ? SD_OK : SD_ERR_INVALID;
    }
    static const char *const search[] = {"config/statusd.conf", "/etc/statusd/statusd.conf"};
    for (size_t i = 0; i < sizeof search / sizeof search[0]; i++) {
        sd_err rc = sd_config_load_file(cfg, search[i], why, sizeof why);
        if (rc == SD_OK)
            return SD_OK;
        if (rc != SD_ERR_NOT_FOUND)
            return sd_errf(err, errlen, "%s", why);
    }
    return SD_OK;
}

sd_err sd_config_build(sd_config *cfg, int argc, char **argv, char *const *envp,
                       sd_cli_action *action, char *err, size_t errlen)
{
    sd_config_defaults(cfg);
    *action = SD_CLI_RUN;

    /* First pass: check every flag, find --config and the action. */
    const char *config_path = NULL;
    const flag_def *f;
    const char *value;
    for (int i = 1; i < argc;) {
        if (flag_next(argc, argv, &i, &f, &value, err, errlen) != SD_OK)
            return SD_ERR_INVALID;
        if (f->kind == FLAG_CONFIG)
            config_path = value;
        else if (f->kind == FLAG_ACTION && action_rank(f->action) > action_rank(*action))
            *action = f->action;
    }
    /* --help and --version work whatever state the configuration is in. */
    if (*action == SD_CLI_HELP || *action == SD_CLI_VERSION)
        return SD_OK;

    if (file_choose_and_load(cfg, config_path, envp, err, errlen) != SD_OK)
        return SD_ERR_INVALID;
    if (sd_config_load_env(cfg, envp, err, errlen) != SD_OK)
        return SD_ERR_INVALID;

    /* Second pass: the flags that set keys, in command-line order. */
    for (int i = 1; i < argc;) {
        if (flag_next(argc, argv, &i, &f, &value, err, errlen) != SD_OK)
            return SD_ERR_INVALID;
        if ((f->kind == FLAG_KEY || f->kind == FLAG_SET) &&
            flag_apply(cfg, f, value, err, errlen) != SD_OK)
            return SD_ERR_INVALID;
    }
    return SD_OK;
}

/* ---- --help ---- */

int64_t sd_config_request_threads(const sd_config *cfg)
{
    return cfg->threads * SD_REQUEST_THREADS_PER_HTTP_THREAD;
}

void sd_config_usage(int fd)
{
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "Usage: statusd [options]\n\nOptions:\n");
    for (size_t i = 0; i < FLAG_COUNT; i++) {
        if (flags[i].help == NULL)
            continue;
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", flags[i].name, flags[i].arg ? " " : "",
                 flags[i].arg ? flags[i].arg : "");
        sd_buf_printf(&b, "  %-18s  %s\n", left, flags[i].help);
    }
    sd_buf_puts(&b,
                "\nSettings are read, later ones winning, from the built-in defaults, the\n"
                "config file, the environment (STATUSD_<KEY> for every key, e.g.\n"
                "STATUSD_QUEUE_CAPACITY, and the older names listed after \"also\" below;\n"
                "USE_REDIS or REDIS_ENABLED = true|false set store = redis|memory) and\n"
                "the options above; STATUSD_<KEY> wins over the older names.\n"
                "The config file is the --config path, else $STATUSD_CONFIG, else\n"
                "./config/statusd.conf, else /etc/statusd/statusd.conf, else none.\n"
                "config/statusd.conf documents every key. Keys and their defaults:\n\n");
    for (size_t i = 0; i < config_key_count(); i++) {
        const key_def *k = config_key_at(i);
        char left[128], range[64] = "", also[96] = "";
        snprintf(left, sizeof left, "%s = %s", k->name,
                 k->def[0] != '\0' ? k->def : "\"\"");
        if (k->type == KEY_INT)
            snprintf(range, sizeof range, " (%" PRId64 "..%" PRId64 ")", k->min, k->max);
        for (size_t j = 0; k->legacy[j] != NULL; j++) {
            size_t used = strlen(also);
            snprintf(also + used, sizeof also - used, "%s%s", j ? ", " : "; also ",
                     k->legacy[j]);
        }
        sd_buf_printf(&b, "  %-34s  %s%s%s\n", left, k->help, range, also);
    }
    config_buf_write(&b, fd);
    sd_buf_free(&b);
}
