
/*
 * http: escaping, request builders, Retry-After (delta-seconds, the three
 * HTTP-date forms, garbage), and real calls to a one-shot loopback server
 * (status, body, content type, Retry-After, headers and form body sent,
 * no redirect followed, connection refused, timeout).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http.h"


/* 1994-11-06T08:49:37Z */
#define RFC_DATE_MS   784111777000LL


typedef struct {
    int          fd;
    int          port;
    const char  *answer;        /* whole response; NULL: answer nothing */
    char         got[8192];     /* the request as received */
    pthread_t    thread;
} srv_t;


static void *
srv_main(void *arg)
{
    int      c;
    char    *end, *cl;
    size_t   n, want;
    ssize_t  r;
    srv_t   *s;

    s = arg;
    c = accept(s->fd, NULL, NULL);
    if (c < 0) {
        return NULL;
    }

    n = 0;
    want = 0;

    for ( ;; ) {
        r = read(c, s->got + n, sizeof(s->got) - 1 - n);
        if (r <= 0) {
            break;
        }
        n += (size_t) r;
        s->got[n] = '\0';

        end = strstr(s->got, "\r\n\r\n");
        if (end == NULL) {
            continue;
        }

        if (want == 0) {
            cl = strcasestr(s->got, "\r\nContent-Length: ");
            want = (size_t) (end + 4 - s->got)
                   + (cl ? strtoul(cl + 18, NULL, 10) : 0);
        }

        if (n >= want) {
            break;
        }
    }

    if (s->answer != NULL) {
        (void) write(c, s->answer, strlen(s->answer));
        close(c);
    } else {
        /* hold the connection until the client gives up */
        while (read(c, s->got + n, sizeof(s->got) - 1 - n) > 0) {
            /* void */
        }
        close(c);
    }

    return NULL;
}


static void
srv_start(srv_t *s, const char *answer)
{
    int                 one;
    socklen_t           len;
    struct sockaddr_in  sa;

    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->fd, 1), 0);
    len = sizeof(sa);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *) &sa, &len), 0);
    s->port = ntohs(sa.sin_port);

    assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}


static void
srv_stop(srv_t *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}


static void
test_escape(void **state)
{
    char  *e;

    (void) state;

    e = http_escape("AZaz09-._~");
    assert_string_equal(e, "AZaz09-._~");
    free(e);

    e = http_escape("a b&c=d/e?f+g%h#i:j");
    assert_string_equal(e, "a%20b%26c%3Dd%2Fe%3Ff%2Bg%25h%23i%3Aj");
    free(e);

    e = http_escape("https://x.test/cb?a=1");
    assert_string_equal(e, "https%3A%2F%2Fx.test%2Fcb%3Fa%3D1");
    free(e);

    /* UTF-8 bytes one by one, upper-case hex */
    e = http_escape("Poznań");
    assert_string_equal(e, "Pozna%C5%84");
    free(e);

    e = http_escape("created[gte]");
    assert_string_equal(e, "created%5Bgte%5D");
    free(e);

    e = http_escape("");
    assert_string_equal(e, "");
    free(e);

    e = http_escape("\x01\x7f\xff");
    assert_string_equal(e, "%01%7F%FF");
    free(e);
}


