
/*
 * hubgated: webhooks.  The intake of events the edge verified
 * (POST /v1/webhooks/{provider}/{integration}), the edge's secret
 * subrequest (GET /v1/webhook-secrets/{provider}/{integration}), and the
 * tenant's side: an integration's webhook secret and the events received.
 *
 * A webhook names no tenant: the intake (webhook_intake(), sql/008)
 * scopes each event to the tenant that owns its integration, the secret
 * subrequest's transaction is scoped alike (api_tx_begin_integration),
 * and from there each is an ordinary RLS-confined request.  The event row
 * and its job are committed, with whatever other events arrived meanwhile
 * (store/intake.h), before the 200, so an answered event is never lost
 * and a redelivery adds nothing.
 * Neither a body nor a secret is ever logged.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api.h"
#include "validate.h"
#include "../log.h"
#include "../store/intake.h"
#include "../vault/keyring.h"
#include "../../ngx_module/hg_whevent.h"


#define H_WH_NAME_MAX       63      /* a provider or scheme name */
#define H_WH_SECRETS_MAX    16
#define H_WH_RANDOM_LEN     32      /* bytes in a generated secret */
#define H_WH_LIST_DEFAULT   50
#define H_WH_LIST_MAX       200
#define H_WH_PURPOSE        "webhook_secret"
#define H_WH_SECRET_REQUEST "secret-request"


/* what hg_whevent.h says the event is */
typedef struct {
    char         scheme[HG_WHEVENT_SCHEME_SIZE];
    const char  *header_id;         /* in r->webhook, or NULL */
    size_t       header_id_len;
    char         event_id[HG_WHEVENT_ID_SIZE];
    char        *event_type;        /* owned, or NULL */
} h_wh_event_t;


static int h_wh_name(const char *s);
static int h_wh_params(api_req_t *r);
static int h_wh_header(api_req_t *r, h_wh_event_t *ev);
static int h_wh_identify(api_req_t *r, h_wh_event_t *ev);
static int h_wh_record(api_req_t *r, h_wh_event_t *ev);
static int h_wh_generate(char *out, size_t size);
static void h_wh_meta(api_req_t *r, const char *generated);


/* [a-z0-9_]{1,63}: the shape of a provider or scheme name */
static int
h_wh_name(const char *s)
{
    size_t  n;

    n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");

    return n > 0 && n <= H_WH_NAME_MAX && s[n] == '\0';
}


/* {provider} and {integration} can name an integration, else 404 */
static int
h_wh_params(api_req_t *r)
{
    if (!h_wh_name(r->params[0]) || !h_uuid(r->params[1])) {
        api_error(r, 404, "not_found", "no integration %s for provider"
                  " %s", h_uuid(r->params[1]) ? r->params[1] : "(malformed)",
                  h_wh_name(r->params[0]) ? r->params[0] : "(malformed)");
        return -1;
    }

    return 0;
}


/*
 * The signed X-Hubgate-Webhook: "scheme=<s>" or "scheme=<s>;id=<id>".
 * Anything else was not made by a webhook location of the edge: 401.
 */
static int
h_wh_header(api_req_t *r, h_wh_event_t *ev)
{
    int  rc;

    rc = hg_whevent_header(r->webhook, strlen(r->webhook), ev->scheme,
                           sizeof(ev->scheme), &ev->header_id,
                           &ev->header_id_len);

    switch (rc) {
    case HG_WHEVENT_OK:
        return 0;

    case HG_WHEVENT_ERR_NOT_WEBHOOK:
        api_error(r, 401, "unauthorized", "the request was not verified by a"
                  " webhook location of the edge");
        return -1;

    case HG_WHEVENT_ERR_ID:
        api_error(r, 400, "bad_event", "the event id must be 1 to %d"
                  " printable ASCII characters", HG_WHEVENT_ID_MAX);
        return -1;

    default:
        api_error(r, 401, "unauthorized", "the edge's webhook identity is"
                  " malformed");
        return -1;
    }
}


