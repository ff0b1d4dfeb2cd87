/*
 * hubgated: an invoice from a synced order (from_order.h).
 *
 * The order is turned into the API JSON of an invoice and read back with
 * invoice_from_json, so that every check of the model applies to it as to
 * any invoice posted to the API; only what the model cannot know (gross
 * prices, the order total) is worked out here, in exact decimals.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "invoice/from_order.h"


#define FO_NUDGE_MAX      16        /* 1e-8 steps tried on a unit price */
#define FO_PAY_DAYS_MAX   3650
#define FO_VAT_ID_MAX     64        /* digits kept of a bare tax id */


typedef struct {
    const json_t  *order;
    const char    *id;              /* order external_id */
    int            exp;             /* of the order currency */
    char           seller_country[3];
    char          *err;
    size_t         errlen;
} fo_ctx_t;


static int fo_fail(fo_ctx_t *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fo_model_fail(fo_ctx_t *c, int rc, const invoice_errs_t *errs);
static const char *fo_str(const json_t *obj, const char *key);
static json_t *fo_copy_str(const json_t *obj, const char *key);
static int fo_set(json_t *o, const char *key, json_t *v);
static int fo_country(const json_t *v, char *buf);
static int fo_check_order(fo_ctx_t *c);
static int fo_check_seller(fo_ctx_t *c, const json_t *profile);
static int fo_dec(const json_t *v, dec_t *out);
static int fo_rate(fo_ctx_t *c, const json_t *line, size_t i,
    const char *dflt, dec_t *rate);
static int fo_gross(fo_ctx_t *c, const json_t *line, size_t i, dec_t q,
    int64_t *gross);
static int fo_net(int64_t gross, dec_t rate, int exp, int64_t *net);
static int fo_nudge(dec_t q, int64_t net, int exp, dec_t *price);
static int fo_price(dec_t q, int64_t net, int exp, dec_t *price);
static int fo_line(fo_ctx_t *c, const json_t *line, size_t i,
    const char *dflt, json_t *lines, int64_t *net);
static int fo_lines(fo_ctx_t *c, const char *dflt, json_t *doc,
    int64_t **nets);
static size_t fo_vat_id(const char *tax, const char *country, char *buf,
    size_t size);
static int fo_buyer(fo_ctx_t *c, json_t *doc);
static int fo_dates(fo_ctx_t *c, const json_t *profile,
    const char *issue_date, const char *due_date, json_t *doc);
static int fo_payment(fo_ctx_t *c, const json_t *profile, json_t *doc);
static int fo_document(fo_ctx_t *c, const json_t *profile,
    const char *issue_date, const char *due_date, const char *number,
    json_t *doc);
static int fo_fix_nets(fo_ctx_t *c, invoice_t *inv, const int64_t *nets);
static int fo_reconcile(fo_ctx_t *c, invoice_t *inv);
static int fo_date_parse(const char *s, size_t len, long *y, long *m,
    long *d);


int
invoice_from_order(const json_t *order, const json_t *profile,
    const char *default_vat_rate, const char *issue_date,
    const char *due_date, const char *number, invoice_t **out, char *err,
    size_t errlen)
{
    fo_ctx_t        c;
    json_t         *doc;
    invoice_t      *inv;
    invoice_errs_t  errs;
    int64_t        *nets;
    int             rc;

    memset(&c, 0, sizeof(c));
    c.order = order;
    c.err = err;
    c.errlen = errlen;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }

    if (out == NULL) {
        return fo_fail(&c, INVOICE_EINVAL, "no output");
    }

    rc = fo_check_order(&c);
    if (rc != INVOICE_OK) {
        return rc;
    }

    rc = fo_check_seller(&c, profile);
    if (rc != INVOICE_OK) {
        return rc;
    }

    doc = json_object();
    if (doc == NULL) {
        return fo_fail(&c, INVOICE_ENOMEM, "out of memory");
    }

    nets = NULL;
    rc = fo_document(&c, profile, issue_date, due_date, number, doc);
    if (rc == INVOICE_OK) {
        rc = fo_lines(&c, default_vat_rate, doc, &nets);
    }
    if (rc != INVOICE_OK) {
        json_decref(doc);
        free(nets);
        return rc;
    }

    memset(&errs, 0, sizeof(errs));
    inv = NULL;
    rc = invoice_from_json(doc, &inv, &errs);
    json_decref(doc);
    if (rc != INVOICE_OK) {
        free(nets);
        return fo_model_fail(&c, rc, &errs);
    }

    rc = invoice_compute(inv, &errs);
    if (rc != INVOICE_OK) {
        rc = fo_model_fail(&c, rc, &errs);
    } else {
        rc = fo_fix_nets(&c, inv, nets);
    }
    if (rc == INVOICE_OK) {
        rc = fo_reconcile(&c, inv);
    }

    free(nets);
    if (rc != INVOICE_OK) {
        invoice_free(inv);
        return rc;
    }

    *out = inv;

    return INVOICE_OK;
}


