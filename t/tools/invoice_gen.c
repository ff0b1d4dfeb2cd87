/*
 * invoice-gen: test tool of the invoice core (t/invoice/10-ubl-validation.t,
 * bench/invoice.sh).
 *
 *   invoice-gen gen DIR N SEED   write N varied invoices as UBL
 *                                (DIR/gen-NNN.xml), the CIUS-RO variant of
 *                                each Romanian one (DIR/ro-NNN.xml) and one
 *                                deliberately broken document
 *                                (DIR/broken-total.xml); prints one line per
 *                                file: "<kind> <file>"
 *   invoice-gen xsd UBLDIR FILE...  validate each file against the UBL 2.1
 *                                Invoice or CreditNote XSD (by its root);
 *                                prints "ok FILE" or "not ok FILE: error"
 *   invoice-gen bench N          N renders of one 40..60-line invoice: compute
 *                                + UBL, compute alone, and a baseline that
 *                                writes as many elements with
 *                                xmlTextWriter without the model; prints
 *                                renders per second and the ratio
 * Exit status 0 on success, 1 on failure (any invalid file for xsd).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlwriter.h>

#include "invoice/invoice.h"


typedef struct {
    const char  *country;
    const char  *city;
    const char  *subdivision;
    const char  *postal;
    const char  *vat_prefix;
    const char  *currency;
    const char  *rates[4];
    int          n_rates;
} gen_country_t;


static uint64_t  rng_state;


static uint64_t rng(void);
static int rng_in(int lo, int hi);
static void die(const char *fmt, ...);
static char *fmt(const char *f, ...);
static void set(char **slot, const char *s);
static dec_t dec_of(const char *s);
static void gen_party(invoice_party_t *p, const gen_country_t *c, int n,
    int with_vat, int ro_sector);
static invoice_t *gen_invoice(int n);
static void write_doc(const invoice_t *inv, const char *renderer,
    const char *path);
static int cmd_gen(const char *dir, int n, unsigned seed);
static int cmd_xsd(const char *ubldir, int argc, char **argv);
static int cmd_bench(int n);
static double now(void);


static const gen_country_t  countries[] = {
    { "PL", "Kraków", NULL, "31-000", "PL", "PLN",
      { "23", "8", "5", "0" }, 4 },
    { "RO", "Cluj-Napoca", "RO-CJ", "400001", "RO", "RON",
      { "19", "9", "5" }, 3 },
    { "NL", "Utrecht", NULL, "3511 AA", "NL", "EUR", { "21" }, 1 },
    { "FR", "Lyon", NULL, "69001", "FR", "EUR", { "20" }, 1 },
};

static const gen_country_t  buyer_de = {
    "DE", "Berlin", NULL, "10115", "DE", "EUR", { "19" }, 1
};

static const gen_country_t  buyer_us = {
    "US", "Boston", NULL, "02108", "US", "USD", { "0" }, 1
};

static const char  *units[] = { "C62", "H87", "KGM", "HUR", "LTR", "MTR" };

static const char  *names[] = {
    "Zażółć gęślą jaźń: łódź, ćma, źrebię, ńo",
    "Întreprindere Ștefan și Țăranu — mâncare, îngheţată",
    "Usługa serwisowa łącznie z dojazdem",
    "Servicii de consultanță fiscală și contabilă",
    "Śruba M8 ocynkowana, opakowanie",
    "Cafea măcinată, ambalaj de 250 g",
    "Widget",
    "Licence annuelle, assistance incluse",
};


int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "gen") == 0) {
        return cmd_gen(argv[2], atoi(argv[3]),
                       (unsigned) strtoul(argv[4], NULL, 10));
    }

    if (argc >= 4 && strcmp(argv[1], "xsd") == 0) {
        return cmd_xsd(argv[2], argc - 3, argv + 3);
    }

    if (argc >= 3 && strcmp(argv[1], "bench") == 0) {
        return cmd_bench(atoi(argv[2]));
    }

    fprintf(stderr, "usage: invoice-gen gen DIR N SEED | xsd UBLDIR FILE..."
            " | bench N\n");
    return 2;
}


/* xorshift64*: deterministic for a seed */
static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;

    return rng_state * 2685821657736338717ULL;
}


static int
rng_in(int lo, int hi)
{
    return lo + (int) (rng() % (uint64_t) (hi - lo + 1));
}


