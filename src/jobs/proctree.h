#ifndef STATUSD_JOBS_PROCTREE_H
#define STATUSD_JOBS_PROCTREE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * A job's processes, wherever they went. A handler program's descendants
 * may leave its process group (setsid) and outlive it; statusd is made
 * their subreaper (PR_SET_CHILD_SUBREAPER), so they stay its descendants
 * and come back to it as children when their parents exit, and they carry
 * the job's marker in their environment (STATUSD_JOB_ID and
 * STATUSD_ATTEMPT, set by the exec handler). At the end of a run every
 * descendant of statusd with the run's marker is killed and reaped.
 *
 * statusd waits for each handler program itself (waitpid on its pid), so
 * reaping the orphans must never take one of those: handler pids are
 * registered while they run (the spawn happens under the same lock, so a
 * program that exits at once is registered before anyone can see it), and
 * only unregistered zombies whose parent is statusd are reaped here.
 */

/* Makes this process the subreaper of its descendants, once; false (and a
 * warning) when the kernel refuses. */
bool sd_proctree_init(void);

/* The lock under which a handler is spawned and registered. */
void sd_proctree_lock(void);
void sd_proctree_unlock(void);
/* Registers pid (lock held) / unregisters it once it has been reaped. */
void sd_proctree_track(pid_t pid);
void sd_proctree_untrack(pid_t pid);

/*
 * Sends SIGKILL to every descendant of this process whose environment
 * holds all of the given "NAME=value" entries (marker, n of them), then
 * reaps them and any other zombie orphan. Returns how many were killed.
 */
int sd_proctree_kill_marked(const char *const *marker, size_t n);

/* Reaps zombie children that no handler run waits for. */
void sd_proctree_reap_orphans(void);

#endif
