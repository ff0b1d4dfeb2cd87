
/*
 * hubgate: what a verified webhook is, by its scheme.  One rule for the
 * edge ($hubgate_webhook_id) and hubgated (webhook_events.event_id and
 * event_type), so that both name an event alike.
 *
 * The edge signs X-Hubgate-Webhook: "scheme=<s>", or "scheme=<s>;id=<id>"
 * when the scheme carries the id in a header (standard, github).  Without
 * a header id, the id is read from the JSON payload:
 *
 *   stripe    "id"                                      required
 *   square    "event_id"                                required
 *   intuit    "id" of a CloudEvent, or of the one element of a
 *             one-element array (a batch or the legacy
 *             eventNotifications shape has none)        optional
 *   pubsub    "message"."messageId"                     required
 *
 * A scheme with no payload id, or an optional one the payload lacks, is
 * identified by "sha256:<lowercase hex of the body>".  A required id the
 * payload lacks (not JSON, absent, not a string, empty, over
 * HG_WHEVENT_ID_MAX bytes, holding a NUL) makes the event unusable.  The
 * type is the string "type" of the event object for stripe, square,
 * standard and intuit; other schemes have none.
 *
 * JSON is parsed with JSON_DECODE_ANY | JSON_ALLOW_NUL (a \u0000 anywhere
 * in a body is valid JSON); an id or type holding a NUL counts as absent.
 *
 * Pure C (jansson, OpenSSL).  Every pointer is borrowed for the call.
 */

#ifndef HG_WHEVENT_H
#define HG_WHEVENT_H

#include <stddef.h>


#define HG_WHEVENT_ID_MAX       512     /* event id bytes, without NUL */
#define HG_WHEVENT_ID_SIZE      (HG_WHEVENT_ID_MAX + 1)
#define HG_WHEVENT_SCHEME_MAX   63      /* [a-z0-9_]{1,63} */
#define HG_WHEVENT_SCHEME_SIZE  (HG_WHEVENT_SCHEME_MAX + 1)


typedef enum {
    HG_WHEVENT_OK = 0,          /* header parsed; or the payload's id */
    HG_WHEVENT_HASHED,          /* id is "sha256:<hex of the body>" */
    HG_WHEVENT_MISSING,         /* the scheme requires a payload id */
    HG_WHEVENT_ERR_NOT_WEBHOOK, /* the header is not "scheme=..." */
    HG_WHEVENT_ERR_MALFORMED,   /* a bad scheme, or not ";id=" after it */
    HG_WHEVENT_ERR_ID,          /* the header id: not 1..512 printable */
    HG_WHEVENT_ERR_INTERNAL     /* small buffer, no memory, no digest */
} hg_whevent_rc_e;


/*
 * Parses an X-Hubgate-Webhook value of len bytes (no NUL needed):
 * "scheme=<[a-z0-9_]{1,63}>" optionally followed by ";id=<id>", the id
 * being everything after ";id=", 1 to HG_WHEVENT_ID_MAX bytes of 0x20 to
 * 0x7e.  Copies the scheme NUL-terminated into scheme (scheme_size at
 * least HG_WHEVENT_SCHEME_SIZE, else HG_WHEVENT_ERR_INTERNAL) and points
 * *id into value (*id NULL and *id_len 0 without an id).  Returns
 * HG_WHEVENT_OK, HG_WHEVENT_ERR_NOT_WEBHOOK, HG_WHEVENT_ERR_MALFORMED or
 * HG_WHEVENT_ERR_ID; the outputs are meaningful only with HG_WHEVENT_OK.
 */
int hg_whevent_header(const char *value, size_t len, char *scheme,
    size_t scheme_size, const char **id, size_t *id_len);

/*
 * The event id and type of a body of len bytes (body may be NULL when len
 * is 0) verified under scheme (a NUL-terminated name).
 *
 * id (id_size at least HG_WHEVENT_ID_SIZE, else HG_WHEVENT_ERR_INTERNAL)
 * receives the NUL-terminated id: HG_WHEVENT_OK when it is the payload's,
 * HG_WHEVENT_HASHED when it is the hash of the body, HG_WHEVENT_MISSING
 * (id "") when the scheme requires a payload id the body lacks.
 *
 * id NULL: only the type is wanted, for an event whose id came in the
 * header; the return is then HG_WHEVENT_OK (or HG_WHEVENT_ERR_INTERNAL),
 * and nothing is hashed, nor parsed for a scheme without a type.
 *
 * type non-NULL: *type is set to the event type, malloc'ed and owned by
 * the caller (free()), or to NULL when there is none; it is bounded only
 * by the body's size.  type NULL: the type is not read.
 *
 * HG_WHEVENT_MISSING and HG_WHEVENT_ERR_INTERNAL (out of memory, digest
 * failure) leave *type NULL and id "".
 */
int hg_whevent_payload(const char *scheme, const char *body, size_t len,
    char *id, size_t id_size, char **type);

const char *hg_whevent_strerror(int rc);


#endif /* HG_WHEVENT_H */
