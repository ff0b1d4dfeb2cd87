
/*
 * hubgate: webhook signature schemes, verified on the raw request body.
 *
 * One table entry per scheme (hg_wh_scheme()), each with a check of its
 * configuration (for nginx -t) and a verify function:
 *
 *   stripe     Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...][,v0=...]
 *              HMAC-SHA256(secret, "<t>.<body>"); the key is the whole
 *              "whsec_..." string; several v1 during rotation.  Only a
 *              timestamp older than the tolerance is refused (Stripe's
 *              own libraries accept one ahead).
 *   standard   Standard Webhooks (Svix): webhook-id, webhook-timestamp,
 *              webhook-signature: "v1,<base64>" entries separated by
 *              spaces; HMAC-SHA256(key, "<id>.<timestamp>.<body>"), the key
 *              being the base64-decoded part of "whsec_<base64>".  The
 *              svix-* headers are read when no webhook-id was sent.
 *   github     X-Hub-Signature-256: sha256=<hex>, HMAC-SHA256 of the body;
 *              the id is X-GitHub-Delivery.
 *   square     x-square-hmacsha256-signature: <base64>, HMAC-SHA256 of the
 *              notification URL (request url) followed by the body.
 *   intuit     intuit-signature: <base64>, HMAC-SHA256 of the body with the
 *              verifier token.
 *   mailchimp  unsigned: the secret is the value of the query parameter
 *              param (default "key") of the request url.
 *   hmac       generic: header_name carries [prefix]<hex|base64> of
 *              HMAC-<alg> over the body, or over "<ts>.<body>" with <ts>
 *              read from ts_header.
 *
 * "pubsub" (a Google-signed OIDC token) is the JWT machinery, not here.
 *
 * Pure C (OpenSSL).  No allocation of its own (OpenSSL's HMAC context
 * aside, freed before returning); the work is at most nsecrets HMACs over
 * the body whatever the headers hold, MACs compared with CRYPTO_memcmp.
 * Hex is read in either case; base64 is the standard alphabet, padding
 * optional.  Every pointer is borrowed for the duration of the call.
 */

#ifndef HG_WEBHOOK_H
#define HG_WEBHOOK_H

#include <stddef.h>
#include <time.h>


#define HG_WH_ID_MAX             255    /* id bytes, without the NUL */
#define HG_WH_MAX_SECRETS        16
#define HG_WH_MAX_SIGS           8      /* signatures in one header */
#define HG_WH_KEY_MAX            256    /* a decoded "whsec_" key */
#define HG_WH_DEFAULT_TOLERANCE  300


typedef enum {
    HG_WH_SHA256 = 0,            /* the zero value: the usual one */
    HG_WH_SHA1,
    HG_WH_SHA512
} hg_wh_alg_e;


typedef enum {
    HG_WH_HEX = 0,
    HG_WH_BASE64
} hg_wh_encoding_e;


typedef struct {
    const char  *data;
    size_t       len;
} hg_wh_str_t;


/* what the glue hands over once the body is read */

typedef struct {
    hg_wh_str_t   body;          /* raw bytes; data may be NULL if len 0 */
    hg_wh_str_t   url;           /* full URL as called (square, mailchimp) */

    /*
     * Finds a request header by name, case-insensitively: returns 0 and
     * fills *value (borrowed), or -1 if absent.  Surrounding blanks are
     * ignored by the callers.
     */
    int         (*header)(void *ctx, const char *name, hg_wh_str_t *value);
    void         *ctx;
    time_t        now;
} hg_wh_request_t;


typedef struct {
    /* any of them may match (rotation); 1 to HG_WH_MAX_SECRETS */
    const unsigned char *const  *secrets;
    const size_t                *secret_lens;
    size_t                       nsecrets;

    /*
     * Seconds a timestamp may be away from now, either way; 0 is the
     * scheme's default (HG_WH_DEFAULT_TOLERANCE), negative is no check.
     */
    long                         tolerance;

    /* hmac only */
    const char                  *header_name;
    int                          alg;          /* hg_wh_alg_e */
    int                          encoding;     /* hg_wh_encoding_e */
    const char                  *prefix;       /* NULL or "" if none */
    int                          payload_ts;   /* 1: "<ts>.<body>" */
    const char                  *ts_header;    /* when payload_ts */

    /* mailchimp only: the query parameter; NULL is "key" */
    const char                  *param;
} hg_wh_config_t;


typedef enum {
    HG_WH_OK = 0,
    HG_WH_ERR_MISSING,           /* a required header or parameter */
    HG_WH_ERR_FORMAT,            /* a header that does not parse */
    HG_WH_ERR_STALE,             /* timestamp older than the tolerance */
    HG_WH_ERR_FUTURE,            /* timestamp ahead beyond the tolerance */
    HG_WH_ERR_SIGNATURE,         /* no signature matches any secret */
    HG_WH_ERR_INTERNAL           /* bad configuration or OpenSSL failure */
} hg_wh_err_e;


typedef struct {
    const char   *name;

    /* NULL if cf suits the scheme, else a static message for nginx -t */
    const char *(*check)(const hg_wh_config_t *cf);

    /*
     * Returns an hg_wh_err_e.  id (idlen bytes, may be NULL if idlen is 0)
     * receives the NUL-terminated event id when the scheme has one and it
     * was read (also when the signature then fails), else "".  An id must
     * be 1 to HG_WH_ID_MAX printable ASCII bytes (else HG_WH_ERR_FORMAT);
     * a smaller buffer truncates.  The signature is checked before the
     * timestamp's age, so an unsigned request learns nothing of our clock.
     */
    int         (*verify)(const hg_wh_config_t *cf,
                          const hg_wh_request_t *r, char *id, size_t idlen);
} hg_wh_scheme_t;


/* the scheme named (case-sensitive), or NULL; static, never freed */
const hg_wh_scheme_t *hg_wh_scheme(const char *name);

const char *hg_wh_strerror(int err);


#endif /* HG_WEBHOOK_H */
