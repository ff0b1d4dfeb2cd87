
/*
 * hubgated: Redis access (see redis.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "redis.h"


int
redis_ping(const char *address, int timeout_ms, char *err, size_t errlen)
{
    int              rc, port;
    char             host[256];
    const char      *colon;
    redisReply      *reply;
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
            return -1;
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
        return -1;
    }

    redisSetTimeout(ctx, tv);
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
