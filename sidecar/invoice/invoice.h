/*
 * hubgated: the canonical invoice model, its EN 16931 totals and the
 * renderers behind one table (DESIGN §4, Invoices).
 *
 * Pure C on jansson and libxml2: no database, no event loop, no global
 * mutable state, so unit tests and fuzzers link invoice/ alone.  Money is
 * never floating point: amounts are int64_t minor units of the document
 * currency (sql/004_invoices.sql *_minor columns), quantities, prices and
 * rates are dec_t (decimal.h; numeric columns).
 *
 * Currency exponent: ISO 4217 minor units, restricted to what EN 16931
 * allows (at most 2 decimals): the zero-decimal codes (JPY, KRW, ISK, CLP,
 * VND, ...; see invoice_currency_exponent) use 0, every other code of
 * three capital letters uses 2; codes with 3 decimals (BHD, KWD, ...) are
 * refused, as EN 16931 cannot express their minor units.
 *
 * Totals (invoice_compute), all at the currency exponent, halves rounded
 * toward +infinity:
 *   line net BT-131 = round(quantity * price / base_quantity)
 *                     - sum(line allowances) + sum(line charges)
 *   BT-106 = sum BT-131            (BR-CO-10)
 *   BT-107 = sum doc allowances    (BR-CO-11)
 *   BT-108 = sum doc charges       (BR-CO-12)
 *   BT-109 = BT-106 - BT-107 + BT-108             (BR-CO-13)
 *   per (category, rate): BT-116 = sum line nets - allowances + charges of
 *     that category/rate; BT-117 = round(BT-116 * rate / 100) (BR-CO-17);
 *     the rate must be > 0 for S, 0 for Z, E, AE, K, G and O (rendered
 *     without a rate for O, BR-O-05), any for L and M
 *   BT-110 = sum BT-117            (BR-CO-14)
 *   BT-111 = round(BT-110 * exchange_rate) at the VAT currency's exponent,
 *            only when vat_currency is set and differs from currency;
 *            or the amount given in vat_in_vat_currency_minor
 *   BT-112 = BT-109 + BT-110       (BR-CO-15)
 *   BT-115 = BT-112 - BT-113 + BT-114             (BR-CO-16)
 * BT-120/BT-121 of a VAT row come from the first line of that category and
 * rate that has them (E, AE, K, G, O only); without one, AE, K, G and O
 * get their fixed mention and code (VATEX-EU-AE, -IC, -G, -O), and E is
 * an error (BR-E-10).
 * A credit note carries the same signs as an invoice (positive amounts
 * credit the buyer); negative quantities are allowed on both.  Allowance
 * and charge amounts are >= 0 (the indicator gives the sign).
 *
 * Ownership: an invoice_t and everything it points to is owned by whoever
 * got it from invoice_new() or invoice_from_json(), freed by
 * invoice_free() (accepts NULL).  Every char * in the model is a
 * NUL-terminated UTF-8 string owned by the invoice (malloc'ed; set them
 * with invoice_strset) or NULL = absent.  The exemption_* pointers of a
 * totals VAT row are borrowed from the line they came from (or are
 * static strings, for the fixed mentions).
 * Renderers read a computed invoice (inv->computed != 0; otherwise
 * INVOICE_EINVAL) and return a malloc'ed buffer in *out, owned by the
 * caller (free()); *out is not NUL-terminated for binary formats, *len
 * is its length.
 *
 * JSON (invoice_from_json / renderer "json"), the API's shape for
 * POST /v1/invoices and GET /v1/invoices/{id}; snake_case; every amount,
 * quantity, price and rate is a decimal STRING ("123.45"), never a JSON
 * real (rejected); integers are accepted for quantity, rate and
 * base_quantity.  Dates are "YYYY-MM-DD".
 *   {
 *     "kind": "invoice" | "credit_note",            default "invoice"
 *     "number": "FV/2025/01/7",                      BT-1 (required)
 *     "issue_date": "2025-01-31",                    BT-2 (required)
 *     "due_date": "2025-02-14",                      BT-9
 *     "currency": "EUR",                             BT-5 (required)
 *     "vat_currency": "RON", "exchange_rate": "4.9771", BT-6, for BT-111
 *     "vat_total_in_vat_currency": "123.45",     BT-111 given, instead of
 *                                                 the exchange rate
 *     "buyer_reference": "...", "order_reference": "...", BT-10, BT-13
 *     "preceding_invoice": {"number": "...", "issue_date": "...",
 *                           "ksef_number": "..."},  BG-3
 *                                         (required for a credit_note)
 *     "correction_reason": "...",                    credit notes
 *     "note": "...",                                 BT-22
 *     "period": {"start": "...", "end": "..."},      BG-14
 *     "delivery": {"date": "...", "country": "DE"},  BT-72, BT-80
 *     "payment": {"means_code": "30", "iban": "...", "bic": "...",
 *                 "reference": "...", "terms": "..."},  BG-16, BT-20
 *     "seller": party, "buyer": party,               BG-4, BG-7
 *     "lines": [line, ...],                          BG-25 (>= 1)
 *     "allowances_charges": [ac, ...],               BG-20, BG-21
 *     "prepaid_amount": "0.00", "rounding_amount": "0.00", BT-113, BT-114
 *     -- output only (ignored on input):
 *     "totals": {"line_net", "allowances", "charges", "tax_exclusive",
 *                "vat", "vat_in_vat_currency", "tax_inclusive",
 *                "prepaid", "rounding", "payable"},
 *     "vat_breakdown": [{"category", "rate", "taxable_amount",
 *                        "tax_amount", "exemption_reason",
 *                        "exemption_code"}]
 *   }
 *   party: {"name", "trading_name", "vat_id", "tax_registration_id",
 *           "legal_id", "email", "address": {"street", "street2",
 *           "city", "postal_code", "subdivision", "country"}}
 *           (name and address.country required)
 *   line:  {"id", "name", "description", "quantity", "unit_code",
 *           "unit_price", "base_quantity", "seller_item_id",
 *           "classification": {"code", "scheme"}, "vat_category",
 *           "vat_rate", "vat_exemption_reason", "vat_exemption_code",
 *           "allowances_charges": [ac, ...], "note",
 *           "net_amount" (output only)}
 *           (name, quantity, unit_price, vat_category required; id
 *           defaults to the 1-based position, unit_code to "C62",
 *           base_quantity to "1", vat_rate to "0"; as in
 *           sql/004_invoices.sql: quantity and base_quantity at most 6
 *           decimals, unit_price 8, vat_rate 2)
 *   ac:    {"charge": false, "amount": "5.00", "percent": "10",
 *           "base_amount": "50.00", "reason": "...", "reason_code": "95",
 *           "vat_category": "S", "vat_rate": "23"}  (vat_* on document
 *           level only; amount or percent required; if amount is absent
 *           it is round(base_amount * percent / 100), base_amount
 *           defaulting to the line's gross net or the sum of lines)
 * Validation errors name the field by path ("lines[2].quantity",
 * "seller.address.country") and say what is wrong; no value is echoed.
 *
 * Return contract: every int function returns INVOICE_OK (0) or a
 * negative invoice_rc_e and never prints.  invoice_from_json and
 * invoice_compute add every problem they find to errs (if not NULL) up to
 * INVOICE_ERRS_MAX; renderers write a one-line message to err.
 */

