
/*
 * hubgated: the PDF renderer (invoice.h; DESIGN §4, Invoices).
 *
 * A4 pages drawn with cairo's PDF surface into memory
 * (cairo_pdf_surface_create_for_stream) and pango layouts for every text,
 * in "DejaVu Sans" (fontconfig falls back to "Sans"), which covers Polish
 * and Romanian letters, comma-below ș ț included.  pango and cairo embed
 * the font subset with its ToUnicode map, so the text stays extractable
 * (pdftotext).
 *
 * Contents: title (invoice or credit note, the corrected invoice and the
 * reason), dates, seller and buyer blocks, the lines table (long names
 * wrap; a page break repeats the table header), document allowances and
 * charges, the VAT summary per category and rate, the totals (BT-106 ..
 * BT-115, and BT-111 when the VAT currency differs), payment and notes.
 * Amounts are printed as the model's exact decimal text ("1234.56 EUR").
 *
 * Return contract: as every renderer (invoice.h): INVOICE_OK and a
 * malloc'ed PDF in *out (caller frees, not NUL-terminated), or
 * INVOICE_EINVAL (not computed, text not UTF-8), INVOICE_ENOMEM,
 * INVOICE_EINTERNAL (cairo), with a one-line message in err that never
 * echoes invoice data.  Thread-safe: each call owns its surface, context
 * and layouts; the pango font map is pango's per-thread default, and the
 * first render loads fontconfig and the font once (pthread_once) so that
 * threads do not race in fontconfig's lazy set-up.
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "invoice/invoice.h"


#define PDF_W        595.276        /* A4 in points */
#define PDF_H        841.890
#define PDF_LEFT     40.0
#define PDF_RIGHT    (PDF_W - 40.0)
#define PDF_TOP      40.0
#define PDF_BOTTOM   (PDF_H - 50.0)
#define PDF_PAD      3.0
#define PDF_FONT     "DejaVu Sans, Sans"


typedef enum {
    PDF_F_BODY = 0,
    PDF_F_BOLD,
    PDF_F_SMALL,
    PDF_F_TITLE,
    PDF_F_COUNT
} pdf_font_e;


typedef struct {
    unsigned char   *data;
    size_t           len;
    size_t           size;
} pdf_buf_t;


/* one column of the lines table */
typedef struct {
    const char      *title;
    double           width;
    PangoAlignment   align;
} pdf_col_t;


static const pdf_col_t  pdf_cols[] = {
    { "Lp.", 22, PANGO_ALIGN_RIGHT },
    { "Nazwa / Description", 201, PANGO_ALIGN_LEFT },
    { "Ilość / Qty", 52, PANGO_ALIGN_RIGHT },
    { "J.m. / Unit", 36, PANGO_ALIGN_LEFT },
    { "Cena netto / Unit price", 66, PANGO_ALIGN_RIGHT },
    { "Wartość netto / Net", 78, PANGO_ALIGN_RIGHT },
    { "VAT", 60, PANGO_ALIGN_RIGHT },
};

#define PDF_NCOLS  (sizeof(pdf_cols) / sizeof(pdf_cols[0]))


typedef struct {
    cairo_surface_t         *surface;
    cairo_t                 *cr;
    PangoLayout             *layout;
    PangoLayout             *cells[PDF_NCOLS];  /* table columns */
    PangoFontDescription    *fonts[PDF_F_COUNT];
    const invoice_t         *inv;
    int                      exp;
    double                   y;
    int                      page;
    int                      rc;
    char                    *err;
    size_t                   errlen;
    pdf_buf_t                buf;
} pdf_ctx_t;


static int pdf_render(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen);
static cairo_status_t pdf_write(void *closure, const unsigned char *data,
    unsigned int length);
