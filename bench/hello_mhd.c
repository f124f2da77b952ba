/*
 * The ceiling for statusd's HTTP throughput: a libmicrohttpd server with
 * the same daemon settings as statusd (internal epoll thread pool) that
 * answers every request with a fixed small JSON body, on the second call
 * of the access handler like statusd. A POST's body is read and dropped,
 * so it also serves as the minimal app behind an http:// handler: every
 * job it is sent completes with that body as its result.
 * Usage: hello_mhd PORT THREADS
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static const char BODY[] = "{\"hello\":\"world\"}";
static struct MHD_Response *response;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = sig; }

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    static int marker;
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;   /* a POST's body is read and dropped */
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, response);
}

static long arg_number(const char *s, long min, long max)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "hello_mhd: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hello_mhd PORT THREADS\n");
        return 2;
    }
    unsigned port = (unsigned)arg_number(argv[1], 1, 65535);
    unsigned threads = (unsigned)arg_number(argv[2], 1, 256);
    response = MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY,
                                               MHD_RESPMEM_PERSISTENT);
    if (response == NULL ||
        MHD_add_response_header(response, "Content-Type", "application/json") != MHD_YES)
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
        (uint16_t)port, NULL, NULL, on_access, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "hello_mhd: cannot listen on %u\n", port);
        return 1;
    }
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(response);
    return 0;
}
