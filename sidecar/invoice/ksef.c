
/*
 * hubgated: the KSeF FA(3) renderer (invoice.h; DESIGN §4, Invoices).
 *
 * Writes a computed invoice_t as a FA(3) "Faktura" (schema
 * schemat_FA3_v1-0E.xsd, namespace http://crd.gov.pl/wzor/2025/06/25/13775/)
 * with libxml2's xmlTextWriter: every text goes through the writer, which
 * escapes it.
 *
 * EN 16931 VAT breakdown rows map onto the FA(3) sums:
 *   S 23/22 % -> P_13_1/P_14_1   S 8/7 % -> P_13_2/P_14_2
 *   S 5 %     -> P_13_3/P_14_3   S 4/3 % -> P_13_4/P_14_4 (lump sum)
 *   Z -> P_13_6_1 ("0 KR")       K -> P_13_6_2 ("0 WDT")
 *   G -> P_13_6_3 ("0 EX")       E -> P_13_7 ("zw"), Zwolnienie P_19
 *   O -> P_13_8 ("np I")
 *   AE, buyer in Poland -> P_13_10 ("oo"), buyer elsewhere -> P_13_9
 *   ("np II", art. 100 ust. 1 pkt 4 services); both set P_18 = 1.
 * Other standard rates, L and M have no FA(3) field: an error.
 * The P_13_x sums are the BT-116 bases (document allowances and charges
 * included); so that the lines add up to them, each document allowance or
 * charge becomes one more FaWiersz (negative P_11 for an allowance).
 *
 * Amounts are in the invoice currency at its exponent; when the invoice
 * currency is not PLN and the VAT currency is PLN with an exchange rate,
 * P_14_xW carry round(P_14_x * rate) in PLN.  Without a PLN rate the W
 * fields are left out (the XSD allows it; KSeF itself wants them).
 *
 * A credit note is RodzajFaktury KOR: FA(3) corrections carry the
 * difference, so every amount and quantity is negated (the model keeps
 * credit notes positive), with DaneFaKorygowanej from the preceding
 * invoice (number and date required) and NrKSeFN = 1.
 *
 * The seller needs a Polish NIP: vat_id "PL" + 10 digits, or a 10 digit
 * tax_reg_id.  The buyer is identified by NIP (PL), KodUE + NrVatUE (an
 * EU VAT id), KodKraju + NrID (any other id) or BrakID.  What FA(3)
 * cannot carry is refused rather than cut: texts longer than their type
 * or holding control characters, quantities with more than 6 decimals,
 * amounts with more than 16 integer digits, dates outside the schema's
 * range, an e-mail without '@', an address country not in the schema's
 * TKodKraju list.
 *
 * Return contract: as every renderer (invoice.h): INVOICE_OK and a
 * malloc'ed document in *out (caller frees), or INVOICE_EINVAL (the
 * invoice cannot be expressed in FA(3)), INVOICE_ERANGE, INVOICE_ENOMEM,
 * INVOICE_EINTERNAL, with a one-line message in err that names the field
 * and never echoes its value.  Thread-safe: no state outside the call
 * (libxml2 is initialized once, by pthread_once, on the first render).
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include "invoice/invoice.h"


#define KSEF_NS          "http://crd.gov.pl/wzor/2025/06/25/13775/"
#define KSEF_TOKEN_MAX   256        /* TZnakowy */
#define KSEF_TOKEN512    512        /* TZnakowy512 */
#define KSEF_TOKEN50     50         /* TZnakowy50 */
#define KSEF_TEXT_MAX    3500       /* TTekstowy */


/* the FA(3) sums, in schema order */
typedef enum {
    KSEF_G1 = 0,                    /* P_13_1  23 / 22 % */
    KSEF_G2,                        /* P_13_2  8 / 7 % */
    KSEF_G3,                        /* P_13_3  5 % */
    KSEF_G4,                        /* P_13_4  4 / 3 % */
    KSEF_G6_1,                      /* P_13_6_1  0 % domestic */
    KSEF_G6_2,                      /* P_13_6_2  0 % WDT */
    KSEF_G6_3,                      /* P_13_6_3  0 % export */
    KSEF_G7,                        /* P_13_7  exempt */
    KSEF_G8,                        /* P_13_8  np I */
    KSEF_G9,                        /* P_13_9  np II */
    KSEF_G10,                       /* P_13_10 reverse charge */
    KSEF_NGROUPS
} ksef_group_e;


typedef struct {
    const char      *net;           /* P_13_x */
    const char      *vat;           /* P_14_x, NULL: no VAT field */
    const char      *vat_pln;       /* P_14_xW, NULL: none */
} ksef_field_t;


static const ksef_field_t  ksef_fields[KSEF_NGROUPS] = {
    { "P_13_1", "P_14_1", "P_14_1W" },
    { "P_13_2", "P_14_2", "P_14_2W" },
    { "P_13_3", "P_14_3", "P_14_3W" },
    { "P_13_4", "P_14_4", "P_14_4W" },
    { "P_13_6_1", NULL, NULL },
    { "P_13_6_2", NULL, NULL },
    { "P_13_6_3", NULL, NULL },
    { "P_13_7", NULL, NULL },
    { "P_13_8", NULL, NULL },
    { "P_13_9", NULL, NULL },
    { "P_13_10", NULL, NULL },
};


typedef struct {
    int              used;
    int64_t          net;           /* signed as rendered */
    int64_t          vat;
    int64_t          vat_pln;
} ksef_sum_t;