static void
test_builders(void **state)
{
    int         i;
    http_req_t  req;

    (void) state;

    http_req_init(&req, "POST");
    assert_string_equal(req.method, "POST");
    assert_null(req.url);
    assert_int_equal(req.nheaders, 0);

    assert_int_equal(http_req_url(&req, "%s/a?x=%d", "http://h", 5), 0);
    assert_string_equal(req.url, "http://h/a?x=5");
    assert_int_equal(http_req_url(&req, "http://other"), 0);
    assert_string_equal(req.url, "http://other");

    assert_int_equal(http_req_form(&req, "grant_type", "authorization_code",
                                   "code", "a b&c", "redirect_uri",
                                   "https://x/cb?y=1", "empty", NULL,
                                   NULL), 0);
    assert_string_equal(req.body, "grant_type=authorization_code"
                        "&code=a%20b%26c&redirect_uri=https%3A%2F%2Fx%2Fcb"
                        "%3Fy%3D1&empty=");
    assert_int_equal(req.body_len, strlen(req.body));
    assert_int_equal(req.nheaders, 1);
    assert_string_equal(req.headers[0],
                        "Content-Type: application/x-www-form-urlencoded");

    assert_int_equal(http_req_header(&req, "Authorization: Bearer %s", "t"),
                     0);
    assert_string_equal(req.headers[1], "Authorization: Bearer t");

    for (i = req.nheaders; i < HTTP_HEADERS_MAX; i++) {
        assert_int_equal(http_req_header(&req, "X-%d: y", i), 0);
    }
    assert_int_equal(http_req_header(&req, "X-too-many: y"), -1);
    assert_int_equal(req.nheaders, HTTP_HEADERS_MAX);

    http_req_free(&req);
    assert_null(req.url);
    assert_null(req.body);
    assert_int_equal(req.nheaders, 0);

    http_req_init(&req, "POST");
    assert_int_equal(http_req_body(&req, "application/json", "{\"a\":1}",
                                   7), 0);
    assert_int_equal(req.body_len, 7);
    assert_memory_equal(req.body, "{\"a\":1}", 7);
    assert_string_equal(req.headers[0], "Content-Type: application/json");
    http_req_free(&req);

    http_req_init(&req, "POST");
    assert_int_equal(http_req_form(&req, NULL), 0);
    assert_string_equal(req.body, "");
    assert_int_equal(req.body_len, 0);
    http_req_free(&req);
}


static void
test_retry_after(void **state)
{
    int64_t  now;

    (void) state;

    now = RFC_DATE_MS - 120000;

    assert_int_equal(http_parse_retry_after("120", now), 120000);
    assert_int_equal(http_parse_retry_after("0", now), 0);
    assert_int_equal(http_parse_retry_after(" 7 ", now), 7000);
    assert_int_equal(http_parse_retry_after("86400", now), 86400000LL);

    /* RFC 9110 §5.6.7, all three forms of one date */
    assert_int_equal(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                                            now), 120000);
    assert_int_equal(http_parse_retry_after(
                         "Sunday, 06-Nov-94 08:49:37 GMT", now), 120000);
    assert_int_equal(http_parse_retry_after("Sun Nov  6 08:49:37 1994",
                                            now), 120000);
    assert_int_equal(http_parse_retry_after("Wed, 01 Jan 2025 00:00:00 GMT",
                                            1735689600000LL - 1500), 1500);
    assert_int_equal(http_parse_retry_after("Sat, 29 Feb 2020 12:00:00 GMT",
                                            1582977600000LL), 0);

    /* a date in the past: at once */
    assert_int_equal(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                                            RFC_DATE_MS + 5000), 0);

    /* garbage */
    assert_int_equal(http_parse_retry_after(NULL, now), -1);
    assert_int_equal(http_parse_retry_after("", now), -1);
    assert_int_equal(http_parse_retry_after("-5", now), -1);
    assert_int_equal(http_parse_retry_after("1.5", now), -1);
    assert_int_equal(http_parse_retry_after("12abc", now), -1);
    assert_int_equal(http_parse_retry_after("99999999999999999999", now),
                     -1);
    assert_int_equal(http_parse_retry_after("86401", now), -1);
    assert_int_equal(http_parse_retry_after("soon", now), -1);
    assert_int_equal(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC",
                                            now), -1);
    assert_int_equal(http_parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT",
                                            now), -1);
    assert_int_equal(http_parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT",
                                            now), -1);
    assert_int_equal(http_parse_retry_after("Sun, 6 Nov 1994 08:49:37 GMT",
                                            now), -1);
    assert_int_equal(http_parse_retry_after(
                         "Sun, 06 Nov 1994 08:49:37 GMT trailing", now), -1);
    assert_int_equal(http_parse_retry_after("Sun Nov  6 08:49:37", now), -1);
    assert_int_equal(http_parse_retry_after(",", now), -1);
}


