
/*
 * hubgated: logging.  One line per event on stderr, JSON or key=value text
 * (log_format), filtered by level (log_level); both change on SIGHUP.
 *
 * Every line carries ts, level, event and, inside a request, the request id
 * and tenant of the calling thread (log_context_set), so a reader can follow
 * one request across lines.  Callers pass fields as key/value pairs; a value
 * is always text and is escaped here.  Never pass a secret: the vault, the
 * config and the identity code log names and reasons, never key material.
 */

#ifndef LOG_H
#define LOG_H

#include <stdarg.h>


typedef enum {
    LOG_DEBUG = 0,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR
} log_level_e;


/* format: 0 json, 1 text (config_log_format_e); level: log_level_e */
void log_configure(int format, int level);

int log_enabled(int level);

/* the calling thread's request context; NULL clears a field */
void log_context_set(const char *request_id, const char *tenant);

/*
 * log_event(LOG_INFO, "request", "route", "GET /v1/x", "status", "200",
 *           NULL): event name, then NULL-terminated key/value pairs.
 */
void log_event(int level, const char *event, ...);

/* printf-style message as the "msg" field of an event */
void log_msg(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


#endif /* LOG_H */