typedef struct {
    xmlTextWriterPtr     w;
    const invoice_t     *inv;
    int                  exp;       /* currency exponent */
    int                  sign;      /* -1 for a credit note */
    int                  pln_rate;  /* P_14_xW rendered */
    int                  rc;        /* first failure */
    char                *err;
    size_t               errlen;
    ksef_sum_t           sums[KSEF_NGROUPS];
    int                  reverse_charge;
    const char          *exemption;
    time_t               now;
} ksef_ctx_t;


static int ksef_render(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen);
static void ksef_init(void);
static int ksef_fail(ksef_ctx_t *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ksef_xml(ksef_ctx_t *c, int xrc);
static int ksef_check_text(ksef_ctx_t *c, const char *field, const char *s,
    size_t max);
static int ksef_el(ksef_ctx_t *c, const char *name, const char *text);
static int ksef_el_text(ksef_ctx_t *c, const char *name, const char *s,
    size_t max, const char *field);
static int ksef_el_money(ksef_ctx_t *c, const char *name, int64_t minor,
    int exp);
static int ksef_el_dec(ksef_ctx_t *c, const char *name, dec_t d, int scale);
static int ksef_el_date(ksef_ctx_t *c, const char *name, const char *date,
    const char *min, const char *field);
static int ksef_email(ksef_ctx_t *c, const char *email, const char *field);
static int ksef_start(ksef_ctx_t *c, const char *name);
static int ksef_end(ksef_ctx_t *c);
static int ksef_neg(ksef_ctx_t *c, int64_t v, int64_t *out);
static int ksef_group(ksef_ctx_t *c, vat_category_e cat, dec_t rate,
    ksef_group_e *g, const char **code);
static int ksef_nip(const char *s, char nip[11]);
static int ksef_eu_code(const char *cc);
static int ksef_country(const char *cc);
static int ksef_naglowek(ksef_ctx_t *c);
static int ksef_address(ksef_ctx_t *c, const char *el,
    const invoice_party_t *p, const char *field);
static int ksef_podmiot1(ksef_ctx_t *c);
static int ksef_podmiot2(ksef_ctx_t *c);
static int ksef_sums(ksef_ctx_t *c);
static int ksef_adnotacje(ksef_ctx_t *c);
static int ksef_korekta(ksef_ctx_t *c);
static int ksef_opis(ksef_ctx_t *c, const char *key, const char *value,
    const char *field);
static int ksef_wiersze(ksef_ctx_t *c);
static int ksef_wiersz_ac(ksef_ctx_t *c, size_t nr, const invoice_ac_t *ac);
static int ksef_rozliczenie(ksef_ctx_t *c);
static int ksef_platnosc(ksef_ctx_t *c);
static int ksef_warunki(ksef_ctx_t *c);
static int ksef_fa(ksef_ctx_t *c);
static int ksef_stopka(ksef_ctx_t *c);
static const char *ksef_unit(const char *code);


const invoice_renderer_t  invoice_renderer_ksef = {
    "ksef", "application/xml", ksef_render
};

/* libxml2's globals are set up lazily and racily: once, before any use */
static pthread_once_t  ksef_once = PTHREAD_ONCE_INIT;


static int
ksef_render(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    ksef_ctx_t       c;
    xmlBufferPtr     buf;
    unsigned char   *copy;
    size_t           n;

    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;

    pthread_once(&ksef_once, ksef_init);

    if (inv == NULL || out == NULL || len == NULL) {
        return ksef_fail(&c, INVOICE_EINVAL, "ksef: no invoice");
    }

    if (!inv->computed) {
        return ksef_fail(&c, INVOICE_EINVAL, "ksef: invoice not computed");
    }

    c.inv = inv;
    c.sign = inv->kind == INVOICE_KIND_CREDIT_NOTE ? -1 : 1;
    c.exp = invoice_currency_exponent(inv->currency);
    c.now = time(NULL);

    if (c.exp < 0) {
        return ksef_fail(&c, INVOICE_EINVAL, "ksef: currency not accepted");
    }

    c.pln_rate = strcmp(inv->currency, "PLN") != 0
                 && strcmp(inv->vat_currency, "PLN") == 0
                 && dec_sign(inv->exchange_rate) > 0;

    buf = xmlBufferCreate();
    if (buf == NULL) {
        return ksef_fail(&c, INVOICE_ENOMEM, "ksef: out of memory");
    }

    c.w = xmlNewTextWriterMemory(buf, 0);
    if (c.w == NULL) {
        xmlBufferFree(buf);
        return ksef_fail(&c, INVOICE_ENOMEM, "ksef: out of memory");
    }

    if (o != NULL && o->pretty) {
        xmlTextWriterSetIndent(c.w, 1);
        xmlTextWriterSetIndentString(c.w, BAD_CAST "  ");
    }

    if (ksef_xml(&c, xmlTextWriterStartDocument(c.w, NULL, "UTF-8", NULL))
        == INVOICE_OK
        && ksef_xml(&c, xmlTextWriterStartElementNS(c.w, NULL,
                            BAD_CAST "Faktura", BAD_CAST KSEF_NS))
           == INVOICE_OK
        && ksef_naglowek(&c) == INVOICE_OK
        && ksef_podmiot1(&c) == INVOICE_OK
        && ksef_podmiot2(&c) == INVOICE_OK
        && ksef_fa(&c) == INVOICE_OK
        && ksef_stopka(&c) == INVOICE_OK)
    {
        ksef_xml(&c, xmlTextWriterEndDocument(c.w));
    }

    xmlFreeTextWriter(c.w);

    if (c.rc != INVOICE_OK) {
        xmlBufferFree(buf);
        return c.rc;
    }

    n = (size_t) xmlBufferLength(buf);
    copy = malloc(n + 1);
    if (copy == NULL) {
        xmlBufferFree(buf);
        return ksef_fail(&c, INVOICE_ENOMEM, "ksef: out of memory");
    }

    memcpy(copy, xmlBufferContent(buf), n);
    copy[n] = '\0';
    xmlBufferFree(buf);

    *out = copy;
    *len = n;

    return INVOICE_OK;
}


static void
ksef_init(void)
{
    xmlInitParser();
}


/* records the first failure and its message; returns c->rc */
static int
ksef_fail(ksef_ctx_t *c, int rc, const char *fmt, ...)
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


static int
ksef_xml(ksef_ctx_t *c, int xrc)
{
    if (c->rc != INVOICE_OK) {
        return c->rc;
    }

    if (xrc < 0) {
        return ksef_fail(c, INVOICE_EINTERNAL, "ksef: XML writer failed");
    }

    return INVOICE_OK;
}


/* s must be non-empty valid UTF-8 of at most max characters, without
 * control characters (XML 1.0 cannot carry them; tab and newlines are
 * fine, the token types collapse them) */
static int
ksef_check_text(ksef_ctx_t *c, const char *field, const char *s, size_t max)
{
    const unsigned char  *p;
    size_t                chars, blank, i, need;

    chars = 0;
    blank = 0;

    for (p = (const unsigned char *) s; *p != '\0'; chars++) {
        if (*p < 0x80) {
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
                return ksef_fail(c, INVOICE_EINVAL,
                                 "ksef: %s holds a control character", field);
            }

            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                blank++;
            }

            p++;
            continue;
        }

        if ((*p & 0xe0) == 0xc0 && *p >= 0xc2) {
            need = 1;
        } else if ((*p & 0xf0) == 0xe0) {
            need = 2;
        } else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4) {
            need = 3;
        } else {
            return ksef_fail(c, INVOICE_EINVAL, "ksef: %s is not UTF-8",
                             field);
        }

        for (i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return ksef_fail(c, INVOICE_EINVAL, "ksef: %s is not UTF-8",
                                 field);
            }
        }

        if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)
            || (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)
            || (p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe))
        {
            return ksef_fail(c, INVOICE_EINVAL,
                             "ksef: %s holds a character XML forbids", field);
        }

        p += need + 1;
    }

    if (chars == 0 || blank == chars) {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: %s is empty", field);
    }

    if (chars > max) {
        return ksef_fail(c, INVOICE_EINVAL,
                         "ksef: %s is longer than %zu characters", field, max);
    }

    return INVOICE_OK;
}


