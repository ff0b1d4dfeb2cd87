
/*
 * hubgated: the HTTP API (DESIGN §4).
 *
 * server.c runs libmicrohttpd on the Unix socket, collects the request,
 * checks the signed identity, applies Idempotency-Key, routes by the table
 * in routes.c and sends what the handler left in the api_req_t.  Handlers
 * (h_*.c) read the request, use the tenant-scoped transaction of
 * api_tx_begin and set one response with api_json or api_error; they never
 * commit: the server commits after the handler answered below 400 (with
 * the idempotency record in the same transaction) and rolls back otherwise,
 * so an error never leaves anything half written.
 */

#ifndef API_H
#define API_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "../store/db.h"


#define API_PARAMS_MAX    2
#define API_PARAM_LEN     64
#define API_IDENT_MAX     256       /* tenant, subject; roles up to 1024 */
#define API_WEBHOOK_MAX   600       /* "scheme=<s>;id=<up to 512 bytes>" */


typedef enum {
    API_AUTH_NONE = 0,              /* /healthz: no signature */
    API_AUTH_SIGNED,                /* a valid signature, any tenant or none */
    API_AUTH_TENANT,                /* signature and a known tenant */
    API_AUTH_ADMIN                  /* and the role admin */
} api_auth_e;

#define API_F_IDEMPOTENT  0x01      /* POST honouring Idempotency-Key */


typedef struct api_req_s  api_req_t;
typedef void (*api_handler_pt)(api_req_t *r);

typedef struct {
    const char      *method;
    const char      *path;          /* "/v1/integrations/{id}" */
    api_auth_e       auth;
    unsigned         flags;
    api_handler_pt   handler;
} api_route_t;


struct api_req_s {
    void               *conn;               /* struct MHD_Connection */
    const char         *method;
    char               *uri;                /* raw request-target, owned */
    const char         *path;               /* routing path inside uri copy */
    char               *path_buf;           /* owned */
    const api_route_t  *route;
    int                 route_index;        /* -1 unmatched */
    char                params[API_PARAMS_MAX][API_PARAM_LEN];

    char               *body;               /* owned, NUL-terminated */
    size_t              body_len;
    size_t              body_cap;
    int                 body_too_large;
    int                 started;

    char                request_id[72];
    char                tenant_slug[API_IDENT_MAX];
    char                subject[API_IDENT_MAX];
    char                roles[1024];
    char                webhook[API_WEBHOOK_MAX];   /* signed by the edge */
    char                tenant[DB_UUID_LEN + 1];  /* after api_tx_begin */

    db_conn_t          *db;
    int                 in_tx;

    /* response */
    int                 status;
    char               *resp;               /* owned */
    size_t              resp_len;
    const char         *content_type;
    char                location[160];
    char                allow[64];
    int                 replayed;

    /* a streamed answer (Server-Sent Events), see api_stream */
    long              (*stream)(void *ctx, uint64_t pos, char *buf,
                                size_t max);
    void               *stream_ctx;
    void              (*stream_free)(void *ctx);

    struct timespec     t0;
};


/* the route table and its length */
const api_route_t *api_routes(size_t *n);

/* 1 if the identity carries the role (comma-separated roles) */
int api_has_role(const api_req_t *r, const char *role);

/* a query parameter (unescaped), or NULL */
const char *api_query(api_req_t *r, const char *name);

/* 1 when s is a uuid in its text form (8-4-4-4-12 hex digits) */
int h_uuid(const char *s);

/*
 * The start of a handler of /v1/integrations/{id}...: 404 unless the id
 * is a uuid, then api_tx_begin.  0, or -1 after answering.
 */
int h_integration_begin(api_req_t *r);

/*
 * Runs stmt, whose first parameter v[0] is an integration id: its one
 * row (PQclear it), or NULL after answering 500/503 or 404 for v[0].
 */
PGresult *h_row(api_req_t *r, db_stmt_e stmt, int n, const char *const *v);

/* ?limit=: def when absent, 1..max, or -1 when malformed */
int h_limit(api_req_t *r, int def, int max);

/*
 * A page by (time, id), newest first: ?limit= and ?cursor=
 * "<microseconds>_<uuid>" as h_page_answer makes them.  Fills pg, whose
 * cursor_us and cursor_id are NULL without a cursor and lim is the limit
 * plus one (one row more tells there is a next page).  Returns the limit;
 * or -1 after answering 400.
 */
typedef struct {
    const char  *cursor_us;
    const char  *cursor_id;
    char         us[24];
    char         lim[16];
} h_page_t;

int h_page_args(api_req_t *r, int def, int max, h_page_t *pg);

