
/*
 * build/invoice-render: test and bench tool of the FA(3) and PDF renderers
 * (t/invoice/20-ksef-validation.t, t/invoice/30-pdf.t).
 *
 *   invoice-render gen <dir> <count> [seed [json]]
 *       writes <dir>/ksef-NNN.xml for count seeded, varied Polish invoices
 *       (rates 23/8/5, categories S Z E AE K G O, line and document
 *       allowances and charges, negative quantities, PLN EUR USD CZK,
 *       credit notes, prepaid amounts, diacritics), with "json" their API
 *       JSON too (ksef-NNN.json); one line per file on
 *       stdout: "<file>\t<number>\t<P_15>"
 *   invoice-render sample <name> <format> <out>
 *       one named invoice (basic, many, diacritics, credit, eur,
 *       foreign-seller: FA(3) must refuse it) as
 *       format (ksef, pdf, json, ubl); prints "number=.. gross=..
 *       payable=.. vat=.. vat_vc=.." (amounts as rendered)
 *   invoice-render render <format> <in.json> <out>
 *       an API JSON invoice through invoice_from_json and compute
 *   invoice-render validate <xsd> <file>...
 *       XSD validation with libxml2 (no xmllint needed): "<file>
 *       validates" or "<file> fails: <first error>" per file; exit 1 if
 *       any fails
 *   invoice-render threads <n> <each> <dir>
 *       n threads render the "diacritics" PDF each times at once (and the
 *       FA(3) beside it); every render must succeed; <dir>/thread-N.pdf
 *       is each thread's last PDF
 *   invoice-render bench <seconds> [ksef|pdf|baseline]
 *       FA(3) and PDF renders per second of a 20 line invoice (sample
 *       "bench"), against a
 *       baseline in the same run: a one-page PDF with one line of text
 *
 * Exit status 0, or 1 with a message on stderr.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <libxml/xmlschemas.h>

#include "invoice/invoice.h"


typedef struct {
    unsigned long long  s;
} gen_rng_t;


/* one thread of "threads": renders n PDFs, keeps the last */
typedef struct {
    pthread_t        tid;
    const invoice_t *inv;
    unsigned         n;
    unsigned         failed;
    unsigned char   *last;
    size_t           last_len;
} thread_job_t;


static unsigned gen_rand(gen_rng_t *r, unsigned n);
static void gen_str(char **slot, const char *s);
static void gen_party(invoice_party_t *p, const char *name,
    const char *vat, const char *street, const char *pc, const char *city,
    const char *cc);
static invoice_t *gen_invoice(unsigned seed, unsigned idx);
static invoice_t *sample(const char *name);
static int compute(invoice_t *inv);
static int render(const invoice_t *inv, const char *format, const char *out);
static int cmd_gen(int argc, char **argv);
static int cmd_sample(int argc, char **argv);
static int cmd_render(int argc, char **argv);
static int cmd_bench(int argc, char **argv);
static void validate_error(void *ctx, const xmlError *e);
static int cmd_validate(int argc, char **argv);
static void *thread_main(void *arg);
static int cmd_threads(int argc, char **argv);
const char *__lsan_default_suppressions(void);
static double now_s(void);
static cairo_status_t bench_sink(void *closure, const unsigned char *data,
    unsigned int length);
static int bench_baseline(void);


static const char  *gen_words[] = {
    "Zażółć", "gęślą", "jaźń", "łódka", "źdźbło", "młyn",
    "Ștefan",
    "Țepeș", "brânză", "mâine", "înțelegere", "sărbătoare", "kabel",
    "śruba", "usługa", "montaż", "serwis", "licencja", "transport",
    "ćwiczenie", "naprawa", "konsultacja", "Kraków", "Gdańsk", "Iași",
};



/* the sanitizer build (build/asan/invoice-render): fontconfig keeps its
 * configuration for the process's life, not a leak of ours */
