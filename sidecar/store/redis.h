
/*
 * hubgated: Redis access: reachability for /healthz, sync progress
 * pub/sub (PUBLISH from workers, SUBSCRIBE for Server-Sent Events) and the
 * providers' rate limits shared by every instance.
 *
 * Each thread publishes and takes limits over a connection of its own
 * (thread-local, reopened after an error or when redis_address changes);
 * a subscription has a connection of its own.  Every call is bounded by a
 * 1 s timeout.  Return 0 or -1 with a one-line reason in err.
 */

#ifndef REDIS_H
#define REDIS_H

#include <stddef.h>
#include <stdint.h>


/*
 * Connects to address (host:port, [v6]:port or an absolute Unix socket
 * path) within timeout_ms and sends PING.  0 when PONG came back, else -1
 * with the reason in err.
 */
int redis_ping(const char *address, int timeout_ms, char *err, size_t errlen);


typedef struct redis_sub_s  redis_sub_t;

/* the address used from now on (start and reload) */
void redis_configure(const char *address);

int redis_publish(const char *channel, const char *msg, size_t len,
    char *err, size_t errlen);

/*
 * A shared GCRA limit under key: one call per interval_us on average, up
 * to burst_us ahead.  Returns 0 when the call may go now (and counts it),
 * the milliseconds to wait before asking again, or -1 (Redis unreachable).
 */
int64_t redis_rate_take(const char *key, int64_t interval_us,
    int64_t burst_us, char *err, size_t errlen);

/* a new subscription to channel; NULL with err */
redis_sub_t *redis_subscribe(const char *channel, char *err, size_t errlen);
/*
 * Waits up to timeout_ms for a message: 1 and *msg (malloc'ed,
 * NUL-terminated, caller frees), 0 on timeout or a non-message reply, -1
 * when the connection failed (close it).
 */
int redis_sub_next(redis_sub_t *sub, int timeout_ms, char **msg,
    size_t *len);
void redis_sub_close(redis_sub_t *sub);

#endif /* REDIS_H */