static int pdf_fail(pdf_ctx_t *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pdf_init(void);
static int pdf_setup(pdf_ctx_t *c);
static PangoLayout *pdf_layout_new(pdf_ctx_t *c);
static double pdf_cell_set(pdf_ctx_t *c, size_t k, pdf_font_e f,
    const char *text);
static void pdf_cell_draw(pdf_ctx_t *c, size_t k, double x, double y);
static void pdf_teardown(pdf_ctx_t *c);
static double pdf_measure(pdf_ctx_t *c, double width, pdf_font_e f,
    const char *text);
static double pdf_text(pdf_ctx_t *c, double x, double y, double width,
    pdf_font_e f, PangoAlignment align, const char *text);
static double pdf_putf(pdf_ctx_t *c, int dry, double x, double width,
    pdf_font_e f, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void pdf_page_end(pdf_ctx_t *c);
static void pdf_page_new(pdf_ctx_t *c);
static void pdf_need(pdf_ctx_t *c, double h);
static void pdf_rule(pdf_ctx_t *c, double y);
static void pdf_money(pdf_ctx_t *c, int64_t minor, int exp,
    const char *currency, char *buf, size_t size);
static void pdf_rate(const invoice_vat_t *v, vat_category_e cat, dec_t rate,
    char *buf, size_t size);
static void pdf_header(pdf_ctx_t *c);
static double pdf_party(pdf_ctx_t *c, double x, double width,
    const char *title, const invoice_party_t *p, int dry);
static void pdf_parties(pdf_ctx_t *c);
static void pdf_table_head(pdf_ctx_t *c);
static void pdf_line(pdf_ctx_t *c, size_t i, const invoice_line_t *l);
static void pdf_lines(pdf_ctx_t *c);
static void pdf_acs(pdf_ctx_t *c);
static void pdf_vat(pdf_ctx_t *c);
static void pdf_total_row(pdf_ctx_t *c, const char *label, int64_t minor,
    int exp, const char *currency, pdf_font_e f);
static void pdf_totals(pdf_ctx_t *c);
static void pdf_payment(pdf_ctx_t *c);


const invoice_renderer_t  invoice_renderer_pdf = {
    "pdf", "application/pdf", pdf_render
};

/* fontconfig is set up lazily (pango starts a thread for it): once */
static pthread_once_t  pdf_once = PTHREAD_ONCE_INIT;


static int
pdf_render(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    pdf_ctx_t  c;

    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;

    if (inv == NULL || out == NULL || len == NULL) {
        return pdf_fail(&c, INVOICE_EINVAL, "pdf: no invoice");
    }

    if (!inv->computed) {
        return pdf_fail(&c, INVOICE_EINVAL, "pdf: invoice not computed");
    }

    c.inv = inv;
    c.exp = invoice_currency_exponent(inv->currency);
    if (c.exp < 0) {
        return pdf_fail(&c, INVOICE_EINVAL, "pdf: currency not accepted");
    }

    pthread_once(&pdf_once, pdf_init);

    if (pdf_setup(&c) == INVOICE_OK) {
        pdf_page_new(&c);
        pdf_header(&c);
        pdf_parties(&c);
        pdf_lines(&c);
        pdf_acs(&c);
        pdf_vat(&c);
        pdf_totals(&c);
        pdf_payment(&c);
        pdf_page_end(&c);
    }

    pdf_teardown(&c);

    if (c.rc != INVOICE_OK) {
        free(c.buf.data);
        return c.rc;
    }

    *out = c.buf.data;
    *len = c.buf.len;

    return INVOICE_OK;
}


/* cairo's stream callback: append to the context's buffer */
static cairo_status_t
pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
    pdf_buf_t      *b;
    size_t          size;
    unsigned char  *p;

    b = closure;

    if (b->size - b->len < length) {
        size = b->size ? b->size : 64 * 1024;
        while (size - b->len < length) {
            if (size > ((size_t) -1) / 2) {
                return CAIRO_STATUS_WRITE_ERROR;
            }
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            return CAIRO_STATUS_WRITE_ERROR;
        }

        b->data = p;
        b->size = size;
    }

    memcpy(b->data + b->len, data, length);
    b->len += length;

    return CAIRO_STATUS_SUCCESS;
}


static int
pdf_fail(pdf_ctx_t *c, int rc, const char *fmt, ...)
{
    va_list  ap;

    if (c->rc != INVOICE_OK) {
        return c->rc;
    }

    c->rc = rc;

    if (c->err != NULL && c->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }

    return rc;
}


/* lays one text out on a scratch surface: fontconfig and the font are
 * loaded before a second thread can race for them */
static void
pdf_init(void)
{
    cairo_surface_t       *s;
    cairo_t               *cr;
    PangoLayout           *l;
    PangoFontDescription  *fd;
    int                    w, h;

    s = cairo_image_surface_create(CAIRO_FORMAT_A8, 8, 8);
    cr = cairo_create(s);
    l = pango_cairo_create_layout(cr);
    fd = pango_font_description_from_string(PDF_FONT " 8");

    if (l != NULL && fd != NULL) {
        pango_layout_set_font_description(l, fd);
        pango_layout_set_text(l, "Zażółć Ștefan", -1);
        pango_layout_get_pixel_size(l, &w, &h);
    }

    if (fd != NULL) {
        pango_font_description_free(fd);
    }
    if (l != NULL) {
        g_object_unref(l);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}


static int
pdf_setup(pdf_ctx_t *c)
{
    static const struct {
        PangoWeight  weight;
        double       size;
    } spec[PDF_F_COUNT] = {
        { PANGO_WEIGHT_NORMAL, 8.5 },
        { PANGO_WEIGHT_BOLD, 8.5 },
        { PANGO_WEIGHT_NORMAL, 7 },
        { PANGO_WEIGHT_BOLD, 15 },
    };

    int  i;

    c->surface = cairo_pdf_surface_create_for_stream(pdf_write, &c->buf,
                                                     PDF_W, PDF_H);
    if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) {
        return pdf_fail(c, INVOICE_ENOMEM, "pdf: no cairo surface");
    }

    cairo_pdf_surface_set_metadata(c->surface, CAIRO_PDF_METADATA_CREATOR,
                                   "hubgate");
    if (c->inv->number != NULL && g_utf8_validate(c->inv->number, -1, NULL))
    {
        cairo_pdf_surface_set_metadata(c->surface, CAIRO_PDF_METADATA_TITLE,
                                       c->inv->number);
    }

    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        return pdf_fail(c, INVOICE_ENOMEM, "pdf: no cairo context");
    }

    c->layout = pdf_layout_new(c);
    if (c->layout == NULL) {
        return pdf_fail(c, INVOICE_ENOMEM, "pdf: no pango layout");
    }

    for (i = 0; i < (int) PDF_NCOLS; i++) {
        c->cells[i] = pdf_layout_new(c);
        if (c->cells[i] == NULL) {
            return pdf_fail(c, INVOICE_ENOMEM, "pdf: no pango layout");
        }
        pango_layout_set_width(c->cells[i],
                               (int) ((pdf_cols[i].width - 2 * PDF_PAD)
                                      * PANGO_SCALE));
        pango_layout_set_alignment(c->cells[i], pdf_cols[i].align);
    }

    for (i = 0; i < PDF_F_COUNT; i++) {
        c->fonts[i] = pango_font_description_from_string(PDF_FONT);
        if (c->fonts[i] == NULL) {
            return pdf_fail(c, INVOICE_ENOMEM, "pdf: no font description");
        }
        pango_font_description_set_weight(c->fonts[i], spec[i].weight);
        pango_font_description_set_size(c->fonts[i],
                                        (gint) (spec[i].size * PANGO_SCALE));
    }

    return INVOICE_OK;
}


