#ifndef STATUSD_IDEMPOTENCY_H
#define STATUSD_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statusd/error.h"
#include "statusd/store.h"

/*
 * Idempotency keys: a client names a creating request with a key, and
 * the same key with the same body creates once, however often it is sent
 * and to whichever instance; the same key with another body is refused.
 * A claim is one record in the store's "idempotency" namespace under
 * "<scope>:<hex of the key>", holding the body's fingerprint, the target
 * (what the request creates: a job id, a run id), when it was claimed,
 * and whether the target was created; it is made in one atomic create,
 * so of racing requests exactly one claims the key. Knows nothing of
 * HTTP; api/ turns the answers into responses.
 */

#define SD_IDEM_KEY_MAX 255        /* bytes of a key */
#define SD_IDEM_TARGET_MAX 300     /* bytes of a target */

/* How long a claim whose target does not exist yet (its request is still
 * creating it) is taken as under way; after that, a claim whose target
 * never appeared is abandoned (its request died) and may be claimed
 * anew. */
#define SD_IDEM_PENDING_GRACE_MS 30000

/* True when key is 1 to SD_IDEM_KEY_MAX printable ASCII characters
 * (0x21 to 0x7e). */
bool sd_idem_key_valid(const char *key);

/* The fingerprint of a request: a 64-bit hash of scope and the exact
 * body bytes. */
uint64_t sd_idem_fingerprint(const char *scope, const void *body, size_t len);

typedef enum sd_idem_outcome {
    SD_IDEM_NEW,        /* the key is now claimed for the caller's target */
    SD_IDEM_REPLAY,     /* claimed earlier with this fingerprint: target */
    SD_IDEM_MISMATCH,   /* claimed earlier with another fingerprint */
    SD_IDEM_BUSY        /* claimed with this fingerprint by a request that is
                           still creating its target */
} sd_idem_outcome;

/* Reads the claim's target: SD_OK when it exists (the callback keeps
 * whatever it read, e.g. a view to answer with), SD_ERR_NOT_FOUND when it
 * is gone, or another error, which sd_idem_begin returns. */
typedef sd_err (*sd_idem_load_fn)(void *arg, const char *target);

typedef struct sd_idem_claim {
    sd_idem_outcome outcome;
    char target[SD_IDEM_TARGET_MAX + 1];   /* REPLAY: the claimed target */
} sd_idem_claim;

/*
 * Claims key in scope ("research", "uploads") for target with the body's
 * fingerprint, for ttl_ms (the longest the target can live, so the key
 * expires with it). When the key is claimed already with the same
 * fingerprint, load(arg, stored target) decides: the target exists ->
 * REPLAY; it is gone, and its request finished or was abandoned (see
 * SD_IDEM_PENDING_GRACE_MS) -> the old claim is dropped and the key
 * claimed again, once; it is gone but its request may still be creating
 * it -> BUSY. Store errors and load's errors; SD_ERR_INVALID for a bad
 * key, scope or target.
 */
sd_err sd_idem_begin(sd_store *s, const char *scope, const char *key, uint64_t fingerprint,
                     const char *target, int64_t ttl_ms, sd_idem_load_fn load, void *arg,
                     sd_idem_claim *out);

/* Marks the caller's claim done: its target was created. A claim that is
 * no longer target's is left alone. Store errors. */
sd_err sd_idem_done(sd_store *s, const char *scope, const char *key, const char *target);

/* Forgets the caller's claim of key for target (its creation failed), so
 * the key may be used again; a claim that is no longer target's is left
 * alone. Store errors. */
sd_err sd_idem_release(sd_store *s, const char *scope, const char *key, const char *target);

#endif
