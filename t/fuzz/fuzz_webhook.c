
/*
 * Fuzzes the webhook schemes.  The input is a request of sorts:
 *
 *   <header name>: <value>\n ... \n\n<body>
 *
 * a header named "url" being the request URL.  Every scheme verifies it
 * with fixed secrets (two, for rotation); the last byte picks the
 * options of the generic hmac scheme.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hg_webhook.h"


#define FUZZ_MAX_HDRS  16
#define FUZZ_NOW       1700000000


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_split(const char *p, size_t size);
static int fuzz_header(void *ctx, const char *name, hg_wh_str_t *value);
static void fuzz_run(const hg_wh_config_t *cf, const hg_wh_request_t *r);


typedef struct {
    hg_wh_str_t  name[FUZZ_MAX_HDRS];
    hg_wh_str_t  value[FUZZ_MAX_HDRS];
    size_t       n;
} fuzz_hdrs_t;


static fuzz_hdrs_t  fuzz_hdrs;


static const unsigned char  *const fuzz_secrets[] = {
    (const unsigned char *) "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    (const unsigned char *) "whsec_c2Vjb25kIGtleSBmb3IgdGVzdHM="
};

static const size_t  fuzz_secret_lens[] = {
    sizeof("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") - 1,
    sizeof("whsec_c2Vjb25kIGtleSBmb3IgdGVzdHM=") - 1
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t           head;
    unsigned         opt;
    hg_wh_config_t   cf;
    hg_wh_request_t  r;

    head = fuzz_split((const char *) data, size);

    memset(&r, 0, sizeof(r));
    r.body.data = (const char *) data + head;
    r.body.len = size - head;
    r.header = fuzz_header;
    r.ctx = &fuzz_hdrs;
    r.now = FUZZ_NOW;

    if (fuzz_header(&fuzz_hdrs, "url", &r.url) != 0) {
        r.url.data = NULL;
        r.url.len = 0;
    }

    while (r.url.len && r.url.data[0] == ' ') {
        r.url.data++;
        r.url.len--;
    }

    opt = size ? data[size - 1] : 0;

    memset(&cf, 0, sizeof(cf));
    cf.secrets = fuzz_secrets;
    cf.secret_lens = fuzz_secret_lens;
    cf.nsecrets = 2;
    cf.tolerance = (opt & 0x80) ? -1 : 0;

    cf.header_name = "X-Signature";
    cf.alg = opt % 3;
    cf.encoding = (opt >> 2) & 1;
    cf.prefix = (opt & 0x08) ? "sha256=" : NULL;
    cf.payload_ts = (opt >> 4) & 1;
    cf.ts_header = "X-Timestamp";
    cf.param = (opt & 0x20) ? "token" : NULL;

    fuzz_run(&cf, &r);

    return 0;
}


static void
fuzz_run(const hg_wh_config_t *cf, const hg_wh_request_t *r)
{
    int                    rc;
    size_t                 i;
    char                   id[HG_WH_ID_MAX + 1];
    const hg_wh_scheme_t  *s;

    static const char     *names[] = {
        "stripe", "standard", "github", "square", "intuit", "mailchimp",
        "hmac"
    };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        s = hg_wh_scheme(names[i]);

        if (s == NULL || s->check(cf) != NULL) {
            abort();
        }

        memset(id, 'x', sizeof(id));
        rc = s->verify(cf, r, id, sizeof(id));

        if (rc < HG_WH_OK || rc > HG_WH_ERR_INTERNAL
            || memchr(id, '\0', sizeof(id)) == NULL
            || hg_wh_strerror(rc) == NULL)
        {
            abort();
        }

        /* a tiny buffer still gets a terminated string */
        id[0] = 'x';
        (void) s->verify(cf, r, id, 1);

        if (id[0] != '\0') {
            abort();
        }
    }
}


/* fills fuzz_hdrs; returns where the body starts */

static size_t
fuzz_split(const char *p, size_t size)
{
    size_t       i, start, colon;
    fuzz_hdrs_t  *h;

    h = &fuzz_hdrs;
    h->n = 0;
    start = 0;

    for (i = 0; i < size; i++) {
        if (p[i] != '\n') {
            continue;
        }

        if (i == start) {
            return i + 1;
        }

        for (colon = start; colon < i && p[colon] != ':'; colon++) {
            /* void */
        }

        if (colon < i && h->n < FUZZ_MAX_HDRS) {
            h->name[h->n].data = p + start;
            h->name[h->n].len = colon - start;
            h->value[h->n].data = p + colon + 1;
            h->value[h->n].len = i - colon - 1;
            h->n++;
        }

        start = i + 1;
    }

    return size;
}


static int
fuzz_header(void *ctx, const char *name, hg_wh_str_t *value)
{
    size_t        i, n;
    fuzz_hdrs_t  *h;

    h = ctx;
    n = strlen(name);

    for (i = 0; i < h->n; i++) {
        if (h->name[i].len == n
            && strncasecmp(h->name[i].data, name, n) == 0)
        {
            *value = h->value[i];
            return 0;
        }
    }

    return -1;
}
