
/*
 * hubgated: the statements of invoices, series, customers and products
 * (invoice/, api/h_invoices.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).
 */

#ifndef STMTS_INVOICE_H
#define STMTS_INVOICE_H


#define DB_STMTS_INVOICE(X)


#endif /* STMTS_INVOICE_H */