#ifndef INVOICE_H
#define INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "invoice/decimal.h"


typedef enum {
    INVOICE_OK        =  0,
    INVOICE_EINVAL    = -1,        /* validation: see errs */
    INVOICE_ERANGE    = -2,        /* an amount overflows */
    INVOICE_ENOMEM    = -3,
    INVOICE_EINTERNAL = -4,        /* XML writer, JSON dump */
    INVOICE_ENOTFOUND = -5         /* no such renderer */
} invoice_rc_e;


#define INVOICE_ERRS_MAX  32

typedef struct {
    char             path[96];     /* "lines[2].quantity" */
    char             msg[128];
} invoice_err_t;

typedef struct {
    size_t           n;            /* entries in e[] */
    size_t           dropped;      /* found beyond INVOICE_ERRS_MAX */
    invoice_err_t    e[INVOICE_ERRS_MAX];
} invoice_errs_t;


typedef enum {
    INVOICE_KIND_INVOICE = 0,      /* UNCL1001 380 */
    INVOICE_KIND_CREDIT_NOTE       /* UNCL1001 381 */
} invoice_kind_e;


/* UNCL5305 VAT category codes used by EN 16931 */
typedef enum {
    VAT_CAT_S = 0,                 /* standard rate */
    VAT_CAT_Z,                     /* zero rated goods */
    VAT_CAT_E,                     /* exempt (needs exemption reason) */
    VAT_CAT_AE,                    /* reverse charge */
    VAT_CAT_K,                     /* intra-community supply */
    VAT_CAT_G,                     /* export outside the EU */
    VAT_CAT_O,                     /* not subject to VAT */
    VAT_CAT_L,                     /* Canary Islands IGIC */
    VAT_CAT_M,                     /* Ceuta and Melilla IPSI */
    VAT_CAT_COUNT
} vat_category_e;


