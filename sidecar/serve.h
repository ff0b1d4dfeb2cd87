
/*
 * hubgated serve: the daemon's life.  Starts everything in order, failing
 * with one clear line when something is missing (a secret file, a KEK
 * version, the schema), then waits for signals on the main thread:
 *   SIGHUP   reload hubgated.conf and the identity secret; a bad file is
 *            refused whole and the running configuration stays
 *   SIGTERM, SIGINT   stop accepting, let requests in flight finish (up to
 *            shutdown_timeout), exit 0
 */

#ifndef SERVE_H
#define SERVE_H

#include "config/config.h"


/* cfg is taken over; returns the process exit status */
int serve_main(const char *config_path, hubgate_config_t *cfg);


#endif /* SERVE_H */
