
/*
 * hubgated: the canonical records syncs make (DESIGN §4): orders,
 * customers and products, newest first, cursor-paged, optionally of one
 * integration (?integration=).
 */

#include <stdio.h>
#include <string.h>

#include "api.h"


#define H_REC_LIST_DEFAULT  50
#define H_REC_LIST_MAX      500


static void h_records_list(api_req_t *r, db_stmt_e stmt);


static void
h_records_list(api_req_t *r, db_stmt_e stmt)
{
    int          limit;
    char         err[512];
    h_page_t     pg;
    PGresult    *res;
    const char  *v[4], *integ;

    limit = h_page_args(r, H_REC_LIST_DEFAULT, H_REC_LIST_MAX, &pg);
    if (limit < 0) {
        return;
    }

    integ = api_query(r, "integration");
    if (integ != NULL && !h_uuid(integ)) {
        api_error(r, 400, "bad_request", "integration must be a uuid");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    v[0] = pg.cursor_us;
    v[1] = pg.cursor_id;
    v[2] = integ;
    v[3] = pg.lim;

    res = db_exec(r->db, stmt, 4, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    h_page_answer(r, res, limit);
}


void
h_orders_list(api_req_t *r)
{
    h_records_list(r, DB_S_LIST_ORDERS);
}


void
h_customers_list(api_req_t *r)
{
    h_records_list(r, DB_S_LIST_CUSTOMERS);
}


void
h_products_list(api_req_t *r)
{
    h_records_list(r, DB_S_LIST_PRODUCTS);
}
