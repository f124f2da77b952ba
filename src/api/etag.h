#ifndef STATUSD_API_ETAG_H
#define STATUSD_API_ETAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/http.h"

/*
 * Weak entity tags of JSON views, for the resources that answer
 * If-None-Match (jobs, sessions). A tag is the 64-bit FNV-1a hash of the
 * view without its expires_at, which moves on every read that renews the
 * TTL, written as W/"<16 lower-case hex digits>".
 */

#define API_ETAG_LEN 24   /* W/"0123456789abcdef" and a NUL, with room */

/* The FNV-1a hash of p[0..n). */
uint64_t api_etag_hash(const char *p, size_t n);

/* The tag of hash etag, NUL-terminated, into out. */
void api_etag_text(uint64_t etag, char out[API_ETAG_LEN]);

/* True when an If-None-Match value lists tag (weak comparison, RFC 9110
 * 13.1.2), or is "*". tag is as api_etag_text writes it. */
bool api_etag_listed(const char *header, const char *tag);

/* ETag (tag), Cache-Control: no-cache and, while the resource may
 * still change (moving), Retry-After: 1: the headers of a job's or an
 * upload run's view. */
void api_view_headers(sd_req *r, const char *tag, bool moving);

/* Answers r with an empty 304 when its If-None-Match lists tag, else with
 * status and json (whose data is taken, as sd_resp_json does). The ETag
 * header and the others are the caller's to add first. */
void api_etag_answer(sd_req *r, unsigned status, const char *tag, sd_buf *json);

#endif
