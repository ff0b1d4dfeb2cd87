
/*
 * hubgated: the vault applied to the database (see keyring.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "keyring.h"
#include "../metrics.h"


static vault_t  *keyring_v;


static int keyring_probe(db_conn_t *c, char *err, size_t errlen);
static int keyring_dek(db_conn_t *c, const char *tenant, uint32_t version,
    vault_dek_t **dek, uint32_t *got, char *err, size_t errlen);


void
keyring_init(vault_t *v)
{
    keyring_v = v;
}


vault_t *
keyring_vault(void)
{
    return keyring_v;
}


void
keyring_free(void)
{
    vault_free(keyring_v);
    keyring_v = NULL;
}


int
keyring_ensure(db_conn_t *c, const char *tenant, char *err, size_t errlen)
{
    int           rc;
    char          ver[16];
    PGresult     *res;
    vault_dek_t  *dek;
    const char   *v[2];
    int           lens[2], fmts[2];
    unsigned char wrapped[VAULT_WRAPPED_LEN];

    v[0] = NULL;
    res = db_exec(c, DB_S_TKEY_GET, 1, v, err, errlen);
    if (res == NULL) {
        return -1;
    }

    rc = PQntuples(res);
    PQclear(res);

    if (rc > 0) {
        return 0;
    }

    rc = vault_dek_new(keyring_v, tenant, &dek, wrapped, err, errlen);
    metrics_vault(METRICS_VAULT_WRAP, rc == VAULT_OK);
    if (rc != VAULT_OK) {
        return -1;
    }

    vault_dek_free(dek);

    snprintf(ver, sizeof(ver), "%u", vault_kek_current(keyring_v));
    v[0] = ver;
    v[1] = (const char *) wrapped;
    lens[0] = 0;
    lens[1] = VAULT_WRAPPED_LEN;
    fmts[0] = 0;
    fmts[1] = 1;

    res = db_execb(c, DB_S_TKEY_INSERT, 2, v, lens, fmts, err, errlen);
    if (res == NULL) {
        return -1;
    }

    PQclear(res);
    return 0;
}


/* the data key of the given version (0: the current one, created if none) */
static int
keyring_dek(db_conn_t *c, const char *tenant, uint32_t version,
    vault_dek_t **dek, uint32_t *got, char *err, size_t errlen)
{
    int             rc;
    char            ver[16];
    size_t          len;
    PGresult       *res;
    const char     *v[1];
    unsigned char  *wrapped;

    if (version == 0 && keyring_ensure(c, tenant, err, errlen) != 0) {
        return -1;
    }

    snprintf(ver, sizeof(ver), "%u", version);
    v[0] = version ? ver : NULL;

    res = db_exec(c, DB_S_TKEY_GET, 1, v, err, errlen);
    if (res == NULL) {
        return -1;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "the tenant has no data key of version %u"
                 " (destroyed?)", version);
        return -1;
    }

    wrapped = PQunescapeBytea((const unsigned char *) PQgetvalue(res, 0, 1),
                              &len);
    *got = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    if (wrapped == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    rc = vault_dek_unwrap(keyring_v, tenant, wrapped, len, dek, err, errlen);
    PQfreemem(wrapped);
    metrics_vault(METRICS_VAULT_UNWRAP, rc == VAULT_OK);

    return rc == VAULT_OK ? 0 : -1;
}