const char *
__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gen") == 0) {
        return cmd_gen(argc - 2, argv + 2);
    }

    if (argc >= 2 && strcmp(argv[1], "sample") == 0) {
        return cmd_sample(argc - 2, argv + 2);
    }

    if (argc >= 2 && strcmp(argv[1], "render") == 0) {
        return cmd_render(argc - 2, argv + 2);
    }

    if (argc >= 2 && strcmp(argv[1], "bench") == 0) {
        return cmd_bench(argc - 2, argv + 2);
    }

    if (argc >= 2 && strcmp(argv[1], "threads") == 0) {
        return cmd_threads(argc - 2, argv + 2);
    }

    if (argc >= 2 && strcmp(argv[1], "validate") == 0) {
        return cmd_validate(argc - 2, argv + 2);
    }

    fprintf(stderr, "usage: invoice-render gen <dir> <count> [seed] | "
            "sample <name> <format> <out> | render <format> <in> <out> | "
            "bench <seconds> | validate <xsd> <file>... | "
            "threads <n> <each> <dir>\n");
    return 1;
}


static unsigned
gen_rand(gen_rng_t *r, unsigned n)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;

    return (unsigned) ((r->s >> 33) % n);
}


static void
gen_str(char **slot, const char *s)
{
    if (invoice_strset(slot, s) != INVOICE_OK) {
        fprintf(stderr, "invoice-render: out of memory\n");
        exit(1);
    }
}


static void
gen_party(invoice_party_t *p, const char *name, const char *vat,
    const char *street, const char *pc, const char *city, const char *cc)
{
    gen_str(&p->name, name);
    gen_str(&p->vat_id, vat);
    gen_str(&p->street, street);
    gen_str(&p->postal_code, pc);
    gen_str(&p->city, city);
    snprintf(p->country, sizeof(p->country), "%s", cc);
}


