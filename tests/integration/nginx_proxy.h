#ifndef SD_TEST_NGINX_PROXY_H
#define SD_TEST_NGINX_PROXY_H

#include <stddef.h>
#include <sys/types.h>

/*
 * nginx in front of test statusd processes, run from the project's own
 * config/nginx.conf: the same file with the address of each `server` line
 * of its upstream block and of its `listen` line replaced by loopback
 * ports, temporary paths of its own added after `http {`, and
 * TEST_NGINX_PRIVATE_CLIENT added to the clients of its
 * `geo $statusd_private_client` block (the ones that may reach the
 * private paths: /metrics, /stats, ...). nginx runs
 * in the foreground as a child (daemon off), in a mkdtemp prefix
 * directory holding the generated config, its pid file, its temporary
 * files and its output (access log on stdout, errors on stderr), and is
 * stopped by its pid. The binary is $SD_NGINX when set, else
 * /usr/sbin/nginx, else nginx from PATH.
 */

/* A client address, on loopback, that the test config counts as one of
 * the private network's: connections from it reach the private paths,
 * connections from 127.0.0.1 do not. */
#define TEST_NGINX_PRIVATE_CLIENT "127.0.0.2"

typedef struct test_nginx {
    pid_t pid;             /* 0 when not running */
    unsigned port;         /* where nginx listens, on 127.0.0.1 */
    char *dir;             /* the prefix directory */
    char log_path[512];    /* nginx's stdout and stderr: access and error log */
} test_nginx;

/*
 * The test's config from the text of the shipped one (NUL-terminated):
 * the i-th `server` line of the upstream block points at
 * 127.0.0.1:ports[i], `listen` at 127.0.0.1:listen_port, and the
 * temporary paths go under dir. NULL with a reason in err when the text
 * does not have exactly nports server lines and one listen line, or on
 * allocation failure. The caller frees the result.
 */
char *test_nginx_config(const char *shipped, const unsigned *ports, size_t nports,
                        unsigned listen_port, const char *dir, char *err, size_t errlen);

/*
 * Starts nginx with $SD_TEST_SOURCE_DIR/config/nginx.conf made into the
 * test's config for these upstream ports, on a free port, and waits (up
 * to 10 s) until GET /health through it answers 200. 0 on success; on
 * failure prints the reason and nginx's output, cleans up and returns -1.
 */
int test_nginx_start(test_nginx *n, const unsigned *ports, size_t nports);

/* SIGQUIT (graceful) by pid, SIGKILL after 5 s; waits for it and
 * removes the directory. Safe to call twice. */
void test_nginx_stop(test_nginx *n);

/* Lines of nginx's output that contain every one of the strings
 * (NULL-terminated list); -1 when the output cannot be read. */
long test_nginx_log_count(const test_nginx *n, const char *const *has);

/* Prints nginx's output to stderr (for failing tests). */
void test_nginx_dump_log(const test_nginx *n);

#endif
