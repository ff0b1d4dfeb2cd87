
/*
 * hubgated: configuration core.  See config.h for the syntax and contract.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"


#define CONFIG_ECHO_MAX  64         /* bytes of a bad value in a message */
#define CONFIG_MS_S      1000LL
#define CONFIG_MS_M      (60 * CONFIG_MS_S)
#define CONFIG_MS_H      (60 * CONFIG_MS_M)
#define CONFIG_MS_D      (24 * CONFIG_MS_H)

#define CONFIG_OFF(f)    offsetof(hubgate_config_t, f)


static int config_check_socket(const char *v, char *why, size_t whylen);
static int config_check_redis(const char *v, char *why, size_t whylen);
static int config_check_url(const char *v, char *why, size_t whylen);
static int config_check_prefix(const char *v, char *why, size_t whylen);
static void config_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void config_echo(const char *v, size_t len, char *out, size_t outlen);
static int config_parse_i64(const char *s, int64_t *out);
static int config_parse_duration(const char *s, int64_t *out);
static int config_parse_size(const char *s, int64_t *out);
static void config_fmt_duration(int64_t ms, char *out, size_t outlen);
static void config_fmt_size(int64_t b, char *out, size_t outlen);
static void config_accepts(const config_key_t *k, char *out, size_t outlen);
static int config_set(const config_key_t *k, const char *v,
    hubgate_config_t *cfg, char *why, size_t whylen);
static int config_value_get(const config_key_t *k,
    const hubgate_config_t *cfg, char *out, size_t outlen);
static char *config_redact(const char *v);
static int config_unquote(const char *p, const char *end, char *out,
    size_t *outlen, const char **why);
static void config_wipe_free(char *s);


static const char *const  config_log_formats[] = { "json", "text", NULL };
static const char *const  config_log_levels[] = {
    "debug", "info", "warn", "error", NULL
};


/*
 * The key table.  Keys without CONFIG_F_RELOAD are read once at start;
 * their docs say why.  conf.examples/hubgated.conf documents every key and
 * t/unit/test_config.c checks that the two agree.
 */
