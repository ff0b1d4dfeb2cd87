
/*
 * hubgate: what a verified webhook is, by its scheme.  See hg_whevent.h.
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "hg_whevent.h"


#define HG_WHEVENT_HASH_PREFIX  "sha256:"
#define HG_WHEVENT_JSON_FLAGS   (JSON_DECODE_ANY | JSON_ALLOW_NUL)


/* the event object of a parsed payload (borrowed), or NULL */
typedef const json_t *(*hg_whevent_event_pt)(const json_t *doc);


/*
 * A scheme whose payload says what the event is: where the event object
 * is, its id and type members, and whether a payload without an id is
 * unusable or identified by the hash of its body.  A scheme not listed
 * is identified by the header id, or by the hash, and has no type.
 */
typedef struct {
    const char           *name;
    hg_whevent_event_pt   event;
    const char           *id;             /* NULL: only the header has it */
    const char           *type;           /* NULL: no type */
    int                   required;
} hg_whevent_scheme_t;


static const hg_whevent_scheme_t *hg_whevent_scheme(const char *name);
static const json_t *hg_whevent_doc(const json_t *doc);
static const json_t *hg_whevent_intuit(const json_t *doc);
static const json_t *hg_whevent_pubsub(const json_t *doc);
static int hg_whevent_string(const json_t *v, size_t max, const char **s,
    size_t *len);
static int hg_whevent_hash(const char *body, size_t len, char *id);
static int hg_whevent_type(const json_t *event,
    const hg_whevent_scheme_t *sc, char **type);


static const hg_whevent_scheme_t  hg_whevent_schemes[] = {
    { "stripe",    hg_whevent_doc,     "id",         "type",  1 },
    { "square",    hg_whevent_doc,     "event_id",   "type",  1 },
    { "intuit",    hg_whevent_intuit,  "id",         "type",  0 },
    { "pubsub",    hg_whevent_pubsub,  "messageId",  NULL,    1 },
    { "standard",  hg_whevent_doc,     NULL,         "type",  0 }
};


static const char  *const hg_whevent_rc_names[] = {
    "ok",
    "hashed",
    "missing",
    "not a webhook identity",
    "malformed",
    "bad id",
    "internal"
};


int
hg_whevent_header(const char *value, size_t len, char *scheme,
    size_t scheme_size, const char **id, size_t *id_len)
{
    size_t                n, i, rest;
    const unsigned char  *p;

    *id = NULL;
    *id_len = 0;

    if (scheme == NULL || scheme_size < HG_WHEVENT_SCHEME_SIZE) {
        return HG_WHEVENT_ERR_INTERNAL;
    }

    scheme[0] = '\0';

    if (value == NULL || len < sizeof("scheme=") - 1
        || memcmp(value, "scheme=", sizeof("scheme=") - 1) != 0)
    {
        return HG_WHEVENT_ERR_NOT_WEBHOOK;
    }

    p = (const unsigned char *) value + sizeof("scheme=") - 1;
    rest = len - (sizeof("scheme=") - 1);

    for (n = 0; n < rest && p[n] != ';'; n++) {
        if (n == HG_WHEVENT_SCHEME_MAX
            || !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9')
                 || p[n] == '_'))
        {
            return HG_WHEVENT_ERR_MALFORMED;
        }
    }

    if (n == 0) {
        return HG_WHEVENT_ERR_MALFORMED;
    }

    p += n;
    rest -= n;

    if (rest != 0) {
        if (rest < sizeof(";id=") - 1
            || memcmp(p, ";id=", sizeof(";id=") - 1) != 0)
        {
            return HG_WHEVENT_ERR_MALFORMED;
        }

        /* everything after ";id=" is the id, as the provider sent it */
        p += sizeof(";id=") - 1;
        rest -= sizeof(";id=") - 1;

        if (rest == 0 || rest > HG_WHEVENT_ID_MAX) {
            return HG_WHEVENT_ERR_ID;
        }

        for (i = 0; i < rest; i++) {
            if (p[i] < 0x20 || p[i] > 0x7e) {
                return HG_WHEVENT_ERR_ID;
            }
        }

        *id = (const char *) p;
        *id_len = rest;
    }

    memcpy(scheme, value + sizeof("scheme=") - 1, n);
    scheme[n] = '\0';

    return HG_WHEVENT_OK;
}


