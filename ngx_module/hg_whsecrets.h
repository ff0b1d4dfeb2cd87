
/*
 * hubgate: hubgated's answer to the edge's secret_request subrequest.
 *
 *   {"secrets": ["<newest>", "<older, still in a rotation overlap>", ...]}
 *
 * At most HG_WHSECRETS_MAX strings, each 1 to HG_WHSECRETS_LEN_MAX bytes
 * (any bytes but NUL); other members are ignored, duplicate members and
 * anything else refused.
 *
 * Pure C (jansson).  Every pointer is borrowed for the call.
 */

#ifndef HG_WHSECRETS_H
#define HG_WHSECRETS_H

#include <stddef.h>


#define HG_WHSECRETS_MAX      16        /* = HG_WH_MAX_SECRETS */
#define HG_WHSECRETS_LEN_MAX  1024


/*
 * Calls add(ctx, secret, len) for each secret, newest first; add returns
 * 0, or -1 to stop (then "out of memory" is the reason).  Returns NULL
 * when the whole answer was taken, else a static reason that never quotes
 * the answer (it holds secrets).  Secrets given to add before a later
 * error are the caller's to discard.
 */
const char *hg_whsecrets_parse(const char *data, size_t len,
    int (*add)(void *ctx, const char *secret, size_t len), void *ctx);


#endif /* HG_WHSECRETS_H */
