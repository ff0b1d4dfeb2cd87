
/*
 * hubgated: the binary.  One table of subcommands ({words, fn, usage}, as
 * pgbouncer's admin commands); `serve` is the daemon, the others are
 * operator commands that connect as admin_database_url and exit.
 *
 *   hubgated [-c FILE] <command> [arguments]
 *
 * The config file is -c, else $HUBGATED_CONFIG, else
 * /etc/hubgate/hubgated.conf.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "api/api.h"
#include "log.h"
#include "serve.h"
#include "store/db.h"
#include "store/migrate.h"
#include "token.h"
#include "vault/keyring.h"


#define HUBGATED_VERSION  "0.3.0"
#define MAIN_DEFAULT_CONF "/etc/hubgate/hubgated.conf"
#define MAIN_ROLES_MAX    16


typedef int (*main_cmd_pt)(int argc, char **argv);

typedef struct {
    const char   *word1;
    const char   *word2;            /* NULL: a one-word command */
    main_cmd_pt   fn;
    const char   *usage;
} main_cmd_t;


static const char        *main_conf_path;
static hubgate_config_t   main_cfg;


static int main_serve(int argc, char **argv);
static int main_migrate(int argc, char **argv);
static int main_config_check(int argc, char **argv);
static int main_tenant_create(int argc, char **argv);
static int main_tenant_list(int argc, char **argv);
static int main_tenant_delete(int argc, char **argv);
static int main_token_mint(int argc, char **argv);
static int main_token_jwks(int argc, char **argv);
static int main_vault_rotate(int argc, char **argv);
static int main_vault_verify(int argc, char **argv);
static int main_integrations_list(int argc, char **argv);
static int main_routes(int argc, char **argv);
static int main_version(int argc, char **argv);
static void main_usage(FILE *out);
static int main_load_config(void);
static PGconn *main_admin_db(void);
static int main_load_vault(void);
static int main_exec(PGconn *pg, const char *sql, int n,
    const char *const *v, PGresult **out);


static const main_cmd_t  main_cmds[] = {
    { "serve", NULL, main_serve,
      "serve                      run the daemon on the configured socket" },
    { "migrate", NULL, main_migrate,
      "migrate                    apply the schema migrations (idempotent)" },
    { "config", "check", main_config_check,
      "config check               check the file, print the effective"
      " config" },
    { "tenant", "create", main_tenant_create,
      "tenant create SLUG [--name NAME]   new tenant with its data key" },
    { "tenant", "list", main_tenant_list,
      "tenant list                every tenant" },
    { "tenant", "delete", main_tenant_delete,
      "tenant delete SLUG --yes   delete a tenant and destroy its data key" },
    { "token", "mint", main_token_mint,
      "token mint --tenant SLUG [--subject S] [--roles a,b] [--ttl 1h]\n"
      "           [--claim NAME=VALUE]...   a dev JWT signed with"
      " token_signing_key_file" },
    { "token", "jwks", main_token_jwks,
      "token jwks                 the JWKS nginx verifies minted tokens"
      " with" },
    { "vault", "rotate", main_vault_rotate,
      "vault rotate               re-wrap every data key with the current"
      " KEK" },
    { "vault", "verify", main_vault_verify,
      "vault verify               open every sealed credential (audited)" },
    { "integrations", "list", main_integrations_list,
      "integrations list [--tenant SLUG]   integrations of every tenant" },
    { "routes", NULL, main_routes,
      "routes                     the API route table: METHOD PATH AUTH" },
    { "version", NULL, main_version,
      "version                    print the version" },
};

#define MAIN_NCMDS  (sizeof(main_cmds) / sizeof(main_cmds[0]))