int
hg_whevent_payload(const char *scheme, const char *body, size_t len,
    char *id, size_t id_size, char **type)
{
    int                         rc;
    size_t                      slen;
    json_t                     *doc;
    const char                 *s;
    const json_t               *event;
    const hg_whevent_scheme_t  *sc;

    if (type != NULL) {
        *type = NULL;
    }

    if (id != NULL) {
        if (id_size < HG_WHEVENT_ID_SIZE) {
            if (id_size) {
                id[0] = '\0';
            }
            return HG_WHEVENT_ERR_INTERNAL;
        }

        id[0] = '\0';
    }

    if (body == NULL) {
        if (len != 0) {
            return HG_WHEVENT_ERR_INTERNAL;
        }

        body = "";
    }

    sc = hg_whevent_scheme(scheme);
    doc = NULL;
    event = NULL;

    /*
     * parsed only for what is wanted of it; a raw NUL byte is never JSON
     * (not even inside a string), though jansson lets one pass after a
     * number: such a body has no id of its own
     */
    if (sc != NULL && len != 0
        && ((id != NULL && sc->id != NULL)
            || (type != NULL && sc->type != NULL))
        && memchr(body, '\0', len) == NULL)
    {
        doc = json_loadb(body, len, HG_WHEVENT_JSON_FLAGS, NULL);
        event = doc ? sc->event(doc) : NULL;
    }

    rc = HG_WHEVENT_OK;

    if (id == NULL) {
        /* the header's id: only the type */

    } else if (sc != NULL && sc->id != NULL && event != NULL
               && hg_whevent_string(json_object_get(event, sc->id),
                                    HG_WHEVENT_ID_MAX, &s, &slen)
                  == 0)
    {
        memcpy(id, s, slen);
        id[slen] = '\0';

    } else if (sc != NULL && sc->required) {
        rc = HG_WHEVENT_MISSING;

    } else if (hg_whevent_hash(body, len, id) == 0) {
        rc = HG_WHEVENT_HASHED;

    } else {
        rc = HG_WHEVENT_ERR_INTERNAL;
    }

    if (type != NULL && (rc == HG_WHEVENT_OK || rc == HG_WHEVENT_HASHED)
        && hg_whevent_type(event, sc, type) != 0)
    {
        if (id != NULL) {
            id[0] = '\0';
        }

        rc = HG_WHEVENT_ERR_INTERNAL;
    }

    json_decref(doc);

    return rc;
}


const char *
hg_whevent_strerror(int rc)
{
    if (rc < HG_WHEVENT_OK || rc > HG_WHEVENT_ERR_INTERNAL) {
        return "unknown";
    }

    return hg_whevent_rc_names[rc];
}


static const hg_whevent_scheme_t *
hg_whevent_scheme(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(hg_whevent_schemes) / sizeof(hg_whevent_schemes[0]);
         i++)
    {
        if (strcmp(hg_whevent_schemes[i].name, name) == 0) {
            return &hg_whevent_schemes[i];
        }
    }

    return NULL;
}


static const json_t *
hg_whevent_doc(const json_t *doc)
{
    return json_is_object(doc) ? doc : NULL;
}


/* a CloudEvent, or the one element of a one-element array of them; a
 * batch or the legacy eventNotifications shape has no single id */
static const json_t *
hg_whevent_intuit(const json_t *doc)
{
    if (json_is_array(doc) && json_array_size(doc) == 1) {
        doc = json_array_get(doc, 0);
    }

    return json_is_object(doc) ? doc : NULL;
}


static const json_t *
hg_whevent_pubsub(const json_t *doc)
{
    const json_t  *m;

    m = json_is_object(doc) ? json_object_get(doc, "message") : NULL;

    return json_is_object(m) ? m : NULL;
}


/* a JSON string of 1..max bytes without NUL (borrowed); else -1 */
static int
hg_whevent_string(const json_t *v, size_t max, const char **s, size_t *len)
{
    if (!json_is_string(v)) {
        return -1;
    }

    *s = json_string_value(v);
    *len = json_string_length(v);

    if (*len == 0 || *len > max || memchr(*s, '\0', *len) != NULL) {
        return -1;
    }

    return 0;
}


/* "sha256:<hex of the body>" into id (HG_WHEVENT_ID_SIZE bytes) */
static int
hg_whevent_hash(const char *body, size_t len, char *id)
{
    char           *p;
    unsigned int    i, n;
    unsigned char   md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    n = 0;

    if (EVP_Digest(body, len, md, &n, EVP_sha256(), NULL) != 1
        || n * 2 + sizeof(HG_WHEVENT_HASH_PREFIX) > HG_WHEVENT_ID_SIZE)
    {
        return -1;
    }

    p = id;
    memcpy(p, HG_WHEVENT_HASH_PREFIX, sizeof(HG_WHEVENT_HASH_PREFIX) - 1);
    p += sizeof(HG_WHEVENT_HASH_PREFIX) - 1;

    for (i = 0; i < n; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 0xf];
    }

    *p = '\0';

    return 0;
}


/* the event's type, strdup'ed, or NULL; -1 when out of memory */
static int
hg_whevent_type(const json_t *event, const hg_whevent_scheme_t *sc,
    char **type)
{
    size_t       len;
    const char  *s;

    if (event == NULL || sc == NULL || sc->type == NULL
        || hg_whevent_string(json_object_get(event, sc->type), (size_t) -1,
                             &s, &len)
           != 0)
    {
        return 0;
    }

    *type = malloc(len + 1);
    if (*type == NULL) {
        return -1;
    }

    memcpy(*type, s, len + 1);

    return 0;
}