static const config_key_t  config_table[] = {

    { "listen", CONFIG_T_PATH, "/run/hubgate/hubgated.sock",
      0, CONFIG_OFF(listen), 0, 0, NULL, config_check_socket,
      "Unix socket that serves the HTTP API to nginx; restart to change:"
      " the socket is bound once, before privileges are dropped" },

    { "listen_mode", CONFIG_T_MODE, "0660",
      CONFIG_F_RELOAD, CONFIG_OFF(listen_mode), 0, 0777, NULL, NULL,
      "file mode of the socket (octal); group access lets nginx's user"
      " connect" },

    { "database_url", CONFIG_T_STRING, "dbname=hubgate",
      CONFIG_F_RELOAD | CONFIG_F_SECRET, CONFIG_OFF(database_url),
      0, 0, NULL, NULL,
      "libpq conninfo (key=value or postgresql:// URI); keep passwords in"
      " ~/.pgpass, not here; new pool connections use a reloaded value" },

    { "admin_database_url", CONFIG_T_STRING, "",
      CONFIG_F_RELOAD | CONFIG_F_SECRET | CONFIG_F_EMPTY,
      CONFIG_OFF(admin_database_url), 0, 0, NULL, NULL,
      "libpq conninfo of the schema owner, for the operator commands"
      " (migrate, tenant, vault rotate, integrations list); empty means"
      " database_url; never used by serve" },

    { "database_pool_size", CONFIG_T_INT, "8",
      0, CONFIG_OFF(database_pool_size), 1, 64, NULL, NULL,
      "PostgreSQL connections held open; restart to change: the pool is"
      " sized once and workers hold connections across a reload" },

    { "redis_address", CONFIG_T_STRING, "127.0.0.1:6379",
      CONFIG_F_RELOAD, CONFIG_OFF(redis_address), 0, 0, NULL,
      config_check_redis,
      "Redis for sync progress pub/sub: host:port, [v6]:port or an"
      " absolute Unix socket path" },

    { "log_format", CONFIG_T_ENUM, "json",
      CONFIG_F_RELOAD, CONFIG_OFF(log_format), 0, 0, config_log_formats,
      NULL,
      "one line per event, as JSON objects or as key=value text" },

    { "log_level", CONFIG_T_ENUM, "info",
      CONFIG_F_RELOAD, CONFIG_OFF(log_level), 0, 0, config_log_levels, NULL,
      "lowest level written" },

    { "kek_file", CONFIG_T_SECRET_PATH, "/etc/hubgate/kek",
      0, CONFIG_OFF(kek_file), 0, 0, NULL, NULL,
      "file of versioned key-encryption keys (mode 0600); restart to"
      " change: the vault locks them in memory at start, and adding a"
      " version is followed by `hubgated vault rotate`" },

    { "identity_secret_file", CONFIG_T_SECRET_PATH,
      "/etc/hubgate/identity.secret",
      CONFIG_F_RELOAD, CONFIG_OFF(identity_secret_file), 0, 0, NULL, NULL,
      "file holding the secret nginx signs X-Hubgate-Auth with; re-read on"
      " SIGHUP so it rotates together with nginx" },

    { "identity_max_age", CONFIG_T_DURATION, "5s",
      CONFIG_F_RELOAD, CONFIG_OFF(identity_max_age),
      1 * CONFIG_MS_S, 5 * CONFIG_MS_M, NULL, NULL,
      "oldest signed identity accepted; allows for clock skew between"
      " nginx and hubgated" },

    { "token_signing_key_file", CONFIG_T_SECRET_PATH,
      "/etc/hubgate/token-signing.pem",
      CONFIG_F_RELOAD, CONFIG_OFF(token_signing_key_file), 0, 0, NULL, NULL,
      "PEM private key `hubgated token mint` signs dev tokens with; its"
      " public half goes into nginx's JWKS" },

    { "token_issuer", CONFIG_T_STRING, "hubgate",
      CONFIG_F_RELOAD, CONFIG_OFF(token_issuer), 0, 0, NULL, NULL,
      "iss claim of minted tokens; must match what nginx expects" },

    { "token_audience", CONFIG_T_STRING, "hubgate-api",
      CONFIG_F_RELOAD, CONFIG_OFF(token_audience), 0, 0, NULL, NULL,
      "aud claim of minted tokens; must match what nginx expects" },

    { "api_prefix", CONFIG_T_STRING, "/api",
      CONFIG_F_RELOAD | CONFIG_F_EMPTY, CONFIG_OFF(api_prefix), 0, 0, NULL,
      config_check_prefix,
      "path prefix under which nginx passes the API unchanged (proxy_pass"
      " without a URI part, so the signed URI is the one received); routes"
      " match after it, and also without it" },

    { "request_body_limit", CONFIG_T_SIZE, "1m",
      CONFIG_F_RELOAD, CONFIG_OFF(request_body_limit),
      1024, 64LL * 1024 * 1024, NULL, NULL,
      "largest request body accepted; larger ones get 413" },

    { "worker_threads", CONFIG_T_INT, "4",
      0, CONFIG_OFF(worker_threads), 1, 64, NULL, NULL,
      "threads running sync jobs (requests are served one thread per"
      " connection); restart to change: threads are started once and own"
      " their database connections" },

    { "shutdown_timeout", CONFIG_T_DURATION, "30s",
      CONFIG_F_RELOAD, CONFIG_OFF(shutdown_timeout), 0, CONFIG_MS_H,
      NULL, NULL,
      "on SIGTERM, how long in-flight requests and sync pages may finish" },

    { "oauth_redirect_uri", CONFIG_T_STRING, "",
      CONFIG_F_RELOAD | CONFIG_F_EMPTY, CONFIG_OFF(oauth_redirect_uri),
      0, 0, NULL, config_check_url,
      "OAuth redirect URI registered with providers; empty means"
      " public_base_url + /api/v1/oauth/callback" },

    { "public_base_url", CONFIG_T_STRING, "http://localhost:8080",
      CONFIG_F_RELOAD, CONFIG_OFF(public_base_url), 0, 0, NULL,
      config_check_url,
      "URL users reach nginx at, for links and redirects" },

    { "test_clock", CONFIG_T_BOOL, "off",
      0, CONFIG_OFF(test_clock), 0, 1, NULL, NULL,
      "tests only: POST /v1/admin/test-clock moves this instance's clock"
      " forward, so retry, sync and due-date schedules run in seconds;"
      " restart to change" },

    { "job_lease", CONFIG_T_DURATION, "30s",
      CONFIG_F_RELOAD, CONFIG_OFF(job_lease), 3 * CONFIG_MS_S, CONFIG_MS_H,
      NULL, NULL,
      "how long a claimed job is a worker's; heartbeats renew it every"
      " third of it, and a dead worker's job is taken again after it" },

    { "scheduler_interval", CONFIG_T_DURATION, "10s",
      CONFIG_F_RELOAD, CONFIG_OFF(scheduler_interval), 100, CONFIG_MS_H,
      NULL, NULL,
      "how often due syncs are enqueued (per syncFrequencyMinutes) and"
      " overdue invoices marked" },

    { "token_refresh_margin", CONFIG_T_DURATION, "1h",
      CONFIG_F_RELOAD, CONFIG_OFF(token_refresh_margin), 0, 24 * CONFIG_MS_H,
      NULL, NULL,
      "an OAuth access token this close to its expiry is refreshed before"
      " it is used" },

    { "sync_page_size", CONFIG_T_INT, "100",
      CONFIG_F_RELOAD, CONFIG_OFF(sync_page_size), 1, 100, NULL, NULL,
      "records asked for per provider page (Allegro and Stripe allow up to"
      " 100)" },

    { "http_timeout", CONFIG_T_DURATION, "30s",
      CONFIG_F_RELOAD, CONFIG_OFF(http_timeout), 100, 5 * CONFIG_MS_M,
      NULL, NULL,
      "longest a call to a provider may take, connection included" },

    { "allegro_api_url", CONFIG_T_STRING, "https://api.allegro.pl",
      CONFIG_F_RELOAD, CONFIG_OFF(allegro_api_url), 0, 0, NULL,
      config_check_url,
      "Allegro REST API base URL (https://api.allegro.pl.allegrosandbox.pl"
      " for the sandbox)" },

    { "allegro_auth_url", CONFIG_T_STRING, "https://allegro.pl",
      CONFIG_F_RELOAD, CONFIG_OFF(allegro_auth_url), 0, 0, NULL,
      config_check_url,
      "Allegro OAuth base URL: /auth/oauth/authorize and /auth/oauth/token"
      " live under it" },

    { "allegro_client_id", CONFIG_T_STRING, "",
      CONFIG_F_RELOAD | CONFIG_F_EMPTY, CONFIG_OFF(allegro_client_id), 0, 0,
      NULL, NULL,
      "Client ID of hubgate's Allegro application; empty: Allegro cannot"
      " be connected" },

    { "allegro_client_secret_file", CONFIG_T_SECRET_PATH, "",
      CONFIG_F_RELOAD | CONFIG_F_EMPTY,
      CONFIG_OFF(allegro_client_secret_file), 0, 0, NULL, NULL,
      "file holding the Allegro application's client secret (mode 0600)" },

    { "allegro_requests_per_minute", CONFIG_T_INT, "9000",
      CONFIG_F_RELOAD, CONFIG_OFF(allegro_requests_per_minute), 1, 1000000,
      NULL, NULL,
      "calls to Allegro per minute per client id, across every instance,"
      " kept below Allegro's own limit" },

    { "stripe_api_url", CONFIG_T_STRING, "https://api.stripe.com",
      CONFIG_F_RELOAD, CONFIG_OFF(stripe_api_url), 0, 0, NULL,
      config_check_url,
      "Stripe API base URL" },

    { "stripe_connect_url", CONFIG_T_STRING, "https://connect.stripe.com",
      CONFIG_F_RELOAD, CONFIG_OFF(stripe_connect_url), 0, 0, NULL,
      config_check_url,
      "Stripe Connect OAuth base URL (/oauth/authorize, /oauth/token,"
      " /oauth/deauthorize)" },

    { "stripe_client_id", CONFIG_T_STRING, "",
      CONFIG_F_RELOAD | CONFIG_F_EMPTY, CONFIG_OFF(stripe_client_id), 0, 0,
      NULL, NULL,
      "Connect platform client id (ca_...); empty: Stripe is connected by"
      " restricted API key only" },

    { "stripe_secret_key_file", CONFIG_T_SECRET_PATH, "",
      CONFIG_F_RELOAD | CONFIG_F_EMPTY, CONFIG_OFF(stripe_secret_key_file),
      0, 0, NULL, NULL,
      "file holding the Connect platform's secret key, which Stripe's"
      " /oauth/token and /oauth/deauthorize take (mode 0600)" },

    { "stripe_requests_per_second", CONFIG_T_INT, "100",
      CONFIG_F_RELOAD, CONFIG_OFF(stripe_requests_per_second), 1, 1000000,
      NULL, NULL,
      "calls to Stripe per second per account, across every instance" },

    { "metrics", CONFIG_T_BOOL, "on",
      CONFIG_F_RELOAD, CONFIG_OFF(metrics), 0, 1, NULL, NULL,
      "serve Prometheus metrics at /metrics" },
};