/* one seeded invoice; the buyer decides which categories make sense */
static invoice_t *
gen_invoice(unsigned seed, unsigned idx)
{
    static const char  *currencies[] = { "PLN", "PLN", "EUR", "USD", "CZK" };
    static const int    rates[] = { 23, 8, 5 };
    static const char  *units[] = { "C62", "H87", "HUR", "KGM", "MTR" };

    gen_rng_t        r;
    invoice_t       *inv;
    invoice_line_t  *l;
    invoice_ac_t    *ac;
    unsigned         i, n, kind, k;
    char             buf[600], name[512];
    vat_category_e   cats[4];
    unsigned         ncats;

    r.s = (unsigned long long) seed * 1000003ULL + idx;
    inv = invoice_new();
    if (inv == NULL) {
        return NULL;
    }

    snprintf(buf, sizeof(buf), "FV/2025/%02u/%u", 1 + idx % 12, idx + 1);
    gen_str(&inv->number, buf);
    snprintf(inv->issue_date, sizeof(inv->issue_date), "2025-%02u-%02u",
             1 + idx % 12, 1 + gen_rand(&r, 28));
    if (gen_rand(&r, 3)) {
        snprintf(inv->due_date, sizeof(inv->due_date), "2026-01-%02u",
                 1 + gen_rand(&r, 28));
    }
    if (gen_rand(&r, 4) == 0) {
        snprintf(inv->delivery_date, sizeof(inv->delivery_date),
                 "2025-06-%02u", 1 + gen_rand(&r, 28));
    } else if (gen_rand(&r, 4) == 0) {
        snprintf(inv->period_start, sizeof(inv->period_start), "2025-05-01");
        snprintf(inv->period_end, sizeof(inv->period_end), "2025-05-31");
    }

    snprintf(inv->currency, sizeof(inv->currency), "%s",
             currencies[gen_rand(&r, 5)]);
    if (strcmp(inv->currency, "PLN") != 0 && gen_rand(&r, 4)) {
        snprintf(inv->vat_currency, sizeof(inv->vat_currency), "PLN");
        inv->exchange_rate = DEC(42000 + (int64_t) gen_rand(&r, 9999), 4);
    }

    gen_party(&inv->seller, "Zażółć Gęślą Jaźń Sp. z o.o.",
              "PL5260250274",
              "ul. Świętokrzyska 12/4", "00-916", "Warszawa", "PL");
    gen_str(&inv->seller.email, "faktury@example.pl");

    /* 0 domestic with NIP, 1 domestic consumer, 2 EU company, 3 non-EU */
    kind = gen_rand(&r, 4);
    ncats = 0;
    switch (kind) {
    case 0:
        gen_party(&inv->buyer, "Łukasz Żółć Handel", "PL7740001454",
                  "ul. Długa 5", "80-827", "Gdańsk", "PL");
        cats[ncats++] = VAT_CAT_S;
        cats[ncats++] = VAT_CAT_Z;
        cats[ncats++] = VAT_CAT_E;
        cats[ncats++] = VAT_CAT_AE;
        break;
    case 1:
        gen_party(&inv->buyer, "Małgorzata Śliwińska", NULL,
                  "ul. Źródlana 3", "30-001", "Kraków", "PL");
        cats[ncats++] = VAT_CAT_S;
        cats[ncats++] = VAT_CAT_E;
        break;
    case 2:
        gen_party(&inv->buyer, "Ștefan Țepeș Distribuție SRL",
                  "RO18547290", "Str. Mântuleasa 7", "030167",
                  "București", "RO");
        cats[ncats++] = VAT_CAT_K;
        cats[ncats++] = VAT_CAT_AE;
        cats[ncats++] = VAT_CAT_S;
        break;
    default:
        gen_party(&inv->buyer, "Acme Trading Inc.", NULL,
                  "1 Main Street", "10001", "New York", "US");
        cats[ncats++] = VAT_CAT_G;
        cats[ncats++] = VAT_CAT_O;
        break;
    }

    if (idx % 7 == 3) {
        inv->kind = INVOICE_KIND_CREDIT_NOTE;
        snprintf(buf, sizeof(buf), "FV/2025/01/%u", idx);
        gen_str(&inv->preceding_number, buf);
        snprintf(inv->preceding_date, sizeof(inv->preceding_date),
                 "2025-01-15");
        gen_str(&inv->note, "Zwrot towaru / returned goods");
    } else if (gen_rand(&r, 3) == 0) {
        gen_str(&inv->note, "Dziękujemy — mulțumim pentru comandă.");
    }

    if (gen_rand(&r, 2)) {
        snprintf(inv->payment_means_code, sizeof(inv->payment_means_code),
                 "%s", gen_rand(&r, 3) ? "30" : "10");
        gen_str(&inv->iban, "PL61109010140000071219812874");
        gen_str(&inv->bic, "WBKPPLPP");
    }
    if (gen_rand(&r, 3) == 0) {
        gen_str(&inv->order_reference, "ZAM-2025-0042");
    }

    n = 1 + gen_rand(&r, 60);
    for (i = 0; i < n; i++) {
        l = invoice_add_line(inv);
        if (l == NULL) {
            invoice_free(inv);
            return NULL;
        }

        name[0] = '\0';
        for (k = 0; k < 1 + gen_rand(&r, 6); k++) {
            snprintf(name + strlen(name), sizeof(name) - strlen(name),
                     "%s%s", k ? " " : "",
                     gen_words[gen_rand(&r, sizeof(gen_words)
                                             / sizeof(gen_words[0]))]);
        }
        gen_str(&l->name, name);
        snprintf(buf, sizeof(buf), "%u", i + 1);
        gen_str(&l->id, buf);
        snprintf(l->unit_code, sizeof(l->unit_code), "%s",
                 units[gen_rand(&r, 5)]);

        l->quantity = DEC(1 + (int64_t) gen_rand(&r, 5000), 2);
        if (gen_rand(&r, 15) == 0) {
            l->quantity.m = -l->quantity.m;
        }
        l->price = DEC(1 + (int64_t) gen_rand(&r, 500000), 3);
        if (gen_rand(&r, 10) == 0) {
            l->base_quantity = DEC(10, 0);
        }

        l->vat_category = cats[gen_rand(&r, ncats)];
        l->vat_rate = l->vat_category == VAT_CAT_S
                      ? DEC(rates[gen_rand(&r, 3)], 0) : DEC_ZERO;
        if (l->vat_category == VAT_CAT_E) {
            gen_str(&l->vat_exemption_reason, "art. 43 ust. 1 pkt 37 "
                    "ustawy o VAT");
            gen_str(&l->vat_exemption_code, "VATEX-EU-132");
        }

        if (gen_rand(&r, 6) == 0) {
            ac = invoice_line_add_ac(l);
            if (ac == NULL) {
                invoice_free(inv);
                return NULL;
            }
            ac->is_charge = gen_rand(&r, 3) == 0;
            ac->amount_minor = 1 + gen_rand(&r, 500);
            ac->amount_given = 1;
            gen_str(&ac->reason, ac->is_charge ? "Opakowanie" : "Rabat");
        }
    }

    if (gen_rand(&r, 4) == 0) {
        ac = invoice_add_ac(inv);
        if (ac == NULL) {
            invoice_free(inv);
            return NULL;
        }
        ac->is_charge = gen_rand(&r, 2);
        ac->amount_minor = 100 + gen_rand(&r, 2000);
        ac->amount_given = 1;
        ac->vat_category = inv->lines[0].vat_category;
        ac->vat_rate = inv->lines[0].vat_rate;
        gen_str(&ac->reason, ac->is_charge ? "Transport" : "Rabat "
                "posezonowy");
    }

    if (inv->kind == INVOICE_KIND_INVOICE && gen_rand(&r, 8) == 0) {
        inv->prepaid_minor = 1000;
    }

    return inv;
}