static int
fo_fail(fo_ctx_t *c, int rc, const char *fmt, ...)
{
    va_list  ap;

    if (c->err != NULL && c->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }

    return rc;
}


/* the model names the field of the invoice and never echoes a value */
static int
fo_model_fail(fo_ctx_t *c, int rc, const invoice_errs_t *errs)
{
    if (errs->n == 0) {
        return fo_fail(c, rc, "invoice: %s", rc == INVOICE_ENOMEM
                       ? "out of memory" : "rejected by the model");
    }

    return fo_fail(c, rc, "invoice %s: %s", errs->e[0].path,
                   errs->e[0].msg);
}


/* obj[key] when it is a non-empty string, else NULL */
static const char *
fo_str(const json_t *obj, const char *key)
{
    const json_t  *v;

    v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return NULL;
    }

    return json_string_value(v);
}


/* a copy of the string obj[key], with its exact length (an embedded NUL
 * stays for the model to refuse); NULL when absent or empty */
static json_t *
fo_copy_str(const json_t *obj, const char *key)
{
    const json_t  *v;

    v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return NULL;
    }

    return json_stringn(json_string_value(v), json_string_length(v));
}


/* o[key] = v (stolen); non-zero if v is NULL or the set fails */
static int
fo_set(json_t *o, const char *key, json_t *v)
{
    if (v == NULL) {
        return 1;
    }

    return json_object_set_new(o, key, v) != 0;
}


/* two ASCII letters, upper-cased into buf[3]; 0 if v is not that */
static int
fo_country(const json_t *v, char *buf)
{
    const char  *s;
    int          i;

    if (!json_is_string(v) || json_string_length(v) != 2) {
        return 0;
    }

    s = json_string_value(v);
    for (i = 0; i < 2; i++) {
        if (s[i] >= 'a' && s[i] <= 'z') {
            buf[i] = (char) (s[i] - 'a' + 'A');
        } else if (s[i] >= 'A' && s[i] <= 'Z') {
            buf[i] = s[i];
        } else {
            return 0;
        }
    }
    buf[2] = '\0';

    return 1;
}


static int
fo_check_order(fo_ctx_t *c)
{
    const json_t  *v;
    const char    *s;

    if (!json_is_object(c->order)) {
        return fo_fail(c, INVOICE_EINVAL, "not an order record");
    }

    s = fo_str(c->order, "type");
    if (s == NULL || strcmp(s, "order") != 0) {
        return fo_fail(c, INVOICE_EINVAL, "not an order record");
    }

    v = json_object_get(c->order, "external_id");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return fo_fail(c, INVOICE_EINVAL, "order has no external_id");
    }
    if (json_string_length(v) > FROM_ORDER_ID_MAX
        || strlen(json_string_value(v)) != json_string_length(v))
    {
        return fo_fail(c, INVOICE_EINVAL, "order external_id is longer "
                       "than %d bytes or contains NUL", FROM_ORDER_ID_MAX);
    }
    c->id = json_string_value(v);

    s = fo_str(c->order, "status");
    if (s != NULL
        && (strcmp(s, "cancelled") == 0 || strcmp(s, "refunded") == 0))
    {
        return fo_fail(c, INVOICE_EINVAL, "order is %s", s);
    }

    s = fo_str(c->order, "currency");
    c->exp = invoice_currency_exponent(s);
    if (s == NULL || c->exp < 0) {
        return fo_fail(c, INVOICE_EINVAL, "order has no currency with 0 or "
                       "2 decimals (ISO 4217, EN 16931)");
    }

    v = json_object_get(c->order, "lines");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return fo_fail(c, INVOICE_EINVAL, "order has no lines");
    }

    v = json_object_get(c->order, "total_minor");
    if (v != NULL && !json_is_null(v) && !json_is_integer(v)) {
        return fo_fail(c, INVOICE_EINVAL,
                       "order total_minor must be an integer");
    }

    return INVOICE_OK;
}


