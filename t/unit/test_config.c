
/*
 * config: the key table, hubgated.conf parsing and its errors, defaults,
 * reload checks, dump, and the "every key is documented" check against
 * conf.examples/hubgated.conf (run from the repository root).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"


#define EXAMPLE  "conf.examples/hubgated.conf"

#define HEX_SECRET \
    "8a1f3c5e7d9b2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809"


/* parses a NUL-terminated text; *cfg is freed by the caller on success */
static int
parse(const char *text, hubgate_config_t *cfg, char *err, size_t errlen)
{
    return config_parse_buffer(text, strlen(text), "t.conf", cfg, err,
                               errlen);
}


/* the text fails with rc and a message holding every NULL-ended needle */
static void
expect_error(const char *text, int rc, ...)
{
    char              err[512];
    const char       *needle;
    va_list           ap;
    hubgate_config_t  cfg;

    memset(&cfg, 0xa5, sizeof(cfg));
    err[0] = '\0';

    assert_int_equal(parse(text, &cfg, err, sizeof(err)), rc);

    va_start(ap, rc);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(err, needle) == NULL) {
            print_error("message '%s' lacks '%s'\n", err, needle);
            fail();
        }
    }
    va_end(ap);

    /* failure leaves *cfg untouched: a bad reload keeps the old config */
    {
        hubgate_config_t  ref;

        memset(&ref, 0xa5, sizeof(ref));
        assert_memory_equal(&cfg, &ref, sizeof(cfg));
    }
}


static char *
read_all(const char *path)
{
    char    *buf;
    long     n;
    FILE    *f;

    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t) n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);

    return buf;
}


static void
test_table(void **state)
{
    size_t               n, i, j;
    const config_key_t  *keys;
    const char          *restart[] = {
        "listen", "database_pool_size", "kek_file", "worker_threads",
        "test_clock"
    };

    keys = config_keys(&n);
    assert_int_equal(n, 37);

    for (i = 0; i < n; i++) {
        assert_non_null(keys[i].def);
        assert_non_null(keys[i].doc);
        assert_null(strchr(keys[i].doc, '\n'));
        assert_ptr_equal(config_key_find(keys[i].name), &keys[i]);

        if (keys[i].type == CONFIG_T_ENUM) {
            assert_non_null(keys[i].values);
        }

        for (j = 0; j < i; j++) {
            assert_string_not_equal(keys[i].name, keys[j].name);
            assert_int_not_equal(keys[i].offset, keys[j].offset);
        }

        /* non-reloadable exactly where the contract says, with the why */
        for (j = 0; j < 5; j++) {
            if (strcmp(keys[i].name, restart[j]) == 0) {
                break;
            }
        }
        assert_int_equal(!(keys[i].flags & CONFIG_F_RELOAD), j < 5);
        if (j < 5) {
            assert_non_null(strstr(keys[i].doc, "restart to change"));
        }
    }

    assert_null(config_key_find("nope"));
    assert_null(config_key_find(NULL));
    assert_int_equal(config_key_find("database_url")->flags
                     & CONFIG_F_SECRET, CONFIG_F_SECRET);
}


static void
test_defaults(void **state)
{
    char              err[256];
    hubgate_config_t  cfg, def;

    assert_int_equal(config_parse_buffer(NULL, 0, NULL, &cfg, err,
                                         sizeof(err)), CONFIG_OK);
    assert_int_equal(config_defaults(&def, err, sizeof(err)), CONFIG_OK);

    assert_string_equal(cfg.listen, "/run/hubgate/hubgated.sock");
    assert_int_equal(cfg.listen_mode, 0660);
    assert_string_equal(cfg.database_url, "dbname=hubgate");
    assert_int_equal(cfg.database_pool_size, 8);
    assert_string_equal(cfg.redis_address, "127.0.0.1:6379");
    assert_int_equal(cfg.log_format, CONFIG_LOG_JSON);
    assert_int_equal(cfg.log_level, CONFIG_LOG_INFO);
    assert_string_equal(cfg.kek_file, "/etc/hubgate/kek");
    assert_string_equal(cfg.identity_secret_file,
                        "/etc/hubgate/identity.secret");
    assert_int_equal(cfg.identity_max_age, 5000);
    assert_string_equal(cfg.token_signing_key_file,
                        "/etc/hubgate/token-signing.pem");
    assert_string_equal(cfg.token_issuer, "hubgate");
    assert_string_equal(cfg.token_audience, "hubgate-api");
    assert_int_equal(cfg.request_body_limit, 1024 * 1024);
    assert_int_equal(cfg.worker_threads, 4);
    assert_int_equal(cfg.shutdown_timeout, 30000);
    assert_string_equal(cfg.oauth_redirect_uri, "");
    assert_string_equal(cfg.public_base_url, "http://localhost:8080");
    assert_int_equal(cfg.test_clock, 0);
    assert_int_equal(cfg.metrics, 1);

    assert_int_equal(config_reload_check(&cfg, &def, NULL, 0), 0);

    /* a file that sets some keys keeps the defaults of the others */
    config_free(&cfg);
    assert_int_equal(parse("# only one key\n\nworker_threads = 16\n", &cfg,
                           err, sizeof(err)), CONFIG_OK);
    assert_int_equal(cfg.worker_threads, 16);
    assert_int_equal(cfg.database_pool_size, 8);
    assert_string_equal(cfg.listen, def.listen);

    config_free(&cfg);
    config_free(&def);
    config_free(NULL);

    assert_null(cfg.listen);
}