/* the named invoices of t/invoice/30-pdf.t */
static invoice_t *
sample(const char *name)
{
    invoice_t       *inv;
    invoice_line_t  *l;
    unsigned         i, lines;
    char             buf[700];

    inv = invoice_new();
    if (inv == NULL) {
        return NULL;
    }

    snprintf(inv->currency, sizeof(inv->currency), "PLN");
    snprintf(inv->issue_date, sizeof(inv->issue_date), "2025-11-14");
    snprintf(inv->due_date, sizeof(inv->due_date), "2025-11-28");
    snprintf(inv->payment_means_code, sizeof(inv->payment_means_code), "30");
    gen_str(&inv->iban, "PL61109010140000071219812874");
    gen_str(&inv->number, "FV/2025/11/123");
    gen_party(&inv->seller, "Zażółć Gęślą Jaźń Sp. z o.o.",
              "PL5260250274",
              "ul. Świętokrzyska 12/4", "00-916", "Warszawa", "PL");
    gen_party(&inv->buyer, "Łukasz Żółć Handel", "PL7740001454",
              "ul. Długa 5", "80-827", "Gdańsk", "PL");

    lines = strcmp(name, "many") == 0 ? 200
            : strcmp(name, "bench") == 0 ? 20 : 3;

    for (i = 0; i < lines; i++) {
        l = invoice_add_line(inv);
        if (l == NULL) {
            invoice_free(inv);
            return NULL;
        }
        snprintf(buf, sizeof(buf), "%u", i + 1);
        gen_str(&l->id, buf);
        snprintf(buf, sizeof(buf), "Pozycja %u: śruba nierdzewna M%u",
                 i + 1, 3 + i % 9);
        gen_str(&l->name, buf);
        l->quantity = DEC(1 + (int64_t) (i % 7), 0);
        l->price = DEC(1999 + (int64_t) i * 10, 2);
        l->vat_category = VAT_CAT_S;
        l->vat_rate = DEC(i % 3 == 2 ? 8 : 23, 0);
    }

    if (strcmp(name, "diacritics") == 0) {
        gen_party(&inv->buyer, "Ștefan Țepeș Distribuție SRL",
                  "RO18547290", "Str. Mântuleasa 7, Sectorul 3", "030167",
                  "București", "RO");
        gen_str(&inv->lines[0].name, "Zażółć gęślą jaźń — bardzo "
                "długa "
                "nazwa pozycji, która musi się zawinąć w kilku wierszach "
                "tabeli, bo nie mieści się w kolumnie nazwy: źdźbło, "
                "łódź, ćma, ńa, óstrów, śnieg, żaba");
        gen_str(&inv->lines[1].name, "Brânză de burduf și țuică din "
                "Țara Bârsei, înțelegere și sărbătoare "
                "(ă â î ș ț Ă Â Î Ș "
                "Ț)");
        inv->lines[0].vat_category = VAT_CAT_K;
        inv->lines[0].vat_rate = DEC_ZERO;
        inv->lines[1].vat_category = VAT_CAT_K;
        inv->lines[1].vat_rate = DEC_ZERO;
        inv->lines[2].vat_category = VAT_CAT_K;
        inv->lines[2].vat_rate = DEC_ZERO;
    } else if (strcmp(name, "credit") == 0) {
        inv->kind = INVOICE_KIND_CREDIT_NOTE;
        gen_str(&inv->number, "FK/2025/11/9");
        gen_str(&inv->preceding_number, "FV/2025/10/77");
        snprintf(inv->preceding_date, sizeof(inv->preceding_date),
                 "2025-10-15");
        gen_str(&inv->note, "Zwrot towaru / returned goods");
    } else if (strcmp(name, "eur") == 0) {
        snprintf(inv->currency, sizeof(inv->currency), "EUR");
        snprintf(inv->vat_currency, sizeof(inv->vat_currency), "PLN");
        inv->exchange_rate = DEC(42567, 4);
    } else if (strcmp(name, "foreign-seller") == 0) {
        gen_party(&inv->seller, "Brânzeturi Țară SRL", "RO18547290",
                  "Str. Lungă 1", "500001", "Brașov", "RO");
    } else if (strcmp(name, "basic") != 0 && strcmp(name, "many") != 0
               && strcmp(name, "bench") != 0)
    {
        invoice_free(inv);
        fprintf(stderr, "invoice-render: no sample \"%s\"\n", name);
        return NULL;
    }

    return inv;
}