typedef struct {
    char            *name;          /* BT-27 / BT-44 (required) */
    char            *trading_name;  /* BT-28 / BT-45 */
    char            *vat_id;        /* BT-31 / BT-48, with country prefix */
    char            *tax_reg_id;    /* BT-32 seller tax registration id */
    char            *legal_id;      /* BT-30 / BT-47 company id */
    char            *street;        /* BT-35 / BT-50 */
    char            *street2;       /* BT-36 / BT-51 */
    char            *city;          /* BT-37 / BT-52 (RO: "SECTOR1".. for
                                       Bucharest) */
    char            *postal_code;   /* BT-38 / BT-53 */
    char            *subdivision;   /* BT-39 / BT-54 ISO 3166-2, "RO-B" */
    char             country[3];    /* BT-40 / BT-55 ISO 3166-1 alpha-2 */
    char            *email;         /* BT-43 / BT-58 */
} invoice_party_t;


/* an allowance (discount) or a charge, on a line or on the document */
typedef struct {
    int              is_charge;     /* ChargeIndicator */
    int64_t          amount_minor;  /* BT-92/99/136/141, >= 0 */
    int              has_percent;
    dec_t            percent;       /* BT-94/101/138/143 */
    int              has_base;
    int64_t          base_minor;    /* BT-93/100/137/142 */
    char            *reason;        /* BT-97/104/139/144 */
    char            *reason_code;   /* BT-98/105/140/145 UNCL5189/7161 */
    vat_category_e   vat_category;  /* BT-95/102, document level only */
    dec_t            vat_rate;      /* BT-96/103, document level only */
    int              amount_given;  /* 0: compute from percent and base */
} invoice_ac_t;


typedef struct {
    char            *id;            /* BT-126 (required) */
    char            *name;          /* BT-153 item name (required) */
    char            *description;   /* BT-154 */
    char            *note;          /* BT-127 */
    char            *seller_item_id;    /* BT-155 */
    char            *class_code;    /* BT-158 item classification */
    char            *class_scheme;  /* its listID (UNTDID 7143: "STI"..) */
    dec_t            quantity;      /* BT-129, may be negative */
    char             unit_code[8];  /* BT-130 UN/ECE rec 20, "C62" */
    dec_t            price;         /* BT-146 net unit price, >= 0 */
    dec_t            base_quantity; /* BT-149, > 0, default 1 */
    vat_category_e   vat_category;  /* BT-151 */
    dec_t            vat_rate;      /* BT-152, percent */
    char            *vat_exemption_reason;  /* BT-120 for its category */
    char            *vat_exemption_code;    /* BT-121 (VATEX-EU-...) */
    invoice_ac_t    *acs;           /* BG-27 / BG-28 */
    size_t           n_acs;

    /* computed by invoice_compute */
    int64_t          gross_minor;   /* round(quantity * price / base) */
    int64_t          allowance_minor;   /* sum of line allowances */
    int64_t          charge_minor;      /* sum of line charges */
    int64_t          net_minor;     /* BT-131 */
} invoice_line_t;


/* one row of the VAT breakdown, BG-23 */
typedef struct {
    vat_category_e   category;      /* BT-118 */
    dec_t            rate;          /* BT-119 */
    int64_t          taxable_minor; /* BT-116 */
    int64_t          tax_minor;     /* BT-117 */
    const char      *exemption_reason;  /* BT-120, borrowed */
    const char      *exemption_code;    /* BT-121, borrowed */
} invoice_vat_t;


typedef struct {
    int64_t          line_net_minor;        /* BT-106 */
    int64_t          allowance_minor;       /* BT-107 */
    int64_t          charge_minor;          /* BT-108 */
    int64_t          tax_exclusive_minor;   /* BT-109 */
    int64_t          vat_minor;             /* BT-110 */
    int              has_vat_in_vat_currency;
    int64_t          vat_in_vat_currency_minor;  /* BT-111, at the VAT
                                                    currency's exponent */
    int64_t          tax_inclusive_minor;   /* BT-112 */
    int64_t          prepaid_minor;         /* BT-113 */
    int64_t          rounding_minor;        /* BT-114 */
    int64_t          payable_minor;         /* BT-115 */
    invoice_vat_t   *vat;                   /* BG-23, owned, sorted by
                                               category then rate */
    size_t           n_vat;
} invoice_totals_t;