/* the rest of the party is the model's to check, as for any invoice */
static int
fo_check_seller(fo_ctx_t *c, const json_t *profile)
{
    const json_t  *seller, *addr;

    seller = json_object_get(profile, "seller");
    addr = json_object_get(seller, "address");
    if (!json_is_object(seller) || fo_str(seller, "name") == NULL
        || !json_is_string(json_object_get(addr, "country")))
    {
        return fo_fail(c, INVOICE_EINVAL,
                       "no seller profile: PUT /v1/seller");
    }

    if (!fo_country(json_object_get(addr, "country"), c->seller_country)
        || strcmp(c->seller_country,
                  json_string_value(json_object_get(addr, "country"))) != 0)
    {
        return fo_fail(c, INVOICE_EINVAL, "seller profile: address.country "
                       "must be an ISO 3166-1 code");
    }

    return INVOICE_OK;
}


/* a decimal string or a JSON integer; 0, or -1 if v is neither */
static int
fo_dec(const json_t *v, dec_t *out)
{
    if (json_is_integer(v)) {
        *out = DEC(json_integer_value(v), 0);
        return 0;
    }

    if (!json_is_string(v)
        || dec_parse(json_string_value(v), json_string_length(v), out)
           != DEC_OK)
    {
        return -1;
    }

    return 0;
}


static int
fo_rate(fo_ctx_t *c, const json_t *line, size_t i, const char *dflt,
    dec_t *rate)
{
    const json_t  *v;

    v = json_object_get(line, "vat_rate");
    if (v == NULL || json_is_null(v)) {
        if (dflt == NULL || dec_parse(dflt, strlen(dflt), rate) != DEC_OK) {
            return fo_fail(c, INVOICE_EINVAL, "order lines[%zu]: no "
                           "vat_rate and no usable default VAT rate", i);
        }

    } else if (fo_dec(v, rate) != 0) {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu].vat_rate must "
                       "be a decimal", i);
    }

    *rate = dec_normalize(*rate);
    if (dec_sign(*rate) < 0 || dec_cmp(*rate, DEC(100, 0)) > 0
        || rate->scale > 2)
    {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu].vat_rate must "
                       "be between 0 and 100, at most 2 decimals", i);
    }

    return INVOICE_OK;
}


/* G: what the buyer pays for the line, VAT included */
static int
fo_gross(fo_ctx_t *c, const json_t *line, size_t i, dec_t q,
    int64_t *gross)
{
    const json_t  *v;
    dec_t          price;

    v = json_object_get(line, "total_minor");
    if (json_is_integer(v)) {
        *gross = json_integer_value(v);

    } else if (v != NULL && !json_is_null(v)) {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu].total_minor "
                       "must be an integer", i);

    } else {
        v = json_object_get(line, "unit_price");
        if (v == NULL || json_is_null(v)) {
            return fo_fail(c, INVOICE_EINVAL, "order lines[%zu] has "
                           "neither total_minor nor unit_price", i);
        }
        if (fo_dec(v, &price) != 0) {
            return fo_fail(c, INVOICE_EINVAL, "order lines[%zu].unit_price "
                           "must be a decimal", i);
        }
        if (dec_muldiv_minor(q, price, DEC_ONE, c->exp, gross) != DEC_OK) {
            return fo_fail(c, INVOICE_ERANGE, "order lines[%zu]: total "
                           "out of range", i);
        }
    }

    if (*gross < 0) {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu]: negative "
                       "total", i);
    }

    return INVOICE_OK;
}