#define CONFIG_NKEYS  (sizeof(config_table) / sizeof(config_table[0]))


const config_key_t *
config_keys(size_t *n)
{
    if (n != NULL) {
        *n = CONFIG_NKEYS;
    }

    return config_table;
}


const config_key_t *
config_key_find(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < CONFIG_NKEYS; i++) {
        if (strcmp(config_table[i].name, name) == 0) {
            return &config_table[i];
        }
    }

    return NULL;
}


static void
config_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}


/* a bounded, printable copy of untrusted text for a message */
static void
config_echo(const char *v, size_t len, char *out, size_t outlen)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len && i < CONFIG_ECHO_MAX && n + 1 < outlen; i++) {
        unsigned char  c = (unsigned char) v[i];

        out[n++] = (c < 0x20 || c >= 0x7f || c == '\'') ? '?' : (char) c;
    }

    if (i < len && n + 4 < outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }

    if (outlen > 0) {
        out[n] = '\0';
    }
}


/* decimal, optional '-', no blanks; 0 or -1 */
static int
config_parse_i64(const char *s, int64_t *out)
{
    int       neg;
    uint64_t  v, lim;

    neg = (*s == '-');
    if (neg || *s == '+') {
        s++;
    }

    if (*s < '0' || *s > '9') {
        return -1;
    }

    lim = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    v = 0;

    for ( /* void */ ; *s >= '0' && *s <= '9'; s++) {
        if (v > (lim - (uint64_t) (*s - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t) (*s - '0');
    }

    if (*s != '\0') {
        return -1;
    }

    *out = neg ? (int64_t) (0 - v) : (int64_t) v;
    return 0;
}


/* <n><unit>... , units ms s m h d; result in ms */
static int
config_parse_duration(const char *s, int64_t *out)
{
    int64_t  total, n, mul;

    if (*s == '\0') {
        return -1;
    }

    total = 0;

    while (*s != '\0') {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        n = 0;
        for ( /* void */ ; *s >= '0' && *s <= '9'; s++) {
            if (n > (INT64_MAX - (*s - '0')) / 10) {
                return -1;
            }
            n = n * 10 + (*s - '0');
        }

        if (s[0] == 'm' && s[1] == 's') {
            mul = 1;
            s += 2;

        } else {
            switch (*s) {
            case 's': mul = CONFIG_MS_S; break;
            case 'm': mul = CONFIG_MS_M; break;
            case 'h': mul = CONFIG_MS_H; break;
            case 'd': mul = CONFIG_MS_D; break;
            default:  return -1;
            }
            s++;
        }

        if (n > (INT64_MAX - total) / mul) {
            return -1;
        }
        total += n * mul;
    }

    *out = total;
    return 0;
}


/* <n>[k|m|g], binary; result in bytes */
static int
config_parse_size(const char *s, int64_t *out)
{
    char     num[32];
    size_t   len;
    int64_t  n, mul;

    len = strlen(s);
    if (len == 0 || len >= sizeof(num)) {
        return -1;
    }

    mul = 1;

    switch (s[len - 1]) {
    case 'k': case 'K': mul = 1024; len--; break;
    case 'm': case 'M': mul = 1024 * 1024; len--; break;
    case 'g': case 'G': mul = 1024 * 1024 * 1024; len--; break;
    default: break;
    }

    memcpy(num, s, len);
    num[len] = '\0';

    if (num[0] < '0' || num[0] > '9' || config_parse_i64(num, &n) != 0
        || n > INT64_MAX / mul)
    {
        return -1;
    }

    *out = n * mul;
    return 0;
}


static void
config_fmt_duration(int64_t ms, char *out, size_t outlen)
{
    if (ms != 0 && ms % CONFIG_MS_D == 0) {
        snprintf(out, outlen, "%lldd", (long long) (ms / CONFIG_MS_D));

    } else if (ms != 0 && ms % CONFIG_MS_H == 0) {
        snprintf(out, outlen, "%lldh", (long long) (ms / CONFIG_MS_H));

    } else if (ms != 0 && ms % CONFIG_MS_M == 0) {
        snprintf(out, outlen, "%lldm", (long long) (ms / CONFIG_MS_M));

    } else if (ms % CONFIG_MS_S == 0) {
        snprintf(out, outlen, "%llds", (long long) (ms / CONFIG_MS_S));

    } else {
        snprintf(out, outlen, "%lldms", (long long) ms);
    }
}


static void
config_fmt_size(int64_t b, char *out, size_t outlen)
{
    if (b != 0 && b % (1024 * 1024 * 1024) == 0) {
        snprintf(out, outlen, "%lldg", (long long) (b / (1024 * 1024 * 1024)));

    } else if (b != 0 && b % (1024 * 1024) == 0) {
        snprintf(out, outlen, "%lldm", (long long) (b / (1024 * 1024)));

    } else if (b != 0 && b % 1024 == 0) {
        snprintf(out, outlen, "%lldk", (long long) (b / 1024));

    } else {
        snprintf(out, outlen, "%lld", (long long) b);
    }
}


/* what a key accepts, for a _VALUE message */
static void
config_accepts(const config_key_t *k, char *out, size_t outlen)
{
    char    lo[32], hi[32];
    size_t  n, i;

    switch (k->type) {

    case CONFIG_T_INT:
        snprintf(out, outlen, "an integer %lld..%lld",
                 (long long) k->min, (long long) k->max);
        break;

    case CONFIG_T_MODE:
        snprintf(out, outlen, "an octal file mode 0000..0777, e.g. 0660");
        break;

    case CONFIG_T_BOOL:
        snprintf(out, outlen, "on|off, true|false, yes|no or 1|0");
        break;

    case CONFIG_T_DURATION:
        config_fmt_duration(k->min, lo, sizeof(lo));
        config_fmt_duration(k->max, hi, sizeof(hi));
        snprintf(out, outlen, "a duration %s..%s such as 500ms, 30s, 5m, 1h"
                 " or 1m30s", lo, hi);
        break;

    case CONFIG_T_SIZE:
        config_fmt_size(k->min, lo, sizeof(lo));
        config_fmt_size(k->max, hi, sizeof(hi));
        snprintf(out, outlen, "a size %s..%s in bytes or with k, m, g"
                 " (e.g. 1m)", lo, hi);
        break;

    case CONFIG_T_ENUM:
        n = (size_t) snprintf(out, outlen, "one of ");
        for (i = 0; k->values[i] != NULL && n < outlen; i++) {
            n += (size_t) snprintf(out + n, outlen - n, "%s%s",
                                   i ? "|" : "", k->values[i]);
        }
        break;

    case CONFIG_T_SECRET_PATH:
        snprintf(out, outlen, "the path of a file holding the secret,"
                 " with a '/' (e.g. %s), not the secret itself",
                 k->def[0] != '\0' ? k->def : "/etc/hubgate/secret");
        break;

    case CONFIG_T_PATH:
        snprintf(out, outlen, "a file path");
        break;

    default:
        snprintf(out, outlen, "%s text without control characters",
                 (k->flags & CONFIG_F_EMPTY) ? "" : "non-empty");
        break;
    }
}


/*
 * Parses v (NUL-terminated) for key k into cfg, freeing any previous
 * string.  On failure cfg is unchanged and why says what is accepted.
 */
static int
config_set(const config_key_t *k, const char *v, hubgate_config_t *cfg,
    char *why, size_t whylen)
{
    char          *base, **sp, *copy;
    size_t         i, len;
    int64_t        n;
    int           *ip;
    int64_t       *lp;
    const char    *p;

    base = (char *) cfg + k->offset;
    len = strlen(v);

    switch (k->type) {

    case CONFIG_T_INT:
        if (config_parse_i64(v, &n) != 0 || n < k->min || n > k->max) {
            goto bad;
        }
        ip = (int *) (void *) base;
        *ip = (int) n;
        return CONFIG_OK;

    case CONFIG_T_MODE:
        if (len < 1 || len > 4 || v[0] != '0') {
            goto bad;
        }
        n = 0;
        for (p = v; *p != '\0'; p++) {
            if (*p < '0' || *p > '7') {
                goto bad;
            }
            n = n * 8 + (*p - '0');
        }
        if (n > k->max) {
            goto bad;
        }
        ip = (int *) (void *) base;
        *ip = (int) n;
        return CONFIG_OK;

    case CONFIG_T_BOOL:
        ip = (int *) (void *) base;
        if (strcasecmp(v, "on") == 0 || strcasecmp(v, "true") == 0
            || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
        {
            *ip = 1;
            return CONFIG_OK;
        }
        if (strcasecmp(v, "off") == 0 || strcasecmp(v, "false") == 0
            || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
        {
            *ip = 0;
            return CONFIG_OK;
        }
        goto bad;

    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
        if ((k->type == CONFIG_T_DURATION ? config_parse_duration(v, &n)
                                          : config_parse_size(v, &n)) != 0
            || n < k->min || n > k->max)
        {
            goto bad;
        }
        lp = (int64_t *) (void *) base;
        *lp = n;
        return CONFIG_OK;

    case CONFIG_T_ENUM:
        for (i = 0; k->values[i] != NULL; i++) {
            if (strcasecmp(v, k->values[i]) == 0) {
                ip = (int *) (void *) base;
                *ip = (int) i;
                return CONFIG_OK;
            }
        }
        goto bad;

    default:
        break;
    }

    /* string, path, secret path */

    if (len == 0 && !(k->flags & CONFIG_F_EMPTY)) {
        goto bad;
    }

    if (len >= CONFIG_VALUE_MAX) {
        snprintf(why, whylen, "at most %d bytes", CONFIG_VALUE_MAX - 1);
        return CONFIG_ERR_VALUE;
    }

    for (p = v; *p != '\0'; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            goto bad;
        }
    }

    if (k->type == CONFIG_T_SECRET_PATH && strchr(v, '/') == NULL
        && !(len == 0 && (k->flags & CONFIG_F_EMPTY)))
    {
        goto bad;
    }

    if (k->check != NULL && len > 0 && k->check(v, why, whylen) != 0) {
        return CONFIG_ERR_VALUE;
    }

    copy = strdup(v);
    if (copy == NULL) {
        snprintf(why, whylen, "out of memory");
        return CONFIG_ERR_NOMEM;
    }

    sp = (char **) (void *) base;
    if (k->flags & CONFIG_F_SECRET) {
        config_wipe_free(*sp);
    } else {
        free(*sp);
    }
    *sp = copy;

    return CONFIG_OK;

bad:

    config_accepts(k, why, whylen);
    return CONFIG_ERR_VALUE;
}


static int
config_check_socket(const char *v, char *why, size_t whylen)
{
    /* sizeof(struct sockaddr_un.sun_path) is 108 on Linux */
    if (v[0] != '/' || strlen(v) > 107) {
        snprintf(why, whylen, "an absolute Unix socket path of at most 107"
                 " bytes");
        return -1;
    }

    return 0;
}


static int
config_check_redis(const char *v, char *why, size_t whylen)
{
    const char  *colon, *host_end;
    int64_t      port;

    if (v[0] == '/') {
        return 0;
    }

    if (v[0] == '[') {
        host_end = strchr(v, ']');
        if (host_end == NULL || host_end == v + 1 || host_end[1] != ':') {
            goto bad;
        }
        colon = host_end + 1;

    } else {
        colon = strrchr(v, ':');
        if (colon == NULL || colon == v || memchr(v, ':', colon - v) != NULL
            || strchr(v, ' ') != NULL)
        {
            goto bad;
        }
    }

    if (colon[1] < '0' || colon[1] > '9'
        || config_parse_i64(colon + 1, &port) != 0
        || port < 1 || port > 65535)
    {
        goto bad;
    }

    return 0;

bad:

    snprintf(why, whylen, "host:port, [ipv6]:port or an absolute Unix socket"
             " path (e.g. 127.0.0.1:6379, /run/redis/redis.sock)");
    return -1;
}


static int
config_check_url(const char *v, char *why, size_t whylen)
{
    const char  *host;

    if (strncmp(v, "https://", 8) == 0) {
        host = v + 8;

    } else if (strncmp(v, "http://", 7) == 0) {
        host = v + 7;

    } else {
        goto bad;
    }

    if (*host == '\0' || *host == '/' || strpbrk(v, " \"<>\\^`{|}") != NULL)
    {
        goto bad;
    }

    return 0;

bad:

    snprintf(why, whylen, "an absolute http:// or https:// URL without"
             " spaces (e.g. https://hubgate.example.com)");
    return -1;
}


/* "" or "/a" or "/a/b": no trailing slash, no empty or dot segment */
static int
config_check_prefix(const char *v, char *why, size_t whylen)
{
    const char  *p;

    if (*v == '\0') {
        return 0;
    }

    if (*v != '/' || strlen(v) > 128) {
        goto bad;
    }

    for (p = v; *p; p++) {
        if (*p == '/') {
            if (p[1] == '\0' || p[1] == '/' || p[1] == '.') {
                goto bad;
            }
            continue;
        }

        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z')
            && !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_'
            && *p != '.')
        {
            goto bad;
        }
    }

    return 0;

bad:

    snprintf(why, whylen, "empty, or a path such as /api: segments of"
             " letters, digits, '-', '_', '.', no trailing slash");
    return -1;
}


static void
config_wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}


void
config_free(hubgate_config_t *cfg)
{
    size_t  i;
    char  **sp;

    if (cfg == NULL) {
        return;
    }

    for (i = 0; i < CONFIG_NKEYS; i++) {
        const config_key_t  *k = &config_table[i];

        if (k->type != CONFIG_T_STRING && k->type != CONFIG_T_PATH
            && k->type != CONFIG_T_SECRET_PATH)
        {
            continue;
        }

        sp = (char **) (void *) ((char *) cfg + k->offset);
        if (k->flags & CONFIG_F_SECRET) {
            config_wipe_free(*sp);
        } else {
            free(*sp);
        }
        *sp = NULL;
    }

    memset(cfg, 0, sizeof(*cfg));
}


int
config_defaults(hubgate_config_t *cfg, char *err, size_t errlen)
{
    char              why[256];
    size_t            i;
    int               rc;
    hubgate_config_t  tmp;

    if (cfg == NULL) {
        config_err(err, errlen, "config_defaults: NULL argument");
        return CONFIG_ERR_ARG;
    }

    memset(&tmp, 0, sizeof(tmp));

    for (i = 0; i < CONFIG_NKEYS; i++) {
        rc = config_set(&config_table[i], config_table[i].def, &tmp,
                        why, sizeof(why));
        if (rc != CONFIG_OK) {
            /* only NOMEM in practice: the unit test checks every default */
            config_err(err, errlen, "default of %s: %s",
                       config_table[i].name, why);
            config_free(&tmp);
            return rc;
        }
    }

    *cfg = tmp;
    return CONFIG_OK;
}


/*
 * Unquotes or trims the value text [p, end) (already trimmed on the left)
 * into out (room for end - p + 1 bytes), dropping a trailing comment.
 * Returns 0, or -1 with why set.
 */
static int
config_unquote(const char *p, const char *end, char *out, size_t *outlen,
    const char **why)
{
    char         q;
    size_t       n;
    const char  *s;

    n = 0;

    if (p < end && (*p == '"' || *p == '\'')) {
        q = *p++;

        for ( /* void */ ; p < end && *p != q; p++) {
            if (q == '"' && *p == '\\' && p + 1 < end
                && (p[1] == '"' || p[1] == '\\'))
            {
                p++;
            }
            out[n++] = *p;
        }

        if (p == end) {
            *why = "unterminated quote";
            return -1;
        }

        for (p++; p < end && (*p == ' ' || *p == '\t'); p++) {
            /* void */
        }

        if (p < end && *p != '#') {
            *why = "text after the closing quote";
            return -1;
        }

        out[n] = '\0';
        *outlen = n;
        return 0;
    }

    for (s = p; s < end; s++) {
        if (*s == '#' && s > p && (s[-1] == ' ' || s[-1] == '\t')) {
            break;
        }
    }

    while (s > p && (s[-1] == ' ' || s[-1] == '\t')) {
        s--;
    }

    n = (size_t) (s - p);
    memcpy(out, p, n);
    out[n] = '\0';
    *outlen = n;

    return 0;
}


int
config_parse_buffer(const char *text, size_t len, const char *name,
    hubgate_config_t *cfg, char *err, size_t errlen)
{
    char               why[512], echo[CONFIG_ECHO_MAX * 2], keybuf[64];
    char              *val;
    size_t             i, klen, vlen;
    unsigned           line, seen[CONFIG_NKEYS];
    int                rc;
    const char        *p, *end, *eol, *eq, *ks, *ke, *vs, *ve, *reason;
    const config_key_t *k;
    hubgate_config_t   tmp;

    if (text == NULL && len > 0) {
        config_err(err, errlen, "config_parse_buffer: NULL argument");
        return CONFIG_ERR_ARG;
    }

    if (cfg == NULL) {
        config_err(err, errlen, "config_parse_buffer: NULL argument");
        return CONFIG_ERR_ARG;
    }

    if (name == NULL) {
        name = "hubgated.conf";
    }

    if (len > 0 && memchr(text, '\0', len) != NULL) {
        p = memchr(text, '\0', len);
        line = 1;
        for (eol = text; eol < p; eol++) {
            line += (*eol == '\n');
        }
        config_err(err, errlen, "%s:%u: NUL byte in the file", name, line);
        return CONFIG_ERR_SYNTAX;
    }

    rc = config_defaults(&tmp, err, errlen);
    if (rc != CONFIG_OK) {
        return rc;
    }

    val = malloc(len + 1);
    if (val == NULL) {
        config_free(&tmp);
        config_err(err, errlen, "%s: out of memory", name);
        return CONFIG_ERR_NOMEM;
    }

    memset(seen, 0, sizeof(seen));

    p = (len > 0) ? text : "";
    end = p + len;
    line = 0;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
    }

    for ( /* void */ ; p < end; p = eol + 1) {
        line++;

        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }

        ve = eol;
        if (ve > p && ve[-1] == '\r') {
            ve--;
        }

        for (ks = p; ks < ve && (*ks == ' ' || *ks == '\t'); ks++) {
            /* void */
        }

        if (ks == ve || *ks == '#') {
            continue;
        }

        eq = memchr(ks, '=', (size_t) (ve - ks));
        if (eq == NULL) {
            /* the line is not echoed: it may be a pasted secret */
            config_err(err, errlen, "%s:%u: expected \"key = value\"",
                       name, line);
            rc = CONFIG_ERR_SYNTAX;
            goto failed;
        }

        for (ke = eq; ke > ks && (ke[-1] == ' ' || ke[-1] == '\t'); ke--) {
            /* void */
        }

        klen = (size_t) (ke - ks);
        if (klen == 0) {
            config_err(err, errlen, "%s:%u: missing key before '='",
                       name, line);
            rc = CONFIG_ERR_SYNTAX;
            goto failed;
        }

        k = NULL;
        if (klen < sizeof(keybuf)) {
            memcpy(keybuf, ks, klen);
            keybuf[klen] = '\0';
            k = config_key_find(keybuf);
        }

        if (k == NULL) {
            config_echo(ks, klen, echo, sizeof(echo));
            config_err(err, errlen, "%s:%u: unknown key '%s'",
                       name, line, echo);
            rc = CONFIG_ERR_UNKNOWN;
            goto failed;
        }

        i = (size_t) (k - config_table);
        if (seen[i] != 0) {
            config_err(err, errlen, "%s:%u: duplicate key '%s' (first set"
                       " on line %u)", name, line, k->name, seen[i]);
            rc = CONFIG_ERR_DUPLICATE;
            goto failed;
        }
        seen[i] = line;

        for (vs = eq + 1; vs < ve && (*vs == ' ' || *vs == '\t'); vs++) {
            /* void */
        }

        if (config_unquote(vs, ve, val, &vlen, &reason) != 0) {
            config_err(err, errlen, "%s:%u: %s: %s", name, line, k->name,
                       reason);
            rc = CONFIG_ERR_SYNTAX;
            goto failed;
        }

        rc = config_set(k, val, &tmp, why, sizeof(why));
        if (rc == CONFIG_ERR_NOMEM) {
            config_err(err, errlen, "%s:%u: %s: out of memory",
                       name, line, k->name);
            goto failed;
        }

        if (rc != CONFIG_OK) {
            if ((k->flags & CONFIG_F_SECRET)
                || k->type == CONFIG_T_SECRET_PATH)
            {
                config_err(err, errlen, "%s:%u: bad value for %s (not"
                           " shown): expected %s", name, line, k->name, why);

            } else {
                config_echo(val, vlen, echo, sizeof(echo));
                config_err(err, errlen, "%s:%u: bad value for %s '%s':"
                           " expected %s", name, line, k->name, echo, why);
            }
            goto failed;
        }
    }

    explicit_bzero(val, len + 1);
    free(val);

    *cfg = tmp;
    return CONFIG_OK;

