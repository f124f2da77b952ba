#ifndef SD_TEST_CONFIG_TEST_H
#define SD_TEST_CONFIG_TEST_H

#include <limits.h>
#include <stddef.h>

#include "statusd/config.h"

/*
 * Shared pieces of the configuration tests (test_config.c,
 * test_config_env.c, test_config_redis.c, test_config_access.c): the
 * fixture, its temp files, what sd_config_print and sd_config_usage
 * write, and the printed forms of the defaults and of a configuration
 * with every key changed. Functions that assert fail the running cmocka
 * test, so call them only from a test body.
 */

#define MAX_FILES 16
#define PATH_LEN 256    /* temp paths: the mkdtemp dir is short */
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

typedef struct fixture {
    char dir[64];                   /* the test's mkdtemp directory */
    char files[MAX_FILES][PATH_LEN];
    int nfiles;
    char cwd[PATH_MAX];             /* set when a test changed directory */
    sd_config cfg;                  /* starts as sd_config_defaults */
    sd_redis_target target;
    char err[1024];
} fixture;

/* What sd_config_print writes for sd_config_defaults, every key in table
 * order. */
extern const char DEFAULTS_PRINTED[];

/* Every key set to a value other than its default, one "key = value" line
 * each, in table order. */
extern const char NON_DEFAULT_CONF[];

/* NON_DEFAULT_CONF as printed: the password and the tokens masked. */
extern const char NON_DEFAULT_PRINTED[];

/*
 * cmocka setup and teardown: *state gets a calloc'd fixture with its own
 * mkdtemp directory and fx->cfg at the defaults. The teardown goes back to
 * fx->cwd when a test left it, removes the tracked files, a "config"
 * subdirectory and the directory, and frees the fixture; -1 when the
 * directory cannot be made or removed (a test left something behind).
 */
int setup(void **state);
int teardown(void **state);

/* Remembers path (shorter than PATH_LEN) for the teardown to unlink;
 * returns the stored copy, which lives as long as the fixture. */
const char *track(fixture *fx, const char *path);

/* Writes len bytes (text: its string) to a new temp file in the test's
 * directory; returns its tracked path. */
const char *temp_file_n(fixture *fx, const char *data, size_t len);
const char *temp_file(fixture *fx, const char *text);

/* What sd_config_print writes for cfg, and what sd_config_usage writes,
 * NUL-terminated; the caller frees it. */
char *printed(fixture *fx, const sd_config *cfg);
char *usage_printed(fixture *fx);

/* Asserts that sd_config_print writes exactly expect for cfg. */
void assert_printed(fixture *fx, const sd_config *cfg, const char *expect);

/* Asserts that setting key to value in fx->cfg fails with SD_ERR_INVALID
 * and exactly expect in fx->err, leaving fx->cfg byte for byte as it was. */
void assert_set_error(fixture *fx, const char *key, const char *value,
                      const char *expect);

/* Asserts that setting key to value in fx->cfg succeeds. */
void assert_set_ok(fixture *fx, const char *key, const char *value);

/* sd_config_load_env into fx->cfg, the message (if any) in fx->err. */
sd_err load_env(fixture *fx, char **env);

#endif
