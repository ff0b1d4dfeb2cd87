
/*
 * hubgated: the vault applied to the database (DESIGN §4, Vault).
 *
 * The KEKs (vault_t) are loaded once at start and owned here.  A tenant's
 * data key is unwrapped from tenant_keys for each operation, used, and
 * wiped at once: no data key outlives the call that needed it.  A tenant
 * without a data key gets one on first use.  Associated data is the tenant
 * uuid, the integration uuid and the purpose.  Every open (decrypt) writes
 * a vault.decrypt row to audit_log in the caller's transaction.
 *
 * All functions run inside the caller's tenant-scoped transaction on c.
 * Return 0 or -1 with a one-line reason in err (never key material).
 */

#ifndef KEYRING_H
#define KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"
#include "../store/db.h"


/* takes ownership of v */
void keyring_init(vault_t *v);
vault_t *keyring_vault(void);
void keyring_free(void);

/*
 * Creates the tenant's data key if it has none (idempotent).
 */
int keyring_ensure(db_conn_t *c, const char *tenant, char *err,
    size_t errlen);

/*
 * Seals plaintext; *blob is malloc'ed (caller frees), *version is the data
 * key version stamped in it.
 */
int keyring_seal(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const unsigned char *pt, size_t len,
    unsigned char **blob, size_t *bloblen, uint32_t *version, char *err,
    size_t errlen);

/*
 * Opens a sealed blob into out (at least bloblen bytes) and audits it with
 * actor and request_id (may be NULL).  The caller wipes out after use.
 */
int keyring_open(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const char *actor, const char *request_id,
    const unsigned char *blob, size_t bloblen, unsigned char *out,
    size_t outsize, size_t *outlen, char *err, size_t errlen);

/*
 * Checks that every KEK version wrapping a live data key is loaded and is
 * the right key (one data key per version is unwrapped).  Returns 0, or -1
 * with a message naming the missing or wrong versions.
 */
int keyring_check_versions(db_conn_t *c, char *err, size_t errlen);


#endif /* KEYRING_H */
