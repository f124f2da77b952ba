/*
 * statusd's start-up and orderly shutdown.
 *
 * SIGTERM and SIGINT are blocked in every thread and taken by the main
 * thread in sigsuspend(), whose handler only sets a flag. Shutdown then
 * runs here, in order: refuse new work (/ready answers 503, submissions
 * 503), answer every held long-poll and end every event stream, let
 * running jobs finish for drain_timeout, stop HTTP, free
 * everything.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statusd/app.h"
#include "statusd/config.h"
#include "statusd/http.h"
#include "statusd/log.h"
#include "statusd/probe.h"
#include "statusd/store.h"

extern char **environ;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static int serve(const sd_config *cfg)
{
    sigset_t stops, previous;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
        pthread_sigmask(SIG_BLOCK, &stops, &previous) != 0) {
        sd_error("cannot set up signal handling");
        return 1;
    }

    int rc = 1;
    char err[512] = "";
    sd_app app;
    memset(&app, 0, sizeof app);
    app.cfg = cfg;
    app.started_mono_ms = sd_mono_ms();
    app.started_epoch_ms = sd_now_ms();
    atomic_init(&app.draining, false);
    sd_http *http = NULL;

    if (sd_store_open(cfg, &app.store, &app.store_fallback, err, sizeof err) != SD_OK) {
        sd_error("store: %s", err);
        goto out;
    }
    /* Before the jobs' threads start writing: the store's change hook is
     * set once, while nothing else uses the store. */
    if (sd_api_watch_start(&app, err, sizeof err) != SD_OK) {
        sd_error("watch: %s", err);
        goto out;
    }
    if (sd_jobs_new(cfg, app.store, &app.jobs, err, sizeof err) != SD_OK) {
        sd_error("jobs: %s", err);
        goto out;
    }
    size_t nroutes = 0;
    const sd_route *routes = sd_api_routes(&nroutes);
    if (sd_http_start(&app, routes, nroutes, &http, err, sizeof err) != SD_OK) {
        sd_error("http: %s", err);
        goto out;
    }
    sd_info("statusd %s listening on %s:%u (store %s%s, %lld workers, %lld HTTP threads)",
            STATUSD_VERSION, cfg->bind, sd_http_port(http), app.store->ops->name,
            app.store_fallback ? ", fallback" : "", (long long)cfg->workers,
            (long long)cfg->threads);

    sigset_t waitmask = previous;
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    while (stop_signal == 0)
        sigsuspend(&waitmask);

    sd_info("signal %d: shutting down", (int)stop_signal);
    atomic_store(&app.draining, true);
    sd_api_watch_drain(&app);
    sd_jobs_drain(app.jobs, cfg->drain_timeout * 1000);
    rc = 0;
out:
    sd_api_watch_drain(&app);
    sd_http_stop(http);
    sd_jobs_free(app.jobs);
    sd_api_watch_stop(&app);
    sd_store_free(app.store);
    if (rc == 0)
        sd_info("stopped");
    return rc;
}

int main(int argc, char **argv)
{
    sd_config cfg;
    sd_cli_action action = SD_CLI_RUN;
    char err[512] = "";
    if (sd_config_build(&cfg, argc, argv, environ, &action, err, sizeof err) != SD_OK) {
        fprintf(stderr, "statusd: %s\n", err);
        /* A health check knows only 0 (healthy) and 1 (not). */
        return action == SD_CLI_PROBE ? 1 : 2;
    }
    switch (action) {
    case SD_CLI_HELP:
        sd_config_usage(STDOUT_FILENO);
        return 0;
    case SD_CLI_VERSION:
        printf("statusd %s\n", STATUSD_VERSION);
        return 0;
    case SD_CLI_CHECK_CONFIG:
        sd_config_report(&cfg, STDOUT_FILENO);
        return 0;
    case SD_CLI_PROBE:
        return sd_probe_main(&cfg);
    case SD_CLI_RUN:
        break;
    }
    sd_log_setup(cfg.log_level, cfg.log_format);
    for (int i = 0; i < cfg.warning_count; i++)
        sd_warn("config: %s", cfg.warnings[i]);
    if (cfg.config_path[0] != '\0')
        sd_info("config: %s", cfg.config_path);
    return serve(&cfg);
}