static void
die(const char *f, ...)
{
    va_list  ap;

    va_start(ap, f);
    fprintf(stderr, "invoice-gen: ");
    vfprintf(stderr, f, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}


/* a formatted string in a rotating static buffer, for set() */
static char *
fmt(const char *f, ...)
{
    static char  bufs[4][2048];
    static int   k;
    va_list      ap;
    char        *b;

    b = bufs[k++ & 3];
    va_start(ap, f);
    vsnprintf(b, sizeof(bufs[0]), f, ap);
    va_end(ap);

    return b;
}


static void
set(char **slot, const char *s)
{
    if (invoice_strset(slot, s) != INVOICE_OK) {
        die("out of memory");
    }
}


static dec_t
dec_of(const char *s)
{
    dec_t  d;

    if (dec_parse(s, strlen(s), &d) != DEC_OK) {
        die("bad decimal %s", s);
    }

    return d;
}


static void
gen_party(invoice_party_t *p, const gen_country_t *c, int n, int with_vat,
    int ro_sector)
{
    set(&p->name, fmt("%s %d", names[rng_in(0, 7)], n));
    set(&p->street, fmt("ul. Długa %d / Str. Ștefan cel Mare",
                        rng_in(1, 99)));
    set(&p->postal_code, c->postal);
    set(&p->legal_id, fmt("%09d", rng_in(1000000, 999999999)));
    set(&p->email, fmt("billing%d@example.com", n));
    memcpy(p->country, c->country, 3);

    if (ro_sector) {
        set(&p->city, fmt("SECTOR%d", rng_in(1, 6)));
        set(&p->subdivision, "RO-B");
    } else {
        set(&p->city, c->city);
        set(&p->subdivision, c->subdivision);
    }

    if (with_vat) {
        set(&p->vat_id, fmt("%s%010d", c->vat_prefix,
                            rng_in(100000, 999999999)));
    }
}


static void
gen_lines(invoice_t *inv, int n_lines, vat_category_e cat,
    const gen_country_t *c, int negatives)
{
    invoice_line_t  *l;
    invoice_ac_t    *ac;
    int              k, q;

    for (k = 0; k < n_lines; k++) {
        l = invoice_add_line(inv);
        if (l == NULL) {
            die("out of memory");
        }

        set(&l->id, fmt("%d", k + 1));
        set(&l->name, names[rng_in(0, 7)]);
        if (rng_in(0, 4) == 0) {
            set(&l->description, fmt("%s; %s; %s", names[0], names[1],
                                     names[3]));
        }
        if (rng_in(0, 3) == 0) {
            set(&l->seller_item_id, fmt("SKU-%05d", rng_in(1, 99999)));
        }
        if (rng_in(0, 5) == 0) {
            set(&l->class_code, fmt("%08d", rng_in(1, 99999999)));
            set(&l->class_scheme, "STI");
        }

        memcpy(l->unit_code, units[rng_in(0, 5)], 4);
        q = rng_in(1, 100000);
        l->quantity = rng_in(0, 2) == 0 ? DEC(q, 3) : DEC(q % 50 + 1, 0);
        if (negatives && rng_in(0, 4) == 0) {
            l->quantity.m = -l->quantity.m;
        }
        l->price = rng_in(0, 3) == 0 ? DEC(rng_in(1, 99999999), 4)
                                     : DEC(rng_in(1, 99999), 2);
        if (rng_in(0, 9) == 0) {
            l->base_quantity = DEC(rng_in(0, 1) ? 10 : 100, 0);
        }

        l->vat_category = cat;
        l->vat_rate = cat == VAT_CAT_S
                      ? dec_of(c->rates[rng_in(0, c->n_rates - 1)])
                      : DEC_ZERO;
        if (cat == VAT_CAT_S && dec_sign(l->vat_rate) == 0) {
            l->vat_category = VAT_CAT_Z;
        }
        if (cat == VAT_CAT_E) {
            set(&l->vat_exemption_reason,
                "Zwolnienie: art. 43 ust. 1 pkt 37 ustawy o VAT");
            set(&l->vat_exemption_code, "VATEX-EU-132");
        }

        if (rng_in(0, 4) == 0) {
            ac = invoice_line_add_ac(l);
            ac->is_charge = rng_in(0, 2) == 0;
            ac->amount_minor = rng_in(1, 500);
            set(&ac->reason, ac->is_charge ? "Opakowanie / ambalare"
                                           : "Rabat / reducere");
            set(&ac->reason_code, ac->is_charge ? "ABL" : "95");
        }
    }
}


static invoice_t *
gen_invoice(int n)
{
    const gen_country_t  *c;
    invoice_t            *inv;
    invoice_ac_t         *ac;
    invoice_errs_t        errs = { 0 };
    int                   scenario, n_lines, ro_sector;
    vat_category_e        cat;

    inv = invoice_new();
    if (inv == NULL) {
        die("out of memory");
    }

    c = &countries[n % 4];
    scenario = (n / 4) % 8;
    n_lines = scenario == 7 ? rng_in(40, 60) : rng_in(1, 12);
    ro_sector = strcmp(c->country, "RO") == 0 && rng_in(0, 1);

    set(&inv->number, fmt("FV/2025/%02d/%d", n % 12 + 1, n + 1));
    snprintf(inv->issue_date, 11, "2025-%02d-%02d", n % 12 + 1,
             rng_in(1, 28));
    snprintf(inv->due_date, 11, "2026-%02d-%02d", n % 12 + 1, rng_in(1, 28));
    set(&inv->payment_terms, "Płatne w ciągu 14 dni / plată în 14 zile");
    set(&inv->buyer_reference, fmt("PO-%d", rng_in(1000, 9999)));
    if (rng_in(0, 1)) {
        set(&inv->order_reference, fmt("ORD-%d", rng_in(1, 99999)));
    }
    set(&inv->iban, "PL61109010140000071219812874");
    set(&inv->bic, "WBKPPLPP");
    memcpy(inv->payment_means_code, "30", 3);
    if (rng_in(0, 2) == 0) {
        set(&inv->note, "Dziękujemy! Mulțumim pentru colaborare — ăâîșț");
    }

    /* currency: the seller's, or a foreign one with the VAT in his own */
    memcpy(inv->currency, c->currency, 4);
    switch (rng_in(0, 4)) {
    case 0:
        if (strcmp(c->country, "PL") == 0) {
            memcpy(inv->currency, "EUR", 4);
            memcpy(inv->vat_currency, "PLN", 4);
            inv->exchange_rate = dec_of("4.2813");
        } else if (strcmp(c->country, "RO") == 0) {
            memcpy(inv->currency, "EUR", 4);
            memcpy(inv->vat_currency, "RON", 4);
            inv->exchange_rate = dec_of("4.9771");
        }
        break;
    case 1:
        if (strcmp(c->country, "PL") == 0) {
            memcpy(inv->currency, "CZK", 4);
            memcpy(inv->vat_currency, "PLN", 4);
            inv->exchange_rate = dec_of("0.1712");
        } else if (strcmp(c->country, "RO") == 0) {
            memcpy(inv->currency, "USD", 4);
            memcpy(inv->vat_currency, "RON", 4);
            inv->exchange_rate = dec_of("4.6012");
        }
        break;
    default:
        break;
    }

    cat = VAT_CAT_S;
    switch (scenario) {
    case 1:
        cat = VAT_CAT_E;
        break;
    case 2:
        cat = VAT_CAT_AE;
        break;
    case 3:
        cat = VAT_CAT_K;
        break;
    case 4:
        cat = VAT_CAT_G;
        break;
    case 5:
        cat = VAT_CAT_O;
        break;
    default:
        break;
    }

    gen_party(&inv->seller, c, n, cat != VAT_CAT_O, ro_sector);
    if (cat == VAT_CAT_K) {
        gen_party(&inv->buyer, &buyer_de, n + 1000, 1, 0);
        memcpy(inv->delivery_country, "DE", 3);
        memcpy(inv->delivery_date, inv->issue_date, 11);
    } else if (cat == VAT_CAT_G) {
        gen_party(&inv->buyer, &buyer_us, n + 1000, 0, 0);
    } else {
        gen_party(&inv->buyer, c, n + 1000,
                  cat != VAT_CAT_O && (cat == VAT_CAT_AE || rng_in(0, 1)),
                  0);
    }

    if (scenario == 6) {
        inv->kind = INVOICE_KIND_CREDIT_NOTE;
        set(&inv->preceding_number, fmt("FV/2024/12/%d", n + 1));
        memcpy(inv->preceding_date, "2024-12-15", 11);
    }

    if (scenario == 0 || scenario == 7) {
        /* the standard rates mixed with a zero-rated and an exempt line */
        gen_lines(inv, n_lines, VAT_CAT_S, c, scenario == 7);
        if (rng_in(0, 1)) {
            gen_lines(inv, 1, VAT_CAT_E, c, 0);
            set(&inv->lines[inv->n_lines - 1].id, fmt("%zu", inv->n_lines));
        }
    } else {
        gen_lines(inv, n_lines, cat, c, scenario == 6);
    }

    /* document level: a discount on the first line's category (when the
     * lines sum up to something to discount), freight */
    if (invoice_compute(inv, &errs) != INVOICE_OK) {
        die("invoice %d: %s: %s", n, errs.n ? errs.e[0].path : "",
            errs.n ? errs.e[0].msg : "");
    }
    if (inv->totals.line_net_minor > 0 && rng_in(0, 1)) {
        ac = invoice_add_ac(inv);
        ac->is_charge = 0;
        ac->amount_given = 0;
        ac->has_percent = 1;
        ac->percent = DEC(rng_in(1, 10), 0);
        ac->vat_category = inv->lines[0].vat_category;
        ac->vat_rate = inv->lines[0].vat_rate;
        set(&ac->reason, "Rabat za wolumen / discount de volum");
        set(&ac->reason_code, "95");
    }
    if (rng_in(0, 1)) {
        ac = invoice_add_ac(inv);
        ac->is_charge = 1;
        ac->amount_minor = rng_in(100, 5000);
        ac->vat_category = inv->lines[0].vat_category;
        ac->vat_rate = inv->lines[0].vat_rate;
        set(&ac->reason, "Transport");
        set(&ac->reason_code, "FC");
    }

    if (invoice_compute(inv, &errs) != INVOICE_OK) {
        die("invoice %d: %s: %s", n, errs.n ? errs.e[0].path : "",
            errs.n ? errs.e[0].msg : "");
    }

    if (inv->totals.payable_minor > 0 && rng_in(0, 5) == 0) {
        inv->prepaid_minor = inv->totals.payable_minor / 3;
        if (invoice_compute(inv, &errs) != INVOICE_OK) {
            die("invoice %d: prepaid", n);
        }
    }

    return inv;
}


static void
write_doc(const invoice_t *inv, const char *renderer, const char *path)
{
    const invoice_renderer_t  *r;
    invoice_render_opts_t      o = { .pretty = 1 };
    unsigned char             *out;
    size_t                     len;
    char                       err[256];
    FILE                      *f;

    r = invoice_renderer(renderer);
    if (r == NULL || r->render(inv, &o, &out, &len, err, sizeof(err)) != 0) {
        die("%s: render %s: %s", path, renderer, r ? err : "unknown");
    }

    f = fopen(path, "w");
    if (f == NULL || fwrite(out, 1, len, f) != len || fclose(f) != 0) {
        die("%s: write failed", path);
    }
    free(out);
}


static int
cmd_gen(const char *dir, int n, unsigned seed)
{
    invoice_t  *inv;
    char        path[1024];
    int         i;

    rng_state = 0x9E3779B97F4A7C15ULL ^ seed;

    for (i = 0; i < n; i++) {
        inv = gen_invoice(i);
        snprintf(path, sizeof(path), "%s/gen-%03d.xml", dir, i);
        write_doc(inv, "ubl", path);
        printf("gen %s\n", path);

        if (strcmp(inv->seller.country, "RO") == 0) {
            snprintf(path, sizeof(path), "%s/ro-%03d.xml", dir, i);
            write_doc(inv, "ubl-ro", path);
            printf("ro %s\n", path);
        }
        invoice_free(inv);
    }

    /* the negative control: a correct invoice whose payable is off by a
     * cent (BR-CO-16) */
    inv = gen_invoice(0);
    inv->totals.payable_minor += 1;
    snprintf(path, sizeof(path), "%s/broken-total.xml", dir);
    write_doc(inv, "ubl", path);
    printf("broken %s\n", path);
    invoice_free(inv);

    return 0;
}


static xmlSchemaPtr
load_schema(const char *ubldir, const char *name)
{
    xmlSchemaParserCtxtPtr  pc;
    xmlSchemaPtr            s;
    char                    path[1024];

    snprintf(path, sizeof(path), "%s/maindoc/%s", ubldir, name);
    pc = xmlSchemaNewParserCtxt(path);
    if (pc == NULL) {
        die("%s: cannot read", path);
    }
    s = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (s == NULL) {
        die("%s: cannot parse", path);
    }

    return s;
}


static void
xsd_error(void *ctx, const char *msg, ...)
{
    char     *buf = ctx;
    size_t    used = strlen(buf);
    va_list   ap;

    if (used >= 400) {
        return;
    }
    va_start(ap, msg);
    vsnprintf(buf + used, 512 - used, msg, ap);
    va_end(ap);
}


static int
cmd_xsd(const char *ubldir, int argc, char **argv)
{
    xmlSchemaPtr           inv_s, cn_s, s;
    xmlSchemaValidCtxtPtr  vc;
    xmlDocPtr              doc;
    xmlNodePtr             root;
    char                   err[512];
    int                    i, bad;

    inv_s = load_schema(ubldir, "UBL-Invoice-2.1.xsd");
    cn_s = load_schema(ubldir, "UBL-CreditNote-2.1.xsd");
    bad = 0;

    for (i = 0; i < argc; i++) {
        err[0] = '\0';
        doc = xmlReadFile(argv[i], NULL, XML_PARSE_NONET);
        if (doc == NULL) {
            printf("not ok %s: not well-formed\n", argv[i]);
            bad = 1;
            continue;
        }

        root = xmlDocGetRootElement(doc);
        s = root != NULL && strcmp((const char *) root->name, "CreditNote")
                            == 0 ? cn_s : inv_s;
        vc = xmlSchemaNewValidCtxt(s);
        xmlSchemaSetValidErrors(vc, xsd_error, xsd_error, err);
        if (xmlSchemaValidateDoc(vc, doc) != 0) {
            err[strcspn(err, "\n")] = '\0';
            printf("not ok %s: %s\n", argv[i], err);
            bad = 1;
        } else {
            printf("ok %s\n", argv[i]);
        }
        xmlSchemaFreeValidCtxt(vc);
        xmlFreeDoc(doc);
    }

    xmlSchemaFree(inv_s);
    xmlSchemaFree(cn_s);

    return bad;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* the same number of elements and bytes of text, without the model */
static size_t
baseline_render(size_t elements)
{
    xmlBufferPtr      buf;
    xmlTextWriterPtr  w;
    size_t            i, len;

    buf = xmlBufferCreate();
    w = xmlNewTextWriterMemory(buf, 0);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "Invoice");
    for (i = 0; i < elements; i++) {
        xmlTextWriterStartElement(w, BAD_CAST "cbc:Element");
        xmlTextWriterWriteAttribute(w, BAD_CAST "currencyID", BAD_CAST "EUR");
        xmlTextWriterWriteString(w, BAD_CAST "12345.67");
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    len = (size_t) xmlBufferLength(buf);
    xmlBufferFree(buf);

    return len;
}


static int
cmd_bench(int n)
{
    invoice_t                 *inv;
    const invoice_renderer_t  *r;
    unsigned char             *out;
    size_t                     len, elements, i, sink;
    double                     t0, t_ubl, t_compute, t_base;
    char                       err[128];
    int                        k;

    if (n <= 0) {
        n = 2000;
    }

    rng_state = 42;
    inv = gen_invoice(28);          /* scenario 7: 40..60 lines */

    r = invoice_renderer("ubl");
    if (r->render(inv, NULL, &out, &len, err, sizeof(err)) != 0) {
        die("render: %s", err);
    }
    elements = 0;
    for (i = 0; i < len; i++) {
        elements += out[i] == '<' && i + 1 < len && out[i + 1] != '/'
                    && out[i + 1] != '?';
    }
    free(out);

    sink = 0;
    t0 = now();
    for (k = 0; k < n; k++) {
        if (invoice_compute(inv, NULL) != INVOICE_OK
            || r->render(inv, NULL, &out, &len, err, sizeof(err)) != 0)
        {
            die("render failed");
        }
        sink += len;
        free(out);
    }
    t_ubl = now() - t0;

    t0 = now();
    for (k = 0; k < n; k++) {
        if (invoice_compute(inv, NULL) != INVOICE_OK) {
            die("compute failed");
        }
    }
    t_compute = now() - t0;

    t0 = now();
    for (k = 0; k < n; k++) {
        sink += baseline_render(elements);
    }
    t_base = now() - t0;

    printf("invoice lines: %zu, UBL elements: %zu (bytes written: %zu)\n",
           inv->n_lines, elements, sink);
    printf("compute + UBL render: %.0f /s\n", n / t_ubl);
    printf("compute alone:        %.0f /s\n", n / t_compute);
    printf("baseline xmlTextWriter, same element count: %.0f /s\n",
           n / t_base);
    printf("ratio UBL / baseline: %.2f\n", t_base / t_ubl);
    invoice_free(inv);

    return 0;
}
