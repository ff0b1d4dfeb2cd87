
/*
 * hubgated: the statements of OAuth sessions, tokens and refresh (sync/oauth.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).
 */

#ifndef STMTS_OAUTH_H
#define STMTS_OAUTH_H


#define DB_STMTS_OAUTH(X)


#endif /* STMTS_OAUTH_H */