failed:

    explicit_bzero(val, len + 1);
    free(val);
    config_free(&tmp);

    return rc;
}


int
config_load(const char *path, hubgate_config_t *cfg, char *err,
    size_t errlen)
{
    char    *buf, ebuf[128];
    size_t   n, cap;
    int      rc, e;
    FILE    *f;

    if (path == NULL || cfg == NULL) {
        config_err(err, errlen, "config_load: NULL argument");
        return CONFIG_ERR_ARG;
    }

    f = fopen(path, "re");
    if (f == NULL) {
        e = errno;
        config_err(err, errlen, "%s: cannot open: %s", path,
                   strerror_r(e, ebuf, sizeof(ebuf)));
        return CONFIG_ERR_IO;
    }

    cap = CONFIG_FILE_MAX + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        config_err(err, errlen, "%s: out of memory", path);
        return CONFIG_ERR_NOMEM;
    }

    n = fread(buf, 1, cap, f);

    if (ferror(f)) {
        e = errno;
        fclose(f);
        free(buf);
        config_err(err, errlen, "%s: cannot read: %s", path,
                   strerror_r(e, ebuf, sizeof(ebuf)));
        return CONFIG_ERR_IO;
    }

    fclose(f);

    if (n > CONFIG_FILE_MAX) {
        free(buf);
        config_err(err, errlen, "%s: larger than %d bytes", path,
                   CONFIG_FILE_MAX);
        return CONFIG_ERR_IO;
    }

    rc = config_parse_buffer(buf, n, path, cfg, err, errlen);

    explicit_bzero(buf, n);
    free(buf);

    return rc;
}