static void
test_example_parses(void **state)
{
    char              err[512];
    hubgate_config_t  cfg;

    err[0] = '\0';
    if (config_load(EXAMPLE, &cfg, err, sizeof(err)) != CONFIG_OK) {
        print_error("%s\n", err);
        fail();
    }

    assert_string_equal(cfg.database_url, "host=/run/postgresql"
                        " dbname=hubgate user=hubgate_app"
                        " application_name=hubgated");
    assert_string_equal(cfg.public_base_url, "https://hubgate.example.com");
    assert_string_equal(cfg.oauth_redirect_uri, "");
    assert_int_equal(cfg.test_clock, 0);

    config_free(&cfg);
}


/*
 * The "undocumented key" check: every key in the table is set in the
 * example once, every key set there is in the table, and the comment block
 * above each key states its default and, for keys read only at start,
 * says to restart (and only for those).
 */
static void
test_example_documents_every_key(void **state)
{
    char                *text, *header, *line, *next, *eq, *block, *p;
    char                 want[256];
    size_t               n, i, blen;
    unsigned             found[64];
    const config_key_t  *keys, *k;

    keys = config_keys(&n);
    assert_true(n <= 64);
    memset(found, 0, sizeof(found));

    text = read_all(EXAMPLE);
    header = strdup(text);
    assert_non_null(header);
    p = strstr(header, "\n## ");
    assert_non_null(p);
    *p = '\0';

    block = calloc(1, strlen(text) + 1);
    assert_non_null(block);
    blen = 0;

    for (line = text; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }

        if (line[0] == '#') {
            memcpy(block + blen, line, strlen(line));
            blen += strlen(line);
            block[blen++] = '\n';
            block[blen] = '\0';
            continue;
        }

        if (line[0] == '\0') {
            blen = 0;
            block[0] = '\0';
            continue;
        }

        eq = strchr(line, '=');
        assert_non_null(eq);
        for (p = eq; p > line && p[-1] == ' '; p--) {
            /* void */
        }
        *p = '\0';

        k = config_key_find(line);
        if (k == NULL) {
            print_error("%s sets '%s', which is not in the key table\n",
                        EXAMPLE, line);
            fail();
        }

        found[k - keys]++;

        snprintf(want, sizeof(want), "(default: %s)",
                 k->def[0] != '\0' ? k->def : "\"\"");
        if (strstr(block, want) == NULL) {
            print_error("%s: the comment above '%s' lacks '%s'\n",
                        EXAMPLE, k->name, want);
            fail();
        }

        for (p = block; *p != '\0'; p++) {
            *p = (*p >= 'A' && *p <= 'Z') ? (char) (*p + 32) : *p;
        }
        if ((strstr(block, "restart") != NULL)
            != !(k->flags & CONFIG_F_RELOAD))
        {
            print_error("%s: the comment above '%s' must say 'restart' iff"
                        " the key does not reload\n", EXAMPLE, k->name);
            fail();
        }

        /* ... and the header lists it among the keys read at start */
        if (!(k->flags & CONFIG_F_RELOAD)
            && strstr(header, k->name) == NULL)
        {
            print_error("%s: the header does not list '%s' among the keys"
                        " read only at start\n", EXAMPLE, k->name);
            fail();
        }
    }

    for (i = 0; i < n; i++) {
        if (found[i] != 1) {
            print_error("%s documents '%s' %u times, not once\n", EXAMPLE,
                        keys[i].name, found[i]);
            fail();
        }
    }

    free(block);
    free(header);
    free(text);
}


