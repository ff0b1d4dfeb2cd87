
/*
 * Fuzzes the Accept negotiation of the OAuth callback (oauth_accept_html
 * in sidecar/sync/oauth.c): any bytes, as a NUL-terminated header value.
 * The answer must be 0 or 1, must not depend on bytes after the NUL, and
 * a value ending in ",application/json" (q=1) can never prefer HTML.
 *
 * oauth.c is linked alone: the database, vault, HTTP and configuration
 * functions it calls elsewhere are stubs below that fail, and are never
 * reached from oauth_accept_html.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/oauth.h"
#include "sync/sync_conf.h"
#include "clock.h"
#include "log.h"
#include "net/http.h"
#include "providers/provider_ops.h"
#include "vault/keyring.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int     a, b;
    char   *s, *t;
    size_t  n;

    s = malloc(size + 1);
    t = malloc(size + sizeof(",application/json"));
    if (s == NULL || t == NULL) {
        free(s);
        free(t);
        return 0;
    }

    memcpy(s, data, size);
    s[size] = '\0';

    a = oauth_accept_html(s);
    if (a != 0 && a != 1) {
        abort();
    }

    n = strlen(s);
    memcpy(t, s, n);
    memcpy(t + n, ",application/json", sizeof(",application/json"));

    b = oauth_accept_html(t);
    if (b != 0) {
        abort();
    }

    free(s);
    free(t);

    return 0;
}


/* stubs: what oauth.c links against outside the negotiation */

int64_t clock_now_ms(void) { return 0; }
void clock_iso(int64_t ms, char out[CLOCK_ISO_LEN]) { out[0] = '\0'; }
void log_event(int level, const char *event, ...) { }

sync_conf_t *sync_conf_get(void) { return NULL; }
void sync_conf_put(sync_conf_t *sc) { }

const prov_conf_t *
sync_conf_provider(const sync_conf_t *sc, const char *provider)
{
    return NULL;
}

const provider_ops_t *provider_ops(const char *name) { return NULL; }

int
prov_pkce_verifier(char out[64], char *err, size_t errlen)
{
    return -1;
}

void prov_pkce_challenge(const char *verifier, char out[48]) { out[0] = 0; }

void
http_req_init(http_req_t *req, const char *method)
{
    memset(req, 0, sizeof(*req));
}

void http_req_free(http_req_t *req) { }
void http_resp_free(http_resp_t *resp) { }
void prov_tokens_free(prov_tokens_t *tokens) { }

int
http_send(const http_req_t *req, http_resp_t *resp, char *err,
    size_t errlen)
{
    return -1;
}

PGresult *
db_exec(db_conn_t *c, db_stmt_e stmt, int nparams,
    const char *const *values, char *err, size_t errlen)
{
    return NULL;
}

PGresult *
db_execb(db_conn_t *c, db_stmt_e stmt, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    char *err, size_t errlen)
{
    return NULL;
}

int
db_begin_tenant_id(db_conn_t *c, const char *tenant_id, char *err,
    size_t errlen)
{
    return -1;
}

int db_commit(db_conn_t *c, char *err, size_t errlen) { return -1; }
void db_rollback(db_conn_t *c) { }

int
keyring_seal(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const unsigned char *pt, size_t len,
    unsigned char **blob, size_t *bloblen, uint32_t *version, char *err,
    size_t errlen)
{
    return -1;
}

int
keyring_open(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const char *actor, const char *request_id,
    const unsigned char *blob, size_t bloblen, unsigned char *out,
    size_t outsize, size_t *outlen, char *err, size_t errlen)
{
    return -1;
}