/*
 * The event id (header, payload by scheme, or hash of the body) and type.
 * -1 after answering 400 bad_event or 500.
 */
static int
h_wh_identify(api_req_t *r, h_wh_event_t *ev)
{
    int  rc;

    if (ev->header_id != NULL) {
        memcpy(ev->event_id, ev->header_id, ev->header_id_len);
        ev->event_id[ev->header_id_len] = '\0';
    }

    rc = hg_whevent_payload(ev->scheme, r->body, r->body_len,
                            ev->header_id ? NULL : ev->event_id,
                            sizeof(ev->event_id), &ev->event_type);

    switch (rc) {
    case HG_WHEVENT_OK:
    case HG_WHEVENT_HASHED:
        return 0;

    case HG_WHEVENT_MISSING:
        api_error(r, 400, "bad_event", "a %s event must be JSON carrying its"
                  " id, a string of 1 to %d bytes", ev->scheme,
                  HG_WHEVENT_ID_MAX);
        return -1;

    default:
        api_error(r, 500, "internal", "cannot identify the event (%s)",
                  hg_whevent_strerror(rc));
        return -1;
    }
}


void
h_webhook_intake(api_req_t *r)
{
    h_wh_event_t  ev;

    memset(&ev, 0, sizeof(ev));

    if (h_wh_header(r, &ev) != 0 || h_wh_params(r) != 0
        || h_wh_identify(r, &ev) != 0)
    {
        return;
    }

    h_wh_record(r, &ev);

    free(ev.event_type);
}


/*
 * The event and, when it is new, its job, committed with the other events
 * arriving meanwhile (store/intake.h) before the answer.
 */
static int
h_wh_record(api_req_t *r, h_wh_event_t *ev)
{
    intake_event_t  in;

    memset(&in, 0, sizeof(in));
    in.provider = r->params[0];
    in.integration = r->params[1];
    in.event_id = ev->event_id;
    in.event_type = ev->event_type;
    in.body = r->body;
    in.body_len = r->body_len;

    intake_record(&in);

    switch (in.status) {

    case INTAKE_STORED:
    case INTAKE_DUPLICATE:
        memcpy(r->tenant, in.tenant, sizeof(r->tenant));
        api_json(r, 200, json_pack("{s:s,s:s,s:b}", "id", in.id, "event_id",
                                   ev->event_id, "duplicate",
                                   in.status == INTAKE_DUPLICATE));
        return 0;

    case INTAKE_NOT_FOUND:
        api_error(r, 404, "not_found", "no %s integration %s", r->params[0],
                  r->params[1]);
        return -1;

    case INTAKE_UNAVAILABLE:
        log_event(LOG_ERROR, "database", "msg", in.err, NULL);
        api_error(r, 503, "unavailable", "the database is unavailable");
        return -1;

    default:
        log_event(LOG_ERROR, "database", "msg", in.err, NULL);
        api_error(r, 500, "internal", "internal error (request id %s)",
                  r->request_id);
        return -1;
    }
}


/*
 * The edge's subrequest: the live secrets, newest first.  Only a request
 * the edge signed as "secret-request" gets them; a tenant's never does.
 */