static void
test_err_missing_file(void **state)
{
    char              err[256];
    hubgate_config_t  cfg;

    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(config_load("/nonexistent/hubgated.conf", &cfg, err,
                                 sizeof(err)), CONFIG_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/hubgated.conf"));
    assert_non_null(strstr(err, "No such file"));
    assert_null(cfg.listen);

    assert_int_equal(config_load("/", &cfg, err, sizeof(err)),
                     CONFIG_ERR_IO);
    assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)),
                     CONFIG_ERR_ARG);
    assert_int_equal(config_load(EXAMPLE, NULL, err, sizeof(err)),
                     CONFIG_ERR_ARG);
    assert_int_equal(config_load("/nonexistent", &cfg, NULL, 0),
                     CONFIG_ERR_IO);
}


static void
test_err_unknown(void **state)
{
    expect_error("listen = /run/h.sock\n\n# x\nlog_levle = info\n",
                 CONFIG_ERR_UNKNOWN, "t.conf:4:", "unknown key 'log_levle'",
                 NULL);
    expect_error("Listen = /run/h.sock\n", CONFIG_ERR_UNKNOWN,
                 "t.conf:1:", "'Listen'", NULL);
    expect_error("worker threads = 4\n", CONFIG_ERR_UNKNOWN,
                 "'worker threads'", NULL);
}


static void
test_err_duplicate(void **state)
{
    expect_error("metrics = on\nlog_level = info\nmetrics = off\n",
                 CONFIG_ERR_DUPLICATE, "t.conf:3:",
                 "duplicate key 'metrics'", "first set on line 1", NULL);
}


static void
test_err_syntax(void **state)
{
    char              err[256];
    hubgate_config_t  cfg;

    expect_error("metrics = on\njust words\n", CONFIG_ERR_SYNTAX,
                 "t.conf:2:", "key = value", NULL);
    expect_error(" = on\n", CONFIG_ERR_SYNTAX, "t.conf:1:", "missing key",
                 NULL);
    expect_error("token_issuer = \"abc\n", CONFIG_ERR_SYNTAX,
                 "t.conf:1:", "token_issuer", "unterminated quote", NULL);
    expect_error("token_issuer = 'abc\" \n", CONFIG_ERR_SYNTAX,
                 "unterminated quote", NULL);
    expect_error("token_issuer = \"a\" b\n", CONFIG_ERR_SYNTAX,
                 "token_issuer", "after the closing quote", NULL);

    assert_int_equal(config_parse_buffer("metrics = on\nx\0y", 16, "t.conf",
                                         &cfg, err, sizeof(err)),
                     CONFIG_ERR_SYNTAX);
    assert_non_null(strstr(err, "t.conf:2: NUL byte"));

    assert_int_equal(config_parse_buffer("x", 1, "t", NULL, err,
                                         sizeof(err)), CONFIG_ERR_ARG);
    assert_int_equal(config_parse_buffer(NULL, 1, "t", &cfg, err,
                                         sizeof(err)), CONFIG_ERR_ARG);
}