static int
ksef_el(ksef_ctx_t *c, const char *name, const char *text)
{
    if (c->rc != INVOICE_OK) {
        return c->rc;
    }

    return ksef_xml(c, xmlTextWriterWriteElement(c->w, BAD_CAST name,
                                                 BAD_CAST text));
}


static int
ksef_el_text(ksef_ctx_t *c, const char *name, const char *s, size_t max,
    const char *field)
{
    if (ksef_check_text(c, field, s, max) != INVOICE_OK) {
        return c->rc;
    }

    return ksef_el(c, name, s);
}


static int
ksef_el_money(ksef_ctx_t *c, const char *name, int64_t minor, int exp)
{
    char     buf[DEC_STR_MAX];
    int64_t  limit;
    int      i;

    /* TKwotowy: at most 16 integer digits */
    limit = 10000000000000000LL;
    for (i = 0; i < exp; i++) {
        limit *= 10;
    }

    if (minor <= -limit || minor >= limit) {
        return ksef_fail(c, INVOICE_ERANGE, "ksef: %s has more than 16 "
                         "integer digits", name);
    }

    if (money_format(minor, exp, buf, sizeof(buf)) < 0) {
        return ksef_fail(c, INVOICE_ERANGE, "ksef: %s does not format", name);
    }

    return ksef_el(c, name, buf);
}


/* TDataT from 2006-01-01, TData from 2016-07-01, both to 2050-01-01 */
static int
ksef_el_date(ksef_ctx_t *c, const char *name, const char *date,
    const char *min, const char *field)
{
    if (strlen(date) != 10 || strcmp(date, min) < 0
        || strcmp(date, "2050-01-01") > 0)
    {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: %s outside %s .. "
                         "2050-01-01", field, min);
    }

    return ksef_el(c, name, date);
}


/* TAdresEmail: (.)+@(.)+ of 3 to 255 characters */
static int
ksef_email(ksef_ctx_t *c, const char *email, const char *field)
{
    const char  *at;

    at = strchr(email, '@');
    if (at == NULL || at == email || at[1] == '\0') {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: %s is not an e-mail "
                         "address", field);
    }

    ksef_start(c, "DaneKontaktowe");
    ksef_el_text(c, "Email", email, 255, field);

    return ksef_end(c);
}


/* d normalized; more than scale fraction digits: INVOICE_ERANGE */
static int
ksef_el_dec(ksef_ctx_t *c, const char *name, dec_t d, int scale)
{
    char   buf[DEC_STR_MAX];
    dec_t  n;

    n = dec_normalize(d);

    if (n.scale > scale) {
        return ksef_fail(c, INVOICE_ERANGE,
                         "ksef: %s has more than %d decimals", name, scale);
    }

    if (dec_format(n, buf, sizeof(buf)) < 0) {
        return ksef_fail(c, INVOICE_ERANGE, "ksef: %s does not format", name);
    }

    return ksef_el(c, name, buf);
}