/* N = round(G * 100 / (100 + rate)); rate normalized, 0..100 */
static int
fo_net(int64_t gross, dec_t rate, int exp, int64_t *net)
{
    dec_t  hundred, div;

    if (dec_rescale(DEC(100, 0), rate.scale, &hundred) != DEC_OK) {
        return INVOICE_ERANGE;
    }

    div = DEC(hundred.m + rate.m, rate.scale);

    if (dec_muldiv_minor(dec_from_minor(gross, exp), DEC(100, 0), div, exp,
                         net) != DEC_OK)
    {
        return INVOICE_ERANGE;
    }

    return INVOICE_OK;
}


/*
 * Moves *price (scale 8) by 1e-8 steps until round(q * price) == net.
 * round(q * p) grows with p (q > 0), so the search goes one way and stops
 * when it passes net: a quantity above 1e6 makes steps larger than a
 * minor unit, and some nets then have no price.
 */
static int
fo_nudge(dec_t q, int64_t net, int exp, dec_t *price)
{
    dec_t    p;
    int64_t  got;
    int      i, dir;

    if (dec_rescale(*price, DEC_MAX_SCALE, &p) != DEC_OK) {
        return INVOICE_ERANGE;
    }

    dir = 0;
    for (i = 0; i <= FO_NUDGE_MAX; i++) {
        if (dec_muldiv_minor(q, p, DEC_ONE, exp, &got) != DEC_OK) {
            return INVOICE_ERANGE;
        }

        if (got == net) {
            *price = p;
            return INVOICE_OK;
        }

        if (dir == 0) {
            dir = got < net ? 1 : -1;

        } else if ((got < net ? 1 : -1) != dir) {
            break;
        }

        if ((dir < 0 && p.m == 0) || (dir > 0 && p.m == INT64_MAX)) {
            break;
        }
        p.m += dir;
    }

    return INVOICE_EINVAL;
}


/* BT-146 = N / q at 8 decimals, such that round(q * BT-146) == N, with
 * trailing zeros dropped down to the currency's decimals */
static int
fo_price(dec_t q, int64_t net, int exp, dec_t *price)
{
    dec_t    p, n;
    int64_t  m;
    int      rc;

    if (dec_muldiv_minor(dec_from_minor(net, exp), DEC_ONE, q,
                         DEC_MAX_SCALE, &m) != DEC_OK)
    {
        return INVOICE_ERANGE;
    }

    p = DEC(m, DEC_MAX_SCALE);
    rc = fo_nudge(q, net, exp, &p);
    if (rc != INVOICE_OK) {
        return rc;
    }

    n = dec_normalize(p);
    if (n.scale < exp && dec_rescale(n, exp, &n) != DEC_OK) {
        n = p;
    }
    *price = n;

    return INVOICE_OK;
}


