
/*
 * hubgated: Redis access (see redis.h).
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "redis.h"
#include "../log.h"


#define REDIS_TIMEOUT_MS  1000


struct redis_sub_s {
    redisContext  *ctx;
};


static redisContext *redis_connect(const char *address, int timeout_ms,
    char *err, size_t errlen);
static redisContext *redis_thread_ctx(char *err, size_t errlen);
static void redis_thread_drop(void);
static void redis_key_free(void *ctx);
static void redis_key_init(void);


static pthread_mutex_t  redis_lock = PTHREAD_MUTEX_INITIALIZER;
static char             redis_address[512] = "127.0.0.1:6379";
static unsigned         redis_generation;

static __thread redisContext  *redis_tctx;
static __thread unsigned       redis_tgen;

/* frees a thread's connection when the thread ends (workers at stop) */
static pthread_key_t            redis_key;
static pthread_once_t           redis_key_once = PTHREAD_ONCE_INIT;


static void
redis_key_free(void *ctx)
{
    redisFree(ctx);
}


static void
redis_key_init(void)
{
    (void) pthread_key_create(&redis_key, redis_key_free);
}


/*
 * GCRA (the generic cell rate algorithm) on Redis's own clock: KEYS[1]
 * holds the theoretical arrival time in ms.  ARGV: emission interval and
 * burst tolerance, both in microseconds.  Returns 0 (go) or the wait in ms.
 */
static const char  redis_gcra[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T = tonumber(ARGV[1])\n"
    "local tau = tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tat < now then tat = now end\n"
    "if tat - now > tau then\n"
    "  return math.ceil((tat - now - tau) / 1000)\n"
    "end\n"
    "redis.call('SET', KEYS[1], tat + T, 'PX',"
    " math.ceil((tat + T - now) / 1000) + 1000)\n"
    "return 0\n";


void
redis_configure(const char *address)
{
    pthread_mutex_lock(&redis_lock);

    if (strcmp(redis_address, address) != 0) {
        snprintf(redis_address, sizeof(redis_address), "%s", address);
        redis_generation++;
    }

    pthread_mutex_unlock(&redis_lock);
}


static redisContext *
redis_connect(const char *address, int timeout_ms, char *err, size_t errlen)
{
    int              port;
    char             host[256];
    const char      *colon;
    redisContext    *ctx;
    struct timeval   tv;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;

    if (address[0] == '/') {
        ctx = redisConnectUnixWithTimeout(address, tv);

    } else {
        colon = strrchr(address, ':');
        if (colon == NULL || (size_t) (colon - address) >= sizeof(host)) {
            snprintf(err, errlen, "bad redis_address");
            return NULL;
        }

        if (address[0] == '[') {
            snprintf(host, sizeof(host), "%.*s", (int) (colon - address - 2),
                     address + 1);
        } else {
            snprintf(host, sizeof(host), "%.*s", (int) (colon - address),
                     address);
        }

        port = atoi(colon + 1);
        ctx = redisConnectWithTimeout(host, port, tv);
    }

    if (ctx == NULL || ctx->err) {
        snprintf(err, errlen, "cannot connect to Redis: %s",
                 ctx ? ctx->errstr : "out of memory");
        redisFree(ctx);
        return NULL;
    }

    redisSetTimeout(ctx, tv);
    return ctx;
}


/* this thread's connection, (re)opened when missing or reconfigured */
static redisContext *
redis_thread_ctx(char *err, size_t errlen)
{
    char      addr[512];
    unsigned  gen;

    pthread_mutex_lock(&redis_lock);
    gen = redis_generation;
    snprintf(addr, sizeof(addr), "%s", redis_address);
    pthread_mutex_unlock(&redis_lock);

    if (redis_tctx != NULL && redis_tgen == gen) {
        return redis_tctx;
    }

    redis_thread_drop();

    redis_tctx = redis_connect(addr, REDIS_TIMEOUT_MS, err, errlen);
    redis_tgen = gen;

    pthread_once(&redis_key_once, redis_key_init);
    (void) pthread_setspecific(redis_key, redis_tctx);

    return redis_tctx;
}


static void
redis_thread_drop(void)
{
    if (redis_tctx != NULL) {
        pthread_once(&redis_key_once, redis_key_init);
        (void) pthread_setspecific(redis_key, NULL);
        redisFree(redis_tctx);
        redis_tctx = NULL;
    }
}


int
redis_publish(const char *channel, const char *msg, size_t len, char *err,
    size_t errlen)
{
    int            attempt;
    redisReply    *reply;
    redisContext  *ctx;

    for (attempt = 0; attempt < 2; attempt++) {
        ctx = redis_thread_ctx(err, errlen);
        if (ctx == NULL) {
            return -1;
        }

        reply = redisCommand(ctx, "PUBLISH %s %b", channel, msg, len);

        if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
            freeReplyObject(reply);
            return 0;
        }

        snprintf(err, errlen, "Redis PUBLISH: %s",
                 reply == NULL ? ctx->errstr
                 : reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
        freeReplyObject(reply);

        /* a dropped connection is reopened once */
        redis_thread_drop();
    }

    return -1;
}


int64_t
redis_rate_take(const char *key, int64_t interval_us, int64_t burst_us,
    char *err, size_t errlen)
{
    int            attempt;
    char           t[24], b[24];
    int64_t        wait;
    redisReply    *reply;
    redisContext  *ctx;

    snprintf(t, sizeof(t), "%lld", (long long) interval_us);
    snprintf(b, sizeof(b), "%lld", (long long) burst_us);

    for (attempt = 0; attempt < 2; attempt++) {
        ctx = redis_thread_ctx(err, errlen);
        if (ctx == NULL) {
            return -1;
        }

        reply = redisCommand(ctx, "EVAL %s 1 %s %s %s", redis_gcra, key, t,
                             b);

        if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
            wait = (int64_t) reply->integer;
            freeReplyObject(reply);
            return wait;
        }

        snprintf(err, errlen, "Redis rate limit: %s",
                 reply == NULL ? ctx->errstr
                 : reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
        freeReplyObject(reply);
        redis_thread_drop();
    }

    return -1;
}


redis_sub_t *
redis_subscribe(const char *channel, char *err, size_t errlen)
{
    char           addr[512];
    redisReply    *reply;
    redis_sub_t   *sub;
    redisContext  *ctx;

    pthread_mutex_lock(&redis_lock);
    snprintf(addr, sizeof(addr), "%s", redis_address);
    pthread_mutex_unlock(&redis_lock);

    ctx = redis_connect(addr, REDIS_TIMEOUT_MS, err, errlen);
    if (ctx == NULL) {
        return NULL;
    }

    reply = redisCommand(ctx, "SUBSCRIBE %s", channel);

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "Redis SUBSCRIBE: %s",
                 reply == NULL ? ctx->errstr : "unexpected answer");
        freeReplyObject(reply);
        redisFree(ctx);
        return NULL;
    }

    freeReplyObject(reply);

    sub = calloc(1, sizeof(*sub));
    if (sub == NULL) {
        snprintf(err, errlen, "out of memory");
        redisFree(ctx);
        return NULL;
    }

    sub->ctx = ctx;
    return sub;
}