static int
ksef_start(ksef_ctx_t *c, const char *name)
{
    if (c->rc != INVOICE_OK) {
        return c->rc;
    }

    return ksef_xml(c, xmlTextWriterStartElement(c->w, BAD_CAST name));
}


static int
ksef_end(ksef_ctx_t *c)
{
    if (c->rc != INVOICE_OK) {
        return c->rc;
    }

    return ksef_xml(c, xmlTextWriterEndElement(c->w));
}


/* v times the document sign */
static int
ksef_neg(ksef_ctx_t *c, int64_t v, int64_t *out)
{
    if (c->sign > 0) {
        *out = v;
        return INVOICE_OK;
    }

    if (v == INT64_MIN) {
        *out = 0;
        return ksef_fail(c, INVOICE_ERANGE, "ksef: amount out of range");
    }

    *out = -v;

    return INVOICE_OK;
}


static int
ksef_group(ksef_ctx_t *c, vat_category_e cat, dec_t rate, ksef_group_e *g,
    const char **code)
{
    static const struct {
        int            rate;
        ksef_group_e   g;
        const char    *code;
    } std[] = {
        { 23, KSEF_G1, "23" }, { 22, KSEF_G1, "22" },
        { 8, KSEF_G2, "8" }, { 7, KSEF_G2, "7" },
        { 5, KSEF_G3, "5" },
        { 4, KSEF_G4, "4" }, { 3, KSEF_G4, "3" },
    };

    size_t       i;
    const char  *cc;

    switch (cat) {

    case VAT_CAT_S:
        for (i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
            if (dec_cmp(rate, DEC(std[i].rate, 0)) == 0) {
                *g = std[i].g;
                *code = std[i].code;
                return INVOICE_OK;
            }
        }

        return ksef_fail(c, INVOICE_EINVAL,
                         "ksef: standard VAT rate has no FA(3) field "
                         "(23, 22, 8, 7, 5, 4, 3 %%)");

    case VAT_CAT_Z:
        *g = KSEF_G6_1;
        *code = "0 KR";
        return INVOICE_OK;

    case VAT_CAT_K:
        *g = KSEF_G6_2;
        *code = "0 WDT";
        return INVOICE_OK;

    case VAT_CAT_G:
        *g = KSEF_G6_3;
        *code = "0 EX";
        return INVOICE_OK;

    case VAT_CAT_E:
        *g = KSEF_G7;
        *code = "zw";
        return INVOICE_OK;

    case VAT_CAT_O:
        *g = KSEF_G8;
        *code = "np I";
        return INVOICE_OK;

    case VAT_CAT_AE:
        cc = c->inv->buyer.country;
        if (cc[0] == '\0' || strcmp(cc, "PL") == 0) {
            *g = KSEF_G10;
            *code = "oo";
        } else {
            *g = KSEF_G9;
            *code = "np II";
        }
        return INVOICE_OK;

    default:
        return ksef_fail(c, INVOICE_EINVAL,
                         "ksef: VAT category %s has no FA(3) field",
                         invoice_vat_category_code(cat));
    }
}


/* a NIP (TNrNIP) from "PL1234567890", "1234567890" or "123-456-78-90";
 * 0 or -1 */
static int
ksef_nip(const char *s, char nip[11])
{
    size_t  n;

    if (s == NULL) {
        return -1;
    }

    if (strncmp(s, "PL", 2) == 0) {
        s += 2;
    }

    for (n = 0; *s != '\0'; s++) {
        if (*s == '-' || *s == ' ') {
            continue;
        }

        if (*s < '0' || *s > '9' || n == 10) {
            return -1;
        }

        nip[n++] = *s;
    }

    nip[n] = '\0';

    /* [1-9]((\d[1-9])|([1-9]\d))\d{7} */
    if (n != 10 || nip[0] == '0' || (nip[1] == '0' && nip[2] == '0')) {
        return -1;
    }

    return 0;
}


/* 1 if cc is in TKodKraju (KodyKrajow_v10-0E.xsd, ISO 3166-1 and the
 * schema's additions such as XI and XK) */
static int
ksef_country(const char *cc)
{
    static const char  codes[] =
        "AD AE AF AG AI AL AM AN AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF "
        "BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH "
        "CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG "
        "EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
        "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS "
        "IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR "
        "LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT "
        "MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF "
        "PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE "
        "SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ "
        "TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN "
        "VU WF WS XC XI XK XL YE YT ZA ZM ZW ";
    const char        *p;

    if (cc[0] == '\0' || cc[1] == '\0' || cc[2] != '\0') {
        return 0;
    }

    for (p = codes; *p != '\0'; p += 3) {
        if (p[0] == cc[0] && p[1] == cc[1]) {
            return 1;
        }
    }

    return 0;
}


/* TKodyKrajowUE without PL: 1 if cc is another member state's VAT prefix */
static int
ksef_eu_code(const char *cc)
{
    static const char  eu[] = "AT BE BG CY CZ DK EE FI FR DE EL HR HU IE IT "
                              "LV LT LU MT NL PT RO SK SI ES SE XI ";
    const char        *p;

    for (p = eu; *p != '\0'; p += 3) {
        if (p[0] == cc[0] && p[1] == cc[1]) {
            return 1;
        }
    }

    return 0;
}


