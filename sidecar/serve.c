
/*
 * hubgated serve (see serve.h).
 */

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/crypto.h>

#include "serve.h"
#include "log.h"
#include "metrics.h"
#include "api/api.h"
#include "api/server.h"
#include "store/db.h"
#include "store/migrate.h"
#include "sync/engine.h"
#include "vault/keyring.h"
#include "../ngx_module/hg_identity.h"


static int serve_listen(const hubgate_config_t *cfg, char *err,
    size_t errlen);
static int serve_apply(const hubgate_config_t *cfg, char *err,
    size_t errlen);
static void serve_reload(const char *path, hubgate_config_t *cur);
static void serve_shutdown(const hubgate_config_t *cfg);
static int serve_check_db(char *err, size_t errlen);


static int
serve_listen(const hubgate_config_t *cfg, char *err, size_t errlen)
{
    int                 fd, probe;
    struct stat         st;
    struct sockaddr_un  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->listen);

    if (lstat(cfg->listen, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "listen %s: exists and is not a socket",
                     cfg->listen);
            return -1;
        }

        /* a socket that answers belongs to a running hubgated */
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0
            && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0)
        {
            close(probe);
            snprintf(err, errlen, "listen %s: another hubgated is serving"
                     " there", cfg->listen);
            return -1;
        }

        if (probe >= 0) {
            close(probe);
        }

        unlink(cfg->listen);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || chmod(cfg->listen, cfg->listen_mode) != 0
        || listen(fd, 512) != 0)
    {
        snprintf(err, errlen, "listen %s: %s", cfg->listen, strerror(errno));
        close(fd);
        return -1;
    }

    return fd;
}


/* what a (re)load changes in the running parts; the old stays on error */
static int
serve_apply(const hubgate_config_t *cfg, char *err, size_t errlen)
{
    int              rc;
    size_t           keylen;
    unsigned char   *key;
    api_settings_t   s;

    if (hg_identity_load_secret(cfg->identity_secret_file, &key, &keylen, err,
                                errlen)
        != 0)
    {
        return -1;
    }

    s.identity_key = key;
    s.identity_key_len = keylen;
    s.identity_max_age = cfg->identity_max_age / 1000;
    s.body_limit = (size_t) cfg->request_body_limit;
    s.api_prefix = cfg->api_prefix;
    s.redis_address = cfg->redis_address;
    s.metrics = cfg->metrics;

    rc = api_server_configure(&s);
    OPENSSL_cleanse(key, keylen);
    free(key);

    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    log_configure(cfg->log_format, cfg->log_level);
    db_pool_set_conninfo(cfg->database_url);

    return engine_apply(cfg, err, errlen);
}


static int
serve_check_db(char *err, size_t errlen)
{
    int         rc;
    db_conn_t  *c;

    c = db_acquire(5000, err, errlen);
    if (c == NULL) {
        return -1;
    }

    rc = migrate_check(db_pg(c), err, errlen);
    if (rc == 0) {
        rc = keyring_check_versions(c, err, errlen);
    }

    db_release(c);
    return rc;
}