static int
fo_line(fo_ctx_t *c, const json_t *line, size_t i, const char *dflt,
    json_t *lines, int64_t *net)
{
    const json_t  *prod;
    json_t        *l, *name;
    dec_t          q, rate, price;
    int64_t        gross;
    int            rc, bad;
    char           qbuf[DEC_STR_MAX], pbuf[DEC_STR_MAX], rbuf[DEC_STR_MAX];

    if (!json_is_object(line)) {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu] is not an "
                       "object", i);
    }

    if (fo_dec(json_object_get(line, "quantity"), &q) != 0) {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu].quantity must "
                       "be a decimal", i);
    }
    if (dec_sign(q) <= 0) {
        return fo_fail(c, INVOICE_EINVAL, "order lines[%zu].quantity must "
                       "be greater than 0", i);
    }
    if (q.scale > 6) {
        q = dec_normalize(q);
    }

    rc = fo_rate(c, line, i, dflt, &rate);
    if (rc == INVOICE_OK) {
        rc = fo_gross(c, line, i, q, &gross);
    }
    if (rc != INVOICE_OK) {
        return rc;
    }

    if (fo_net(gross, rate, c->exp, net) != INVOICE_OK) {
        return fo_fail(c, INVOICE_ERANGE, "order lines[%zu]: net out of "
                       "range", i);
    }

    rc = fo_price(q, *net, c->exp, &price);
    if (rc == INVOICE_ERANGE) {
        return fo_fail(c, rc, "order lines[%zu]: unit price out of range",
                       i);
    }
    if (rc != INVOICE_OK) {
        return fo_fail(c, rc, "order lines[%zu]: no unit price at 8 "
                       "decimals gives its net for that quantity", i);
    }

    prod = json_object_get(line, "product");
    name = fo_copy_str(line, "description");
    if (name == NULL) {
        name = fo_copy_str(prod, "name");
    }
    if (name == NULL) {
        name = json_string("Item");
    }

    if (dec_format(q, qbuf, sizeof(qbuf)) < 0
        || dec_format(price, pbuf, sizeof(pbuf)) < 0
        || dec_format(rate, rbuf, sizeof(rbuf)) < 0)
    {
        json_decref(name);
        return fo_fail(c, INVOICE_EINTERNAL, "order lines[%zu]: cannot "
                       "format", i);
    }

    l = json_object();
    if (l == NULL) {
        json_decref(name);
        return fo_fail(c, INVOICE_ENOMEM, "out of memory");
    }

    bad = fo_set(l, "name", name);
    if (fo_str(prod, "sku") != NULL) {
        bad |= fo_set(l, "seller_item_id", fo_copy_str(prod, "sku"));
    }
    bad |= fo_set(l, "quantity", json_string(qbuf));
    bad |= fo_set(l, "unit_price", json_string(pbuf));
    bad |= fo_set(l, "vat_category",
                  json_string(dec_sign(rate) > 0 ? "S" : "Z"));
    bad |= fo_set(l, "vat_rate", json_string(rbuf));
    bad |= json_array_append_new(lines, l) != 0;

    return bad ? fo_fail(c, INVOICE_ENOMEM, "out of memory") : INVOICE_OK;
}


/* doc.lines, and in *nets (malloc'ed, the caller frees) the net that
 * invoice_compute must give each line */
static int
fo_lines(fo_ctx_t *c, const char *dflt, json_t *doc, int64_t **nets)
{
    const json_t  *src;
    json_t        *lines;
    size_t         i, n;
    int            rc;

    src = json_object_get(c->order, "lines");
    n = json_array_size(src);

    lines = json_array();
    *nets = calloc(n, sizeof(**nets));
    if (fo_set(doc, "lines", lines) != 0 || *nets == NULL) {
        return fo_fail(c, INVOICE_ENOMEM, "out of memory");
    }

    for (i = 0; i < n; i++) {
        rc = fo_line(c, json_array_get(src, i), i, dflt, lines,
                     &(*nets)[i]);
        if (rc != INVOICE_OK) {
            return rc;
        }
    }

    return INVOICE_OK;
}


/*
 * BT-48 from a customer's tax id: an id with its country prefix is kept;
 * bare digits (a Polish NIP "526-104-08-28") get the buyer's country as
 * prefix, EL for Greece as VIES has it.  Returns the length written to
 * buf, 0 to keep the id as given.
 */
static size_t
fo_vat_id(const char *tax, const char *country, char *buf, size_t size)
{
    size_t  i, k;

    if (tax[0] >= 'A' && tax[0] <= 'Z' && tax[1] >= 'A' && tax[1] <= 'Z') {
        return 0;
    }

    if (size < 3 + FO_VAT_ID_MAX) {
        return 0;
    }

    k = 2;
    for (i = 0; tax[i] != '\0'; i++) {
        if (tax[i] == '-' || tax[i] == ' ') {
            continue;
        }
        if (tax[i] < '0' || tax[i] > '9' || k >= 2 + FO_VAT_ID_MAX) {
            return 0;
        }
        buf[k++] = tax[i];
    }

    if (k == 2) {
        return 0;
    }

    if (strcmp(country, "GR") == 0) {
        memcpy(buf, "EL", 2);
    } else {
        memcpy(buf, country, 2);
    }
    buf[k] = '\0';

    return k;
}