int
main(int argc, char **argv)
{
    int                i, skip;
    size_t             k;
    const main_cmd_t  *cmd;

    main_conf_path = getenv("HUBGATED_CONFIG");
    i = 1;

    while (i < argc && argv[i][0] == '-') {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            && i + 1 < argc)
        {
            main_conf_path = argv[i + 1];
            i += 2;
            continue;
        }

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            main_usage(stdout);
            return 0;
        }

        fprintf(stderr, "hubgated: unknown option %s\n", argv[i]);
        main_usage(stderr);
        return 2;
    }

    if (main_conf_path == NULL) {
        main_conf_path = MAIN_DEFAULT_CONF;
    }

    if (i >= argc) {
        main_usage(stderr);
        return 2;
    }

    cmd = NULL;
    skip = 1;

    for (k = 0; k < MAIN_NCMDS; k++) {
        if (strcmp(main_cmds[k].word1, argv[i]) != 0) {
            continue;
        }

        if (main_cmds[k].word2 == NULL) {
            cmd = &main_cmds[k];
            break;
        }

        if (i + 1 < argc && strcmp(main_cmds[k].word2, argv[i + 1]) == 0) {
            cmd = &main_cmds[k];
            skip = 2;
            break;
        }
    }

    if (cmd == NULL) {
        fprintf(stderr, "hubgated: unknown command \"%s%s%s\"\n", argv[i],
                i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
        main_usage(stderr);
        return 2;
    }

    /* getopt_long sees the command's own arguments, with argv[0] first */
    argv[i + skip - 1] = argv[0];
    return cmd->fn(argc - i - skip + 1, argv + i + skip - 1);
}


static void
main_usage(FILE *out)
{
    size_t  k;

    fprintf(out, "usage: hubgated [-c FILE] <command> [arguments]\n\n"
            "FILE: -c, else $HUBGATED_CONFIG, else " MAIN_DEFAULT_CONF "\n\n"
            "commands:\n");

    for (k = 0; k < MAIN_NCMDS; k++) {
        fprintf(out, "  %s\n", main_cmds[k].usage);
    }
}


static int
main_load_config(void)
{
    char  err[1024];

    if (config_load(main_conf_path, &main_cfg, err, sizeof(err))
        != CONFIG_OK)
    {
        fprintf(stderr, "hubgated: %s\n", err);
        return -1;
    }

    return 0;
}


static PGconn *
main_admin_db(void)
{
    char        err[1024];
    PGconn     *pg;
    const char *ci;

    ci = main_cfg.admin_database_url[0] ? main_cfg.admin_database_url
                                        : main_cfg.database_url;

    pg = db_connect(ci, err, sizeof(err));
    if (pg == NULL) {
        fprintf(stderr, "hubgated: %s\n", err);
    }

    return pg;
}


static int
main_load_vault(void)
{
    char      err[1024];
    vault_t  *v;

    if (vault_kek_load(main_cfg.kek_file, &v, err, sizeof(err)) != VAULT_OK) {
        fprintf(stderr, "hubgated: %s\n", err);
        return -1;
    }

    keyring_init(v);
    return 0;
}


/* runs static SQL with text parameters; prints the error and returns -1 */
static int
main_exec(PGconn *pg, const char *sql, int n, const char *const *v,
    PGresult **out)
{
    PGresult        *res;
    ExecStatusType   st;

    res = PQexecParams(pg, sql, n, NULL, v, NULL, NULL, 0);
    st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "hubgated: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }

    if (out) {
        *out = res;
    } else {
        PQclear(res);
    }

    return 0;
}


static int
main_serve(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "hubgated: serve takes no arguments\n");
        return 2;
    }

    if (main_load_config() != 0) {
        return 1;
    }

    return serve_main(main_conf_path, &main_cfg);
}


static int
main_migrate(int argc, char **argv)
{
    int      n;
    char     err[1024];
    PGconn  *pg;

    if (main_load_config() != 0 || (pg = main_admin_db()) == NULL) {
        return 1;
    }

    n = migrate_apply(pg, stdout, err, sizeof(err));
    PQfinish(pg);

    if (n < 0) {
        fprintf(stderr, "hubgated: migrate: %s\n", err);
        return 1;
    }

    printf(n ? "migrate: %d applied\n" : "migrate: up to date\n", n);
    return 0;
}


