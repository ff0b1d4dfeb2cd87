
/*
 * hubgated: calls to providers (libcurl).  Contract in http.h.
 *
 * Each thread owns one easy handle, kept in a pthread key whose destructor
 * cleans it up when the thread ends; curl_easy_reset between calls keeps
 * its connection cache, so calls to the same host reuse the connection.
 * Redirects are never followed, only http and https are spoken, and curl's
 * verbose output is never switched on (it would print the headers).
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "net/http.h"


#define HTTP_TIMEOUT_DEFAULT   30000       /* ms */
#define HTTP_CONNECT_MAX       10000       /* ms, bounded by the timeout */
#define HTTP_RETRY_MAX_S       86400LL     /* a day: longer means garbage */


typedef struct {
    http_resp_t  *resp;
    size_t        cap;
    int           too_large;
    char          retry_after[64];
} http_sink_t;


static void http_key_make(void);
static void http_key_free(void *p);
static CURL *http_handle(void);
static char *http_vfmt(const char *fmt, va_list ap);
static void http_wipe_free(char *p, size_t len);
static void http_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static size_t http_on_body(char *data, size_t size, size_t n, void *arg);
static size_t http_on_header(char *data, size_t size, size_t n, void *arg);
static int64_t http_now_ms(void);
static int http_month(const char *s);
static int http_num(const char **p, int digits, int *out);
static int64_t http_days(int y, int m, int d);
static int http_parse_date(const char *s, int64_t *epoch_s);


static int64_t         http_timeout = HTTP_TIMEOUT_DEFAULT;
static pthread_key_t   http_key;
static pthread_once_t  http_once = PTHREAD_ONCE_INIT;
static int             http_key_ok;


int
http_global_init(char *err, size_t errlen)
{
    CURLcode  rc;

    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        http_err(err, errlen, "curl_global_init: %s",
                 curl_easy_strerror(rc));
        return -1;
    }

    (void) pthread_once(&http_once, http_key_make);
    if (!http_key_ok) {
        http_err(err, errlen, "pthread_key_create failed");
        return -1;
    }

    return 0;
}


void
http_configure(int64_t timeout_ms)
{
    __atomic_store_n(&http_timeout,
                     timeout_ms > 0 ? timeout_ms : HTTP_TIMEOUT_DEFAULT,
                     __ATOMIC_RELAXED);
}


void
http_req_init(http_req_t *req, const char *method)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
}


int
http_req_url(http_req_t *req, const char *fmt, ...)
{
    char     *url;
    va_list   ap;

    va_start(ap, fmt);
    url = http_vfmt(fmt, ap);
    va_end(ap);

    if (url == NULL) {
        return -1;
    }

    if (req->url != NULL) {
        http_wipe_free(req->url, strlen(req->url));
    }

    req->url = url;

    return 0;
}


int
http_req_header(http_req_t *req, const char *fmt, ...)
{
    char     *h;
    va_list   ap;

    if (req->nheaders >= HTTP_HEADERS_MAX) {
        return -1;
    }

    va_start(ap, fmt);
    h = http_vfmt(fmt, ap);
    va_end(ap);

    if (h == NULL) {
        return -1;
    }

    req->headers[req->nheaders++] = h;

    return 0;
}


int
http_req_form(http_req_t *req, ...)
{
    int          rc;
    char        *body, *nb, *ev;
    size_t       len, need, nlen, vlen;
    va_list      ap;
    const char  *name, *value;

    body = NULL;
    len = 0;
    rc = 0;

    va_start(ap, req);

    while ((name = va_arg(ap, const char *)) != NULL) {
        value = va_arg(ap, const char *);
        if (value == NULL) {
            value = "";
        }

        ev = http_escape(value);
        if (ev == NULL) {
            rc = -1;
            break;
        }

        nlen = strlen(name);
        vlen = strlen(ev);
        need = len + (len ? 1 : 0) + nlen + 1 + vlen + 1;

        nb = malloc(need);
        if (nb == NULL) {
            http_wipe_free(ev, vlen);
            rc = -1;
            break;
        }

        /* a new buffer each time, so no stale copy of a secret is left */
        if (len) {
            memcpy(nb, body, len);
            nb[len++] = '&';
            http_wipe_free(body, len - 1);
        }
        memcpy(nb + len, name, nlen);
        len += nlen;
        nb[len++] = '=';
        memcpy(nb + len, ev, vlen);
        len += vlen;
        nb[len] = '\0';
        http_wipe_free(ev, vlen);
        body = nb;
    }

    va_end(ap);

    if (rc != 0) {
        http_wipe_free(body, len);
        return -1;
    }

    rc = http_req_body(req, "application/x-www-form-urlencoded",
                       body ? body : "", len);
    http_wipe_free(body, len);

    return rc;
}


