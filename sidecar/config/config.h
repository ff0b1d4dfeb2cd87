
/*
 * hubgated: configuration core (DESIGN §4, hubgated.conf).
 *
 * Pure C: no global mutable state, no printing (config_dump writes to the
 * FILE it is given), so unit tests and fuzzers link this file alone.
 *
 * One declarative table (config_keys()) names every key: its type, its
 * default in config-file syntax, whether SIGHUP may change it, where it
 * lives in hubgate_config_t, and a one-line doc.  Defaults go through the
 * same parser as the file, so a default is always a valid value.
 *
 * File syntax
 *   key = value            one per line; blanks around key and value are
 *                          trimmed; the value may hold '=' and spaces
 *   # comment              a line whose first non-blank is '#'
 *   key = value  # note    an unquoted value ends at a '#' that follows a
 *                          blank; quote values that need " #"
 *   key = "a b # c"        double quotes: \" and \\ are escapes, any other
 *                          backslash is literal; single quotes: literal
 *   A key may appear once; unknown keys are errors; a leading UTF-8 BOM and
 *   CR before LF are ignored; NUL bytes and control characters in values
 *   are errors.
 *
 * Types
 *   string, path          text; a path is a file name, not a secret
 *   secret-path           the path of a file that holds a secret; it must
 *                         contain a '/' (so a pasted secret is refused) and
 *                         is never echoed in an error
 *   int                   decimal within [min, max]
 *   mode                  octal file mode 0000..0777 (e.g. 0660)
 *   bool                  on|off, true|false, yes|no, 1|0
 *   duration              <n><unit>... with units ms s m h d, e.g. 5s,
 *                         1m30s; stored in milliseconds
 *   size                  <n>[k|m|g] (binary: 1k = 1024); stored in bytes
 *   enum                  one of the listed words; stored as its index
 *   Keys flagged CONFIG_F_SECRET (database_url: a conninfo may carry a
 *   password) are never echoed in errors, and config_dump hides passwords.
 *
 * Return contract: int functions return CONFIG_OK (0) or a negative
 * config_rc_e, except config_reload_check (a count).  If err is not NULL
 * and errlen > 0, a failing call writes a NUL-terminated one-line message
 * ("<file>:<line>: ...") there and a successful call leaves it untouched.
 * config_load and config_parse_buffer write *cfg only on success; the
 * strings in a hubgate_config_t are owned by it and freed by config_free.
 */

#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


typedef enum {
    CONFIG_OK = 0,
    CONFIG_ERR_ARG = -1,            /* NULL argument */
    CONFIG_ERR_IO = -2,             /* file cannot be opened or read */
    CONFIG_ERR_SYNTAX = -3,         /* no '=', bad quotes, NUL byte */
    CONFIG_ERR_UNKNOWN = -4,        /* key not in the table */
    CONFIG_ERR_DUPLICATE = -5,      /* key given twice */
    CONFIG_ERR_VALUE = -6,          /* value not accepted by the key */
    CONFIG_ERR_NOMEM = -7,
    CONFIG_ERR_MIN = -8
} config_rc_e;


typedef enum {
    CONFIG_T_STRING = 0,
    CONFIG_T_PATH,
    CONFIG_T_SECRET_PATH,
    CONFIG_T_INT,
    CONFIG_T_MODE,
    CONFIG_T_BOOL,
    CONFIG_T_DURATION,
    CONFIG_T_SIZE,
    CONFIG_T_ENUM
} config_type_e;


/* config_key_t.flags */
#define CONFIG_F_RELOAD      0x01   /* SIGHUP may change it */
#define CONFIG_F_SECRET      0x02   /* value never echoed, dump redacts */
#define CONFIG_F_EMPTY       0x04   /* the empty string is allowed */

#define CONFIG_FILE_MAX      (1 << 20)      /* bytes in hubgated.conf */
#define CONFIG_VALUE_MAX     4096           /* bytes in one value */


/* the order of the words in the log_format and log_level tables */
typedef enum {
    CONFIG_LOG_JSON = 0,
    CONFIG_LOG_TEXT
} config_log_format_e;

typedef enum {
    CONFIG_LOG_DEBUG = 0,
    CONFIG_LOG_INFO,
    CONFIG_LOG_WARN,
    CONFIG_LOG_ERROR
} config_log_level_e;


