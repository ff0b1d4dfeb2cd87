
/*
 * hubgated: schema migrations.  The sql/NNN_name.sql files are built into
 * the binary; each is applied once, in name order, inside its own
 * transaction, and recorded in schema_migrations by its name without
 * .sql.  Concurrent migrators serialise on an advisory lock (the same one
 * tools/migrate.sh takes).
 */

#ifndef MIGRATE_H
#define MIGRATE_H

#include <stdio.h>

#include <libpq-fe.h>


/*
 * Applies what is missing on pg (a connection as the schema owner) and
 * reports each file to out.  Returns the number applied, or -1 with err.
 */
int migrate_apply(PGconn *pg, FILE *out, char *err, size_t errlen);

/*
 * Checks that every embedded migration is recorded.  0 when current, -1
 * with err naming the missing versions (or the failure).
 */
int migrate_check(PGconn *pg, char *err, size_t errlen);


#endif /* MIGRATE_H */