static void
test_send_ok(void **state)
{
    srv_t        s;
    char         err[256];
    http_req_t   req;
    http_resp_t  resp;

    (void) state;

    srv_start(&s, "HTTP/1.1 429 Too Many Requests\r\n"
                  "Content-Type: application/vnd.allegro.public.v1+json\r\n"
                  "Retry-After: 3\r\n"
                  "Content-Length: 11\r\n"
                  "Connection: close\r\n\r\n"
                  "{\"a\":\"b\"}\n\n");

    http_req_init(&req, "POST");
    assert_int_equal(http_req_url(&req, "http://127.0.0.1:%d/token?x=1",
                                  s.port), 0);
    assert_int_equal(http_req_header(&req, "Accept: application/json"), 0);
    assert_int_equal(http_req_form(&req, "grant_type", "refresh_token",
                                   "refresh_token", "r/t", NULL), 0);
    req.timeout_ms = 5000;

    assert_int_equal(http_send(&req, &resp, err, sizeof(err)), 0);
    srv_stop(&s);

    assert_int_equal(resp.status, 429);
    assert_int_equal(resp.len, 11);
    assert_string_equal(resp.body, "{\"a\":\"b\"}\n\n");
    assert_string_equal(resp.content_type,
                        "application/vnd.allegro.public.v1+json");
    assert_int_equal(resp.retry_after_ms, 3000);
    assert_true(resp.seconds >= 0);

    assert_non_null(strstr(s.got, "POST /token?x=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.got, "\r\nAccept: application/json\r\n"));
    assert_non_null(strstr(s.got, "\r\nContent-Type: "
                           "application/x-www-form-urlencoded\r\n"));
    assert_null(strstr(s.got, "Expect:"));
    assert_non_null(strstr(s.got, "\r\n\r\ngrant_type=refresh_token"
                           "&refresh_token=r%2Ft"));

    http_resp_free(&resp);
    assert_null(resp.body);
    http_req_free(&req);
}


static void
test_send_no_redirect(void **state)
{
    srv_t        s;
    char         err[256];
    http_req_t   req;
    http_resp_t  resp;

    (void) state;

    srv_start(&s, "HTTP/1.1 302 Found\r\n"
                  "Location: http://127.0.0.1:1/elsewhere\r\n"
                  "Content-Length: 0\r\n"
                  "Connection: close\r\n\r\n");

    http_req_init(&req, "GET");
    assert_int_equal(http_req_url(&req, "http://127.0.0.1:%d/me", s.port),
                     0);
    req.timeout_ms = 5000;

    assert_int_equal(http_send(&req, &resp, err, sizeof(err)), 0);
    srv_stop(&s);

    assert_int_equal(resp.status, 302);
    assert_int_equal(resp.len, 0);
    assert_non_null(resp.body);
    assert_string_equal(resp.body, "");
    assert_string_equal(resp.content_type, "");
    assert_int_equal(resp.retry_after_ms, -1);
    assert_non_null(strstr(s.got, "GET /me HTTP/1.1\r\n"));

    http_resp_free(&resp);
    http_req_free(&req);
}


static void
test_send_fail(void **state)
{
    srv_t        s;
    char         err[256];
    http_req_t   req;
    http_resp_t  resp;

    (void) state;

    /* a server that never answers: the call's own timeout */
    srv_start(&s, NULL);
    http_req_init(&req, "GET");
    assert_int_equal(http_req_url(&req, "http://127.0.0.1:%d/slow", s.port),
                     0);
    req.timeout_ms = 300;
    err[0] = '\0';
    assert_int_equal(http_send(&req, &resp, err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    assert_null(resp.body);
    assert_int_equal(resp.status, 0);
    srv_stop(&s);
    http_req_free(&req);

    /* nothing listening (the closed server's port) */
    http_req_init(&req, "GET");
    assert_int_equal(http_req_url(&req, "http://127.0.0.1:%d/", s.port), 0);
    req.timeout_ms = 2000;
    assert_int_equal(http_send(&req, &resp, err, sizeof(err)), -1);
    assert_null(resp.body);
    http_req_free(&req);

    /* only http and https */
    http_req_init(&req, "GET");
    assert_int_equal(http_req_url(&req, "file:///etc/passwd"), 0);
    assert_int_equal(http_send(&req, &resp, err, sizeof(err)), -1);
    assert_null(resp.body);
    http_req_free(&req);
}


int
main(void)
{
    char                     err[256];
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_send_ok),
        cmocka_unit_test(test_send_no_redirect),
        cmocka_unit_test(test_send_fail),
    };

    if (http_global_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "http_global_init: %s\n", err);
        return 1;
    }

    http_configure(5000);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