int
redis_sub_next(redis_sub_t *sub, int timeout_ms, char **msg, size_t *len)
{
    int              rc;
    void            *r;
    redisReply      *reply;
    struct pollfd    pfd;

    *msg = NULL;
    r = NULL;

    /* a reply already read into hiredis's buffer comes first */
    if (redisGetReplyFromReader(sub->ctx, &r) != REDIS_OK) {
        return -1;
    }

    if (r == NULL) {
        /*
         * Wait with poll(): a timed-out read would leave the hiredis
         * context unusable, and with it the subscription.
         */
        pfd.fd = sub->ctx->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        rc = poll(&pfd, 1, timeout_ms);
        if (rc == 0 || (rc < 0 && errno == EINTR)) {
            return 0;
        }

        if (rc < 0 || redisBufferRead(sub->ctx) != REDIS_OK
            || redisGetReplyFromReader(sub->ctx, &r) != REDIS_OK)
        {
            return -1;
        }

        if (r == NULL) {
            return 0;               /* part of a reply so far */
        }
    }

    reply = r;

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
        && reply->element[0]->type == REDIS_REPLY_STRING
        && strcmp(reply->element[0]->str, "message") == 0
        && reply->element[2]->type == REDIS_REPLY_STRING)
    {
        *msg = malloc(reply->element[2]->len + 1);
        if (*msg != NULL) {
            memcpy(*msg, reply->element[2]->str, reply->element[2]->len);
            (*msg)[reply->element[2]->len] = '\0';
            *len = reply->element[2]->len;
        }
    }

    freeReplyObject(reply);
    return *msg != NULL ? 1 : 0;
}


void
redis_sub_close(redis_sub_t *sub)
{
    if (sub == NULL) {
        return;
    }

    redisFree(sub->ctx);
    free(sub);
}


int
redis_ping(const char *address, int timeout_ms, char *err, size_t errlen)
{
    int              rc;
    redisReply      *reply;
    redisContext    *ctx;

    ctx = redis_connect(address, timeout_ms, err, errlen);
    if (ctx == NULL) {
        return -1;
    }

    reply = redisCommand(ctx, "PING");

    rc = reply != NULL && reply->type == REDIS_REPLY_STATUS
         && strcmp(reply->str, "PONG") == 0;

    if (!rc) {
        snprintf(err, errlen, "Redis did not answer PING: %s",
                 reply == NULL ? ctx->errstr
                 : reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
    }

    freeReplyObject(reply);
    redisFree(ctx);

    return rc ? 0 : -1;
}