void
h_webhook_secrets(api_req_t *r)
{
    int             i, n;
    char            err[512];
    size_t          bloblen, outlen;
    json_t         *list;
    PGresult       *res;
    const char     *v[1];
    unsigned char  *blob, *out;

    if (strcmp(r->webhook, H_WH_SECRET_REQUEST) != 0) {
        api_error(r, 403, "forbidden", "webhook secrets are for the edge's"
                  " secret subrequest only");
        return;
    }

    if (h_wh_params(r) != 0
        || api_tx_begin_integration(r, r->params[0], r->params[1]) != 0)
    {
        return;
    }

    v[0] = r->params[1];
    res = db_exec(r->db, DB_S_WHSEC_LIVE, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    n = PQntuples(res);

    if (n == 0) {
        PQclear(res);
        api_error(r, 404, "not_found", "integration %s has no live webhook"
                  " secret", r->params[1]);
        return;
    }

    list = json_array();

    for (i = 0; i < n && i < H_WH_SECRETS_MAX && list != NULL; i++) {
        blob = PQunescapeBytea((const unsigned char *) PQgetvalue(res, i, 0),
                               &bloblen);
        out = blob ? malloc(bloblen) : NULL;

        if (out == NULL
            || keyring_open(r->db, r->tenant, r->params[1], H_WH_PURPOSE,
                            "edge", r->request_id, blob, bloblen, out,
                            bloblen, &outlen, err, sizeof(err))
               != 0)
        {
            if (out == NULL) {
                snprintf(err, sizeof(err), "out of memory");
            }
            log_event(LOG_ERROR, "vault", "msg", err, NULL);
            json_decref(list);
            list = NULL;

        } else {
            json_array_append_new(list, json_stringn((const char *) out,
                                                     outlen));
            OPENSSL_cleanse(out, outlen);
        }

        free(out);
        PQfreemem(blob);
    }

    PQclear(res);

    if (list == NULL) {
        api_error(r, 500, "internal", "cannot open the webhook secrets"
                  " (request id %s)", r->request_id);
        return;
    }

    api_json(r, 200, json_pack("{s:o}", "secrets", list));
}


/* "whsec_" + base64 of 32 random bytes */
static int
h_wh_generate(char *out, size_t size)
{
    unsigned char  raw[H_WH_RANDOM_LEN];

    if (size < 6 + 4 * ((H_WH_RANDOM_LEN + 2) / 3) + 1
        || RAND_bytes(raw, sizeof(raw)) != 1)
    {
        return -1;
    }

    memcpy(out, "whsec_", 6);
    EVP_EncodeBlock((unsigned char *) out + 6, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));

    return 0;
}


/* answers the integration's webhook secret metadata (+ a generated one) */
static void
h_wh_meta(api_req_t *r, const char *generated)
{
    json_t      *meta;
    PGresult    *res;
    const char  *v[1];

    v[0] = r->params[0];
    res = h_row(r, DB_S_WHSEC_META, 1, v);
    if (res == NULL) {
        return;
    }

    if (generated == NULL) {
        api_raw(r, 200, "application/json", PQgetvalue(res, 0, 0),
                PQgetlength(res, 0, 0));
        PQclear(res);
        return;
    }

    meta = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);

    if (meta == NULL
        || json_object_set_new(meta, "secret", json_string(generated)) != 0)
    {
        json_decref(meta);
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    api_json(r, 200, meta);
}


