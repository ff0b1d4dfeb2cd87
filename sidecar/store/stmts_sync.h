
/*
 * hubgated: the statements of sync runs, cursors and canonical records (sync/pipeline.c, api/h_syncs.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).
 */

#ifndef STMTS_SYNC_H
#define STMTS_SYNC_H


#define DB_STMTS_SYNC(X)


#endif /* STMTS_SYNC_H */