static void
pdf_teardown(pdf_ctx_t *c)
{
    int             i;
    cairo_status_t  st;

    for (i = 0; i < PDF_F_COUNT; i++) {
        if (c->fonts[i] != NULL) {
            pango_font_description_free(c->fonts[i]);
        }
    }

    if (c->layout != NULL) {
        g_object_unref(c->layout);
    }

    for (i = 0; i < (int) PDF_NCOLS; i++) {
        if (c->cells[i] != NULL) {
            g_object_unref(c->cells[i]);
        }
    }

    if (c->cr != NULL) {
        st = cairo_status(c->cr);
        if (st != CAIRO_STATUS_SUCCESS) {
            pdf_fail(c, INVOICE_EINTERNAL, "pdf: cairo: %s",
                     cairo_status_to_string(st));
        }
        cairo_destroy(c->cr);
    }

    if (c->surface != NULL) {
        cairo_surface_finish(c->surface);
        st = cairo_surface_status(c->surface);
        if (st != CAIRO_STATUS_SUCCESS) {
            pdf_fail(c, st == CAIRO_STATUS_WRITE_ERROR ? INVOICE_ENOMEM
                                                       : INVOICE_EINTERNAL,
                     "pdf: cairo: %s", cairo_status_to_string(st));
        }
        cairo_surface_destroy(c->surface);
    }
}


/* a layout on the context, in points, wrapping at words or characters */
static PangoLayout *
pdf_layout_new(pdf_ctx_t *c)
{
    PangoLayout  *l;

    l = pango_cairo_create_layout(c->cr);
    if (l == NULL) {
        return NULL;
    }

    /* one user unit is one point: fonts sized in points */
    pango_cairo_context_set_resolution(pango_layout_get_context(l), 72.0);
    pango_layout_context_changed(l);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);

    return l;
}