int
config_value_equal(const config_key_t *k, const hubgate_config_t *a,
    const hubgate_config_t *b)
{
    const char  *pa, *pb;

    pa = (const char *) a + k->offset;
    pb = (const char *) b + k->offset;

    switch (k->type) {

    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
        return *(const int64_t *) (const void *) pa
               == *(const int64_t *) (const void *) pb;

    case CONFIG_T_INT:
    case CONFIG_T_MODE:
    case CONFIG_T_BOOL:
    case CONFIG_T_ENUM:
        return *(const int *) (const void *) pa
               == *(const int *) (const void *) pb;

    default:
        pa = *(char *const *) (const void *) pa;
        pb = *(char *const *) (const void *) pb;
        if (pa == NULL || pb == NULL) {
            return pa == pb;
        }
        return strcmp(pa, pb) == 0;
    }
}


int
config_reload_check(const hubgate_config_t *old,
    const hubgate_config_t *new, char *msg, size_t msglen)
{
    size_t  i, n;
    int     changed;

    if (old == NULL || new == NULL) {
        config_err(msg, msglen, "config_reload_check: NULL argument");
        return CONFIG_ERR_ARG;
    }

    changed = 0;
    n = 0;

    for (i = 0; i < CONFIG_NKEYS; i++) {
        const config_key_t  *k = &config_table[i];

        if ((k->flags & CONFIG_F_RELOAD) || config_value_equal(k, old, new))
        {
            continue;
        }

        if (msg != NULL && msglen > 0 && n < msglen) {
            n += (size_t) snprintf(msg + n, msglen - n, "%s%s",
                                   changed ? ", " : "", k->name);
        }
        changed++;
    }

    if (changed > 0 && msg != NULL && msglen > 0 && n < msglen) {
        snprintf(msg + n, msglen - n, " changed; restart hubgated to apply"
                 " %s (keeping the running value%s)",
                 changed > 1 ? "them" : "it", changed > 1 ? "s" : "");
    }

    return changed;
}


