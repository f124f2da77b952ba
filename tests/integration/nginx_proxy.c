/* nginx from config/nginx.conf in front of test statusd processes. */
#include "nginx_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "proc.h"
#include "statusd/util.h"

#define START_WAIT_MS 10000
#define STOP_WAIT_MS 5000

/* Directories for what nginx may write to disk, under the prefix. */
static const char *const TEMP_PATHS[] = {
    "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
    "uwsgi_temp_path", "scgi_temp_path"};

static bool starts_with_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strncmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\t');
}

/* Appends line (len bytes, without its newline) to b with the token after
 * the directive name (the address) replaced by repl. */
static bool put_replaced_address(sd_buf *b, const char *line, size_t len, const char *repl)
{
    const char *p = line + strspn(line, " \t");
    const char *name_end = p + strcspn(p, " \t");
    const char *addr = name_end + strspn(name_end, " \t");
    const char *addr_end = addr + strcspn(addr, " \t;");
    if (addr == addr_end || addr_end > line + len)
        return false;
    sd_buf_append(b, line, (size_t)(name_end - line));
    sd_buf_printf(b, " %s", repl);
    sd_buf_append(b, addr_end, (size_t)(line + len - addr_end));
    sd_buf_putc(b, '\n');
    return true;
}

char *test_nginx_config(const char *shipped, const unsigned *ports, size_t nports,
                        unsigned listen_port, const char *dir, char *err, size_t errlen)
{
    sd_buf b = SD_BUF_INIT;
    size_t servers = 0, listens = 0, http_blocks = 0, geo_blocks = 0;
    bool in_upstream = false, bad = false;
    char addr[64];
    for (const char *line = shipped; *line != '\0' && !bad;) {
        size_t len = strcspn(line, "\n");
        const char *t = line + strspn(line, " \t");
        size_t tlen = len - (size_t)(t - line);
        if (in_upstream && tlen == 1 && t[0] == '}')
            in_upstream = false;
        if (starts_with_word(t, "upstream") && t[tlen - 1] == '{')
            in_upstream = true;

        if (in_upstream && starts_with_word(t, "server")) {
            if (servers < nports) {
                snprintf(addr, sizeof addr, "127.0.0.1:%u", ports[servers]);
                bad = !put_replaced_address(&b, line, len, addr);
            }
            servers++;
        } else if (starts_with_word(t, "listen")) {
            snprintf(addr, sizeof addr, "127.0.0.1:%u", listen_port);
            bad = !put_replaced_address(&b, line, len, addr);
            listens++;
        } else {
            sd_buf_append(&b, line, len);
            sd_buf_putc(&b, '\n');
            if (starts_with_word(t, "geo") && t[tlen - 1] == '{' &&
                strstr(t, "$statusd_private_client ") != NULL) {
                geo_blocks++;
                sd_buf_printf(&b, "        %s 1;\n", TEST_NGINX_PRIVATE_CLIENT);
            }
            if (tlen == 6 && strncmp(t, "http {", 6) == 0) {
                http_blocks++;
                for (size_t i = 0; i < sizeof TEMP_PATHS / sizeof TEMP_PATHS[0]; i++)
                    sd_buf_printf(&b, "    %s %s/%.*s;\n", TEMP_PATHS[i], dir,
                                  (int)strcspn(TEMP_PATHS[i], "_"), TEMP_PATHS[i]);
            }
        }
        line += len + (line[len] == '\n');
    }
    if (bad || servers != nports || listens != 1 || http_blocks != 1 || geo_blocks != 1 ||
        !sd_buf_ok(&b)) {
        snprintf(err, errlen,
                 "config/nginx.conf: expected %zu upstream server lines, 1 listen line, "
                 "1 'http {' line and 1 'geo $statusd_private_client {' line, found %zu, "
                 "%zu, %zu and %zu%s",
                 nports, servers, listens, http_blocks, geo_blocks,
                 bad ? " (a line without an address)" : "");
        sd_buf_free(&b);
        return NULL;
    }
    return sd_buf_steal(&b, NULL);
}

/* The whole file, NUL-terminated, or NULL. The caller frees it. */
static char *file_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    sd_buf b = SD_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sd_buf_append(&b, chunk, n);
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        sd_buf_free(&b);
        return NULL;
    }
    return sd_buf_steal(&b, NULL);
}