static int
compute(invoice_t *inv)
{
    invoice_errs_t  errs;
    size_t          i;

    memset(&errs, 0, sizeof(errs));

    if (invoice_compute(inv, &errs) == INVOICE_OK) {
        return 0;
    }

    for (i = 0; i < errs.n; i++) {
        fprintf(stderr, "invoice-render: %s: %s\n", errs.e[i].path,
                errs.e[i].msg);
    }

    return -1;
}


static int
render(const invoice_t *inv, const char *format, const char *out)
{
    const invoice_renderer_t  *r;
    invoice_render_opts_t      o;
    unsigned char             *buf;
    size_t                     len;
    char                       err[256];
    FILE                      *f;
    int                        rc;

    r = invoice_renderer(format);
    if (r == NULL) {
        fprintf(stderr, "invoice-render: no renderer \"%s\"\n", format);
        return -1;
    }

    memset(&o, 0, sizeof(o));
    o.pretty = 1;
    err[0] = '\0';

    rc = r->render(inv, &o, &buf, &len, err, sizeof(err));
    if (rc != INVOICE_OK) {
        fprintf(stderr, "invoice-render: %s: %d %s\n", format, rc, err);
        return -1;
    }

    f = fopen(out, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "invoice-render: cannot write %s\n", out);
        free(buf);
        return -1;
    }

    free(buf);

    return 0;
}


static int
cmd_gen(int argc, char **argv)
{
    unsigned    i, count, seed;
    char        path[4096], p15[DEC_STR_MAX];
    invoice_t  *inv;
    int         exp;
    int64_t     gross;

    if (argc < 2) {
        fprintf(stderr, "usage: invoice-render gen <dir> <count> [seed]\n");
        return 1;
    }

    count = (unsigned) strtoul(argv[1], NULL, 10);
    seed = argc > 2 ? (unsigned) strtoul(argv[2], NULL, 10) : 1;

    for (i = 0; i < count; i++) {
        inv = gen_invoice(seed, i);
        if (inv == NULL || compute(inv) != 0) {
            fprintf(stderr, "invoice-render: invoice %u\n", i);
            invoice_free(inv);
            return 1;
        }

        if (argc > 3) {
            snprintf(path, sizeof(path), "%s/ksef-%03u.json", argv[0], i);
            if (render(inv, "json", path) != 0) {
                invoice_free(inv);
                return 1;
            }
        }

        snprintf(path, sizeof(path), "%s/ksef-%03u.xml", argv[0], i);
        if (render(inv, "ksef", path) != 0) {
            invoice_free(inv);
            return 1;
        }

        exp = invoice_currency_exponent(inv->currency);
        gross = inv->totals.tax_inclusive_minor;
        if (inv->kind == INVOICE_KIND_CREDIT_NOTE) {
            gross = -gross;
        }
        money_format(gross, exp, p15, sizeof(p15));
        printf("%s\t%s\t%s\t%s\n", path, inv->number, p15,
               inv->kind == INVOICE_KIND_CREDIT_NOTE ? "KOR" : "VAT");
        invoice_free(inv);
    }

    return 0;
}


static int
cmd_sample(int argc, char **argv)
{
    invoice_t  *inv;
    char        gross[DEC_STR_MAX], pay[DEC_STR_MAX], vat[DEC_STR_MAX];
    char        vvc[DEC_STR_MAX];
    int         exp, rc;

    if (argc < 3) {
        fprintf(stderr, "usage: invoice-render sample <name> <format> "
                "<out>\n");
        return 1;
    }

    inv = sample(argv[0]);
    if (inv == NULL || compute(inv) != 0) {
        invoice_free(inv);
        return 1;
    }

    rc = render(inv, argv[1], argv[2]);

    exp = invoice_currency_exponent(inv->currency);
    money_format(inv->totals.tax_inclusive_minor, exp, gross, sizeof(gross));
    money_format(inv->totals.payable_minor, exp, pay, sizeof(pay));
    money_format(inv->totals.vat_minor, exp, vat, sizeof(vat));
    snprintf(vvc, sizeof(vvc), "-");
    if (inv->totals.has_vat_in_vat_currency) {
        money_format(inv->totals.vat_in_vat_currency_minor, 2, vvc,
                     sizeof(vvc));
    }
    printf("number=%s gross=%s payable=%s vat=%s vat_vc=%s lines=%zu\n",
           inv->number, gross, pay, vat, vvc, inv->n_lines);

    invoice_free(inv);

    return rc == 0 ? 0 : 1;
}