int
config_reload_keep(const hubgate_config_t *old, hubgate_config_t *new)
{
    char              *copies[CONFIG_NKEYS];
    size_t             i;
    const char        *s;

    if (old == NULL || new == NULL) {
        return CONFIG_ERR_ARG;
    }

    /* copy the strings first, so a failure leaves *new unchanged */
    for (i = 0; i < CONFIG_NKEYS; i++) {
        const config_key_t  *k = &config_table[i];

        copies[i] = NULL;

        if ((k->flags & CONFIG_F_RELOAD)
            || (k->type != CONFIG_T_STRING && k->type != CONFIG_T_PATH
                && k->type != CONFIG_T_SECRET_PATH))
        {
            continue;
        }

        s = *(char *const *) (const void *) ((const char *) old + k->offset);
        if (s != NULL && (copies[i] = strdup(s)) == NULL) {
            while (i-- > 0) {
                free(copies[i]);
            }
            return CONFIG_ERR_NOMEM;
        }
    }

    for (i = 0; i < CONFIG_NKEYS; i++) {
        const config_key_t  *k = &config_table[i];
        char                *dst = (char *) new + k->offset;
        const char          *src = (const char *) old + k->offset;

        if (k->flags & CONFIG_F_RELOAD) {
            continue;
        }

        switch (k->type) {

        case CONFIG_T_DURATION:
        case CONFIG_T_SIZE:
            memcpy(dst, src, sizeof(int64_t));
            break;

        case CONFIG_T_INT:
        case CONFIG_T_MODE:
        case CONFIG_T_BOOL:
        case CONFIG_T_ENUM:
            memcpy(dst, src, sizeof(int));
            break;

        default:
            if (k->flags & CONFIG_F_SECRET) {
                config_wipe_free(*(char **) (void *) dst);
            } else {
                free(*(char **) (void *) dst);
            }
            *(char **) (void *) dst = copies[i];
            break;
        }
    }

    return CONFIG_OK;
}