static int
ksef_naglowek(ksef_ctx_t *c)
{
    char       when[32];
    struct tm  tm;

    if (gmtime_r(&c->now, &tm) == NULL
        || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        return ksef_fail(c, INVOICE_EINTERNAL, "ksef: no clock");
    }

    ksef_start(c, "Naglowek");
    ksef_start(c, "KodFormularza");
    ksef_xml(c, xmlTextWriterWriteAttribute(c->w, BAD_CAST "kodSystemowy",
                                            BAD_CAST "FA (3)"));
    ksef_xml(c, xmlTextWriterWriteAttribute(c->w, BAD_CAST "wersjaSchemy",
                                            BAD_CAST "1-0E"));
    ksef_xml(c, xmlTextWriterWriteString(c->w, BAD_CAST "FA"));
    ksef_end(c);
    ksef_el(c, "WariantFormularza", "3");
    ksef_el(c, "DataWytworzeniaFa", when);
    ksef_el(c, "SystemInfo", "hubgate");

    return ksef_end(c);
}


/* TAdres: AdresL1 street (and street2), AdresL2 postal code and city */
static int
ksef_address(ksef_ctx_t *c, const char *el, const invoice_party_t *p,
    const char *field)
{
    char         l1[1100], l2[1100], f[64];
    const char  *city, *pc;

    if (!ksef_country(p->country)) {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: %s.address.country "
                         "is not a FA(3) country code", field);
    }

    city = p->city != NULL ? p->city : "";
    pc = p->postal_code != NULL ? p->postal_code : "";

    if ((size_t) snprintf(l2, sizeof(l2), "%s%s%s", pc,
                          pc[0] && city[0] ? " " : "", city)
        >= sizeof(l2))
    {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: %s.address.city is too "
                         "long", field);
    }

    if (p->street != NULL && p->street[0] != '\0') {
        if ((size_t) snprintf(l1, sizeof(l1), "%s%s%s", p->street,
                              p->street2 != NULL && p->street2[0] ? ", " : "",
                              p->street2 != NULL ? p->street2 : "")
            >= sizeof(l1))
        {
            return ksef_fail(c, INVOICE_EINVAL, "ksef: %s.address.street is "
                             "too long", field);
        }
    } else {
        memcpy(l1, l2, sizeof(l1));
        l2[0] = '\0';
    }

    if (l1[0] == '\0') {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: %s.address needs a street "
                         "or a city", field);
    }

    ksef_start(c, el);
    ksef_el(c, "KodKraju", p->country);
    snprintf(f, sizeof(f), "%s.address.street", field);
    ksef_el_text(c, "AdresL1", l1, KSEF_TOKEN512, f);

    if (l2[0] != '\0') {
        snprintf(f, sizeof(f), "%s.address.city", field);
        ksef_el_text(c, "AdresL2", l2, KSEF_TOKEN512, f);
    }

    return ksef_end(c);
}


static int
ksef_podmiot1(ksef_ctx_t *c)
{
    char                    nip[11];
    const invoice_party_t  *s;

    s = &c->inv->seller;

    if (ksef_nip(s->vat_id, nip) != 0 && ksef_nip(s->tax_reg_id, nip) != 0) {
        return ksef_fail(c, INVOICE_EINVAL,
                         "ksef: seller has no Polish NIP (seller.vat_id "
                         "PL + 10 digits or seller.tax_registration_id)");
    }

    if (s->name == NULL) {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: seller.name missing");
    }

    ksef_start(c, "Podmiot1");
    ksef_start(c, "DaneIdentyfikacyjne");
    ksef_el(c, "NIP", nip);
    ksef_el_text(c, "Nazwa", s->name, KSEF_TOKEN512, "seller.name");
    ksef_end(c);
    ksef_address(c, "Adres", s, "seller");

    if (s->email != NULL) {
        ksef_email(c, s->email, "seller.email");
    }

    return ksef_end(c);
}


/* the buyer's identifier: NIP, an EU VAT number, another tax id, or none */
static int
ksef_podmiot2(ksef_ctx_t *c)
{
    char                    nip[11];
    const char             *v, *r;
    const invoice_party_t  *b;
    size_t                  n;
    int                     pl;

    b = &c->inv->buyer;
    v = b->vat_id;

    if (b->name == NULL) {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: buyer.name missing");
    }

    ksef_start(c, "Podmiot2");
    ksef_start(c, "DaneIdentyfikacyjne");

    pl = strcmp(b->country, "PL") == 0;

    if ((v != NULL && (pl || strncmp(v, "PL", 2) == 0)
         && ksef_nip(v, nip) == 0)
        || (v == NULL && pl && ksef_nip(b->tax_reg_id, nip) == 0))
    {
        ksef_el(c, "NIP", nip);

    } else if (v != NULL && strlen(v) > 2 && ksef_eu_code(v)
               && (n = strspn(v + 2, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "+*")) == strlen(v + 2)
               && n <= 12)
    {
        char  cc[3] = { v[0], v[1], '\0' };

        ksef_el(c, "KodUE", cc);
        ksef_el(c, "NrVatUE", v + 2);

    } else if (v != NULL || b->tax_reg_id != NULL) {
        r = v != NULL ? v : b->tax_reg_id;
        if (ksef_country(b->country)) {
            ksef_el(c, "KodKraju", b->country);
        }
        ksef_el_text(c, "NrID", r, 50, "buyer.vat_id");

    } else {
        ksef_el(c, "BrakID", "1");
    }

    ksef_el_text(c, "Nazwa", b->name, KSEF_TOKEN512, "buyer.name");
    ksef_end(c);

    if (b->country[0] != '\0'
        && ((b->street != NULL && b->street[0] != '\0')
            || (b->city != NULL && b->city[0] != '\0')))
    {
        ksef_address(c, "Adres", b, "buyer");
    }

    if (b->email != NULL) {
        ksef_email(c, b->email, "buyer.email");
    }

    ksef_el(c, "JST", "2");
    ksef_el(c, "GV", "2");

    return ksef_end(c);
}