static int
main_config_check(int argc, char **argv)
{
    if (main_load_config() != 0) {
        return 1;
    }

    config_dump(&main_cfg, stdout);
    config_free(&main_cfg);
    return 0;
}


static int
main_tenant_create(int argc, char **argv)
{
    int          c;
    char         err[1024];
    PGconn      *pg;
    PGresult    *res;
    db_conn_t   *dc;
    const char  *name, *v[2];
    char         id[DB_UUID_LEN + 1];

    static const struct option  opts[] = {
        { "name", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 }
    };

    name = "";

    while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
        if (c != 'n') {
            return 2;
        }
        name = optarg;
    }

    if (optind + 1 != argc) {
        fprintf(stderr, "usage: hubgated tenant create SLUG [--name NAME]\n");
        return 2;
    }

    if (main_load_config() != 0 || main_load_vault() != 0
        || (pg = main_admin_db()) == NULL)
    {
        return 1;
    }

    v[0] = argv[optind];
    v[1] = name;

    if (main_exec(pg, "BEGIN", 0, NULL, NULL) != 0
        || main_exec(pg, "INSERT INTO tenants (slug, name) VALUES ($1, $2)"
                     " RETURNING id", 2, v, &res) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    v[0] = id;
    if (main_exec(pg, "SELECT set_config('hubgate.tenant', $1, true)", 1, v,
                  NULL) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    dc = db_wrap(pg, err, sizeof(err));
    if (dc == NULL || keyring_ensure(dc, id, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgated: %s\n", err);
        PQfinish(pg);
        return 1;
    }

    v[0] = argv[optind];
    if (main_exec(pg, "INSERT INTO audit_log (tenant_id, actor, action,"
                  " target) VALUES (current_setting('hubgate.tenant')::uuid,"
                  " 'operator', 'tenant.create', 'tenant:' || $1)", 1, v,
                  NULL) != 0
        || main_exec(pg, "COMMIT", 0, NULL, NULL) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    db_unwrap(dc);
    PQfinish(pg);

    printf("tenant %s created: id %s, data key wrapped with KEK version"
           " %u\n", argv[optind], id, vault_kek_current(keyring_vault()));
    keyring_free();
    return 0;
}


static int
main_tenant_list(int argc, char **argv)
{
    int        i;
    PGconn    *pg;
    PGresult  *res;

    if (main_load_config() != 0 || (pg = main_admin_db()) == NULL) {
        return 1;
    }

    if (main_exec(pg, "SELECT t.slug, t.id, t.status, t.name,"
                  " (SELECT count(*) FROM integrations i"
                  "  WHERE i.tenant_id = t.id),"
                  " (SELECT max(kek_version) FROM tenant_keys k"
                  "  WHERE k.tenant_id = t.id)"
                  " FROM tenants t ORDER BY t.slug", 0, NULL, &res) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    printf("%-24s %-36s %-9s %5s %4s  %s\n", "SLUG", "ID", "STATUS", "INTEG",
           "KEK", "NAME");

    for (i = 0; i < PQntuples(res); i++) {
        printf("%-24s %-36s %-9s %5s %4s  %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 4),
               PQgetisnull(res, i, 5) ? "-" : PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 3));
    }

    PQclear(res);
    PQfinish(pg);
    return 0;
}


static int
main_tenant_delete(int argc, char **argv)
{
    PGconn      *pg;
    PGresult    *res;
    const char  *v[1];

    if (argc != 3 || strcmp(argv[2], "--yes") != 0) {
        fprintf(stderr, "usage: hubgated tenant delete SLUG --yes\n"
                "deletes the tenant, every row it owns and its data key:"
                " its sealed credentials can never be opened again\n");
        return 2;
    }

    if (main_load_config() != 0 || (pg = main_admin_db()) == NULL) {
        return 1;
    }

    v[0] = argv[1];

    /* ON DELETE CASCADE takes tenant_keys: crypto-shredding */
    if (main_exec(pg, "DELETE FROM tenants WHERE slug = $1 RETURNING id", 1,
                  v, &res) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "hubgated: no tenant %s\n", argv[1]);
        PQclear(res);
        PQfinish(pg);
        return 1;
    }

    printf("tenant %s (%s) deleted; its data key is destroyed\n", argv[1],
           PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(pg);
    return 0;
}


/* 90s, 15m, 1h, 7d (or seconds) into seconds; -1 if malformed */
static long
main_duration(const char *s)
{
    long   n;
    char  *end;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || n <= 0 || end == s) {
        return -1;
    }

    switch (*end) {
    case '\0': case 's': break;
    case 'm': n *= 60; break;
    case 'h': n *= 3600; break;
    case 'd': n *= 86400; break;
    default: return -1;
    }

    return (*end == '\0' || end[1] == '\0') ? n : -1;
}


static int
main_token_mint(int argc, char **argv)
{
    int              c, rc;
    char            *jwt, *roles_buf, *p, *eq;
    char             err[1024];
    json_t          *extra;
    size_t           nroles;
    const char      *roles[MAIN_ROLES_MAX];
    token_claims_t   tc;

    static const struct option  opts[] = {
        { "tenant", required_argument, NULL, 't' },
        { "subject", required_argument, NULL, 's' },
        { "roles", required_argument, NULL, 'r' },
        { "ttl", required_argument, NULL, 'l' },
        { "claim", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 }
    };

    memset(&tc, 0, sizeof(tc));
    tc.subject = "dev";
    tc.ttl = 3600;
    roles_buf = NULL;
    nroles = 0;
    extra = json_object();

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            tc.tenant = optarg;
            break;
        case 's':
            tc.subject = optarg;
            break;
        case 'r':
            free(roles_buf);
            roles_buf = strdup(optarg);
            nroles = 0;
            for (p = strtok(roles_buf, ","); p && nroles < MAIN_ROLES_MAX;
                 p = strtok(NULL, ","))
            {
                roles[nroles++] = p;
            }
            break;
        case 'l':
            tc.ttl = main_duration(optarg);
            if (tc.ttl < 0) {
                fprintf(stderr, "hubgated: --ttl: a duration such as 90s,"
                        " 15m, 1h, 7d\n");
                return 2;
            }
            break;
        case 'c':
            eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg) {
                fprintf(stderr, "hubgated: --claim NAME=VALUE\n");
                return 2;
            }
            *eq = '\0';
            json_object_set_new(extra, optarg, json_string(eq + 1));
            break;
        default:
            return 2;
        }
    }

    if (tc.tenant == NULL || optind != argc) {
        fprintf(stderr, "usage: hubgated token mint --tenant SLUG"
                " [--subject S] [--roles a,b] [--ttl 1h] [--claim N=V]...\n");
        return 2;
    }

    if (main_load_config() != 0) {
        return 1;
    }

    tc.issuer = main_cfg.token_issuer;
    tc.audience = main_cfg.token_audience;
    tc.roles = roles;
    tc.nroles = nroles;
    tc.now = time(NULL);
    p = json_object_size(extra) ? json_dumps(extra, JSON_COMPACT) : NULL;
    tc.extra_json = p;

    rc = token_mint(main_cfg.token_signing_key_file, &tc, &jwt, err,
                    sizeof(err));
    free(p);
    free(roles_buf);
    json_decref(extra);

    if (rc != 0) {
        fprintf(stderr, "hubgated: token mint: %s\n", err);
        return 1;
    }

    printf("%s\n", jwt);
    free(jwt);
    return 0;
}