/* lays a table cell out once, for measuring and then drawing */
static double
pdf_cell_set(pdf_ctx_t *c, size_t k, pdf_font_e f, const char *text)
{
    int  w, h;

    if (c->rc != INVOICE_OK) {
        return 0;
    }

    if (!g_utf8_validate(text, -1, NULL)) {
        pdf_fail(c, INVOICE_EINVAL, "pdf: a text is not UTF-8");
        return 0;
    }

    pango_layout_set_font_description(c->cells[k], c->fonts[f]);
    pango_layout_set_text(c->cells[k], text, -1);
    pango_layout_get_pixel_size(c->cells[k], &w, &h);

    return h;
}


static void
pdf_cell_draw(pdf_ctx_t *c, size_t k, double x, double y)
{
    if (c->rc != INVOICE_OK) {
        return;
    }

    cairo_move_to(c->cr, x, y);
    pango_cairo_show_layout(c->cr, c->cells[k]);
}


/* lays text out at width; 0 and a failure if it is not UTF-8 */
static double
pdf_measure(pdf_ctx_t *c, double width, pdf_font_e f, const char *text)
{
    int  w, h;

    if (c->rc != INVOICE_OK) {
        return 0;
    }

    if (!g_utf8_validate(text, -1, NULL)) {
        pdf_fail(c, INVOICE_EINVAL, "pdf: a text is not UTF-8");
        return 0;
    }

    pango_layout_set_font_description(c->layout, c->fonts[f]);
    pango_layout_set_width(c->layout, (int) (width * PANGO_SCALE));
    pango_layout_set_alignment(c->layout, PANGO_ALIGN_LEFT);
    pango_layout_set_text(c->layout, text, -1);
    pango_layout_get_pixel_size(c->layout, &w, &h);

    return h;
}


/* draws text in a box of the given width at (x, y); returns its height */
static double
pdf_text(pdf_ctx_t *c, double x, double y, double width, pdf_font_e f,
    PangoAlignment align, const char *text)
{
    double  h;

    if (text == NULL || text[0] == '\0') {
        return 0;
    }

    h = pdf_measure(c, width, f, text);
    if (c->rc != INVOICE_OK) {
        return 0;
    }

    pango_layout_set_alignment(c->layout, align);
    cairo_move_to(c->cr, x, y);
    pango_cairo_show_layout(c->cr, c->layout);

    return h;
}



/* formats, then draws at (x, c->y) in a box of width, or with dry only
 * measures; returns the height.  No fixed buffer: nothing is cut. */
static double
pdf_putf(pdf_ctx_t *c, int dry, double x, double width, pdf_font_e f,
    const char *fmt, ...)
{
    va_list  ap;
    char    *text;
    double   h;

    if (c->rc != INVOICE_OK) {
        return 0;
    }

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    if (text == NULL) {
        pdf_fail(c, INVOICE_ENOMEM, "pdf: out of memory");
        return 0;
    }

    h = dry ? pdf_measure(c, width, f, text)
            : pdf_text(c, x, c->y, width, f, PANGO_ALIGN_LEFT, text);
    g_free(text);

    return h;
}

static void
pdf_page_end(pdf_ctx_t *c)
{
    char  buf[32];

    snprintf(buf, sizeof(buf), "Strona / Page %d", c->page);
    pdf_text(c, PDF_LEFT, PDF_BOTTOM + 18, PDF_RIGHT - PDF_LEFT,
             PDF_F_SMALL, PANGO_ALIGN_RIGHT, buf);
    cairo_show_page(c->cr);
}


static void
pdf_page_new(pdf_ctx_t *c)
{
    if (c->page > 0) {
        pdf_page_end(c);
    }

    c->page++;
    c->y = PDF_TOP;
    cairo_set_source_rgb(c->cr, 0, 0, 0);
    cairo_set_line_width(c->cr, 0.5);
}


/* a new page unless h fits below y (or the page is still empty) */
static void
pdf_need(pdf_ctx_t *c, double h)
{
    if (c->y + h > PDF_BOTTOM && c->y > PDF_TOP + 30) {
        pdf_page_new(c);
    }
}


static void
pdf_rule(pdf_ctx_t *c, double y)
{
    cairo_move_to(c->cr, PDF_LEFT, y);
    cairo_line_to(c->cr, PDF_RIGHT, y);
    cairo_stroke(c->cr);
}


static void
pdf_money(pdf_ctx_t *c, int64_t minor, int exp, const char *currency,
    char *buf, size_t size)
{
    char  num[DEC_STR_MAX];

    if (money_format(minor, exp, num, sizeof(num)) < 0) {
        pdf_fail(c, INVOICE_ERANGE, "pdf: an amount does not format");
        num[0] = '\0';
    }

    if (currency != NULL) {
        snprintf(buf, size, "%s %s", num, currency);
    } else {
        snprintf(buf, size, "%s", num);
    }
}


