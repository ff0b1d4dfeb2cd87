
/*
 * hubgate: the identity signature between the edge and hubgated.
 *
 *   X-Hubgate-Auth: t=<unix seconds>,v1=<64 lowercase hex>
 *
 * v1 = HMAC-SHA256(identity secret, canonical string), where the canonical
 * string is "hubgate-identity-v1\n" then, for each of t, method, uri,
 * tenant, subject, roles, webhook in this order, "<decimal length>:<bytes>\n".
 * Length prefixes make the encoding unambiguous whatever the values hold.
 * Empty values are signed as "0:\n", so adding a header that the edge did
 * not set breaks the signature.
 *
 * Pure C (OpenSSL).  Linked by the nginx module and by hubgated.
 */

#ifndef HG_IDENTITY_H
#define HG_IDENTITY_H

#include <stddef.h>
#include <time.h>


#define HG_IDENTITY_HEX_LEN      64
#define HG_IDENTITY_HEADER_MAX   (sizeof("t=,v1=") - 1 + 20 + 64)
#define HG_IDENTITY_MIN_SECRET   32


typedef struct {
    const char  *data;
    size_t       len;
} hg_identity_str_t;


typedef struct {
    hg_identity_str_t  method;
    hg_identity_str_t  uri;
    hg_identity_str_t  tenant;
    hg_identity_str_t  subject;
    hg_identity_str_t  roles;
    hg_identity_str_t  webhook;
} hg_identity_t;


typedef enum {
    HG_IDENTITY_OK = 0,
    HG_IDENTITY_ERR_MISSING,     /* no header */
    HG_IDENTITY_ERR_FORMAT,      /* not "t=<digits>,v1=<64 hex>" */
    HG_IDENTITY_ERR_STALE,       /* |now - t| > max_age */
    HG_IDENTITY_ERR_SIGNATURE,   /* MAC mismatch (constant-time compare) */
    HG_IDENTITY_ERR_INTERNAL
} hg_identity_err_e;


/*
 * Writes the full header value into out (at least HG_IDENTITY_HEADER_MAX+1
 * bytes), NUL-terminated; returns its length, or -1 on failure (also for
 * t < 0, or a key shorter than HG_IDENTITY_MIN_SECRET).  A field with
 * data NULL and len 0 is empty.
 */
int hg_identity_sign(const unsigned char *key, size_t key_len, time_t t,
    const hg_identity_t *id, char *out, size_t out_size);

/*
 * Checks a received header value; header may be NULL (missing).  The
 * format is strict (no leading zeros in t, lowercase hex, nothing around).
 * The MAC is checked before the age, so an unsigned header is
 * HG_IDENTITY_ERR_SIGNATURE whatever its t.  A key shorter than
 * HG_IDENTITY_MIN_SECRET is HG_IDENTITY_ERR_INTERNAL.
 */
int hg_identity_verify(const unsigned char *key, size_t key_len,
    const char *header, size_t header_len, const hg_identity_t *id,
    time_t now, long max_age);

const char *hg_identity_strerror(int err);

/*
 * Loads a secret file: the bytes with trailing whitespace removed.
 * Returns 0, or -1 with a reason in err when unreadable or shorter than
 * HG_IDENTITY_MIN_SECRET.  *key is malloc'ed; the caller wipes and frees.
 */
int hg_identity_load_secret(const char *path, unsigned char **key,
    size_t *key_len, char *err, size_t errlen);


#endif /* HG_IDENTITY_H */