int
serve_main(const char *config_path, hubgate_config_t *cfg)
{
    int                 fd, sig;
    char                err[1024];
    size_t              i, n;
    vault_t            *v;
    sigset_t            set;
    const char        **methods, **paths;
    struct timespec     idle;
    const api_route_t  *routes;

    /*
     * One thread per connection: glibc would give each its own malloc
     * arena and keep their freed memory; two arenas and a trim when idle
     * keep the resident size near the idle one after a burst.
     */
    mallopt(M_ARENA_MAX, 2);

    /* libxml2's globals once, before threads render invoices */
    xmlInitParser();

    /* every thread inherits the mask: signals arrive only at sigwait */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_configure(cfg->log_format, cfg->log_level);

    if (vault_kek_load(cfg->kek_file, &v, err, sizeof(err)) != VAULT_OK) {
        log_event(LOG_ERROR, "start_failed", "msg", err, NULL);
        return 1;
    }

    keyring_init(v);

    if (vault_flags(v) & VAULT_F_UNLOCKED) {
        log_msg(LOG_WARN, "vault", "mlock failed (RLIMIT_MEMLOCK): the keys"
                " are in memory that may be swapped");
    }

    if (db_pool_init(cfg->database_url, cfg->database_pool_size, err,
                     sizeof(err))
        != 0
        || serve_check_db(err, sizeof(err)) != 0)
    {
        log_event(LOG_ERROR, "start_failed", "msg", err, NULL);
        return 1;
    }

    routes = api_routes(&n);
    methods = calloc(n, sizeof(char *));
    paths = calloc(n, sizeof(char *));
    if (methods == NULL || paths == NULL) {
        return 1;
    }

    for (i = 0; i < n; i++) {
        methods[i] = routes[i].method;
        paths[i] = routes[i].path;
    }

    if (metrics_init(n, methods, paths) != 0
        || serve_apply(cfg, err, sizeof(err)) != 0)
    {
        log_event(LOG_ERROR, "start_failed", "msg", err, NULL);
        return 1;
    }

    /* the sync engine: sync/engine.c registers the job handlers and runs
     * queue_start; engine_stop runs queue_stop */
    err[0] = '\0';
    if (engine_start(cfg, err, sizeof(err)) != 0) {
        log_event(LOG_ERROR, "start_failed", "msg", err, NULL);
        return 1;
    }

    fd = serve_listen(cfg, err, sizeof(err));
    if (fd < 0 || api_server_start(fd, err, sizeof(err)) != 0) {
        log_event(LOG_ERROR, "start_failed", "msg", err, NULL);
        return 1;
    }

    log_msg(LOG_INFO, "ready", "serving on %s (KEK version %u current,"
            " %zu loaded; database pool %d)", cfg->listen,
            vault_kek_current(v), vault_kek_count(v),
            cfg->database_pool_size);

    idle.tv_sec = 10;
    idle.tv_nsec = 0;

    for ( ;; ) {
        sig = sigtimedwait(&set, NULL, &idle);

        if (sig < 0) {
            if (errno == EAGAIN && api_server_inflight() == 0) {
                malloc_trim(0);
            }
            continue;
        }

        if (sig == SIGHUP) {
            serve_reload(config_path, cfg);
            continue;
        }

        break;
    }

    serve_shutdown(cfg);
    config_free(cfg);
    keyring_free();
    free(methods);
    free(paths);

    return 0;
}


static void
serve_reload(const char *path, hubgate_config_t *cur)
{
    char              err[1024], msg[512];
    hubgate_config_t  next;

    if (config_load(path, &next, err, sizeof(err)) != CONFIG_OK) {
        metrics_reload(0);
        log_event(LOG_ERROR, "reload_failed", "msg", err, "kept",
                  "the running configuration", NULL);
        return;
    }

    if (config_reload_check(cur, &next, msg, sizeof(msg)) > 0) {
        log_event(LOG_WARN, "reload", "msg", msg, NULL);
    }

    if (config_reload_keep(cur, &next) != CONFIG_OK
        || serve_apply(&next, err, sizeof(err)) != 0)
    {
        config_free(&next);
        metrics_reload(0);
        log_event(LOG_ERROR, "reload_failed", "msg", err, "kept",
                  "the running configuration", NULL);
        return;
    }

    config_free(cur);
    *cur = next;
    metrics_reload(1);
    log_event(LOG_INFO, "reloaded", "file", path, NULL);
}


static void
serve_shutdown(const hubgate_config_t *cfg)
{
    unsigned         left;
    struct timespec  t0, now, tick;

    log_event(LOG_INFO, "stopping", "msg", "finishing requests in flight",
              NULL);

    api_server_quiesce();
    unlink(cfg->listen);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    tick.tv_sec = 0;
    tick.tv_nsec = 10 * 1000000;

    while ((left = api_server_inflight()) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);

        if ((now.tv_sec - t0.tv_sec) * 1000
            + (now.tv_nsec - t0.tv_nsec) / 1000000 >= cfg->shutdown_timeout)
        {
            log_msg(LOG_WARN, "stopping", "%u requests still running after"
                    " shutdown_timeout: cut", left);
            break;
        }

        nanosleep(&tick, NULL);
    }

    api_server_stop();
    engine_stop(cfg->shutdown_timeout);
    db_pool_close();
    log_event(LOG_INFO, "stopped", NULL);
}