typedef struct {
    invoice_kind_e   kind;
    char            *number;            /* BT-1 (required) */
    char             issue_date[11];    /* BT-2 YYYY-MM-DD (required) */
    char             due_date[11];      /* BT-9, "" = absent */
    char             currency[4];       /* BT-5 ISO 4217 (required) */
    char             vat_currency[4];   /* BT-6, "" = absent */
    dec_t            exchange_rate;     /* 1 currency = rate vat_currency */
    char            *buyer_reference;   /* BT-10 */
    char            *order_reference;   /* BT-13 */
    char            *preceding_number;  /* BT-25 (credit notes) */
    char             preceding_date[11];    /* BT-26 */
    char            *note;              /* BT-22 */
    char             period_start[11];  /* BT-73 */
    char             period_end[11];    /* BT-74 */
    char             delivery_date[11]; /* BT-72 */
    char             delivery_country[3];   /* BT-80 */
    char             payment_means_code[4]; /* BT-81 UNCL4461, "30" */
    char            *iban;              /* BT-84 */
    char            *bic;               /* BT-86 */
    char            *payment_reference; /* BT-83 */
    char            *payment_terms;     /* BT-20 */
    invoice_party_t  seller;            /* BG-4 */
    invoice_party_t  buyer;             /* BG-7 */
    invoice_line_t  *lines;             /* BG-25, owned */
    size_t           n_lines;
    invoice_ac_t    *acs;               /* BG-20 / BG-21, owned */
    size_t           n_acs;
    int64_t          prepaid_minor;     /* BT-113 input */
    int64_t          rounding_minor;    /* BT-114 input */

    int              computed;          /* set by invoice_compute */
    invoice_totals_t totals;

    /* additions after the first release of this header */
    int              vat_in_vat_currency_given;
    int64_t          vat_in_vat_currency_minor;  /* BT-111 as given (the
                                        seller's own conversion), used
                                        instead of BT-110 * exchange_rate */
    char            *correction_reason; /* credit notes: why (FA(3)
                                           PrzyczynaKorekty, PDF) */
    char            *preceding_ksef_number; /* KSeF number of the
                                           corrected invoice, NULL = issued
                                           outside KSeF */
} invoice_t;


typedef struct {
    int              pretty;        /* indent the output */
    int64_t          now;           /* unix seconds of "generated at"
                                       fields (FA(3)); 0 = time(NULL) */
} invoice_render_opts_t;


typedef struct {
    const char      *name;          /* "json", "ubl", "ubl-ro", ... */
    const char      *content_type;
    int            (*render)(const invoice_t *inv,
                             const invoice_render_opts_t *o,
                             unsigned char **out, size_t *len,
                             char *err, size_t errlen);
} invoice_renderer_t;


/* the built-in renderers; ksef and pdf live in their own files */
extern const invoice_renderer_t  invoice_renderer_json;
extern const invoice_renderer_t  invoice_renderer_ubl;
extern const invoice_renderer_t  invoice_renderer_ubl_ro;
extern const invoice_renderer_t  invoice_renderer_ksef;
extern const invoice_renderer_t  invoice_renderer_pdf;

/* by name: "json", "ubl", "ubl-ro", "ksef", "pdf"; NULL if unknown */
const invoice_renderer_t *invoice_renderer(const char *name);


/* model lifetime (invoice.c) */
invoice_t *invoice_new(void);           /* zeroed, defaults set; NULL on
                                           ENOMEM */
void invoice_free(invoice_t *inv);
/* append a zeroed line (unit C62, base quantity 1) / allowance-charge;
 * the returned pointer is valid until the next append */
invoice_line_t *invoice_add_line(invoice_t *inv);
invoice_ac_t *invoice_add_ac(invoice_t *inv);
invoice_ac_t *invoice_line_add_ac(invoice_line_t *line);
/* replace *slot with a copy of s (NULL clears); INVOICE_ENOMEM */
int invoice_strset(char **slot, const char *s);

/* 0 or 2 for an accepted ISO 4217 code, -1 if not accepted */
int invoice_currency_exponent(const char *code);
const char *invoice_vat_category_code(vat_category_e c);    /* "S", .. */
int invoice_vat_category_parse(const char *s, vat_category_e *out);

/* errs helper: adds one entry (printf-style message) */
void invoice_errs_add(invoice_errs_t *errs, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* fill every total (compute.c); validates what the totals depend on;
 * INVOICE_EINVAL with errs, INVOICE_ERANGE on overflow (also in errs).
 * May be called again after changes: totals are recomputed. */
int invoice_compute(invoice_t *inv, invoice_errs_t *errs);

/* build an invoice from the API JSON (json.c); the JSON is borrowed;
 * on success *out is a new uncomputed invoice owned by the caller */
int invoice_from_json(const json_t *j, invoice_t **out,
    invoice_errs_t *errs);

/* the API JSON of a computed invoice (new reference, caller decrefs) */
int invoice_to_json(const invoice_t *inv, json_t **out);

/* the customization ids (BT-24) */
#define INVOICE_CUSTOMIZATION_EN16931  "urn:cen.eu:en16931:2017"
#define INVOICE_CUSTOMIZATION_CIUS_RO  "urn:cen.eu:en16931:2017#compliant" \
                                       "#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"

#endif /* INVOICE_H */