int
http_req_body(http_req_t *req, const char *content_type, const char *body,
    size_t len)
{
    char  *b;

    b = malloc(len + 1);
    if (b == NULL) {
        return -1;
    }

    memcpy(b, body, len);
    b[len] = '\0';

    if (http_req_header(req, "Content-Type: %s", content_type) != 0) {
        http_wipe_free(b, len);
        return -1;
    }

    if (req->body != NULL) {
        http_wipe_free(req->body, req->body_len);
    }

    req->body = b;
    req->body_len = len;

    return 0;
}


void
http_req_free(http_req_t *req)
{
    int  i;

    if (req->url != NULL) {
        http_wipe_free(req->url, strlen(req->url));
    }

    for (i = 0; i < req->nheaders; i++) {
        http_wipe_free(req->headers[i], strlen(req->headers[i]));
    }

    if (req->body != NULL) {
        http_wipe_free(req->body, req->body_len);
    }

    memset(req, 0, sizeof(*req));
}


char *
http_escape(const char *s)
{
    static const char  hex[] = "0123456789ABCDEF";

    char                 *out, *p;
    size_t                n;
    const unsigned char  *q;

    n = strlen(s);
    out = malloc(n * 3 + 1);
    if (out == NULL) {
        return NULL;
    }

    for (p = out, q = (const unsigned char *) s; *q; q++) {
        if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z')
            || (*q >= '0' && *q <= '9') || *q == '-' || *q == '.'
            || *q == '_' || *q == '~')
        {
            *p++ = (char) *q;

        } else {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 0x0f];
        }
    }

    *p = '\0';

    return out;
}


int
http_send(const http_req_t *req, http_resp_t *resp, char *err,
    size_t errlen)
{
    int                 i;
    long                timeout;
    char               *ct, ebuf[CURL_ERROR_SIZE];
    CURL               *c;
    double              t;
    CURLcode            rc;
    http_sink_t         sink;
    struct curl_slist  *hl, *nl;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after_ms = -1;

    c = http_handle();
    if (c == NULL) {
        http_err(err, errlen, "no curl handle");
        return -1;
    }

    if (req->url == NULL || req->method == NULL) {
        http_err(err, errlen, "request without a method or a URL");
        return -1;
    }

    hl = NULL;
    for (i = 0; i < req->nheaders; i++) {
        nl = curl_slist_append(hl, req->headers[i]);
        if (nl == NULL) {
            curl_slist_free_all(hl);
            http_err(err, errlen, "out of memory");
            return -1;
        }
        hl = nl;
    }

    /* no "Expect: 100-continue" round trip for bodies */
    nl = curl_slist_append(hl, "Expect:");
    if (nl == NULL) {
        curl_slist_free_all(hl);
        http_err(err, errlen, "out of memory");
        return -1;
    }
    hl = nl;

    timeout = req->timeout_ms > 0
              ? req->timeout_ms
              : (long) __atomic_load_n(&http_timeout, __ATOMIC_RELAXED);

    memset(&sink, 0, sizeof(sink));
    sink.resp = resp;
    ebuf[0] = '\0';

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < HTTP_CONNECT_MAX ? timeout : HTTP_CONNECT_MAX);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hubgated");

    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);

    } else {
        if (strcmp(req->method, "POST") != 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
        }

        if (req->body != NULL || strcmp(req->method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                             req->body ? req->body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t) req->body_len);
        }
    }

    rc = curl_easy_perform(c);

    /* the handle keeps no pointer into this call's memory */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hl);

    if (rc != CURLE_OK) {
        if (sink.too_large) {
            http_err(err, errlen, "answer larger than %d bytes",
                     HTTP_BODY_MAX);
        } else {
            http_err(err, errlen, "%s%s%s", curl_easy_strerror(rc),
                     ebuf[0] ? ": " : "", ebuf);
        }
        http_resp_free(resp);
        resp->retry_after_ms = -1;
        return -1;
    }

    if (resp->body == NULL) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL) {
            http_err(err, errlen, "out of memory");
            return -1;
        }
    }

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);

    ct = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK
        && ct != NULL)
    {
        (void) snprintf(resp->content_type, sizeof(resp->content_type),
                        "%s", ct);
    }

    t = 0;
    if (curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &t) == CURLE_OK) {
        resp->seconds = t;
    }

    if (sink.retry_after[0] != '\0') {
        resp->retry_after_ms = http_parse_retry_after(sink.retry_after,
                                                      http_now_ms());
    }

    return 0;
}


