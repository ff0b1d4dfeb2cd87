
/*
 * hubgated: schema migrations (see migrate.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "../embedded.h"


#define MIGRATE_LOCK  "7307555142713856"      /* 'hubgate migrate' */


static int migrate_version(const embedded_file_t *f, char *v, size_t size);
static int migrate_fail(PGconn *pg, PGresult *res, const char *what,
    char *err, size_t errlen);


/* "sql/003_sync.sql" -> "003_sync"; 0 for a migration file, else -1 */
static int
migrate_version(const embedded_file_t *f, char *v, size_t size)
{
    size_t  n;

    if (strncmp(f->name, "sql/", 4) != 0) {
        return -1;
    }

    n = strlen(f->name + 4);
    if (n < 5 || strcmp(f->name + 4 + n - 4, ".sql") != 0 || n - 4 >= size) {
        return -1;
    }

    memcpy(v, f->name + 4, n - 4);
    v[n - 4] = '\0';
    return 0;
}


static int
migrate_fail(PGconn *pg, PGresult *res, const char *what, char *err,
    size_t errlen)
{
    char        *nl;
    const char  *msg;

    msg = res ? PQresultErrorMessage(res) : "";
    if (*msg == '\0') {
        msg = PQerrorMessage(pg);
    }

    snprintf(err, errlen, "%s: %s", what, msg);
    nl = strchr(err, '\n');
    if (nl) {
        *nl = '\0';
    }

    PQclear(res);
    PQclear(PQexec(pg, "ROLLBACK"));
    return -1;
}


int
migrate_apply(PGconn *pg, FILE *out, char *err, size_t errlen)
{
    int                     applied, todo;
    char                    v[128];
    size_t                  i, n;
    PGresult               *res;
    const char             *p[1];
    const embedded_file_t  *files;

    files = embedded_files(&n);
    applied = 0;

    for (i = 0; i < n; i++) {
        if (migrate_version(&files[i], v, sizeof(v)) != 0) {
            continue;
        }

        res = PQexec(pg, "BEGIN; SELECT pg_advisory_xact_lock("
                         MIGRATE_LOCK ")");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            return migrate_fail(pg, res, "lock", err, errlen);
        }
        PQclear(res);

        res = PQexec(pg, "SELECT to_regclass('schema_migrations') IS NULL");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            return migrate_fail(pg, res, v, err, errlen);
        }

        todo = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);

        if (!todo) {
            p[0] = v;
            res = PQexecParams(pg, "SELECT count(*) = 0 FROM schema_migrations"
                               " WHERE version = $1", 1, NULL, p, NULL, NULL,
                               0);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                return migrate_fail(pg, res, v, err, errlen);
            }

            todo = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
            PQclear(res);
        }

        if (todo) {
            res = PQexec(pg, (const char *) files[i].data);
            if (PQresultStatus(res) != PGRES_COMMAND_OK
                && PQresultStatus(res) != PGRES_TUPLES_OK)
            {
                return migrate_fail(pg, res, files[i].name, err, errlen);
            }
            PQclear(res);

            p[0] = v;
            res = PQexecParams(pg, "INSERT INTO schema_migrations (version)"
                               " VALUES ($1)", 1, NULL, p, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                return migrate_fail(pg, res, v, err, errlen);
            }
            PQclear(res);
        }

        res = PQexec(pg, "COMMIT");
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            return migrate_fail(pg, res, v, err, errlen);
        }
        PQclear(res);

        if (todo) {
            applied++;
            if (out) {
                fprintf(out, "applied %s\n", v);
            }
        }
    }

    return applied;
}


int
migrate_check(PGconn *pg, char *err, size_t errlen)
{
    int                     j, found, missing;
    char                    v[128], list[512];
    size_t                  i, n, len;
    PGresult               *res;
    const embedded_file_t  *files;

    res = PQexec(pg, "SELECT version FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        snprintf(err, errlen, "the database has no hubgate schema: run"
                 " `hubgated migrate`");
        return -1;
    }

    files = embedded_files(&n);
    missing = 0;
    len = 0;
    list[0] = '\0';

    for (i = 0; i < n; i++) {
        if (migrate_version(&files[i], v, sizeof(v)) != 0) {
            continue;
        }

        found = 0;
        for (j = 0; j < PQntuples(res); j++) {
            if (strcmp(PQgetvalue(res, j, 0), v) == 0) {
                found = 1;
                break;
            }
        }

        if (!found && len < sizeof(list)) {
            len += snprintf(list + len, sizeof(list) - len, "%s%s",
                            missing ? ", " : "", v);
            missing++;
        }
    }

    PQclear(res);

    if (missing) {
        snprintf(err, errlen, "the database schema lacks %s: run `hubgated"
                 " migrate`", list);
        return -1;
    }

    return 0;
}
