
/*
 * Fuzzes hubgated.conf parsing (config_parse_buffer) with arbitrary bytes.
 * Nothing may crash or leak; a failure names a line and leaves the output
 * untouched; a success dumps (config_dump) to text that parses back to the
 * same values, secret keys aside (the dump hides their passwords).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 err[512], *out;
    size_t               n, i, outlen;
    int                  rc;
    FILE                *f;
    const config_key_t  *keys;
    hubgate_config_t     cfg, back, ref;

    memset(&cfg, 0x5a, sizeof(cfg));
    memcpy(&ref, &cfg, sizeof(ref));
    err[0] = '\0';

    rc = config_parse_buffer((const char *) data, size, "fuzz.conf", &cfg,
                             err, sizeof(err));

    if (rc != CONFIG_OK) {
        if (rc >= 0 || rc <= CONFIG_ERR_MIN
            || strncmp(err, "fuzz.conf:", 10) != 0
            || memcmp(&cfg, &ref, sizeof(cfg)) != 0)
        {
            abort();
        }
        return 0;
    }

    f = open_memstream(&out, &outlen);
    if (f == NULL) {
        config_free(&cfg);
        return 0;
    }

    if (config_dump(&cfg, f) != CONFIG_OK) {
        abort();
    }
    fclose(f);

    if (config_parse_buffer(out, outlen, "dump", &back, err, sizeof(err))
        != CONFIG_OK)
    {
        abort();
    }

    keys = config_keys(&n);
    for (i = 0; i < n; i++) {
        if (!(keys[i].flags & CONFIG_F_SECRET)
            && !config_value_equal(&keys[i], &cfg, &back))
        {
            abort();
        }
    }

    if (config_reload_check(&cfg, &back, err, sizeof(err)) != 0
        || config_reload_keep(&cfg, &back) != CONFIG_OK)
    {
        abort();
    }

    free(out);
    config_free(&back);
    config_free(&cfg);

    return 0;
}
