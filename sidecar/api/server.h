
/*
 * hubgated: the HTTP server on the Unix socket (libmicrohttpd, one thread
 * per connection: nginx keeps a few upstream connections alive, and a
 * handler may wait on PostgreSQL without stalling other connections).
 */

#ifndef API_SERVER_H
#define API_SERVER_H

#include <stddef.h>


typedef struct {
    const unsigned char  *identity_key;     /* borrowed; copied */
    size_t                identity_key_len;
    long                  identity_max_age; /* seconds */
    size_t                body_limit;
    const char           *api_prefix;       /* "" or "/api" */
    const char           *redis_address;    /* for /healthz */
    int                   metrics;
} api_settings_t;


/* installs new settings (copied; the old key is wiped); 0 or -1 */
int api_server_configure(const api_settings_t *s);

/* serves on the listening socket fd; 0 or -1 with err */
int api_server_start(int fd, char *err, size_t errlen);

/* stops accepting connections; requests in flight go on */
void api_server_quiesce(void);

/* the current redis_address, copied into buf */
void api_server_redis_address(char *buf, size_t size);

/* the metrics key: 1 when /metrics is served */
int api_server_metrics_enabled(void);

/* requests received and not yet answered */
unsigned api_server_inflight(void);

/* closes every connection and frees the server */
void api_server_stop(void);


#endif /* API_SERVER_H */
