
/*
 * Fuzzes what a verified webhook is (hg_whevent).  The input:
 *
 *   <scheme digit><X-Hubgate-Webhook value>\n<body>
 *
 * the digit ('0'..'8', low nibble modulo 9) naming the scheme the body is
 * read under.  The header value is parsed, and the body read for its id
 * and type in the three ways callers ask (both, the id alone, the type
 * alone), which must agree.  Anything the header file promises is
 * checked; a broken promise aborts.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hg_whevent.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_header(const char *p, size_t len);
static void fuzz_payload(const char *scheme, const char *body, size_t len);
static int fuzz_required(const char *scheme);
static int fuzz_typed(const char *scheme);


static const char  *fuzz_schemes[] = {
    "stripe", "square", "intuit", "pubsub", "standard", "github",
    "mailchimp", "hmac", "nope"
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       n;
    const char  *p, *nl;

    if (size == 0) {
        return 0;
    }

    p = (const char *) data + 1;
    size--;

    nl = memchr(p, '\n', size);
    n = nl ? (size_t) (nl - p) : size;

    fuzz_header(p, n);

    if (nl != NULL) {
        fuzz_payload(fuzz_schemes[(data[0] & 0x0f) % 9], nl + 1,
                     size - n - 1);
    } else {
        fuzz_payload(fuzz_schemes[(data[0] & 0x0f) % 9], NULL, 0);
    }

    return 0;
}


static void
fuzz_header(const char *p, size_t len)
{
    int          rc;
    char         scheme[HG_WHEVENT_SCHEME_SIZE];
    size_t       i, n, id_len;
    const char  *id;

    memset(scheme, 'x', sizeof(scheme));

    rc = hg_whevent_header(p, len, scheme, sizeof(scheme), &id, &id_len);

    if (rc < HG_WHEVENT_OK || rc > HG_WHEVENT_ERR_INTERNAL
        || rc == HG_WHEVENT_HASHED || rc == HG_WHEVENT_MISSING
        || rc == HG_WHEVENT_ERR_INTERNAL)
    {
        abort();
    }

    if (rc != HG_WHEVENT_OK) {
        if (id != NULL || id_len != 0) {
            abort();
        }

        return;
    }

    n = strlen(scheme);

    if (n == 0 || n > HG_WHEVENT_SCHEME_MAX
        || strspn(scheme, "abcdefghijklmnopqrstuvwxyz0123456789_") != n
        || len < 7 + n || memcmp(p, "scheme=", 7) != 0
        || memcmp(p + 7, scheme, n) != 0)
    {
        abort();
    }

    if (id == NULL) {
        if (id_len != 0 || len != 7 + n) {
            abort();
        }

    } else {
        /* the id is everything after ";id=" */
        if (id_len == 0 || id_len > HG_WHEVENT_ID_MAX
            || id != p + 7 + n + 4 || id + id_len != p + len
            || memcmp(p + 7 + n, ";id=", 4) != 0)
        {
            abort();
        }

        for (i = 0; i < id_len; i++) {
            if ((unsigned char) id[i] < 0x20 || (unsigned char) id[i] > 0x7e)
            {
                abort();
            }
        }
    }

    /* a scheme of any name reads any body */
    fuzz_payload(scheme, id, id_len);
}


static void
fuzz_payload(const char *scheme, const char *body, size_t len)
{
    int     rc, rc_id, rc_type;
    char   *type, *type_only;
    char    id[HG_WHEVENT_ID_SIZE], id_only[HG_WHEVENT_ID_SIZE];
    size_t  n;

    memset(id, 'x', sizeof(id));
    rc = hg_whevent_payload(scheme, body, len, id, sizeof(id), &type);

    n = strnlen(id, sizeof(id));

    if (n == sizeof(id)) {
        abort();
    }

    switch (rc) {
    case HG_WHEVENT_OK:
        if (n == 0 || (len && memchr(body, '\0', len) != NULL)) {
            /* a raw NUL byte is not JSON */
            abort();
        }
        break;

    case HG_WHEVENT_HASHED:
        if (n != 7 + 64 || memcmp(id, "sha256:", 7) != 0
            || strspn(id + 7, "0123456789abcdef") != 64
            || fuzz_required(scheme))
        {
            abort();
        }
        break;

    case HG_WHEVENT_MISSING:
        if (n != 0 || type != NULL || !fuzz_required(scheme)) {
            abort();
        }
        break;

    default:
        abort();
    }

    if (type != NULL
        && (type[0] == '\0' || strlen(type) > len || !fuzz_typed(scheme)))
    {
        abort();
    }

    /* the id alone is the same id */
    rc_id = hg_whevent_payload(scheme, body, len, id_only, sizeof(id_only),
                               NULL);

    if (rc_id != rc || strcmp(id_only, id) != 0) {
        abort();
    }

    /* the type alone (an id from the header) is the same type */
    type_only = NULL;
    rc_type = hg_whevent_payload(scheme, body, len, NULL, 0, &type_only);

    if (rc_type != HG_WHEVENT_OK) {
        abort();
    }

    if (rc != HG_WHEVENT_MISSING
        && ((type == NULL) != (type_only == NULL)
            || (type != NULL && strcmp(type, type_only) != 0)))
    {
        abort();
    }

    free(type_only);
    free(type);
}


static int
fuzz_required(const char *scheme)
{
    return strcmp(scheme, "stripe") == 0 || strcmp(scheme, "square") == 0
           || strcmp(scheme, "pubsub") == 0;
}


/* only these have a type */
static int
fuzz_typed(const char *scheme)
{
    return strcmp(scheme, "stripe") == 0 || strcmp(scheme, "square") == 0
           || strcmp(scheme, "intuit") == 0 || strcmp(scheme, "standard") == 0;
}
