
/*
 * hubgated: Redis access.  This stage only checks reachability for
 * /healthz; limits, locks and progress pub/sub build on it later.
 */

#ifndef REDIS_H
#define REDIS_H

#include <stddef.h>


/*
 * Connects to address (host:port, [v6]:port or an absolute Unix socket
 * path) within timeout_ms and sends PING.  0 when PONG came back, else -1
 * with the reason in err.
 */
int redis_ping(const char *address, int timeout_ms, char *err, size_t errlen);


#endif /* REDIS_H */