/*
 * A copy of a libpq conninfo with passwords replaced by "***": the
 * password of a URI's userinfo and every "password=" value (key=value
 * form, or a URI query parameter).  Owned by the caller.
 */
static char *
config_redact(const char *v)
{
    char        *out, *o;
    const char  *p, *auth, *at, *colon, *aend;
    size_t       len;

    len = strlen(v);
    /*
     * Each "***" may replace an empty value: +3 bytes per replacement, and
     * every replacement but the userinfo one consumes "password=".
     */
    out = malloc(2 * len + 8);
    if (out == NULL) {
        return NULL;
    }

    o = out;
    p = v;

    auth = NULL;
    if (strncmp(v, "postgresql://", 13) == 0) {
        auth = v + 13;
    } else if (strncmp(v, "postgres://", 11) == 0) {
        auth = v + 11;
    }

    if (auth != NULL) {
        aend = auth + strcspn(auth, "/?#");
        at = NULL;
        for (p = auth; p < aend; p++) {
            if (*p == '@') {
                at = p;
            }
        }

        colon = (at != NULL) ? memchr(auth, ':', (size_t) (at - auth)) : NULL;

        if (colon != NULL) {
            memcpy(o, v, (size_t) (colon + 1 - v));
            o += colon + 1 - v;
            memcpy(o, "***", 3);
            o += 3;
            p = at;

        } else {
            p = v;
        }
    }

    while (*p != '\0') {
        if (strncasecmp(p, "password", 8) == 0
            && (p == v || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '?'
                || p[-1] == '&'))
        {
            const char  *q = p + 8;

            while (*q == ' ' || *q == '\t') {
                q++;
            }

            if (*q == '=') {
                q++;
                while (*q == ' ' || *q == '\t') {
                    q++;
                }

                memcpy(o, p, (size_t) (q - p));
                o += q - p;

                if (*q == '\'') {
                    for (q++; *q != '\0' && *q != '\''; q++) {
                        if (*q == '\\' && q[1] != '\0') {
                            q++;
                        }
                    }
                    if (*q == '\'') {
                        q++;
                    }

                } else {
                    q += strcspn(q, " \t&");
                }

                memcpy(o, "***", 3);
                o += 3;
                p = q;
                continue;
            }
        }

        *o++ = *p++;
    }

    *o = '\0';
    return out;
}