static int
fo_buyer(fo_ctx_t *c, json_t *doc)
{
    const json_t  *cust, *addr;
    json_t        *b, *a, *name;
    const char    *tax;
    char           country[3], vat[3 + FO_VAT_ID_MAX], *alt;
    int            bad;

    cust = json_object_get(c->order, "customer");
    if (!json_is_object(cust)) {
        cust = NULL;
    }
    addr = json_object_get(cust, "address");
    if (!json_is_object(addr)) {
        addr = NULL;
    }

    if (!fo_country(json_object_get(addr, "country"), country)
        && !fo_country(json_object_get(cust, "country"), country))
    {
        memcpy(country, c->seller_country, sizeof(country));
    }

    b = json_object();
    if (fo_set(doc, "buyer", b) != 0
        || fo_set(b, "address", json_object()) != 0)
    {
        return fo_fail(c, INVOICE_ENOMEM, "out of memory");
    }
    a = json_object_get(b, "address");
    bad = 0;

    if (cust == NULL) {
        bad |= fo_set(b, "name", json_string("Customer"));
        bad |= fo_set(a, "country", json_string(country));
        return bad ? fo_fail(c, INVOICE_ENOMEM, "out of memory")
                   : INVOICE_OK;
    }

    name = fo_copy_str(cust, "name");
    if (name == NULL) {
        name = fo_copy_str(cust, "email");
    }
    if (name == NULL) {
        if (asprintf(&alt, "Customer %s", c->id) < 0) {
            return fo_fail(c, INVOICE_ENOMEM, "out of memory");
        }
        name = json_string(alt);
        free(alt);
    }
    bad |= fo_set(b, "name", name);

    if (fo_str(cust, "email") != NULL) {
        bad |= fo_set(b, "email", fo_copy_str(cust, "email"));
    }

    tax = fo_str(cust, "tax_id");
    if (tax != NULL) {
        bad |= fo_set(b, "vat_id",
                      fo_vat_id(tax, country, vat, sizeof(vat)) > 0
                      ? json_string(vat) : fo_copy_str(cust, "tax_id"));
    }

    if (fo_str(addr, "street") != NULL) {
        bad |= fo_set(a, "street", fo_copy_str(addr, "street"));
    }
    if (fo_str(addr, "city") != NULL) {
        bad |= fo_set(a, "city", fo_copy_str(addr, "city"));
    }
    if (fo_str(addr, "postal_code") != NULL) {
        bad |= fo_set(a, "postal_code", fo_copy_str(addr, "postal_code"));
    }
    bad |= fo_set(a, "country", json_string(country));

    return bad ? fo_fail(c, INVOICE_ENOMEM, "out of memory") : INVOICE_OK;
}


