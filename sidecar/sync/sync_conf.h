
/*
 * hubgated: the configuration the sync engine and the OAuth flow read at
 * run time, as one immutable snapshot replaced on every (re)load.
 *
 * sync_conf_set copies what it needs from the config and reads the
 * providers' secret files (client secrets); a reload that cannot read one
 * fails whole and the old snapshot stays.  sync_conf_get returns the
 * current snapshot with a reference the caller gives back with
 * sync_conf_put: strings inside stay valid until then, across reloads.
 * Secrets in a snapshot are wiped when its last reference goes.
 */

#ifndef SYNC_CONF_H
#define SYNC_CONF_H

#include <stdint.h>

#include "../config/config.h"
#include "../providers/provider_ops.h"


typedef struct sync_conf_s  sync_conf_t;

struct sync_conf_s {
    int          refs;              /* private */
    char        *redirect_uri;      /* oauth_redirect_uri, or derived */
    char        *public_base_url;
    int64_t      token_refresh_margin_ms;
    int64_t      http_timeout_ms;
    int          page_size;
    int          allegro_per_minute;
    int          stripe_per_second;
    prov_conf_t  allegro;
    prov_conf_t  stripe;
};

int sync_conf_set(const hubgate_config_t *cfg, char *err, size_t errlen);
sync_conf_t *sync_conf_get(void);
void sync_conf_put(sync_conf_t *sc);

/* the provider's part of sc, NULL when the provider has no sync support */
const prov_conf_t *sync_conf_provider(const sync_conf_t *sc,
    const char *provider);


#endif /* SYNC_CONF_H */