static int
cmd_render(int argc, char **argv)
{
    json_t          *j;
    json_error_t     je;
    invoice_t       *inv;
    invoice_errs_t   errs;
    size_t           i;
    int              rc;

    if (argc < 3) {
        fprintf(stderr, "usage: invoice-render render <format> <in> "
                "<out>\n");
        return 1;
    }

    j = json_load_file(argv[1], 0, &je);
    if (j == NULL) {
        fprintf(stderr, "invoice-render: %s:%d: %s\n", argv[1], je.line,
                je.text);
        return 1;
    }

    memset(&errs, 0, sizeof(errs));
    inv = NULL;
    rc = invoice_from_json(j, &inv, &errs);
    json_decref(j);

    if (rc != INVOICE_OK) {
        for (i = 0; i < errs.n; i++) {
            fprintf(stderr, "invoice-render: %s: %s\n", errs.e[i].path,
                    errs.e[i].msg);
        }
        return 1;
    }

    rc = compute(inv) == 0 ? render(inv, argv[0], argv[2]) : -1;
    invoice_free(inv);

    return rc == 0 ? 0 : 1;
}


static double
now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


static cairo_status_t
bench_sink(void *closure, const unsigned char *data, unsigned int length)
{
    *(size_t *) closure += length;

    return CAIRO_STATUS_SUCCESS;
}


/* the floor of any PDF render: a page, a surface, one line of text */
static int
bench_baseline(void)
{
    cairo_surface_t  *s;
    cairo_t          *cr;
    PangoLayout      *l;
    size_t            n;

    n = 0;
    s = cairo_pdf_surface_create_for_stream(bench_sink, &n, 595.276,
                                            841.89);
    cr = cairo_create(s);
    l = pango_cairo_create_layout(cr);
    pango_layout_set_text(l, "Faktura VAT FV/2025/11/123 Zażółć", -1);
    cairo_move_to(cr, 40, 40);
    pango_cairo_show_layout(cr, l);
    cairo_show_page(cr);
    g_object_unref(l);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    cairo_surface_destroy(s);

    return n > 0 ? 0 : -1;
}


static int
cmd_bench(int argc, char **argv)
{
    static const char  *fmts[] = { "ksef", "pdf", "baseline" };

    invoice_t       *inv;
    unsigned char   *buf;
    size_t           len, f;
    double           secs, t0, rate[3];
    unsigned long    n;
    char             err[256];
    int              rc;

    secs = argc > 0 ? strtod(argv[0], NULL) : 2.0;

    inv = sample("bench");
    if (inv == NULL) {
        return 1;
    }
    if (compute(inv) != 0) {
        invoice_free(inv);
        return 1;
    }

    for (f = 0; f < 3; f++) {
        rate[f] = 1;
        if (argc > 1 && strcmp(argv[1], fmts[f]) != 0) {
            continue;
        }

        n = 0;
        t0 = now_s();
        do {
            if (f == 2) {
                rc = bench_baseline();
            } else {
                rc = invoice_renderer(fmts[f])->render(inv, NULL, &buf, &len,
                                                       err, sizeof(err));
                if (rc == INVOICE_OK) {
                    free(buf);
                }
            }
            if (rc != 0) {
                fprintf(stderr, "invoice-render: bench %s: %s\n", fmts[f],
                        f == 2 ? "cairo" : err);
                invoice_free(inv);
                return 1;
            }
            n++;
        } while (now_s() - t0 < secs);
        rate[f] = (double) n / (now_s() - t0);
    }

    printf("lines=%zu ksef_per_s=%.0f pdf_per_s=%.1f "
           "baseline_pdf_per_s=%.1f pdf_vs_baseline=%.3f\n",
           inv->n_lines, rate[0], rate[1], rate[2], rate[1] / rate[2]);

    invoice_free(inv);

    return 0;
}