/* "23%", "E zw", "AE 0%", "O np" */
static void
pdf_rate(const invoice_vat_t *v, vat_category_e cat, dec_t rate, char *buf,
    size_t size)
{
    char  r[DEC_STR_MAX];

    if (v != NULL) {
        cat = v->category;
        rate = v->rate;
    }

    if (dec_format(dec_normalize(rate), r, sizeof(r)) < 0) {
        r[0] = '\0';
    }

    switch (cat) {

    case VAT_CAT_S:
        snprintf(buf, size, "%s%%", r);
        break;

    case VAT_CAT_E:
        snprintf(buf, size, "E zw");
        break;

    case VAT_CAT_O:
        snprintf(buf, size, "O np");
        break;

    default:
        snprintf(buf, size, "%s %s%%", invoice_vat_category_code(cat), r);
        break;
    }
}


static void
pdf_header(pdf_ctx_t *c)
{
    double            w;
    const invoice_t  *inv;

    inv = c->inv;
    w = PDF_RIGHT - PDF_LEFT;

    c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_TITLE, "%s",
                     inv->kind == INVOICE_KIND_CREDIT_NOTE
                     ? "Faktura korygująca / Credit note"
                     : "Faktura VAT / Invoice") + 2;
    c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BOLD, "Nr / No. %s",
                     inv->number != NULL ? inv->number : "(draft)") + 6;
    c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                     "Data wystawienia / Issue date: %s", inv->issue_date);

    if (inv->delivery_date[0] != '\0') {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Data dostawy / Delivery date: %s",
                         inv->delivery_date);
    }

    if (inv->period_start[0] != '\0' && inv->period_end[0] != '\0') {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Okres / Period: %s – %s", inv->period_start,
                         inv->period_end);
    }

    if (inv->due_date[0] != '\0') {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Termin płatności / Due date: %s", inv->due_date);
    }

    if (inv->kind == INVOICE_KIND_CREDIT_NOTE
        && inv->preceding_number != NULL)
    {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BOLD,
                         "Korygowana faktura / Corrects invoice: %s%s%s",
                         inv->preceding_number,
                         inv->preceding_date[0] ? " z / of " : "",
                         inv->preceding_date);
    }

    if (inv->order_reference != NULL) {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Zamówienie / Order: %s", inv->order_reference);
    }

    if (inv->buyer_reference != NULL) {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Referencja / Buyer reference: %s",
                         inv->buyer_reference);
    }

    c->y += 10;
}


/* a party block at (x, c->y); dry: only measure.  Returns its height. */
static double
pdf_party(pdf_ctx_t *c, double x, double width, const char *title,
    const invoice_party_t *p, int dry)
{
    double       y0, h;
    const char  *pc, *city;

    y0 = c->y;
    pc = p->postal_code != NULL ? p->postal_code : "";
    city = p->city != NULL ? p->city : "";

    c->y += pdf_putf(c, dry, x, width, PDF_F_SMALL, "%s", title) + 2;

    if (p->name != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BOLD, "%s", p->name);
    }
    if (p->trading_name != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "%s",
                         p->trading_name);
    }
    if (p->street != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "%s", p->street);
    }
    if (p->street2 != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "%s", p->street2);
    }
    if (pc[0] != '\0' || city[0] != '\0' || p->subdivision != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "%s%s%s%s%s", pc,
                         pc[0] && city[0] ? " " : "", city,
                         p->subdivision ? ", " : "",
                         p->subdivision ? p->subdivision : "");
    }
    if (p->country[0] != '\0') {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "%s", p->country);
    }
    if (p->vat_id != NULL || p->tax_reg_id != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "NIP / VAT ID: %s",
                         p->vat_id != NULL ? p->vat_id : p->tax_reg_id);
    }
    if (p->legal_id != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY,
                         "Rejestr / Company ID: %s", p->legal_id);
    }
    if (p->email != NULL) {
        c->y += pdf_putf(c, dry, x, width, PDF_F_BODY, "%s", p->email);
    }

    h = c->y - y0;
    c->y = y0;

    return h;
}