int
keyring_seal(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const unsigned char *pt, size_t len,
    unsigned char **blob, size_t *bloblen, uint32_t *version, char *err,
    size_t errlen)
{
    int            rc;
    uint32_t       gen;
    vault_dek_t   *dek;
    unsigned char *out;

    if (keyring_dek(c, tenant, 0, &dek, &gen, err, errlen) != 0) {
        return -1;
    }

    out = malloc(VAULT_SEALED_LEN(len));
    if (out == NULL) {
        vault_dek_free(dek);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    rc = vault_seal(dek, gen, tenant, integration, purpose, pt, len, out,
                    VAULT_SEALED_LEN(len), bloblen, err, errlen);
    vault_dek_free(dek);
    metrics_vault(METRICS_VAULT_SEAL, rc == VAULT_OK);

    if (rc != VAULT_OK) {
        free(out);
        return -1;
    }

    *blob = out;
    *version = gen;
    return 0;
}


int
keyring_open(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const char *actor, const char *request_id,
    const unsigned char *blob, size_t bloblen, unsigned char *out,
    size_t outsize, size_t *outlen, char *err, size_t errlen)
{
    int           rc;
    char          target[128], *d;
    uint32_t      gen, got;
    json_t       *details;
    PGresult     *res;
    vault_dek_t  *dek;
    const char   *v[5];

    if (vault_sealed_generation(blob, bloblen, &gen) != VAULT_OK || gen == 0) {
        snprintf(err, errlen, "sealed data is malformed");
        metrics_vault(METRICS_VAULT_OPEN, 0);
        return -1;
    }

    if (keyring_dek(c, tenant, gen, &dek, &got, err, errlen) != 0) {
        metrics_vault(METRICS_VAULT_OPEN, 0);
        return -1;
    }

    rc = vault_open(dek, tenant, integration, purpose, blob, bloblen, out,
                    outsize, outlen, err, errlen);
    vault_dek_free(dek);
    metrics_vault(METRICS_VAULT_OPEN, rc == VAULT_OK);

    /* failed attempts are audited too: they are what an auditor looks for */
    snprintf(target, sizeof(target), "integration:%s", integration);
    details = json_pack("{s:s,s:b}", "purpose", purpose, "ok",
                        rc == VAULT_OK);
    d = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);

    v[0] = actor ? actor : "system";
    v[1] = "vault.decrypt";
    v[2] = target;
    v[3] = request_id;
    v[4] = d ? d : "{}";

    res = db_exec(c, DB_S_AUDIT_INSERT, 5, v, err, errlen);
    free(d);

    if (res == NULL) {
        if (rc == VAULT_OK) {
            OPENSSL_cleanse(out, *outlen);
        }
        return -1;
    }

    PQclear(res);

    return rc == VAULT_OK ? 0 : -1;
}


int
keyring_check_versions(db_conn_t *c, char *err, size_t errlen)
{
    int        i, n;
    char       missing[256];
    size_t     len;
    uint32_t   ver;
    PGresult  *res;

    res = db_exec(c, DB_S_KEK_IN_USE, 0, NULL, err, errlen);
    if (res == NULL) {
        return -1;
    }

    len = 0;
    missing[0] = '\0';
    n = 0;

    for (i = 0; i < PQntuples(res); i++) {
        ver = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);

        if (!vault_kek_has(keyring_v, ver)) {
            len += snprintf(missing + len, sizeof(missing) - len, "%s%u (%s"
                            " data keys)", n ? ", " : "", ver,
                            PQgetvalue(res, i, 1));
            n++;
            if (len >= sizeof(missing)) {
                break;
            }
        }
    }

    PQclear(res);

    if (n == 0) {
        return keyring_probe(c, err, errlen);
    }

    snprintf(err, errlen, "the kek_file lacks KEK version%s %s that wrap%s"
             " tenants' data keys: add %s back (then `hubgated vault rotate`"
             " moves them to the current version)", n > 1 ? "s" : "",
             missing, n > 1 ? "" : "s", n > 1 ? "them" : "it");
    return -1;
}


/*
 * Unwraps one data key per KEK version in use: a wrong key under the right
 * version number is refused at start, not at the first decrypt.
 */
static int
keyring_probe(db_conn_t *c, char *err, size_t errlen)
{
    int             i, rc;
    char            why[256];
    size_t          len;
    PGresult       *res;
    vault_dek_t    *dek;
    unsigned char  *wrapped;

    res = db_exec(c, DB_S_KEK_PROBE, 0, NULL, err, errlen);
    if (res == NULL) {
        return -1;
    }

    rc = 0;

    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        wrapped = PQunescapeBytea((const unsigned char *) PQgetvalue(res, i, 2),
                                  &len);
        if (wrapped == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }

        if (vault_dek_unwrap(keyring_v, PQgetvalue(res, i, 1), wrapped, len,
                             &dek, why, sizeof(why))
            != VAULT_OK)
        {
            snprintf(err, errlen, "the kek_file's KEK version %s is not the"
                     " key that wrapped the data keys (tenant %s's does not"
                     " unwrap): restore the right key for that version",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
            rc = -1;

        } else {
            vault_dek_free(dek);
        }

        PQfreemem(wrapped);
    }

    PQclear(res);
    return rc;
}
