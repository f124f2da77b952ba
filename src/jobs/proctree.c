/* A job's processes, wherever they went (proctree.h). */
#include "jobs/proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "statusd/log.h"
#include "statusd/util.h"

#define TRACK_MAX 4096          /* handler programs running at once, at most */
#define ENVIRON_MAX (256 * 1024) /* bytes of a process's environment read */
#define ANCESTRY_MAX 64          /* parent links followed */
#define REAP_WAIT_MS 2000        /* for killed processes to become zombies */

static pthread_mutex_t tree_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t tracked[TRACK_MAX];
static size_t ntracked;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool subreaper;

static void init_subreaper(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0) {
        subreaper = true;
        return;
    }
    char buf[128];
    sd_warn("exec: cannot become the subreaper of handler processes (%s): a process "
            "that leaves its job's process group may outlive the job",
            strerror_r(errno, buf, sizeof buf));
}

bool sd_proctree_init(void)
{
    pthread_once(&init_once, init_subreaper);
    return subreaper;
}

void sd_proctree_lock(void) { pthread_mutex_lock(&tree_lock); }
void sd_proctree_unlock(void) { pthread_mutex_unlock(&tree_lock); }

void sd_proctree_track(pid_t pid)
{
    /* More programs than this cannot run: workers are at most 1024. */
    if (ntracked < TRACK_MAX)
        tracked[ntracked++] = pid;
}

void sd_proctree_untrack(pid_t pid)
{
    pthread_mutex_lock(&tree_lock);
    for (size_t i = 0; i < ntracked; i++) {
        if (tracked[i] == pid) {
            tracked[i] = tracked[--ntracked];
            break;
        }
    }
    pthread_mutex_unlock(&tree_lock);
}

static bool is_tracked(pid_t pid)
{
    for (size_t i = 0; i < ntracked; i++)
        if (tracked[i] == pid)
            return true;
    return false;
}

/* The parent and state of pid from /proc/<pid>/stat; false when gone. */
static bool proc_stat(pid_t pid, pid_t *ppid, char *state)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    /* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so
     * the fields are read after the last ')'. */
    char *rp = strrchr(text, ')');
    int parent = 0;
    char st = 0;
    if (rp == NULL || sscanf(rp + 1, " %c %d", &st, &parent) != 2)
        return false;
    *ppid = (pid_t)parent;
    *state = st;
    return true;
}

/* True when pid descends from self. */
static bool descends_from(pid_t pid, pid_t self)
{
    for (int i = 0; i < ANCESTRY_MAX && pid > 1; i++) {
        pid_t parent;
        char st;
        if (!proc_stat(pid, &parent, &st))
            return false;
        if (parent == self)
            return true;
        pid = parent;
    }
    return false;
}

/* True when the NUL-separated environment env[0..len) holds every entry
 * of marker. */
static bool environ_has(const char *env, size_t len, const char *const *marker, size_t n)
{
    for (size_t m = 0; m < n; m++) {
        size_t mlen = strlen(marker[m]);
        bool found = false;
        for (size_t i = 0; i < len && !found;) {
            const char *entry = env + i;
            const char *nul = memchr(entry, '\0', len - i);
            size_t elen = nul != NULL ? (size_t)(nul - entry) : len - i;
            found = elen == mlen && memcmp(entry, marker[m], mlen) == 0;
            i += elen + 1;
        }
        if (!found)
            return false;
    }
    return true;
}

static bool proc_marked(pid_t pid, const char *const *marker, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    sd_buf b = SD_BUF_INIT;
    char chunk[4096];
    ssize_t got;
    while (b.len < ENVIRON_MAX && (got = read(fd, chunk, sizeof chunk)) > 0)
        sd_buf_append(&b, chunk, (size_t)got);
    close(fd);
    bool hit = sd_buf_ok(&b) && b.len > 0 && environ_has(b.data, b.len, marker, n);
    sd_buf_free(&b);
    return hit;
}

/* Calls fn for every process id in /proc; stops when fn returns false. */
static void proc_each(bool (*fn)(pid_t pid, void *arg), void *arg)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t v;
        if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
            sd_parse_i64(e->d_name, 1, INT32_MAX, &v) != SD_OK)
            continue;
        if (!fn((pid_t)v, arg))
            break;
    }
    closedir(d);
}

/* Lock held: reaps the zombie children nobody else waits for. */
static bool reap_one(pid_t pid, void *arg)
{
    int *reaped = arg;
    pid_t parent;
    char st;
    if (proc_stat(pid, &parent, &st) && parent == getpid() && st == 'Z' && !is_tracked(pid)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            (*reaped)++;
    }
    return true;
}

void sd_proctree_reap_orphans(void)
{
    int reaped = 0;
    pthread_mutex_lock(&tree_lock);
    proc_each(reap_one, &reaped);
    pthread_mutex_unlock(&tree_lock);
}

typedef struct kill_scan {
    const char *const *marker;
    size_t n;
    pid_t self;
    int killed;
    int left;               /* marked processes still there (not zombies) */
} kill_scan;

static bool kill_one(pid_t pid, void *arg)
{
    kill_scan *k = arg;
    pid_t parent;
    char st;
    if (pid == k->self || !proc_stat(pid, &parent, &st) || st == 'Z')
        return true;
    if (!descends_from(pid, k->self) || !proc_marked(pid, k->marker, k->n))
        return true;
    if (kill(pid, SIGKILL) == 0)
        k->killed++;
    k->left++;
    return true;
}

int sd_proctree_kill_marked(const char *const *marker, size_t n)
{
    kill_scan k = {marker, n, getpid(), 0, 0};
    proc_each(kill_one, &k);
    int killed = k.killed;
    /* Killed processes that were statusd's children become zombies to
     * reap; a few rounds until none of the marked is left running. */
    int64_t until = sd_mono_ms() + REAP_WAIT_MS;
    while (k.left > 0 && sd_mono_ms() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
        k.left = 0;
        proc_each(kill_one, &k);
        sd_proctree_reap_orphans();
    }
    sd_proctree_reap_orphans();
    return killed;
}