static void
test_err_value(void **state)
{
    expect_error("\ndatabase_pool_size = 65\n", CONFIG_ERR_VALUE,
                 "t.conf:2:", "bad value for database_pool_size '65'",
                 "an integer 1..64", NULL);
    expect_error("worker_threads = 0\n", CONFIG_ERR_VALUE,
                 "worker_threads '0'", "1..64", NULL);
    expect_error("worker_threads = four\n", CONFIG_ERR_VALUE, "'four'",
                 NULL);
    expect_error("worker_threads = 99999999999999999999999\n",
                 CONFIG_ERR_VALUE, "1..64", NULL);
    expect_error("worker_threads =\n", CONFIG_ERR_VALUE, "worker_threads ''",
                 NULL);
    expect_error("log_format = xml\n", CONFIG_ERR_VALUE,
                 "log_format 'xml'", "one of json|text", NULL);
    expect_error("log_level = trace\n", CONFIG_ERR_VALUE,
                 "one of debug|info|warn|error", NULL);
    expect_error("metrics = maybe\n", CONFIG_ERR_VALUE, "metrics 'maybe'",
                 "on|off", NULL);
    expect_error("listen_mode = 0999\n", CONFIG_ERR_VALUE, "'0999'",
                 "octal file mode", NULL);
    expect_error("listen_mode = 660\n", CONFIG_ERR_VALUE, "'660'", NULL);
    expect_error("listen_mode = 04755\n", CONFIG_ERR_VALUE, NULL);
    expect_error("identity_max_age = 5\n", CONFIG_ERR_VALUE,
                 "identity_max_age '5'", "a duration 1s..5m", NULL);
    expect_error("identity_max_age = 10m\n", CONFIG_ERR_VALUE, "1s..5m",
                 NULL);
    expect_error("shutdown_timeout = 30 s\n", CONFIG_ERR_VALUE, "0s..1h",
                 NULL);
    expect_error("shutdown_timeout = 99999999999999999999d\n",
                 CONFIG_ERR_VALUE, NULL);
    expect_error("request_body_limit = 100g\n", CONFIG_ERR_VALUE,
                 "request_body_limit '100g'", "a size 1k..64m", NULL);
    expect_error("request_body_limit = 1t\n", CONFIG_ERR_VALUE, NULL);
    expect_error("request_body_limit = 100\n", CONFIG_ERR_VALUE, NULL);
    expect_error("listen = hubgated.sock\n", CONFIG_ERR_VALUE,
                 "'hubgated.sock'", "absolute Unix socket path", NULL);
    expect_error("listen = /run/hubgate/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaa.sock\n", CONFIG_ERR_VALUE, "107 bytes", NULL);
    expect_error("redis_address = localhost\n", CONFIG_ERR_VALUE,
                 "'localhost'", "host:port", NULL);
    expect_error("redis_address = h:70000\n", CONFIG_ERR_VALUE, NULL);
    expect_error("redis_address = [::1:6379\n", CONFIG_ERR_VALUE, NULL);
    expect_error("public_base_url = ftp://x\n", CONFIG_ERR_VALUE,
                 "'ftp://x'", "http:// or https://", NULL);
    expect_error("public_base_url = https://\n", CONFIG_ERR_VALUE, NULL);
    expect_error("oauth_redirect_uri = /callback\n", CONFIG_ERR_VALUE,
                 NULL);
    expect_error("token_issuer = \"\"\n", CONFIG_ERR_VALUE,
                 "non-empty", NULL);
    expect_error("token_issuer = a\tb\n", CONFIG_ERR_VALUE,
                 "control characters", NULL);
    expect_error("kek_file = kek\n", CONFIG_ERR_VALUE,
                 "kek_file (not shown)", "with a '/'", NULL);
}


/* a pasted secret never reaches an error message */
static void
test_err_secret_not_echoed(void **state)
{
    char              err[512];
    size_t            i;
    hubgate_config_t  cfg;
    const char       *texts[] = {
        "kek_file = " HEX_SECRET "\n",
        "identity_secret_file = '" HEX_SECRET "'\n",
        "token_signing_key_file = \"" HEX_SECRET "\"\n",
        "database_url = \"host=db password=" HEX_SECRET "\x01\"\n",
        "database_url = \"\"\n",
        HEX_SECRET "\n",
        "kek_file = \"" HEX_SECRET "\n",
    };

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        err[0] = '\0';
        assert_int_not_equal(parse(texts[i], &cfg, err, sizeof(err)),
                             CONFIG_OK);
        assert_true(err[0] != '\0');
        assert_null(strstr(err, "8a1f3c5e"));
    }
}