void
http_resp_free(http_resp_t *resp)
{
    if (resp->body != NULL) {
        http_wipe_free(resp->body, resp->len);
    }

    resp->body = NULL;
    resp->len = 0;
}


int64_t
http_parse_retry_after(const char *v, int64_t now_ms)
{
    int64_t      secs, when_ms;
    const char  *p;

    if (v == NULL) {
        return -1;
    }

    while (*v == ' ' || *v == '\t') {
        v++;
    }

    if (*v >= '0' && *v <= '9') {
        secs = 0;
        for (p = v; *p >= '0' && *p <= '9'; p++) {
            secs = secs * 10 + (*p - '0');
            if (secs > HTTP_RETRY_MAX_S) {
                return -1;
            }
        }

        while (*p == ' ' || *p == '\t') {
            p++;
        }

        return *p == '\0' ? secs * 1000 : -1;
    }

    if (http_parse_date(v, &secs) != 0) {
        return -1;
    }

    when_ms = secs * 1000;

    /* a date in the past: retry now */
    return when_ms > now_ms ? when_ms - now_ms : 0;
}


static void
http_key_make(void)
{
    http_key_ok = pthread_key_create(&http_key, http_key_free) == 0;
}


static void
http_key_free(void *p)
{
    curl_easy_cleanup((CURL *) p);
}


static CURL *
http_handle(void)
{
    CURL  *c;

    (void) pthread_once(&http_once, http_key_make);
    if (!http_key_ok) {
        return NULL;
    }

    c = pthread_getspecific(http_key);
    if (c != NULL) {
        return c;
    }

    c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }

    if (pthread_setspecific(http_key, c) != 0) {
        curl_easy_cleanup(c);
        return NULL;
    }

    return c;
}


static char *
http_vfmt(const char *fmt, va_list ap)
{
    int       n;
    char     *s;
    va_list   aq;

    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);

    if (n < 0) {
        return NULL;
    }

    s = malloc((size_t) n + 1);
    if (s == NULL) {
        return NULL;
    }

    (void) vsnprintf(s, (size_t) n + 1, fmt, ap);

    return s;
}


static void
http_wipe_free(char *p, size_t len)
{
    if (p == NULL) {
        return;
    }

    OPENSSL_cleanse(p, len);
    free(p);
}


static void
http_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    (void) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}


/* grows the body, at most HTTP_BODY_MAX; returning short aborts the call */
static size_t
http_on_body(char *data, size_t size, size_t n, void *arg)
{
    char         *nb;
    size_t        len, cap;
    http_sink_t  *sink;
    http_resp_t  *r;

    sink = arg;
    r = sink->resp;
    len = size * n;

    if (len > HTTP_BODY_MAX - r->len) {
        sink->too_large = 1;
        return 0;
    }

    if (r->len + len + 1 > sink->cap) {
        cap = sink->cap ? sink->cap : 16384;
        while (cap < r->len + len + 1) {
            cap *= 2;
        }
        if (cap > (size_t) HTTP_BODY_MAX + 1) {
            cap = (size_t) HTTP_BODY_MAX + 1;
        }

        /* not realloc: the old buffer may hold a token, wipe it */
        nb = malloc(cap);
        if (nb == NULL) {
            return 0;
        }
        if (r->body != NULL) {
            memcpy(nb, r->body, r->len);
            http_wipe_free(r->body, r->len);
        }
        r->body = nb;
        sink->cap = cap;
    }

    memcpy(r->body + r->len, data, len);
    r->len += len;
    r->body[r->len] = '\0';

    return len;
}