/* BT-2, BT-9 (given, or issue date + payment_days) and BT-72 */
static int
fo_dates(fo_ctx_t *c, const json_t *profile, const char *issue_date,
    const char *due_date, json_t *doc)
{
    const json_t  *v;
    const char    *s;
    json_t        *dl;
    long           y, m, d, dy, dm, dd;
    int64_t        days, cy, cm, cd;
    char           due[64];         /* room for any long, for gcc */
    int            bad;

    if (issue_date == NULL
        || fo_date_parse(issue_date, strlen(issue_date), &y, &m, &d) != 0)
    {
        return fo_fail(c, INVOICE_EINVAL, "issue_date must be YYYY-MM-DD");
    }
    bad = fo_set(doc, "issue_date", json_string(issue_date));

    v = json_object_get(profile, "payment_days");
    if (v != NULL && !json_is_null(v)
        && (!json_is_integer(v) || json_integer_value(v) < 0
            || json_integer_value(v) > FO_PAY_DAYS_MAX))
    {
        return fo_fail(c, INVOICE_EINVAL, "seller profile: payment_days "
                       "must be an integer from 0 to %d", FO_PAY_DAYS_MAX);
    }

    if (due_date != NULL) {
        if (fo_date_parse(due_date, strlen(due_date), &dy, &dm, &dd) != 0) {
            return fo_fail(c, INVOICE_EINVAL, "due_date must be YYYY-MM-DD");
        }
        bad |= fo_set(doc, "due_date", json_string(due_date));

    } else if (json_is_integer(v)) {
        days = civil_days(y, m, d) + (int64_t) json_integer_value(v);
        civil_from_days(days, &cy, &cm, &cd);
        y = (long) cy;
        m = (long) cm;
        d = (long) cd;
        if (y > 9999) {
            return fo_fail(c, INVOICE_EINVAL, "due date after 9999");
        }
        snprintf(due, sizeof(due), "%04ld-%02ld-%02ld", y, m, d);
        bad |= fo_set(doc, "due_date", json_string(due));
    }

    /* the order is delivered (or at least sold) on the day it was made;
     * ordered_at is ISO 8601, the date is its first ten characters */
    s = fo_str(c->order, "ordered_at");
    if (s != NULL && strlen(s) >= 10
        && (s[10] == '\0' || s[10] == 'T' || s[10] == 't' || s[10] == ' ')
        && fo_date_parse(s, 10, &y, &m, &d) == 0)
    {
        dl = json_object();
        bad |= fo_set(doc, "delivery", dl);
        if (dl != NULL) {
            bad |= fo_set(dl, "date", json_stringn(s, 10));
        }
    }

    return bad ? fo_fail(c, INVOICE_ENOMEM, "out of memory") : INVOICE_OK;
}


/* BG-16 and BT-20 from the profile, BT-83 = the order, so that a
 * transfer names what it pays */
static int
fo_payment(fo_ctx_t *c, const json_t *profile, json_t *doc)
{
    static const char  *keys[] = { "means_code", "iban", "bic", "terms" };
    const json_t       *src, *v;
    json_t             *pay;
    size_t              i;
    int                 bad;

    pay = json_object();
    if (fo_set(doc, "payment", pay) != 0) {
        return fo_fail(c, INVOICE_ENOMEM, "out of memory");
    }

    bad = 0;
    src = json_object_get(profile, "payment");
    for (i = 0; json_is_object(src) && i < sizeof(keys) / sizeof(keys[0]);
         i++)
    {
        v = json_object_get(src, keys[i]);
        if (v != NULL && !json_is_null(v)) {
            bad |= fo_set(pay, keys[i], json_deep_copy(v));
        }
    }

    bad |= fo_set(pay, "reference", json_string(c->id));

    return bad ? fo_fail(c, INVOICE_ENOMEM, "out of memory") : INVOICE_OK;
}


/* everything of the API JSON but the lines */
static int
fo_document(fo_ctx_t *c, const json_t *profile, const char *issue_date,
    const char *due_date, const char *number, json_t *doc)
{
    char  *note;
    int    rc, bad;

    if (number == NULL || number[0] == '\0') {
        return fo_fail(c, INVOICE_EINVAL, "no invoice number");
    }

    if (asprintf(&note, "Order %s", c->id) < 0) {
        return fo_fail(c, INVOICE_ENOMEM, "out of memory");
    }

    bad = fo_set(doc, "kind", json_string("invoice"));
    bad |= fo_set(doc, "number", json_string(number));
    bad |= fo_set(doc, "currency",
                  json_string(fo_str(c->order, "currency")));
    bad |= fo_set(doc, "order_reference", json_string(c->id));
    bad |= fo_set(doc, "note", json_string(note));
    bad |= fo_set(doc, "seller",
                  json_deep_copy(json_object_get(profile, "seller")));
    free(note);
    if (bad) {
        /* json_string refuses what is not UTF-8: only number can be */
        return fo_fail(c, INVOICE_EINVAL, "invoice number is not UTF-8 "
                       "(or out of memory)");
    }

    rc = fo_dates(c, profile, issue_date, due_date, doc);
    if (rc == INVOICE_OK) {
        rc = fo_payment(c, profile, doc);
    }
    if (rc == INVOICE_OK) {
        rc = fo_buyer(c, doc);
    }

    return rc;
}