void
h_webhook_secret_put(api_req_t *r)
{
    char              err[512], vers[16], overlap[16], target[96];
    char              gen[64];
    size_t            bloblen, len;
    json_t           *body;
    uint32_t          ver;
    PGresult         *res;
    const char       *v[4], *secret;
    unsigned char    *blob;
    validate_errs_t   errs;
    validate_whsec_t  w;
    int               lens[4], fmts[4];

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no integration %s", r->params[0]);
        return;
    }

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    memset(&errs, 0, sizeof(errs));
    memset(&w, 0, sizeof(w));
    gen[0] = '\0';
    blob = NULL;

    if (validate_webhook_secret(body, &w, &errs) != 0) {
        api_error_json(r, 422, validate_errors_json(&errs));
        goto done;
    }

    if (w.secret == NULL) {
        if (h_wh_generate(gen, sizeof(gen)) != 0) {
            api_error(r, 500, "internal", "cannot generate a secret");
            goto done;
        }

        secret = gen;
        len = strlen(gen);

    } else {
        secret = w.secret;
        len = w.secret_len;
    }

    if (api_tx_begin(r) != 0) {
        goto done;
    }

    /* the integration's row lock serialises rotations */
    v[0] = r->params[0];
    res = h_row(r, DB_S_INT_LOCK, 1, v);
    if (res == NULL) {
        goto done;
    }

    PQclear(res);

    /* expired secrets go; the live ones end after the overlap */
    v[1] = "false";
    res = db_exec(r->db, DB_S_WHSEC_PURGE, 2, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        goto done;
    }

    PQclear(res);

    snprintf(overlap, sizeof(overlap), "%ld", w.overlap_seconds);
    v[1] = overlap;
    res = db_exec(r->db, DB_S_WHSEC_OVERLAP, 2, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        goto done;
    }

    PQclear(res);

    if (keyring_seal(r->db, r->tenant, r->params[0], H_WH_PURPOSE,
                     (const unsigned char *) secret, len, &blob, &bloblen,
                     &ver, err, sizeof(err))
        != 0)
    {
        log_event(LOG_ERROR, "vault", "msg", err, NULL);
        api_error(r, 500, "internal", "cannot seal the secret (request id"
                  " %s)", r->request_id);
        goto done;
    }

    snprintf(vers, sizeof(vers), "%u", ver);
    v[1] = H_WH_PURPOSE;
    v[2] = (const char *) blob;
    v[3] = vers;
    lens[0] = lens[1] = lens[3] = 0;
    lens[2] = (int) bloblen;
    fmts[0] = fmts[1] = fmts[3] = 0;
    fmts[2] = 1;

    res = db_execb(r->db, DB_S_CRED_INSERT, 4, v, lens, fmts, err,
                   sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        goto done;
    }

    PQclear(res);
    snprintf(target, sizeof(target), "integration:%s", r->params[0]);

    if (api_audit(r, "integration.webhook_secret.set", target,
                  json_pack("{s:b,s:I}", "generated", w.secret == NULL,
                            "overlap_seconds",
                            (json_int_t) w.overlap_seconds))
        != 0)
    {
        goto done;
    }

    h_wh_meta(r, gen[0] ? gen : NULL);

done:

    /* the body and the tree hold the secret: wipe them before freeing */
    if (w.secret != NULL) {
        OPENSSL_cleanse((void *) w.secret, w.secret_len);
    }

    if (r->body) {
        OPENSSL_cleanse(r->body, r->body_len);
    }

    OPENSSL_cleanse(gen, sizeof(gen));
    free(blob);
    json_decref(body);
}


void
h_webhook_secret_get(api_req_t *r)
{
    if (h_integration_begin(r) != 0) {
        return;
    }

    h_wh_meta(r, NULL);
}


void
h_webhook_secret_delete(api_req_t *r)
{
    char         err[512], target[96];
    PGresult    *res;
    const char  *v[2];

    if (h_integration_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_INT_LOCK, 1, v);
    if (res == NULL) {
        return;
    }

    PQclear(res);

    v[1] = "true";
    res = db_exec(r->db, DB_S_WHSEC_PURGE, 2, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    PQclear(res);
    snprintf(target, sizeof(target), "integration:%s", r->params[0]);

    if (api_audit(r, "integration.webhook_secret.delete", target, NULL) != 0)
    {
        return;
    }

    api_raw(r, 204, "application/json", "", 0);
}


void
h_webhook_events(api_req_t *r)
{
    int          limit;
    char         err[512];
    h_page_t     pg;
    PGresult    *res;
    const char  *v[5];

    limit = h_page_args(r, H_WH_LIST_DEFAULT, H_WH_LIST_MAX, &pg);
    if (limit < 0) {
        return;
    }

    v[0] = pg.cursor_us;
    v[1] = pg.cursor_id;
    v[2] = api_query(r, "provider");
    v[3] = api_query(r, "integration");
    v[4] = pg.lim;

    if (v[2] != NULL && !h_wh_name(v[2])) {
        api_error(r, 400, "bad_request", "provider must be a provider name");
        return;
    }

    if (v[3] != NULL && !h_uuid(v[3])) {
        api_error(r, 400, "bad_request", "integration must be an"
                  " integration id");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    res = db_exec(r->db, DB_S_WEBHOOK_LIST, 5, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    h_page_answer(r, res, limit);
}