/* P_13_x / P_14_x / P_14_xW from the VAT breakdown */
static int
ksef_sums(ksef_ctx_t *c)
{
    size_t                  i;
    int64_t                 net, vat, pln;
    ksef_group_e            g;
    const char             *code;
    const invoice_vat_t    *row;
    const invoice_totals_t *t;
    ksef_sum_t             *s;

    t = &c->inv->totals;

    for (i = 0; i < t->n_vat; i++) {
        row = &t->vat[i];

        if (ksef_group(c, row->category, row->rate, &g, &code) != INVOICE_OK
            || ksef_neg(c, row->taxable_minor, &net) != INVOICE_OK
            || ksef_neg(c, row->tax_minor, &vat) != INVOICE_OK)
        {
            return c->rc;
        }

        pln = 0;
        if (c->pln_rate && ksef_fields[g].vat_pln != NULL
            && dec_muldiv_minor(dec_from_minor(vat, c->exp),
                                c->inv->exchange_rate, DEC_ONE, 2, &pln)
               != DEC_OK)
        {
            return ksef_fail(c, INVOICE_ERANGE, "ksef: VAT in PLN overflows");
        }

        s = &c->sums[g];
        s->used = 1;

        if (money_add(s->net, net, &s->net) != DEC_OK
            || money_add(s->vat, vat, &s->vat) != DEC_OK
            || money_add(s->vat_pln, pln, &s->vat_pln) != DEC_OK)
        {
            return ksef_fail(c, INVOICE_ERANGE, "ksef: VAT sums overflow");
        }

        if (row->category == VAT_CAT_AE) {
            c->reverse_charge = 1;
        }

        if (row->category == VAT_CAT_E && c->exemption == NULL) {
            c->exemption = row->exemption_reason != NULL
                           ? row->exemption_reason : row->exemption_code;
        }
    }

    for (g = 0; g < KSEF_NGROUPS; g++) {
        s = &c->sums[g];
        if (!s->used) {
            continue;
        }

        ksef_el_money(c, ksef_fields[g].net, s->net, c->exp);

        if (ksef_fields[g].vat != NULL) {
            ksef_el_money(c, ksef_fields[g].vat, s->vat, c->exp);

            if (c->pln_rate) {
                ksef_el_money(c, ksef_fields[g].vat_pln, s->vat_pln, 2);
            }
        }
    }

    return c->rc;
}


static int
ksef_adnotacje(ksef_ctx_t *c)
{
    ksef_start(c, "Adnotacje");
    ksef_el(c, "P_16", "2");
    ksef_el(c, "P_17", "2");
    ksef_el(c, "P_18", c->reverse_charge ? "1" : "2");
    ksef_el(c, "P_18A", "2");

    ksef_start(c, "Zwolnienie");
    if (c->sums[KSEF_G7].used) {
        if (c->exemption == NULL) {
            return ksef_fail(c, INVOICE_EINVAL, "ksef: exempt supply without "
                             "an exemption reason (vat_exemption_reason)");
        }
        ksef_el(c, "P_19", "1");
        ksef_el_text(c, "P_19A", c->exemption, KSEF_TOKEN_MAX,
                     "vat_exemption_reason");
    } else {
        ksef_el(c, "P_19N", "1");
    }
    ksef_end(c);

    ksef_start(c, "NoweSrodkiTransportu");
    ksef_el(c, "P_22N", "1");
    ksef_end(c);
    ksef_el(c, "P_23", "2");
    ksef_start(c, "PMarzy");
    ksef_el(c, "P_PMarzyN", "1");
    ksef_end(c);

    return ksef_end(c);
}


static int
ksef_korekta(ksef_ctx_t *c)
{
    const invoice_t  *inv;

    inv = c->inv;

    if (inv->preceding_number == NULL || inv->preceding_date[0] == '\0') {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: a credit note needs "
                         "preceding_invoice.number and .issue_date");
    }

    if (inv->note != NULL) {
        ksef_el_text(c, "PrzyczynaKorekty", inv->note, KSEF_TOKEN_MAX,
                     "note");
    }

    ksef_el(c, "TypKorekty", "2");
    ksef_start(c, "DaneFaKorygowanej");
    ksef_el_date(c, "DataWystFaKorygowanej", inv->preceding_date,
                 "2006-01-01", "preceding_invoice.issue_date");
    ksef_el_text(c, "NrFaKorygowanej", inv->preceding_number,
                 KSEF_TOKEN_MAX, "preceding_invoice.number");
    ksef_el(c, "NrKSeFN", "1");

    return ksef_end(c);
}


static int
ksef_opis(ksef_ctx_t *c, const char *key, const char *value,
    const char *field)
{
    if (value == NULL) {
        return c->rc;
    }

    ksef_start(c, "DodatkowyOpis");
    ksef_el(c, "Klucz", key);
    ksef_el_text(c, "Wartosc", value, KSEF_TOKEN_MAX, field);

    return ksef_end(c);
}