/* BT-131 must be the N worked out from the gross: the model rounds
 * quantity * price itself, and a price off by 1e-8 is corrected here */
static int
fo_fix_nets(fo_ctx_t *c, invoice_t *inv, const int64_t *nets)
{
    invoice_errs_t  errs;
    size_t          i;
    int             again, rc;

    again = 0;
    for (i = 0; i < inv->n_lines; i++) {
        if (inv->lines[i].net_minor == nets[i]) {
            continue;
        }
        if (fo_nudge(inv->lines[i].quantity, nets[i], c->exp,
                     &inv->lines[i].price) != INVOICE_OK)
        {
            return fo_fail(c, INVOICE_EINVAL, "order lines[%zu]: no unit "
                           "price gives its net", i);
        }
        again = 1;
    }

    if (!again) {
        return INVOICE_OK;
    }

    memset(&errs, 0, sizeof(errs));
    rc = invoice_compute(inv, &errs);
    if (rc != INVOICE_OK) {
        return fo_model_fail(c, rc, &errs);
    }

    for (i = 0; i < inv->n_lines; i++) {
        if (inv->lines[i].net_minor != nets[i]) {
            return fo_fail(c, INVOICE_EINTERNAL, "order lines[%zu]: net "
                           "differs after the price correction", i);
        }
    }

    return INVOICE_OK;
}


/* BT-114 so that BT-115 is what the buyer paid, within one minor unit
 * per line (what rounding each line's net and VAT can account for) */
static int
fo_reconcile(fo_ctx_t *c, invoice_t *inv)
{
    const json_t    *v;
    invoice_errs_t   errs;
    int64_t          total, diff, mag;
    int              rc;
    char             tbuf[DEC_STR_MAX], dbuf[DEC_STR_MAX];

    v = json_object_get(c->order, "total_minor");
    if (!json_is_integer(v)) {
        return INVOICE_OK;
    }
    total = json_integer_value(v);

    if (money_sub(total, inv->totals.tax_inclusive_minor, &diff) != DEC_OK
        || diff == INT64_MIN)
    {
        return fo_fail(c, INVOICE_ERANGE, "order total out of range");
    }

    mag = diff < 0 ? -diff : diff;
    if ((uint64_t) mag > (uint64_t) inv->n_lines) {
        if (money_format(total, c->exp, tbuf, sizeof(tbuf)) < 0
            || money_format(diff, c->exp, dbuf, sizeof(dbuf)) < 0)
        {
            return fo_fail(c, INVOICE_EINTERNAL, "cannot format");
        }
        return fo_fail(c, INVOICE_EINVAL, "order total %s differs from "
                       "its lines by %s", tbuf, dbuf);
    }

    if (diff == 0) {
        return INVOICE_OK;
    }

    inv->rounding_minor = diff;
    memset(&errs, 0, sizeof(errs));
    rc = invoice_compute(inv, &errs);
    if (rc != INVOICE_OK) {
        return fo_model_fail(c, rc, &errs);
    }

    return INVOICE_OK;
}


/* s[0..len) is exactly "YYYY-MM-DD", a real day from 1900 to 9999 (the
 * model's range) */
static int
fo_date_parse(const char *s, size_t len, long *y, long *m, long *d)
{
    static const int  mdays[12] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    size_t            i;

    if (len != 10) {
        return -1;
    }

    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') {
                return -1;
            }
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }

    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10
         + (s[3] - '0');
    *m = (s[5] - '0') * 10 + (s[6] - '0');
    *d = (s[8] - '0') * 10 + (s[9] - '0');

    if (*y < 1900 || *m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1]) {
        return -1;
    }

    if (*m == 2 && *d == 29
        && !(*y % 4 == 0 && (*y % 100 != 0 || *y % 400 == 0)))
    {
        return -1;
    }

    return 0;
}


