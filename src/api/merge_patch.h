#ifndef STATUSD_API_MERGE_PATCH_H
#define STATUSD_API_MERGE_PATCH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "statusd/error.h"

/*
 * JSON Merge Patch (RFC 7396) over cJSON trees. Knows nothing of HTTP or
 * the store.
 */

/*
 * Applies patch to *target in place, as RFC 7396 section 2 defines it: an
 * object patch merges member by member (null removes a member, an object
 * merges recursively, anything else replaces), any other patch replaces
 * the whole target. *target is owned by the caller and may be replaced by
 * a new tree (the old one is freed then); a NULL *target stands for an
 * absent document. patch is only read: what lands in the target is
 * copied. Recursion is as deep as the patch is nested, so callers bound
 * that (the router refuses bodies deeper than SD_JSON_MAX_DEPTH).
 * SD_ERR_NOMEM, after which *target is a valid tree holding part of the
 * change, for the caller to free.
 */
sd_err merge_patch_apply(cJSON **target, const cJSON *patch);

/*
 * True when no object anywhere in v has two members of the same name.
 * RFC 7396 is defined only for such documents: with a repeated name it is
 * unclear which member a patch changes. Recursion is as deep as v is
 * nested. *nomem is set (and false returned) when the check could not
 * allocate.
 */
bool merge_patch_names_unique(const cJSON *v, bool *nomem);

#endif