static int
ksef_wiersze(ksef_ctx_t *c)
{
    char                   nr[24], field[48];
    size_t                 i;
    int64_t                v;
    dec_t                  q;
    ksef_group_e           g;
    const char            *code;
    const invoice_line_t  *l;

    for (i = 0; i < c->inv->n_lines && c->rc == INVOICE_OK; i++) {
        l = &c->inv->lines[i];

        if (ksef_group(c, l->vat_category, l->vat_rate, &g, &code)
            != INVOICE_OK)
        {
            return c->rc;
        }

        snprintf(nr, sizeof(nr), "%zu", i + 1);
        ksef_start(c, "FaWiersz");
        ksef_el(c, "NrWierszaFa", nr);

        snprintf(field, sizeof(field), "lines[%zu].name", i);
        ksef_el_text(c, "P_7", l->name, KSEF_TOKEN512, field);

        if (l->seller_item_id != NULL) {
            snprintf(field, sizeof(field), "lines[%zu].seller_item_id", i);
            ksef_el_text(c, "Indeks", l->seller_item_id, KSEF_TOKEN50,
                         field);
        }

        ksef_el(c, "P_8A", ksef_unit(l->unit_code));

        q = l->quantity;
        if (c->sign < 0) {
            q.m = -q.m;
        }
        ksef_el_dec(c, "P_8B", q, 6);

        /* the net unit price, when the price is per one unit */
        if (dec_cmp(l->base_quantity, DEC_ONE) == 0) {
            ksef_el_dec(c, "P_9A", l->price, 8);
        }

        if (l->allowance_minor > 0 && l->charge_minor == 0) {
            ksef_el_money(c, "P_10", l->allowance_minor, c->exp);
        }

        if (ksef_neg(c, l->net_minor, &v) == INVOICE_OK) {
            ksef_el_money(c, "P_11", v, c->exp);
        }

        ksef_el(c, "P_12", code);
        ksef_end(c);
    }

    for (i = 0; i < c->inv->n_acs && c->rc == INVOICE_OK; i++) {
        ksef_wiersz_ac(c, c->inv->n_lines + i + 1, &c->inv->acs[i]);
    }

    return c->rc;
}


/* a document allowance or charge as a line of its own */
static int
ksef_wiersz_ac(ksef_ctx_t *c, size_t nr, const invoice_ac_t *ac)
{
    char           buf[24], field[48];
    int64_t        v;
    ksef_group_e   g;
    const char    *code, *name;

    if (ksef_group(c, ac->vat_category, ac->vat_rate, &g, &code)
        != INVOICE_OK)
    {
        return c->rc;
    }

    name = ac->reason;
    if (name == NULL) {
        name = ac->is_charge ? "Opłata dodatkowa" : "Rabat";
    }

    v = ac->is_charge ? ac->amount_minor : -ac->amount_minor;

    snprintf(buf, sizeof(buf), "%zu", nr);
    snprintf(field, sizeof(field), "allowances_charges[%zu].reason",
             nr - c->inv->n_lines - 1);

    ksef_start(c, "FaWiersz");
    ksef_el(c, "NrWierszaFa", buf);
    ksef_el_text(c, "P_7", name, KSEF_TOKEN512, field);

    if (ksef_neg(c, v, &v) == INVOICE_OK) {
        ksef_el_money(c, "P_11", v, c->exp);
    }

    ksef_el(c, "P_12", code);

    return ksef_end(c);
}


/* prepaid amounts and rounding: what is left to pay differs from P_15 */
static int
ksef_rozliczenie(ksef_ctx_t *c)
{
    int64_t                  pay, r;
    const invoice_totals_t  *t;

    t = &c->inv->totals;

    if (t->prepaid_minor == 0 && t->rounding_minor == 0) {
        return c->rc;
    }

    ksef_start(c, "Rozliczenie");

    if (t->rounding_minor > 0) {
        ksef_start(c, "Obciazenia");
        ksef_el_money(c, "Kwota", t->rounding_minor, c->exp);
        ksef_el(c, "Powod", "Zaokrąglenie");
        ksef_end(c);
        ksef_el_money(c, "SumaObciazen", t->rounding_minor, c->exp);
    }

    if (t->prepaid_minor != 0 || t->rounding_minor < 0) {
        if (t->prepaid_minor != 0) {
            ksef_start(c, "Odliczenia");
            ksef_el_money(c, "Kwota", t->prepaid_minor, c->exp);
            ksef_el(c, "Powod", "Zapłacono wcześniej");
            ksef_end(c);
        }

        r = 0;
        if (t->rounding_minor < 0) {
            r = -t->rounding_minor;
            ksef_start(c, "Odliczenia");
            ksef_el_money(c, "Kwota", r, c->exp);
            ksef_el(c, "Powod", "Zaokrąglenie");
            ksef_end(c);
        }

        if (money_add(t->prepaid_minor, r, &r) != DEC_OK) {
            return ksef_fail(c, INVOICE_ERANGE, "ksef: deductions overflow");
        }
        ksef_el_money(c, "SumaOdliczen", r, c->exp);
    }

    if (ksef_neg(c, t->payable_minor, &pay) != INVOICE_OK) {
        return c->rc;
    }

    if (pay >= 0) {
        ksef_el_money(c, "DoZaplaty", pay, c->exp);
    } else {
        ksef_el_money(c, "DoRozliczenia", -pay, c->exp);
    }

    return ksef_end(c);
}


