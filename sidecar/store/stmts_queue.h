
/*
 * hubgated: the statements of the job queue, the scheduler and the test clock (sync/queue.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).
 */

#ifndef STMTS_QUEUE_H
#define STMTS_QUEUE_H


#define DB_STMTS_QUEUE(X)


#endif /* STMTS_QUEUE_H */