static void
pdf_parties(pdf_ctx_t *c)
{
    double  w, hs, hb, x2;

    w = (PDF_RIGHT - PDF_LEFT - 20) / 2;
    x2 = PDF_LEFT + w + 20;

    hs = pdf_party(c, PDF_LEFT, w, "Sprzedawca / Seller", &c->inv->seller,
                   1);
    hb = pdf_party(c, x2, w, "Nabywca / Buyer", &c->inv->buyer, 1);
    pdf_need(c, hs > hb ? hs : hb);

    pdf_party(c, PDF_LEFT, w, "Sprzedawca / Seller", &c->inv->seller, 0);
    pdf_party(c, x2, w, "Nabywca / Buyer", &c->inv->buyer, 0);

    c->y += (hs > hb ? hs : hb) + 14;
}


static void
pdf_table_head(pdf_ctx_t *c)
{
    size_t  i;
    double  x, h, hmax;

    hmax = 0;
    for (i = 0; i < PDF_NCOLS; i++) {
        h = pdf_cell_set(c, i, PDF_F_SMALL, pdf_cols[i].title);
        hmax = h > hmax ? h : hmax;
    }

    cairo_set_source_rgb(c->cr, 0.9, 0.9, 0.9);
    cairo_rectangle(c->cr, PDF_LEFT, c->y, PDF_RIGHT - PDF_LEFT,
                    hmax + 2 * PDF_PAD);
    cairo_fill(c->cr);
    cairo_set_source_rgb(c->cr, 0, 0, 0);

    x = PDF_LEFT;
    for (i = 0; i < PDF_NCOLS; i++) {
        pdf_cell_draw(c, i, x + PDF_PAD, c->y + PDF_PAD);
        x += pdf_cols[i].width;
    }

    c->y += hmax + 2 * PDF_PAD;
    pdf_rule(c, c->y);
}


static void
pdf_line(pdf_ctx_t *c, size_t i, const invoice_line_t *l)
{
    char         cells[PDF_NCOLS][DEC_STR_MAX + 16], *name;
    const char  *text[PDF_NCOLS];
    size_t       k;
    double       x, h, hmax;

    snprintf(cells[0], sizeof(cells[0]), "%zu", i + 1);

    name = g_strdup_printf("%s%s%s", l->name ? l->name : "",
                           l->description ? "\n" : "",
                           l->description ? l->description : "");
    if (name == NULL) {
        pdf_fail(c, INVOICE_ENOMEM, "pdf: out of memory");
        return;
    }

    if (dec_format(l->quantity, cells[2], sizeof(cells[2])) < 0) {
        cells[2][0] = '\0';
    }
    snprintf(cells[3], sizeof(cells[3]), "%s", l->unit_code);

    if (dec_format(l->price, cells[4], sizeof(cells[4])) < 0) {
        cells[4][0] = '\0';
    }
    if (dec_cmp(l->base_quantity, DEC_ONE) != 0) {
        k = strlen(cells[4]);
        cells[4][k] = '/';
        if (dec_format(l->base_quantity, cells[4] + k + 1,
                       sizeof(cells[4]) - k - 1) < 0)
        {
            cells[4][k] = '\0';
        }
    }

    pdf_money(c, l->net_minor, c->exp, NULL, cells[5], sizeof(cells[5]));
    pdf_rate(NULL, l->vat_category, l->vat_rate, cells[6], sizeof(cells[6]));

    text[0] = cells[0];
    text[1] = name;
    for (k = 2; k < PDF_NCOLS; k++) {
        text[k] = cells[k];
    }

    hmax = 0;
    for (k = 0; k < PDF_NCOLS; k++) {
        h = pdf_cell_set(c, k, PDF_F_BODY, text[k]);
        hmax = h > hmax ? h : hmax;
    }

    /* the header of the new page reuses the cell layouts: set them again */
    if (c->y + hmax + 2 * PDF_PAD > PDF_BOTTOM) {
        pdf_page_new(c);
        pdf_table_head(c);
        for (k = 0; k < PDF_NCOLS; k++) {
            pdf_cell_set(c, k, PDF_F_BODY, text[k]);
        }
    }

    x = PDF_LEFT;
    for (k = 0; k < PDF_NCOLS; k++) {
        pdf_cell_draw(c, k, x + PDF_PAD, c->y + PDF_PAD);
        x += pdf_cols[k].width;
    }

    g_free(name);
    c->y += hmax + 2 * PDF_PAD;

    cairo_set_source_rgb(c->cr, 0.75, 0.75, 0.75);
    pdf_rule(c, c->y);
    cairo_set_source_rgb(c->cr, 0, 0, 0);
}