static int
ksef_platnosc(ksef_ctx_t *c)
{
    static const struct {
        const char  *uncl4461;
        const char  *forma;
    } forms[] = {
        { "10", "1" }, { "20", "4" }, { "48", "2" }, { "54", "2" },
        { "55", "2" }, { "30", "6" }, { "31", "6" }, { "42", "6" },
        { "58", "6" }, { "68", "7" },
    };

    size_t            i, n;
    char              desc[64];
    const char       *forma, *iban;
    const invoice_t  *inv;

    inv = c->inv;
    iban = inv->iban;

    if (inv->due_date[0] == '\0' && inv->payment_means_code[0] == '\0'
        && iban == NULL)
    {
        return c->rc;
    }

    ksef_start(c, "Platnosc");

    if (inv->due_date[0] != '\0') {
        ksef_start(c, "TerminPlatnosci");
        ksef_el_date(c, "Termin", inv->due_date, "2016-07-01", "due_date");
        ksef_end(c);
    }

    if (inv->payment_means_code[0] != '\0') {
        forma = NULL;
        for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
            if (strcmp(forms[i].uncl4461, inv->payment_means_code) == 0) {
                forma = forms[i].forma;
            }
        }

        if (forma != NULL) {
            ksef_el(c, "FormaPlatnosci", forma);
        } else {
            snprintf(desc, sizeof(desc), "UNCL4461 %s",
                     inv->payment_means_code);
            ksef_el(c, "PlatnoscInna", "1");
            ksef_el_text(c, "OpisPlatnosci", desc, KSEF_TOKEN_MAX,
                         "payment.means_code");
        }
    }

    if (iban != NULL) {
        n = strlen(iban);
        if (n < 10 || n > 34) {
            return ksef_fail(c, INVOICE_EINVAL, "ksef: payment.iban must "
                             "have 10 to 34 characters");
        }

        ksef_start(c, "RachunekBankowy");
        ksef_el_text(c, "NrRB", iban, 34, "payment.iban");

        n = inv->bic != NULL ? strlen(inv->bic) : 0;
        if ((n == 8 || n == 11)
            && strspn(inv->bic, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 6
            && strspn(inv->bic, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n)
        {
            ksef_el(c, "SWIFT", inv->bic);
        }
        ksef_end(c);
    }

    return ksef_end(c);
}


static int
ksef_warunki(ksef_ctx_t *c)
{
    if (c->inv->order_reference == NULL) {
        return c->rc;
    }

    ksef_start(c, "WarunkiTransakcji");
    ksef_start(c, "Zamowienia");
    ksef_el_text(c, "NrZamowienia", c->inv->order_reference,
                 KSEF_TOKEN_MAX, "order_reference");
    ksef_end(c);

    return ksef_end(c);
}


static int
ksef_fa(ksef_ctx_t *c)
{
    int64_t           gross;
    const invoice_t  *inv;

    inv = c->inv;

    if (inv->number == NULL) {
        return ksef_fail(c, INVOICE_EINVAL, "ksef: number missing");
    }

    ksef_start(c, "Fa");
    ksef_el(c, "KodWaluty", inv->currency);
    ksef_el_date(c, "P_1", inv->issue_date, "2006-01-01", "issue_date");
    ksef_el_text(c, "P_2", inv->number, KSEF_TOKEN_MAX, "number");

    if (inv->delivery_date[0] != '\0') {
        ksef_el_date(c, "P_6", inv->delivery_date, "2006-01-01",
                     "delivery.date");

    } else if (inv->period_start[0] != '\0' && inv->period_end[0] != '\0') {
        ksef_start(c, "OkresFa");
        ksef_el_date(c, "P_6_Od", inv->period_start, "2006-01-01",
                     "period.start");
        ksef_el_date(c, "P_6_Do", inv->period_end, "2006-01-01",
                     "period.end");
        ksef_end(c);
    }

    ksef_sums(c);

    if (ksef_neg(c, inv->totals.tax_inclusive_minor, &gross) == INVOICE_OK) {
        ksef_el_money(c, "P_15", gross, c->exp);
    }

    ksef_adnotacje(c);

    if (inv->kind == INVOICE_KIND_CREDIT_NOTE) {
        ksef_el(c, "RodzajFaktury", "KOR");
        ksef_korekta(c);
    } else {
        ksef_el(c, "RodzajFaktury", "VAT");
    }

    ksef_opis(c, "Referencja nabywcy", inv->buyer_reference,
              "buyer_reference");
    ksef_opis(c, "Tytuł płatności", inv->payment_reference,
              "payment.reference");
    ksef_opis(c, "Warunki płatności", inv->payment_terms, "payment.terms");
    ksef_wiersze(c);
    ksef_rozliczenie(c);
    ksef_platnosc(c);
    ksef_warunki(c);

    return ksef_end(c);
}


/* the note (BT-22) in the footer; a credit note's note is its reason */
static int
ksef_stopka(ksef_ctx_t *c)
{
    if (c->inv->note == NULL) {
        return c->rc;
    }

    ksef_start(c, "Stopka");
    ksef_start(c, "Informacje");
    ksef_el_text(c, "StopkaFaktury", c->inv->note, KSEF_TEXT_MAX, "note");
    ksef_end(c);

    return ksef_end(c);
}


/* P_8A: the usual Polish name of a UN/ECE rec 20 unit, else the code */
static const char *
ksef_unit(const char *code)
{
    static const struct {
        const char  *code;
        const char  *name;
    } units[] = {
        { "C62", "szt." }, { "H87", "szt." }, { "EA", "szt." },
        { "XPP", "szt." }, { "HUR", "godz." }, { "DAY", "dzień" },
        { "MON", "mies." }, { "KGM", "kg" }, { "GRM", "g" },
        { "MTR", "m" }, { "MTK", "m2" }, { "MTQ", "m3" }, { "LTR", "l" },
        { "KMT", "km" }, { "SET", "kpl." }, { "TNE", "t" },
    };

    size_t  i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(units[i].code, code) == 0) {
            return units[i].name;
        }
    }

    return code[0] != '\0' ? code : "szt.";
}
