
/*
 * hubgated: calls to providers (libcurl).
 *
 * One request, one answer, synchronously, on the calling thread (sync
 * workers and API handlers, never an nginx worker).  Each thread keeps a
 * curl easy handle of its own (thread-local), so connections to a provider
 * are kept alive between calls.  Every call is bounded by http_timeout
 * (http_configure) unless the request sets its own timeout.
 *
 * Secrets: a request's headers and body may hold tokens; nothing here ever
 * logs them, and http_req_free wipes them.  http_resp_t bodies are plain
 * heap memory owned by the caller (http_resp_free wipes it too: a token
 * answer holds tokens).
 *
 * Return contract: http_send returns 0 when an HTTP answer came (any
 * status, look at resp->status), or -1 with a one-line reason in err when
 * none did (DNS, connect, TLS, timeout, too large): a transient failure.
 */

#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>


#define HTTP_HEADERS_MAX  16
#define HTTP_BODY_MAX     (64 * 1024 * 1024)   /* larger answers fail */

typedef struct {
    const char  *method;            /* "GET", "POST", "DELETE" */
    char        *url;               /* owned (malloc'ed), absolute */
    char        *headers[HTTP_HEADERS_MAX];   /* owned "Name: value" */
    int          nheaders;
    char        *body;              /* owned, may be NULL */
    size_t       body_len;
    int          timeout_ms;        /* 0: http_timeout */
} http_req_t;

typedef struct {
    long         status;            /* 200, 429, ...; 0 if none */
    char        *body;              /* owned, NUL-terminated */
    size_t       len;
    char         content_type[128]; /* "" if none */
    int64_t      retry_after_ms;    /* Retry-After (seconds or date), -1 */
    double       seconds;           /* total time of the call */
} http_resp_t;


/* process-wide, once at start (curl_global_init) and on reload */
int http_global_init(char *err, size_t errlen);
void http_configure(int64_t timeout_ms);

/*
 * Builders: all copy their arguments.  http_req_url takes a printf format
 * whose arguments are already URL-safe (use http_escape for values).
 * Returns 0, or -1 when out of memory or HTTP_HEADERS_MAX is reached.
 */
void http_req_init(http_req_t *req, const char *method);
int http_req_url(http_req_t *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int http_req_header(http_req_t *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* a form body (application/x-www-form-urlencoded) from name, value pairs
 * ending with NULL; values are escaped here.  Sets Content-Type. */
int http_req_form(http_req_t *req, ...) __attribute__((sentinel));
/* a body as is, with its Content-Type */
int http_req_body(http_req_t *req, const char *content_type,
    const char *body, size_t len);
void http_req_free(http_req_t *req);

/* percent-encodes s (RFC 3986 unreserved kept); malloc'ed, NULL on OOM */
char *http_escape(const char *s);

int http_send(const http_req_t *req, http_resp_t *resp, char *err,
    size_t errlen);
void http_resp_free(http_resp_t *resp);

/*
 * Retry-After as milliseconds from now_ms: delta-seconds or an HTTP-date
 * (RFC 9110 §10.2.3); -1 when v is NULL or malformed.  Pure.
 */
int64_t http_parse_retry_after(const char *v, int64_t now_ms);


#endif /* HTTP_H */
