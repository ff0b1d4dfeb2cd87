
/*
 * hubgated: invoices generated from synced orders, the overdue pass
 * (invoicing.h).
 */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/invoicing.h"
#include "invoice/from_order.h"
#include "invoice/row.h"
#include "clock.h"
#include "log.h"


#define INVOICING_ERR_LEN  256


static _Atomic uint64_t  st_created;
static _Atomic uint64_t  st_failed;
static _Atomic uint64_t  st_overdue;


int
invoicing_page(db_conn_t *db, const char *sync_id, const char *integration,
    const json_t *records, int64_t now_ms, int64_t *created, char *err,
    size_t errlen)
{
    PGresult      *res;
    json_t        *paid, *rec, *missing, *profile, *items, *item;
    json_t        *byid, *m, *pd;
    invoice_t     *inv;
    char          *text, today[11], nfail[16], ncreated[24];
    char           why[INVOICING_ERR_LEN], first[INVOICING_ERR_LEN + 80];
    char           series[80], rate[16];
    const char    *v[5], *id, *st;
    size_t         i;
    int            mark_paid, failed, days, no_default;

    *created = 0;

    /* the page's paid orders; nothing to ask the database without one */
    paid = json_array();
    byid = json_object();
    if (paid == NULL || byid == NULL) {
        json_decref(paid);
        json_decref(byid);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    json_array_foreach(records, i, rec) {
        st = json_string_value(json_object_get(rec, "type"));
        id = json_string_value(json_object_get(rec, "external_id"));
        if (st == NULL || strcmp(st, "order") != 0 || id == NULL
            || id[0] == '\0')
        {
            continue;
        }

        st = json_string_value(json_object_get(rec, "status"));
        if (st == NULL || strcmp(st, "paid") != 0) {
            continue;
        }

        json_array_append_new(paid, json_string(id));
        json_object_set(byid, id, rec);
    }

    if (json_array_size(paid) == 0) {
        json_decref(paid);
        json_decref(byid);
        return 0;
    }

    text = json_dumps(paid, JSON_COMPACT);
    json_decref(paid);
    if (text == NULL) {
        json_decref(byid);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    v[0] = integration;
    v[1] = text;
    res = db_exec(db, DB_S_INV_GEN_PREP, 2, v, err, errlen);
    free(text);
    if (res == NULL) {
        json_decref(byid);
        return -1;
    }

    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        json_decref(byid);
        return 0;                       /* not asked for */
    }

    snprintf(series, sizeof(series), "%s", PQgetvalue(res, 0, 1));
    mark_paid = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    snprintf(rate, sizeof(rate), "%s", PQgetvalue(res, 0, 3));
    profile = PQgetisnull(res, 0, 4)
              ? NULL : json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    missing = json_loads(PQgetvalue(res, 0, 5), 0, NULL);
    PQclear(res);

    /* "zw" (exempt, category E) and "np" (outside VAT, O) need an
     * exemption reason generated invoices cannot give yet: a line with
     * no rate of its own is then refused, rather than made zero rated */
    no_default = strcmp(rate, "zw") == 0 || strcmp(rate, "np") == 0;

    pd = json_object_get(profile, "payment_days");
    days = json_is_integer(pd) ? (int) json_integer_value(pd) : 14;

    clock_date(now_ms, today);
    items = json_array();
    failed = 0;
    first[0] = '\0';

    json_array_foreach(missing, i, m) {
        rec = json_object_get(byid, json_string_value(m));
        if (rec == NULL) {
            continue;
        }

        inv = NULL;
        if (invoice_from_order(rec, profile, no_default ? NULL : rate,
                               today, NULL, INVOICE_DRAFT_NUMBER, &inv, why,
                               sizeof(why))
            != INVOICE_OK)
        {
            if (failed++ == 0) {
                snprintf(first, sizeof(first), "order %.64s: %s",
                         json_string_value(m), why);
            }
            continue;
        }

        item = invoice_row_item(inv);
        invoice_free(inv);
        if (item == NULL) {
            json_decref(items);
            json_decref(missing);
            json_decref(profile);
            json_decref(byid);
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        json_object_set_new(item, "integration_id", json_string(integration));
        json_object_set(item, "source_order_id", m);
        json_object_set(item, "customer_external_id",
                        json_object_get(json_object_get(rec, "customer"),
                                        "external_id"));
        json_object_set_new(item, "paid", json_boolean(mark_paid));
        json_object_set_new(item, "payment_days", json_integer(days));
        json_array_append_new(items, item);
    }

    json_decref(missing);
    json_decref(profile);
    json_decref(byid);

    if (json_array_size(items) > 0) {
        text = json_dumps(items, JSON_COMPACT);
        if (text == NULL) {
            json_decref(items);
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        v[0] = series;
        v[1] = today;
        v[2] = "true";
        v[3] = text;
        v[4] = "false";
        res = db_exec(db, DB_S_INV_INSERT, 5, v, err, errlen);
        free(text);
        if (res == NULL) {
            json_decref(items);
            return -1;
        }

        if (!PQgetisnull(res, 0, 1)) {
            failed += (int) json_array_size(items);
            if (first[0] == '\0') {
                snprintf(first, sizeof(first), "%s", PQgetvalue(res, 0, 1));
            }
        } else {
            *created = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        }
        PQclear(res);
    }
    json_decref(items);

    if (*created == 0 && failed == 0) {
        return 0;
    }

    snprintf(ncreated, sizeof(ncreated), "%lld", (long long) *created);
    snprintf(nfail, sizeof(nfail), "%d", failed);
    v[0] = sync_id;
    v[1] = ncreated;
    v[2] = nfail;
    v[3] = first[0] != '\0' ? first : NULL;
    res = db_exec(db, DB_S_INV_GEN_COUNT, 4, v, err, errlen);
    if (res == NULL) {
        return -1;
    }
    PQclear(res);

    atomic_fetch_add(&st_created, (uint64_t) *created);
    atomic_fetch_add(&st_failed, (uint64_t) failed);

    if (failed > 0) {
        log_event(LOG_WARN, "invoice_generation_failed", "sync", sync_id,
                  "msg", first, NULL);
    }

    return 0;
}


void
invoicing_tick(db_conn_t *db, int64_t now_ms)
{
    PGresult    *res;
    char         today[11], err[256];
    const char  *v[1];
    long         n;

    clock_date(now_ms, today);
    v[0] = today;

    res = db_exec(db, DB_S_INV_OVERDUE, 1, v, err, sizeof(err));
    if (res == NULL) {
        log_event(LOG_WARN, "invoice_overdue_failed", "msg", err, NULL);
        return;
    }

    n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    if (n > 0) {
        atomic_fetch_add(&st_overdue, (uint64_t) n);
        log_msg(LOG_INFO, "invoices_overdue", "%ld invoices are overdue", n);
    }
}


uint64_t
invoicing_stat_created(void)
{
    return atomic_load(&st_created);
}


uint64_t
invoicing_stat_failed(void)
{
    return atomic_load(&st_failed);
}


uint64_t
invoicing_stat_overdue(void)
{
    return atomic_load(&st_overdue);
}