/*
 * Answers {"data":[<column 1 of each row>...],"next_cursor":<column 0 of
 * the last row shown, or null>} from rows rendered by PostgreSQL, at most
 * limit of them; clears res.
 */
void h_page_answer(api_req_t *r, PGresult *res, int limit);

/* a request header, or NULL */
const char *api_header(api_req_t *r, const char *name);

/*
 * The request body as JSON (object required when object is set).  On a
 * parse error answers 400 invalid_json or 415 and returns NULL.  New ref.
 */
json_t *api_body_json(api_req_t *r);

/* answers with a JSON value (reference stolen) */
void api_json(api_req_t *r, int status, json_t *v);

/* answers {"error":{"code","message"}} */
void api_error(api_req_t *r, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* answers with a prepared error object (reference stolen) */
void api_error_json(api_req_t *r, int status, json_t *error_body);

/* answers with raw bytes (copied) */
void api_raw(api_req_t *r, int status, const char *content_type,
    const char *data, size_t len);

/* the same with a malloc'ed buffer of len + 1 bytes, owned from now on */
void api_raw_take(api_req_t *r, int status, const char *content_type,
    char *data, size_t len);

/*
 * Answers with a stream of unknown length: reader fills buf with up to max
 * bytes and returns how many, blocking until it has some (the server runs
 * a thread per connection), or -1 to end the stream.  free_ctx (may be
 * NULL) is called once when the connection is done with ctx.  The
 * transaction is committed before the first byte.
 */
void api_stream(api_req_t *r, int status, const char *content_type,
    long (*reader)(void *ctx, uint64_t pos, char *buf, size_t max),
    void *ctx, void (*free_ctx)(void *ctx));

/* 1 once the server is shutting down: streams end */
int api_server_stopping(void);

/*
 * Acquires a database connection and opens the tenant-scoped transaction.
 * Returns 0; or -1 after answering 503/500/403 itself.
 */
int api_tx_begin(api_req_t *r);

/*
 * The same for a webhook: the transaction is scoped to the tenant owning
 * the integration (a uuid) when its provider is provider.  -1 after
 * answering 404 (no such integration) or 503/500.
 */
int api_tx_begin_integration(api_req_t *r, const char *provider,
    const char *integration);

/* logs a database failure and answers 500 (or 503 when unavailable) */
void api_db_error(api_req_t *r, const char *err);

/* appends to audit_log inside the transaction (details: reference
 * stolen, may be NULL); -1 after answering 500 */
int api_audit(api_req_t *r, const char *action, const char *target,
    json_t *details);


/* handlers */
void h_healthz(api_req_t *r);
void h_metrics(api_req_t *r);
void h_openapi(api_req_t *r);
void h_providers(api_req_t *r);
void h_integrations_list(api_req_t *r);
void h_integrations_create(api_req_t *r);
void h_integration_get(api_req_t *r);
void h_integration_delete(api_req_t *r);
void h_integration_activate(api_req_t *r);
void h_integration_deactivate(api_req_t *r);
void h_settings_get(api_req_t *r);
void h_settings_put(api_req_t *r);

/* h_oauth.c: the authorization-code flow, reconnect, test connection */
void h_oauth_callback(api_req_t *r);
void h_integration_reconnect(api_req_t *r);
void h_integration_test(api_req_t *r);

/* h_syncs.c: sync runs, their progress and history */
void h_sync_create(api_req_t *r);
void h_syncs_list(api_req_t *r);
void h_sync_get(api_req_t *r);
void h_sync_events(api_req_t *r);
void h_sync_cancel(api_req_t *r);

/* h_records.c: canonical orders, customers, products */
void h_orders_list(api_req_t *r);
void h_customers_list(api_req_t *r);
void h_products_list(api_req_t *r);

/* h_invoices.c: invoices, credit notes, series, the seller */
void h_invoices_list(api_req_t *r);
void h_invoices_create(api_req_t *r);
void h_invoice_get(api_req_t *r);
void h_invoice_issue(api_req_t *r);
void h_invoice_pay(api_req_t *r);
void h_invoice_cancel(api_req_t *r);
void h_invoice_credit_note(api_req_t *r);
void h_series_get(api_req_t *r);
void h_series_put(api_req_t *r);
void h_seller_get(api_req_t *r);
void h_seller_put(api_req_t *r);

/* h_queue.c: the test clock */
void h_test_clock(api_req_t *r);
void h_admin_summary(api_req_t *r);
void h_audit(api_req_t *r);
void h_webhook_intake(api_req_t *r);
void h_webhook_secrets(api_req_t *r);
void h_webhook_secret_put(api_req_t *r);
void h_webhook_secret_get(api_req_t *r);
void h_webhook_secret_delete(api_req_t *r);
void h_webhook_events(api_req_t *r);


#endif /* API_H */
