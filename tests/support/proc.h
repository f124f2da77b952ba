#ifndef SD_TEST_PROC_H
#define SD_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Child processes for integration tests: statusd itself (the binary named
 * by $SD_TEST_BIN, which ctest sets) on a free port. A process is always
 * stopped by its pid, never by name.
 */

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
unsigned test_free_port(void);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp), or NULL;
 * the caller frees the string and removes the directory (test_rmdir). */
char *test_tempdir(const char *prefix);
void test_rmdir(const char *dir);

/* Writes text to dir/name with the given mode; the full path (caller
 * frees), or NULL. */
char *test_write_file(const char *dir, const char *name, const char *text, int mode);

typedef struct statusd_proc {
    pid_t pid;
    unsigned port;
    char log_path[512];   /* the process's stderr */
} statusd_proc;

/*
 * Starts statusd on a free port with the memory store, rate limits off,
 * and the given extra arguments (NULL-terminated, may be NULL; later
 * flags win) and extra environment entries
 * ("NAME=value", NULL-terminated, may be NULL), from the source directory
 * (so it finds config/statusd.conf), and waits until GET /health answers
 * 200 (up to 10 s). 0 on success; on failure the child is stopped and its
 * log printed.
 */
int statusd_start(statusd_proc *p, const char *const *args, const char *const *env);

/* Sends sig to the process and waits up to timeout_ms for it to exit;
 * SIGKILL after that. Returns the exit status as from waitpid (see
 * WIFEXITED), or -1. */
int statusd_stop(statusd_proc *p, int sig, int timeout_ms);

/* Prints the process's log to stderr (for failing tests). */
void statusd_dump_log(const statusd_proc *p);

/* True when one line of the process's log holds text and, when it is not
 * NULL, also. */
bool statusd_log_has(const statusd_proc *p, const char *text, const char *also);

/* Polls cond(arg) every 20 ms until it returns true or timeout_ms passes. */
bool test_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

#endif