/* The effective configuration; field names are the key names. */
typedef struct {
    char      *listen;
    int        listen_mode;
    char      *database_url;
    char      *admin_database_url;
    int        database_pool_size;
    char      *redis_address;
    int        log_format;                  /* config_log_format_e */
    int        log_level;                   /* config_log_level_e */
    char      *kek_file;
    char      *identity_secret_file;
    int64_t    identity_max_age;            /* ms */
    char      *token_signing_key_file;
    char      *token_issuer;
    char      *token_audience;
    char      *api_prefix;                  /* "" or "/seg[/seg]" */
    int64_t    request_body_limit;          /* bytes */
    int        worker_threads;
    int64_t    shutdown_timeout;            /* ms */
    char      *oauth_redirect_uri;          /* "" = derived, see the doc */
    char      *public_base_url;
    int        test_clock;                  /* bool */
    int64_t    job_lease;                   /* ms */
    int64_t    scheduler_interval;          /* ms */
    int64_t    token_refresh_margin;        /* ms */
    int        sync_page_size;
    int64_t    http_timeout;                /* ms */
    char      *allegro_api_url;
    char      *allegro_auth_url;
    char      *allegro_client_id;
    char      *allegro_client_secret_file;  /* "" = none */
    int        allegro_requests_per_minute;
    char      *stripe_api_url;
    char      *stripe_connect_url;
    char      *stripe_client_id;
    char      *stripe_secret_key_file;      /* "" = none */
    int        stripe_requests_per_second;
    int        metrics;                     /* bool */
} hubgate_config_t;


/* extra validation of a string value; writes what is accepted to why */
typedef int (*config_check_pt)(const char *value, char *why, size_t whylen);

typedef struct {
    const char           *name;
    config_type_e         type;
    const char           *def;          /* in config-file syntax */
    unsigned              flags;        /* CONFIG_F_* */
    size_t                offset;       /* in hubgate_config_t */
    int64_t               min;          /* int, duration (ms), size */
    int64_t               max;
    const char *const    *values;       /* enum: NULL-terminated */
    config_check_pt       check;        /* string types: or NULL */
    const char           *doc;          /* one line */
} config_key_t;


/* The key table (static, read-only) and its length in *n. */
const config_key_t *config_keys(size_t *n);

/* The entry named name, or NULL. */
const config_key_t *config_key_find(const char *name);

/*
 * Fills *cfg with every default.  *cfg is overwritten, not freed first.
 * Errors: CONFIG_ERR_ARG, _NOMEM (then *cfg holds nothing to free).
 */
int config_defaults(hubgate_config_t *cfg, char *err, size_t errlen);

/*
 * Reads the file at path and parses it (config_parse_buffer, with path as
 * the name in messages); absent keys get their defaults.  On success *cfg
 * is overwritten (not freed first) and owned by the caller; on failure it
 * is untouched, which is what keeps the old config on a bad reload.
 * Errors: CONFIG_ERR_ARG, _IO (missing, unreadable, larger than
 * CONFIG_FILE_MAX), and those of config_parse_buffer.
 */
int config_load(const char *path, hubgate_config_t *cfg, char *err,
    size_t errlen);

/*
 * Parses len bytes of text (borrowed; need not be NUL-terminated).  name
 * prefixes messages (NULL: "hubgated.conf").  Errors: CONFIG_ERR_ARG,
 * _SYNTAX, _UNKNOWN, _DUPLICATE, _VALUE, _NOMEM; messages name the line,
 * the key and, for _VALUE, what is accepted.
 */
int config_parse_buffer(const char *text, size_t len, const char *name,
    hubgate_config_t *cfg, char *err, size_t errlen);

/*
 * Compares a running config with a newly loaded one.  Returns the number
 * of keys without CONFIG_F_RELOAD whose values differ (0: the new config
 * applies as it is), or CONFIG_ERR_ARG.  If any differ and msg is not NULL,
 * writes "<key>, <key> changed; restart hubgated to apply them (keeping
 * the running values)".  Values are never written.
 */
int config_reload_check(const hubgate_config_t *old,
    const hubgate_config_t *new, char *msg, size_t msglen);

/*
 * Copies the old values of the keys without CONFIG_F_RELOAD into *new, so
 * the daemon applies the rest of a reload.  Errors: CONFIG_ERR_ARG,
 * _NOMEM (then *new is unchanged).
 */
int config_reload_keep(const hubgate_config_t *old, hubgate_config_t *new);

/* 1 if the key's value is the same in a and b, else 0. */
int config_value_equal(const config_key_t *k, const hubgate_config_t *a,
    const hubgate_config_t *b);

/*
 * Writes the effective config, one "key = value" line per key in table
 * order, in a form config_parse_buffer reads back.  Paths, secret paths
 * included, are shown; a password in a CONFIG_F_SECRET value is replaced
 * by "***".  Returns CONFIG_OK, CONFIG_ERR_ARG or CONFIG_ERR_IO.
 */
int config_dump(const hubgate_config_t *cfg, FILE *out);

/* Frees (wiping secret values) and zeroes *cfg; NULL is allowed. */
void config_free(hubgate_config_t *cfg);


#endif /* CONFIG_H */