static const char *nginx_bin(void)
{
    const char *bin = getenv("SD_NGINX");
    if (bin != NULL && bin[0] != '\0')
        return bin;
    return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

void test_nginx_dump_log(const test_nginx *n)
{
    FILE *f = fopen(n->log_path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- nginx output (%s) ----\n", n->log_path);
    char line[2048];
    while (fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of nginx output ----\n");
    fclose(f);
}

static bool proxied_health_ok(unsigned port)
{
    http_resp r;
    bool ok = http_do(port, "GET", "/health", NULL, NULL, &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok;
}

/* Forks nginx on listen_port with the config at conf; 0 once it answers,
 * 1 when it exited (the port may have been taken), -1 on a failure. */
static int spawn(test_nginx *n, const char *conf)
{
    int logfd = open(n->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        return -1;
    char prefix[600], globals[700];
    snprintf(prefix, sizeof prefix, "%s/", n->dir);
    snprintf(globals, sizeof globals, "daemon off; pid %s/nginx.pid;", n->dir);
    const char *bin = nginx_bin();
    const char *argv[] = {bin, "-p", prefix, "-e", "stderr", "-c", conf, "-g", globals, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
            dup2(logfd, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0)
            _exit(126);
        execvp(bin, (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    n->pid = pid;
    for (int waited = 0; waited < START_WAIT_MS; waited += 20) {
        if (proxied_health_ok(n->port))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            n->pid = 0;
            return 1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int test_nginx_start(test_nginx *n, const unsigned *ports, size_t nports)
{
    memset(n, 0, sizeof *n);
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    if (src == NULL) {
        fprintf(stderr, "SD_TEST_SOURCE_DIR is not set (run the tests through ctest)\n");
        return -1;
    }
    n->dir = test_tempdir("statusd-nginx");
    /* nginx's workers run as an unprivileged user when the test runs as
     * root; they need to reach the temporary paths below the prefix. */
    if (n->dir == NULL || chmod(n->dir, 0755) != 0) {
        fprintf(stderr, "nginx: cannot make a prefix directory: %s\n", strerror(errno));
        test_nginx_stop(n);
        return -1;
    }
    snprintf(n->log_path, sizeof n->log_path, "%s/output.log", n->dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/config/nginx.conf", src);
    char *shipped = file_read(path);
    if (shipped == NULL) {
        fprintf(stderr, "nginx: cannot read %s: %s\n", path, strerror(errno));
        test_nginx_stop(n);
        return -1;
    }
    int rc = -1;
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
        n->port = test_free_port();
        char err[256];
        char *text = test_nginx_config(shipped, ports, nports, n->port, n->dir, err,
                                       sizeof err);
        if (text == NULL) {
            fprintf(stderr, "nginx: %s\n", err);
            break;
        }
        char *conf = test_write_file(n->dir, "nginx.conf", text, 0644);
        free(text);
        if (conf == NULL)
            break;
        rc = spawn(n, conf);
        free(conf);
        if (rc < 0)
            break;    /* 1: exited, maybe the port was taken: another try */
    }
    free(shipped);
    if (rc != 0) {
        fprintf(stderr, "nginx did not start answering\n");
        test_nginx_dump_log(n);
        test_nginx_stop(n);
        return -1;
    }
    return 0;
}

void test_nginx_stop(test_nginx *n)
{
    if (n->pid > 0) {
        kill(n->pid, SIGQUIT);
        int st;
        for (int waited = 0;; waited += 10) {
            pid_t w = waitpid(n->pid, &st, WNOHANG);
            if (w == n->pid || (w < 0 && errno != EINTR))
                break;
            if (waited >= STOP_WAIT_MS) {
                kill(n->pid, SIGKILL);
                waitpid(n->pid, &st, 0);
                break;
            }
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        n->pid = 0;
    }
    if (n->dir != NULL) {
        test_rmdir(n->dir);
        free(n->dir);
        n->dir = NULL;
    }
}

long test_nginx_log_count(const test_nginx *n, const char *const *has)
{
    FILE *f = fopen(n->log_path, "r");
    if (f == NULL)
        return -1;
    long count = 0;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        bool all = true;
        for (size_t i = 0; has[i] != NULL && all; i++)
            all = strstr(line, has[i]) != NULL;
        count += all;
    }
    fclose(f);
    return count;
}
