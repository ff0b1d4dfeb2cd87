
/*
 * hubgated: /v1/admin/summary and /v1/audit (role admin).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"


#define H_AUDIT_DEFAULT  50
#define H_AUDIT_MAX      200


void
h_admin_summary(api_req_t *r)
{
    char       err[512];
    json_t    *by, *last, *counts;
    PGresult  *res;

    if (api_tx_begin(r) != 0) {
        return;
    }

    res = db_exec(r->db, DB_S_SUMMARY_COUNTS, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

#define H_COUNT(i)  json_integer(strtoll(PQgetvalue(res, 0, i), NULL, 10))

    counts = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                       "total", H_COUNT(0), "active", H_COUNT(1),
                       "pending", H_COUNT(2), "inactive", H_COUNT(3),
                       "error", H_COUNT(4), "needs_reconnect", H_COUNT(5),
                       "unhealthy", H_COUNT(6));

#undef H_COUNT

    by = json_loads(PQgetvalue(res, 0, 7), 0, NULL);
    last = PQgetisnull(res, 0, 8) ? json_null()
                                  : json_loads(PQgetvalue(res, 0, 8), 0, NULL);
    PQclear(res);

    api_json(r, 200, json_pack("{s:o,s:o,s:o}", "integrations", counts,
                               "by_provider", by ? by : json_object(),
                               "last_sync", last ? last : json_null()));
}


void
h_audit(api_req_t *r)
{
    int          i, n, limit;
    char         err[512], lim[16];
    json_t      *data;
    PGresult    *res;
    const char  *cursor, *v[2];

    limit = h_limit(r, H_AUDIT_DEFAULT, H_AUDIT_MAX);
    if (limit < 0) {
        api_error(r, 400, "bad_request", "limit must be an integer from 1"
                  " to %d", H_AUDIT_MAX);
        return;
    }

    cursor = api_query(r, "cursor");

    if (cursor != NULL
        && (*cursor < '1' || *cursor > '9' || strlen(cursor) > 18
            || strspn(cursor, "0123456789") != strlen(cursor)))
    {
        api_error(r, 400, "bad_request", "cursor is not one this API"
                  " returned");
        return;
    }

    snprintf(lim, sizeof(lim), "%d", limit + 1);
    v[0] = cursor;
    v[1] = lim;

    if (api_tx_begin(r) != 0) {
        return;
    }

    res = db_exec(r->db, DB_S_AUDIT_LIST, 2, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    n = PQntuples(res);
    data = json_array();

    for (i = 0; i < n && i < limit; i++) {
        json_array_append_new(data, json_loads(PQgetvalue(res, i, 1), 0,
                                               NULL));
    }

    api_json(r, 200, json_pack("{s:o,s:s?}", "data", data, "next_cursor",
                               n > limit ? PQgetvalue(res, limit - 1, 0)
                                         : NULL));
    PQclear(res);
}