/* the value as config-file text (unquoted); 0, or -1 if out is too small */
static int
config_value_get(const config_key_t *k, const hubgate_config_t *cfg,
    char *out, size_t outlen)
{
    const char  *base = (const char *) cfg + k->offset;
    int          iv;
    int64_t      lv;

    switch (k->type) {

    case CONFIG_T_INT:
        memcpy(&iv, base, sizeof(iv));
        snprintf(out, outlen, "%d", iv);
        return 0;

    case CONFIG_T_MODE:
        memcpy(&iv, base, sizeof(iv));
        snprintf(out, outlen, "%04o", (unsigned) iv);
        return 0;

    case CONFIG_T_BOOL:
        memcpy(&iv, base, sizeof(iv));
        snprintf(out, outlen, "%s", iv ? "on" : "off");
        return 0;

    case CONFIG_T_ENUM:
        memcpy(&iv, base, sizeof(iv));
        snprintf(out, outlen, "%s", k->values[iv]);
        return 0;

    case CONFIG_T_DURATION:
        memcpy(&lv, base, sizeof(lv));
        config_fmt_duration(lv, out, outlen);
        return 0;

    case CONFIG_T_SIZE:
        memcpy(&lv, base, sizeof(lv));
        config_fmt_size(lv, out, outlen);
        return 0;

    default:
        return -1;
    }
}


int
config_dump(const hubgate_config_t *cfg, FILE *out)
{
    char         num[64], *red;
    size_t       i;
    const char  *s, *p;
    int          quote;

    if (cfg == NULL || out == NULL) {
        return CONFIG_ERR_ARG;
    }

    for (i = 0; i < CONFIG_NKEYS; i++) {
        const config_key_t  *k = &config_table[i];

        if (config_value_get(k, cfg, num, sizeof(num)) == 0) {
            fprintf(out, "%s = %s\n", k->name, num);
            continue;
        }

        s = *(char *const *) (const void *) ((const char *) cfg + k->offset);
        if (s == NULL) {
            s = "";
        }

        red = NULL;
        if (k->flags & CONFIG_F_SECRET) {
            red = config_redact(s);
            if (red == NULL) {
                return CONFIG_ERR_NOMEM;
            }
            s = red;

            /* hiding can lengthen it; keep the dump readable back */
            if (strlen(red) >= CONFIG_VALUE_MAX) {
                s = "***";
            }
        }

        quote = (s[0] == '\0' || strpbrk(s, " \t#\"'\\") != NULL);

        fprintf(out, "%s = %s", k->name, quote ? "\"" : "");
        for (p = s; *p != '\0'; p++) {
            if (quote && (*p == '"' || *p == '\\')) {
                fputc('\\', out);
            }
            fputc(*p, out);
        }
        fprintf(out, "%s\n", quote ? "\"" : "");

        if (red != NULL) {
            explicit_bzero(red, strlen(red));
            free(red);
        }
    }

    return ferror(out) ? CONFIG_ERR_IO : CONFIG_OK;
}
