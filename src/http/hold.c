/*
 * Held requests: libmicrohttpd's suspend and resume behind the calls of
 * statusd/http.h, and streamed bodies.
 *
 * A suspended connection is out of MHD's event loop: no thread waits on
 * it and MHD's idle timeout does not run, so a held long-poll or event
 * stream costs its connection and the holder's state only. Resuming is
 * the one call made from other threads; MHD then calls the access
 * handler again (server.c calls r->again) or, for a streamed body, the
 * reader. MHD refuses to stop with suspended connections: whoever holds
 * requests resumes them all before sd_http_stop (api/watch.c's drain).
 */
#include <microhttpd.h>

#include "http/request.h"
#include "statusd/log.h"

/* On a request thread (server.c's hand-off) the connection is suspended
 * already, until that thread is done with it: a hold only says what runs
 * on the wake, and a wake that comes while the thread still runs is left
 * to the thread, which resumes the connection when it is done. */
void sd_req_suspend(sd_req *r, sd_req_again_fn again, void *arg)
{
    r->again = again;
    r->again_arg = arg;
    if (!r->offloaded)
        MHD_suspend_connection(r->conn);
}

void sd_req_resume(sd_req *r)
{
    unsigned was = atomic_fetch_or(&r->oflags, SD_REQ_WOKEN);
    if (!(was & SD_REQ_RUNNING))
        MHD_resume_connection(r->conn);
}

void sd_req_blocking(sd_req *r, sd_req_again_fn fn, void *arg)
{
    if (r->may_block) {
        fn(r, arg);
        return;
    }
    r->again = fn;
    r->again_arg = arg;
    r->blocking = true;
    r->handoff = true;
}

bool sd_req_may_block(const sd_req *r) { return r->may_block; }

void sd_req_on_end(sd_req *r, void (*fn)(void *arg), void *arg)
{
    r->on_end = fn;
    r->on_end_arg = arg;
}

void sd_resp_stream(sd_req *r, const char *content_type, sd_stream_fn read, void *arg)
{
    if (r->responded) {
        sd_error("request %s: second response ignored", r->request_id);
        return;
    }
    r->responded = true;
    r->status = 200;
    r->content_type = content_type;
    r->stream = read;
    r->stream_arg = arg;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sd_req *r = cls;
    long n = r->stream(r->stream_arg, buf, max);
    return n < 0 ? (ssize_t)MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

struct MHD_Response *sd_req_stream_response(sd_req *r)
{
    return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, r, NULL);
}