static int
main_token_jwks(int argc, char **argv)
{
    char  *jwks, err[1024];

    if (main_load_config() != 0) {
        return 1;
    }

    if (token_jwks(main_cfg.token_signing_key_file, &jwks, err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "hubgated: token jwks: %s\n", err);
        return 1;
    }

    printf("%s\n", jwks);
    free(jwks);
    return 0;
}


static int
main_vault_rotate(int argc, char **argv)
{
    int             i, n, rc;
    char            err[1024], kver[16];
    size_t          len;
    uint32_t        cur;
    PGconn         *pg;
    PGresult       *res, *up;
    const char     *v[4];
    int             lens[4], fmts[4];
    unsigned char  *wrapped, out[VAULT_WRAPPED_LEN];

    if (main_load_config() != 0 || main_load_vault() != 0
        || (pg = main_admin_db()) == NULL)
    {
        return 1;
    }

    cur = vault_kek_current(keyring_vault());
    snprintf(kver, sizeof(kver), "%u", cur);
    v[0] = kver;

    if (main_exec(pg, "BEGIN", 0, NULL, NULL) != 0
        || main_exec(pg, "SELECT tenant_id, dek_version, wrapped_key"
                     " FROM tenant_keys WHERE kek_version <> $1::int"
                     " FOR UPDATE", 1, v, &res) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    n = PQntuples(res);
    rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        wrapped = PQunescapeBytea((unsigned char *) PQgetvalue(res, i, 2),
                                  &len);
        if (wrapped == NULL
            || vault_rewrap(keyring_vault(), PQgetvalue(res, i, 0), wrapped,
                            len, out, err, sizeof(err)) != VAULT_OK)
        {
            fprintf(stderr, "hubgated: vault rotate: tenant %s: %s\n",
                    PQgetvalue(res, i, 0), wrapped ? err : "out of memory");
            PQfreemem(wrapped);
            rc = -1;
            break;
        }

        PQfreemem(wrapped);

        v[0] = PQgetvalue(res, i, 0);
        v[1] = PQgetvalue(res, i, 1);
        v[2] = (const char *) out;
        v[3] = kver;
        lens[0] = lens[1] = lens[3] = 0;
        lens[2] = VAULT_WRAPPED_LEN;
        fmts[0] = fmts[1] = fmts[3] = 0;
        fmts[2] = 1;

        up = PQexecParams(pg, "UPDATE tenant_keys SET wrapped_key = $3,"
                          " kek_version = $4::int, rotated_at = now()"
                          " WHERE tenant_id = $1::uuid"
                          " AND dek_version = $2::int", 4, NULL, v, lens,
                          fmts, 0);
        if (PQresultStatus(up) != PGRES_COMMAND_OK) {
            fprintf(stderr, "hubgated: %s", PQresultErrorMessage(up));
            rc = -1;
        }
        PQclear(up);
    }

    OPENSSL_cleanse(out, sizeof(out));
    PQclear(res);

    if (rc != 0 || main_exec(pg, "COMMIT", 0, NULL, NULL) != 0) {
        PQfinish(pg);
        keyring_free();
        return 1;
    }

    PQfinish(pg);
    keyring_free();

    printf("vault rotate: %d data key%s re-wrapped with KEK version %u;"
           " sealed data untouched\n", n, n == 1 ? "" : "s", cur);
    return 0;
}


