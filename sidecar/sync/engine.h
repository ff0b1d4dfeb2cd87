
/*
 * hubgated: the sync engine's life inside `hubgated serve`: the clock,
 * the provider HTTP client, the configuration snapshot, the job handlers
 * and the queue's threads, started after the database is known good and
 * stopped before the pool closes.
 */

#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>

#include "../config/config.h"


/* once at start, before the API serves; 0 or -1 with err */
int engine_start(const hubgate_config_t *cfg, char *err, size_t errlen);

/* every (re)load: the new snapshot, or -1 and the old one stays */
int engine_apply(const hubgate_config_t *cfg, char *err, size_t errlen);

/* SIGTERM: running jobs get up to timeout_ms to finish their page */
void engine_stop(int64_t timeout_ms);


#endif /* ENGINE_H */