static void
test_values(void **state)
{
    char              err[512];
    hubgate_config_t  cfg;
    const char       *text =
        "\xef\xbb\xbf"
        "  database_url   =   \"host=db password='p w' options='-c x=y'\"  "
        "# comment\r\n"
        "\ttoken_issuer\t=\ta=b=c   \n"
        "token_audience = \"say \\\"hi\\\" \\\\ \\n\"\n"
        "public_base_url = https://h.example/p?a=b#frag  # trailing note\n"
        "oauth_redirect_uri = 'https://h.example/cb?x=#y'\n"
        "redis_address = [::1]:6380\n"
        "kek_file = ./var/kek\n"
        "identity_secret_file = /etc/hubgate/id secret\n"
        "listen_mode = 0600\n"
        "log_level = WARN\n"
        "metrics = no\n"
        "test_clock = true\n"
        "identity_max_age = 1m30s\n"
        "shutdown_timeout = 0s\n"
        "request_body_limit = 65536\n"
        "worker_threads = +2\n"
        "log_format = text";

    if (parse(text, &cfg, err, sizeof(err)) != CONFIG_OK) {
        print_error("%s\n", err);
        fail();
    }

    assert_string_equal(cfg.database_url,
                        "host=db password='p w' options='-c x=y'");
    assert_string_equal(cfg.token_issuer, "a=b=c");
    assert_string_equal(cfg.token_audience, "say \"hi\" \\ \\n");
    assert_string_equal(cfg.public_base_url, "https://h.example/p?a=b#frag");
    assert_string_equal(cfg.oauth_redirect_uri, "https://h.example/cb?x=#y");
    assert_string_equal(cfg.redis_address, "[::1]:6380");
    assert_string_equal(cfg.kek_file, "./var/kek");
    assert_string_equal(cfg.identity_secret_file, "/etc/hubgate/id secret");
    assert_int_equal(cfg.listen_mode, 0600);
    assert_int_equal(cfg.log_level, CONFIG_LOG_WARN);
    assert_int_equal(cfg.metrics, 0);
    assert_int_equal(cfg.test_clock, 1);
    assert_int_equal(cfg.identity_max_age, 90000);
    assert_int_equal(cfg.shutdown_timeout, 0);
    assert_int_equal(cfg.request_body_limit, 65536);
    assert_int_equal(cfg.worker_threads, 2);
    assert_int_equal(cfg.log_format, CONFIG_LOG_TEXT);

    config_free(&cfg);

    assert_int_equal(parse("identity_max_age = 1500ms\n"
                           "request_body_limit = 64M\n"
                           "redis_address = /run/redis/redis.sock\n"
                           "token_issuer = x#y\n"
                           "token_audience = x #y\n", &cfg, err,
                           sizeof(err)), CONFIG_OK);
    assert_int_equal(cfg.identity_max_age, 1500);
    assert_int_equal(cfg.request_body_limit, 64 * 1024 * 1024);
    assert_string_equal(cfg.redis_address, "/run/redis/redis.sock");
    assert_string_equal(cfg.token_issuer, "x#y");
    assert_string_equal(cfg.token_audience, "x");
    config_free(&cfg);
}