static void
pdf_lines(pdf_ctx_t *c)
{
    size_t  i;

    pdf_need(c, 60);
    pdf_table_head(c);

    for (i = 0; i < c->inv->n_lines && c->rc == INVOICE_OK; i++) {
        pdf_line(c, i, &c->inv->lines[i]);
    }

    c->y += 12;
}


static void
pdf_acs(pdf_ctx_t *c)
{
    char                 amount[DEC_STR_MAX + 8], rate[48];
    size_t               i;
    double               w, h;
    const char          *reason;
    const invoice_ac_t  *ac;

    if (c->inv->n_acs == 0) {
        return;
    }

    w = PDF_RIGHT - PDF_LEFT;
    pdf_need(c, 40);
    c->y += pdf_text(c, PDF_LEFT, c->y, w, PDF_F_BOLD, PANGO_ALIGN_LEFT,
                     "Rabaty i opłaty / Allowances and charges") + 2;

    for (i = 0; i < c->inv->n_acs && c->rc == INVOICE_OK; i++) {
        ac = &c->inv->acs[i];
        pdf_money(c, ac->is_charge ? ac->amount_minor : -ac->amount_minor,
                  c->exp, c->inv->currency, amount, sizeof(amount));
        pdf_rate(NULL, ac->vat_category, ac->vat_rate, rate, sizeof(rate));
        reason = ac->reason != NULL ? ac->reason
                 : ac->is_charge ? "Opłata / Charge" : "Rabat / Allowance";

        h = pdf_putf(c, 1, PDF_LEFT, w - 120, PDF_F_BODY, "%s (VAT %s)",
                     reason, rate);
        pdf_need(c, h);
        pdf_putf(c, 0, PDF_LEFT, w - 120, PDF_F_BODY, "%s (VAT %s)", reason,
                 rate);
        pdf_text(c, PDF_RIGHT - 110, c->y, 110, PDF_F_BODY,
                 PANGO_ALIGN_RIGHT, amount);
        c->y += h + 1;
    }

    c->y += 10;
}


static void
pdf_vat(pdf_ctx_t *c)
{
    static const double  xs[4] = { 0, 200, 300, 400 };
    static const char   *heads[4] = {
        "Stawka VAT / VAT rate", "Podstawa / Taxable", "VAT",
        "Brutto / Gross"
    };

    char                    cells[4][DEC_STR_MAX + 48];
    size_t                  i, k;
    int64_t                 gross;
    double                  h;
    const invoice_vat_t    *v;
    const invoice_totals_t *t;

    t = &c->inv->totals;

    pdf_need(c, 30 + 12 * (double) (t->n_vat < 6 ? t->n_vat : 6));
    c->y += pdf_text(c, PDF_LEFT, c->y, 300, PDF_F_BOLD, PANGO_ALIGN_LEFT,
                     "Podsumowanie VAT / VAT summary") + 2;

    for (k = 0; k < 4; k++) {
        pdf_text(c, PDF_LEFT + xs[k], c->y, 100, PDF_F_SMALL,
                 k ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT, heads[k]);
    }
    c->y += 11;
    pdf_rule(c, c->y);
    c->y += 2;

    for (i = 0; i < t->n_vat && c->rc == INVOICE_OK; i++) {
        v = &t->vat[i];
        pdf_rate(v, v->category, v->rate, cells[0], sizeof(cells[0]));
        pdf_money(c, v->taxable_minor, c->exp, NULL, cells[1],
                  sizeof(cells[1]));
        pdf_money(c, v->tax_minor, c->exp, NULL, cells[2], sizeof(cells[2]));
        if (money_add(v->taxable_minor, v->tax_minor, &gross) != DEC_OK) {
            pdf_fail(c, INVOICE_ERANGE, "pdf: VAT row overflows");
            return;
        }
        pdf_money(c, gross, c->exp, NULL, cells[3], sizeof(cells[3]));

        pdf_need(c, 12);
        for (k = 0; k < 4; k++) {
            pdf_text(c, PDF_LEFT + xs[k], c->y, 100, PDF_F_BODY,
                     k ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT, cells[k]);
        }
        c->y += 11;

        if (v->exemption_reason != NULL || v->exemption_code != NULL) {
            h = pdf_text(c, PDF_LEFT + 10, c->y, PDF_RIGHT - PDF_LEFT - 10,
                         PDF_F_SMALL, PANGO_ALIGN_LEFT,
                         v->exemption_reason != NULL ? v->exemption_reason
                                                     : v->exemption_code);
            c->y += h + 1;
        }
    }

    c->y += 10;
}