static size_t
http_on_header(char *data, size_t size, size_t n, void *arg)
{
    size_t        len, i;
    http_sink_t  *sink;

    sink = arg;
    len = size * n;

    /* a new status line (after a 100 Continue): forget what came before */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        sink->retry_after[0] = '\0';
        return len;
    }

    if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
        i = 12;
        while (i < len && (data[i] == ' ' || data[i] == '\t')) {
            i++;
        }
        n = 0;
        while (i < len && data[i] != '\r' && data[i] != '\n'
               && n + 1 < sizeof(sink->retry_after))
        {
            sink->retry_after[n++] = data[i++];
        }
        sink->retry_after[n] = '\0';
    }

    return len;
}


static int64_t
http_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int
http_month(const char *s)
{
    static const char  months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    int  i;

    for (i = 0; i < 12; i++) {
        if (strncmp(s, months + i * 3, 3) == 0) {
            return i + 1;
        }
    }

    return 0;
}


/* exactly digits decimal digits at *p (a leading space counts as 0 when
 * digits is 2: asctime's day) */
static int
http_num(const char **p, int digits, int *out)
{
    int          i, v;
    const char  *s;

    s = *p;
    v = 0;

    for (i = 0; i < digits; i++) {
        if (s[i] == ' ' && i == 0 && digits == 2) {
            continue;
        }
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }

    *p = s + digits;
    *out = v;

    return 0;
}


/* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static int64_t
http_days(int y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/*
 * RFC 9110 §5.6.7: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the
 * obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
 * "Sun Nov  6 08:49:37 1994".  Names are matched case-sensitively, as the
 * grammar says.
 */
static int
http_parse_date(const char *s, int64_t *epoch_s)
{
    int          y, mo, d, h, mi, se, form;
    const char  *p, *comma;

    comma = strchr(s, ',');
    p = s;

    if (comma != NULL) {
        form = (comma - s == 3) ? 1 : 2;
        if (comma - s < 3 || comma - s > 9) {
            return -1;
        }
        p = comma + 1;
        if (*p++ != ' ') {
            return -1;
        }

        if (http_num(&p, 2, &d) != 0 || d < 1) {
            return -1;
        }
        if (*p++ != (form == 1 ? ' ' : '-')) {
            return -1;
        }
        mo = http_month(p);
        if (mo == 0) {
            return -1;
        }
        p += 3;
        if (*p++ != (form == 1 ? ' ' : '-')) {
            return -1;
        }
        if (http_num(&p, form == 1 ? 4 : 2, &y) != 0) {
            return -1;
        }
        if (form == 2) {
            /* RFC 9110: a two-digit year more than 50 years ahead is in
             * the past; 1970..2069 covers every date a server sends */
            y += y < 70 ? 2000 : 1900;
        }
        if (*p++ != ' ') {
            return -1;
        }

    } else {
        form = 3;
        if (strlen(s) < 24 || s[3] != ' ') {
            return -1;
        }
        p = s + 4;
        mo = http_month(p);
        if (mo == 0) {
            return -1;
        }
        p += 3;
        if (*p++ != ' ' || http_num(&p, 2, &d) != 0 || d < 1
            || *p++ != ' ')
        {
            return -1;
        }
        y = 0;
    }

    if (http_num(&p, 2, &h) != 0 || *p++ != ':'
        || http_num(&p, 2, &mi) != 0 || *p++ != ':'
        || http_num(&p, 2, &se) != 0)
    {
        return -1;
    }

    if (form == 3) {
        if (*p++ != ' ' || http_num(&p, 4, &y) != 0) {
            return -1;
        }
    } else if (strcmp(p, " GMT") != 0) {
        return -1;
    } else {
        p += 4;
    }

    if (*p != '\0' || h > 23 || mi > 59 || se > 60 || d > 31 || y < 1970) {
        return -1;
    }

    *epoch_s = http_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;

    return 0;
}