static int
main_vault_verify(int argc, char **argv)
{
    int             i, j, ok, bad;
    char            err[1024];
    size_t          len, outlen;
    PGconn         *pg;
    PGresult       *ten, *res;
    db_conn_t      *dc;
    const char     *v[1];
    unsigned char  *blob, *out;

    if (main_load_config() != 0 || main_load_vault() != 0
        || (pg = main_admin_db()) == NULL)
    {
        return 1;
    }

    dc = db_wrap(pg, err, sizeof(err));
    if (dc == NULL
        || main_exec(pg, "SELECT id, slug FROM tenants ORDER BY slug", 0,
                     NULL, &ten) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    ok = bad = 0;

    for (i = 0; i < PQntuples(ten); i++) {
        v[0] = PQgetvalue(ten, i, 0);

        if (main_exec(pg, "BEGIN", 0, NULL, NULL) != 0
            || main_exec(pg, "SELECT set_config('hubgate.tenant', $1, true)",
                         1, v, NULL) != 0)
        {
            break;
        }

        res = db_exec(dc, DB_S_CRED_ALL, 0, NULL, err, sizeof(err));
        if (res == NULL) {
            fprintf(stderr, "hubgated: %s\n", err);
            break;
        }

        for (j = 0; j < PQntuples(res); j++) {
            blob = PQunescapeBytea((unsigned char *) PQgetvalue(res, j, 3),
                                   &len);
            out = blob ? malloc(len) : NULL;

            if (out != NULL
                && keyring_open(dc, v[0], PQgetvalue(res, j, 1),
                                PQgetvalue(res, j, 2), "operator", NULL,
                                blob, len, out, len, &outlen, err,
                                sizeof(err)) == 0)
            {
                OPENSSL_cleanse(out, outlen);
                ok++;

            } else {
                printf("FAIL tenant %s credential %s (%s): %s\n",
                       PQgetvalue(ten, i, 1), PQgetvalue(res, j, 0),
                       PQgetvalue(res, j, 2), out ? err : "out of memory");
                bad++;
            }

            free(out);
            PQfreemem(blob);
        }

        PQclear(res);

        if (main_exec(pg, "COMMIT", 0, NULL, NULL) != 0) {
            break;
        }
    }

    PQclear(ten);
    db_unwrap(dc);
    PQfinish(pg);
    keyring_free();

    printf("vault verify: %d credential%s opened, %d failed\n", ok,
           ok == 1 ? "" : "s", bad);
    return bad ? 1 : 0;
}


static int
main_integrations_list(int argc, char **argv)
{
    int          c, i;
    PGconn      *pg;
    PGresult    *res;
    const char  *v[1];

    static const struct option  opts[] = {
        { "tenant", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };

    v[0] = NULL;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 't') {
            return 2;
        }
        v[0] = optarg;
    }

    if (main_load_config() != 0 || (pg = main_admin_db()) == NULL) {
        return 1;
    }

    if (main_exec(pg, "SELECT t.slug, i.id, i.provider, i.auth_mode,"
                  " i.status, i.health, to_char(i.created_at AT TIME ZONE"
                  " 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
                  " FROM integrations i JOIN tenants t ON t.id = i.tenant_id"
                  " WHERE $1::text IS NULL OR t.slug = $1"
                  " ORDER BY t.slug, i.created_at", 1, v, &res) != 0)
    {
        PQfinish(pg);
        return 1;
    }

    printf("%-20s %-36s %-12s %-8s %-16s %-10s %s\n", "TENANT", "ID",
           "PROVIDER", "AUTH", "STATUS", "HEALTH", "CREATED (UTC)");

    for (i = 0; i < PQntuples(res); i++) {
        printf("%-20s %-36s %-12s %-8s %-16s %-10s %s\n",
               PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 6));
    }

    PQclear(res);
    PQfinish(pg);
    return 0;
}


static int
main_routes(int argc, char **argv)
{
    size_t                    i, n;
    const api_route_t        *r;
    static const char *const  auth[] = { "none", "signed", "tenant", "admin" };

    r = api_routes(&n);

    for (i = 0; i < n; i++) {
        printf("%s %s %s\n", r[i].method, r[i].path, auth[r[i].auth]);
    }

    return 0;
}


static int
main_version(int argc, char **argv)
{
    printf("hubgated " HUBGATED_VERSION "\n");
    return 0;
}