static void
test_reload_check(void **state)
{
    char              msg[256];
    hubgate_config_t  old, new;

    assert_int_equal(parse("worker_threads = 4\nlog_level = info\n", &old,
                           msg, sizeof(msg)), CONFIG_OK);

    /* reloadable keys change freely */
    assert_int_equal(parse("worker_threads = 4\nlog_level = debug\n"
                           "listen_mode = 0600\nmetrics = off\n"
                           "identity_secret_file = /etc/hubgate/id2\n",
                           &new, msg, sizeof(msg)), CONFIG_OK);
    msg[0] = '\0';
    assert_int_equal(config_reload_check(&old, &new, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "");
    config_free(&new);

    /* one non-reloadable key */
    assert_int_equal(parse("worker_threads = 8\nlog_level = debug\n", &new,
                           msg, sizeof(msg)), CONFIG_OK);
    assert_int_equal(config_reload_check(&old, &new, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "worker_threads changed; restart hubgated to"
                        " apply it (keeping the running value)");
    config_free(&new);

    /* several; the daemon keeps their old values and applies the rest */
    assert_int_equal(parse("listen = /tmp/h.sock\nkek_file = /k/kek2\n"
                           "database_pool_size = 2\nworker_threads = 9\n"
                           "log_level = error\n", &new, msg, sizeof(msg)),
                     CONFIG_OK);
    assert_int_equal(config_reload_check(&old, &new, msg, sizeof(msg)), 4);
    assert_non_null(strstr(msg, "listen, database_pool_size, kek_file,"
                                " worker_threads changed"));
    assert_null(strstr(msg, "/k/kek2"));

    assert_int_equal(config_reload_check(&old, &new, msg, 8), 4);
    assert_int_equal(strlen(msg), 7);
    assert_int_equal(config_reload_check(&old, &new, NULL, 0), 4);

    assert_int_equal(config_reload_keep(&old, &new), CONFIG_OK);
    assert_int_equal(config_reload_check(&old, &new, msg, sizeof(msg)), 0);
    assert_string_equal(new.listen, "/run/hubgate/hubgated.sock");
    assert_string_equal(new.kek_file, "/etc/hubgate/kek");
    assert_int_equal(new.worker_threads, 4);
    assert_int_equal(new.database_pool_size, 8);
    assert_int_equal(new.log_level, CONFIG_LOG_ERROR);

    assert_int_equal(config_reload_check(NULL, &new, msg, sizeof(msg)),
                     CONFIG_ERR_ARG);
    assert_int_equal(config_reload_keep(&old, NULL), CONFIG_ERR_ARG);

    config_free(&new);
    config_free(&old);
}


static char *
dump(const hubgate_config_t *cfg)
{
    char    *buf;
    size_t   len;
    FILE    *f;

    f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(config_dump(cfg, f), CONFIG_OK);
    fclose(f);

    return buf;
}


static void
test_dump(void **state)
{
    char                *out;
    char                 err[256];
    size_t               n, i;
    const config_key_t  *keys;
    hubgate_config_t     cfg, back;

    keys = config_keys(&n);

    /* round trip, including values that need quoting */
    assert_int_equal(parse("token_issuer = \"a \\\"b\\\" #c\\\\\"\n"
                           "token_audience = it's\n"
                           "oauth_redirect_uri = https://x/cb#f\n"
                           "identity_max_age = 1m30s\n"
                           "shutdown_timeout = 0s\n"
                           "request_body_limit = 1500\n"
                           "listen_mode = 0600\n"
                           "kek_file = /etc/hubgate/kek.v2\n", &cfg,
                           err, sizeof(err)), CONFIG_OK);
    out = dump(&cfg);

    assert_non_null(strstr(out, "listen = /run/hubgate/hubgated.sock\n"));
    assert_non_null(strstr(out, "listen_mode = 0600\n"));
    assert_non_null(strstr(out, "kek_file = /etc/hubgate/kek.v2\n"));
    assert_non_null(strstr(out, "identity_max_age = 90s\n"));
    assert_non_null(strstr(out, "request_body_limit = 1500\n"));
    assert_non_null(strstr(out, "oauth_redirect_uri = \"https://x/cb#f\"\n"));
    assert_non_null(strstr(out, "metrics = on\n"));

    if (parse(out, &back, err, sizeof(err)) != CONFIG_OK) {
        print_error("%s\n%s\n", out, err);
        fail();
    }
    for (i = 0; i < n; i++) {
        if (!config_value_equal(&keys[i], &cfg, &back)) {
            print_error("%s differs after a round trip\n", keys[i].name);
            fail();
        }
    }
    free(out);
    config_free(&back);
    config_free(&cfg);

    /* passwords in database_url are hidden; the rest is shown */
    {
        const char  *cases[][2] = {
            { "host=db user=u password=s3cr3t dbname=x",
              "database_url = \"host=db user=u password=*** dbname=x\"\n" },
            { "host=db password = 's3 \\' cr3t' dbname=x",
              "database_url = \"host=db password = *** dbname=x\"\n" },
            { "postgresql://u:s3cr3t@db:5432/x?sslmode=require",
              "database_url = postgresql://u:***@db:5432/x?sslmode=require\n"
            },
            { "postgres://u@db/x?password=s3cr3t&sslmode=require",
              "database_url = postgres://u@db/x?password=***"
              "&sslmode=require\n" },
            { "postgresql://db/x", "database_url = postgresql://db/x\n" },
            { "password=", "database_url = password=***\n" },
        };
        char  text[256];

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            snprintf(text, sizeof(text), "database_url = \"%s\"\n",
                     cases[i][0]);
            /* the quoted form needs \' and \\ as they are: use '...' */
            if (strchr(cases[i][0], '\\') != NULL) {
                snprintf(text, sizeof(text), "database_url = %s\n",
                         cases[i][0]);
            }
            if (parse(text, &cfg, err, sizeof(err)) != CONFIG_OK) {
                print_error("%s: %s\n", text, err);
                fail();
            }
            out = dump(&cfg);
            if (strstr(out, cases[i][1]) == NULL) {
                print_error("dump of '%s':\n%s", cases[i][0], out);
                fail();
            }
            assert_null(strstr(out, "s3cr3t"));
            free(out);
            config_free(&cfg);
        }
    }

    assert_int_equal(config_dump(NULL, stdout), CONFIG_ERR_ARG);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_example_parses),
        cmocka_unit_test(test_example_documents_every_key),
        cmocka_unit_test(test_err_missing_file),
        cmocka_unit_test(test_err_unknown),
        cmocka_unit_test(test_err_duplicate),
        cmocka_unit_test(test_err_syntax),
        cmocka_unit_test(test_err_value),
        cmocka_unit_test(test_err_secret_not_echoed),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_reload_check),
        cmocka_unit_test(test_dump),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