static void
pdf_total_row(pdf_ctx_t *c, const char *label, int64_t minor, int exp,
    const char *currency, pdf_font_e f)
{
    char  amount[DEC_STR_MAX + 8];

    pdf_money(c, minor, exp, currency, amount, sizeof(amount));
    pdf_need(c, 12);
    pdf_text(c, PDF_RIGHT - 330, c->y, 210, f, PANGO_ALIGN_RIGHT, label);
    c->y += pdf_text(c, PDF_RIGHT - 115, c->y, 115, f, PANGO_ALIGN_RIGHT,
                     amount) + 1;
}


static void
pdf_totals(pdf_ctx_t *c)
{
    char                     label[80], rate[DEC_STR_MAX];
    const char              *cur;
    const invoice_totals_t  *t;
    int                      vexp;

    t = &c->inv->totals;
    cur = c->inv->currency;

    pdf_need(c, 120);
    pdf_total_row(c, "Suma wierszy / Sum of lines", t->line_net_minor,
                  c->exp, cur, PDF_F_BODY);
    if (t->allowance_minor != 0) {
        pdf_total_row(c, "Rabaty / Allowances", t->allowance_minor, c->exp,
                      cur, PDF_F_BODY);
    }
    if (t->charge_minor != 0) {
        pdf_total_row(c, "Opłaty / Charges", t->charge_minor, c->exp, cur,
                      PDF_F_BODY);
    }
    pdf_total_row(c, "Razem netto / Total net", t->tax_exclusive_minor,
                  c->exp, cur, PDF_F_BODY);
    pdf_total_row(c, "VAT", t->vat_minor, c->exp, cur, PDF_F_BODY);
    pdf_total_row(c, "Razem brutto / Total gross", t->tax_inclusive_minor,
                  c->exp, cur, PDF_F_BOLD);
    if (t->prepaid_minor != 0) {
        pdf_total_row(c, "Zapłacono / Prepaid", t->prepaid_minor, c->exp,
                      cur, PDF_F_BODY);
    }
    if (t->rounding_minor != 0) {
        pdf_total_row(c, "Zaokrąglenie / Rounding", t->rounding_minor,
                      c->exp, cur, PDF_F_BODY);
    }
    pdf_total_row(c, c->inv->kind == INVOICE_KIND_CREDIT_NOTE
                     ? "Do zwrotu / Amount credited"
                     : "Do zapłaty / Amount due",
                  t->payable_minor, c->exp, cur, PDF_F_BOLD);

    if (t->has_vat_in_vat_currency) {
        vexp = invoice_currency_exponent(c->inv->vat_currency);
        if (dec_format(c->inv->exchange_rate, rate, sizeof(rate)) < 0) {
            rate[0] = '\0';
        }
        snprintf(label, sizeof(label), "VAT w / in %s (kurs / rate %s)",
                 c->inv->vat_currency, rate);
        pdf_total_row(c, label, t->vat_in_vat_currency_minor,
                      vexp < 0 ? 2 : vexp, c->inv->vat_currency, PDF_F_BODY);
    }

    c->y += 12;
}


static void
pdf_payment(pdf_ctx_t *c)
{
    double            w;
    const invoice_t  *inv;

    inv = c->inv;
    w = PDF_RIGHT - PDF_LEFT;

    if (inv->iban != NULL || inv->payment_terms != NULL
        || inv->payment_reference != NULL)
    {
        pdf_need(c, 50);
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BOLD, "%s",
                         "Płatność / Payment") + 2;
    }

    if (inv->iban != NULL) {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Rachunek / IBAN: %s%s%s", inv->iban,
                         inv->bic ? "   BIC: " : "",
                         inv->bic ? inv->bic : "");
    }

    if (inv->payment_reference != NULL) {
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY,
                         "Tytuł / Reference: %s", inv->payment_reference);
    }

    if (inv->payment_terms != NULL) {
        pdf_need(c, pdf_putf(c, 1, PDF_LEFT, w, PDF_F_BODY, "%s",
                             inv->payment_terms));
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY, "%s",
                         inv->payment_terms);
    }

    if (inv->note != NULL) {
        c->y += 8;
        pdf_need(c, 12 + pdf_putf(c, 1, PDF_LEFT, w, PDF_F_BODY, "%s",
                                  inv->note));
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BOLD, "%s",
                         inv->kind == INVOICE_KIND_CREDIT_NOTE
                         ? "Przyczyna korekty / Reason"
                         : "Uwagi / Notes") + 2;
        c->y += pdf_putf(c, 0, PDF_LEFT, w, PDF_F_BODY, "%s", inv->note);
    }
}
