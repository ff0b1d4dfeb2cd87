
/*
 * hubgated: the sync engine's configuration snapshot (see sync_conf.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sync_conf.h"


#define SYNC_CONF_SECRET_MAX  4096


static int sync_conf_read_secret(const char *path, char **out, char *err,
    size_t errlen);
static void sync_conf_free(sync_conf_t *sc);


static pthread_mutex_t  sync_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static sync_conf_t     *sync_conf_cur;


/* the first line of a 0600-ish file, trailing blanks cut; "" path: NULL */
static int
sync_conf_read_secret(const char *path, char **out, char *err, size_t errlen)
{
    int          fd;
    char        *buf;
    ssize_t      n;
    size_t       len;
    struct stat  st;

    *out = NULL;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) != 0 || (st.st_mode & 0077) != 0) {
        snprintf(err, errlen, "%s: must not be readable by group or others"
                 " (chmod 600)", path);
        close(fd);
        return -1;
    }

    buf = malloc(SYNC_CONF_SECRET_MAX + 1);
    if (buf == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    len = 0;

    while (len < SYNC_CONF_SECRET_MAX) {
        n = read(fd, buf + len, SYNC_CONF_SECRET_MAX - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }

    close(fd);
    buf[len] = '\0';

    len = strcspn(buf, "\r\n");
    buf[len] = '\0';

    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t')) {
        buf[--len] = '\0';
    }

    if (len == 0) {
        OPENSSL_cleanse(buf, SYNC_CONF_SECRET_MAX + 1);
        free(buf);
        snprintf(err, errlen, "%s: empty", path);
        return -1;
    }

    *out = buf;
    return 0;
}


static void
sync_conf_free(sync_conf_t *sc)
{
    if (sc == NULL) {
        return;
    }

    free(sc->redirect_uri);
    free(sc->public_base_url);
    free((char *) sc->allegro.api_url);
    free((char *) sc->allegro.auth_url);
    free((char *) sc->allegro.client_id);
    free((char *) sc->stripe.api_url);
    free((char *) sc->stripe.auth_url);
    free((char *) sc->stripe.client_id);

    if (sc->allegro.client_secret != NULL) {
        OPENSSL_cleanse((char *) sc->allegro.client_secret,
                        strlen(sc->allegro.client_secret));
        free((char *) sc->allegro.client_secret);
    }

    if (sc->stripe.client_secret != NULL) {
        OPENSSL_cleanse((char *) sc->stripe.client_secret,
                        strlen(sc->stripe.client_secret));
        free((char *) sc->stripe.client_secret);
    }

    free(sc);
}


int
sync_conf_set(const hubgate_config_t *cfg, char *err, size_t errlen)
{
    char         *asecret, *ssecret, *base;
    size_t        n;
    sync_conf_t  *sc, *old;

    if (sync_conf_read_secret(cfg->allegro_client_secret_file, &asecret, err,
                              errlen)
        != 0)
    {
        return -1;
    }

    if (sync_conf_read_secret(cfg->stripe_secret_key_file, &ssecret, err,
                              errlen)
        != 0)
    {
        if (asecret != NULL) {
            OPENSSL_cleanse(asecret, strlen(asecret));
            free(asecret);
        }
        return -1;
    }

    sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        goto oom;
    }

    sc->refs = 1;
    sc->allegro.client_secret = asecret;
    sc->stripe.client_secret = ssecret;
    asecret = ssecret = NULL;

    base = cfg->public_base_url;
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }

    sc->public_base_url = strndup(base, n);

    if (cfg->oauth_redirect_uri[0] != '\0') {
        sc->redirect_uri = strdup(cfg->oauth_redirect_uri);

    } else if (sc->public_base_url != NULL
               && asprintf(&sc->redirect_uri, "%s%s/v1/oauth/callback",
                           sc->public_base_url, cfg->api_prefix) < 0)
    {
        sc->redirect_uri = NULL;
    }

    sc->token_refresh_margin_ms = cfg->token_refresh_margin;
    sc->http_timeout_ms = cfg->http_timeout;
    sc->page_size = cfg->sync_page_size;
    sc->allegro_per_minute = cfg->allegro_requests_per_minute;
    sc->stripe_per_second = cfg->stripe_requests_per_second;

    sc->allegro.api_url = strdup(cfg->allegro_api_url);
    sc->allegro.auth_url = strdup(cfg->allegro_auth_url);
    sc->allegro.client_id = strdup(cfg->allegro_client_id);
    sc->allegro.page_size = cfg->sync_page_size;
    sc->stripe.api_url = strdup(cfg->stripe_api_url);
    sc->stripe.auth_url = strdup(cfg->stripe_connect_url);
    sc->stripe.client_id = strdup(cfg->stripe_client_id);
    sc->stripe.page_size = cfg->sync_page_size;

    if (sc->public_base_url == NULL || sc->redirect_uri == NULL
        || sc->allegro.api_url == NULL || sc->allegro.auth_url == NULL
        || sc->allegro.client_id == NULL || sc->stripe.api_url == NULL
        || sc->stripe.auth_url == NULL || sc->stripe.client_id == NULL)
    {
        sync_conf_free(sc);
        goto oom_done;
    }

    pthread_mutex_lock(&sync_conf_lock);
    old = sync_conf_cur;
    sync_conf_cur = sc;

    if (old != NULL && --old->refs > 0) {
        old = NULL;
    }

    pthread_mutex_unlock(&sync_conf_lock);

    sync_conf_free(old);
    return 0;

oom:

    if (asecret != NULL) {
        OPENSSL_cleanse(asecret, strlen(asecret));
        free(asecret);
    }

    if (ssecret != NULL) {
        OPENSSL_cleanse(ssecret, strlen(ssecret));
        free(ssecret);
    }

oom_done:

    snprintf(err, errlen, "out of memory");
    return -1;
}


sync_conf_t *
sync_conf_get(void)
{
    sync_conf_t  *sc;

    pthread_mutex_lock(&sync_conf_lock);
    sc = sync_conf_cur;
    if (sc != NULL) {
        sc->refs++;
    }
    pthread_mutex_unlock(&sync_conf_lock);

    return sc;
}


void
sync_conf_put(sync_conf_t *sc)
{
    int  last;

    if (sc == NULL) {
        return;
    }

    pthread_mutex_lock(&sync_conf_lock);
    last = (--sc->refs == 0);
    pthread_mutex_unlock(&sync_conf_lock);

    if (last) {
        sync_conf_free(sc);
    }
}


const prov_conf_t *
sync_conf_provider(const sync_conf_t *sc, const char *provider)
{
    if (sc == NULL || provider == NULL) {
        return NULL;
    }

    if (strcmp(provider, "allegro") == 0) {
        return &sc->allegro;
    }

    if (strcmp(provider, "stripe") == 0) {
        return &sc->stripe;
    }

    return NULL;
}