/* keeps the first error of a document */
static void
validate_error(void *ctx, const xmlError *e)
{
    char  *first;

    first = ctx;
    if (first[0] == '\0' && e != NULL && e->message != NULL) {
        snprintf(first, 512, "line %d: %s", e->line, e->message);
        first[strcspn(first, "\n")] = '\0';
    }
}


static int
cmd_validate(int argc, char **argv)
{
    xmlSchemaParserCtxtPtr  pc;
    xmlSchemaPtr            schema;
    xmlSchemaValidCtxtPtr   vc;
    char                    first[512];
    int                     i, bad;

    if (argc < 2) {
        fprintf(stderr, "usage: invoice-render validate <xsd> <file>...\n");
        return 1;
    }

    pc = xmlSchemaNewParserCtxt(argv[0]);
    schema = pc != NULL ? xmlSchemaParse(pc) : NULL;
    xmlSchemaFreeParserCtxt(pc);
    if (schema == NULL) {
        fprintf(stderr, "invoice-render: cannot load %s\n", argv[0]);
        return 1;
    }

    vc = xmlSchemaNewValidCtxt(schema);
    if (vc == NULL) {
        xmlSchemaFree(schema);
        return 1;
    }
    xmlSchemaSetValidStructuredErrors(vc, (xmlStructuredErrorFunc)
                                      (void (*)(void)) validate_error,
                                      first);

    bad = 0;
    for (i = 1; i < argc; i++) {
        first[0] = '\0';
        if (xmlSchemaValidateFile(vc, argv[i], 0) == 0) {
            printf("%s validates\n", argv[i]);
        } else {
            printf("%s fails: %s\n", argv[i], first[0] ? first : "?");
            bad++;
        }
    }

    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);

    return bad ? 1 : 0;
}


static void *
thread_main(void *arg)
{
    thread_job_t   *j;
    unsigned        i;
    unsigned char  *buf;
    size_t          len;
    char            err[256];

    j = arg;

    for (i = 0; i < j->n; i++) {
        if (invoice_renderer_ksef.render(j->inv, NULL, &buf, &len, err,
                                         sizeof(err)) != INVOICE_OK)
        {
            j->failed++;
            continue;
        }
        free(buf);

        if (invoice_renderer_pdf.render(j->inv, NULL, &buf, &len, err,
                                        sizeof(err)) != INVOICE_OK)
        {
            j->failed++;
            continue;
        }
        free(j->last);
        j->last = buf;
        j->last_len = len;
    }

    return NULL;
}


static int
cmd_threads(int argc, char **argv)
{
    thread_job_t  jobs[64];
    invoice_t    *inv;
    unsigned      n, i, failed;
    char          path[4096];
    FILE         *f;

    if (argc < 3) {
        fprintf(stderr, "usage: invoice-render threads <n> <each> <dir>\n");
        return 1;
    }

    n = (unsigned) strtoul(argv[0], NULL, 10);
    if (n == 0 || n > 64) {
        fprintf(stderr, "invoice-render: 1 to 64 threads\n");
        return 1;
    }

    inv = sample("diacritics");
    if (inv == NULL || compute(inv) != 0) {
        invoice_free(inv);
        return 1;
    }

    memset(jobs, 0, sizeof(jobs));
    for (i = 0; i < n; i++) {
        jobs[i].inv = inv;
        jobs[i].n = (unsigned) strtoul(argv[1], NULL, 10);
        if (pthread_create(&jobs[i].tid, NULL, thread_main, &jobs[i]) != 0) {
            fprintf(stderr, "invoice-render: pthread_create\n");
            return 1;
        }
    }

    failed = 0;
    for (i = 0; i < n; i++) {
        pthread_join(jobs[i].tid, NULL);
        failed += jobs[i].failed;

        snprintf(path, sizeof(path), "%s/thread-%u.pdf", argv[2], i);
        f = fopen(path, "wb");
        if (jobs[i].last == NULL || f == NULL
            || fwrite(jobs[i].last, 1, jobs[i].last_len, f)
               != jobs[i].last_len)
        {
            failed++;
        }
        if (f != NULL) {
            fclose(f);
        }
        free(jobs[i].last);
    }

    invoice_free(inv);
    printf("threads=%u each=%s failed=%u\n", n, argv[1], failed);

    return failed ? 1 : 0;
}
