/*
 * hubgated: an invoice from a synced order (DESIGN §4, Invoices).
 *
 * Pure C on jansson and the invoice model: no database, no I/O, no clock,
 * no global mutable state, so unit tests and fuzzers link invoice/ alone.
 * Never floating point: every amount is exact (decimal.h, __int128).
 *
 * int invoice_from_order(order, profile, default_vat_rate, issue_date,
 *     due_date, number, &out, err, errlen)
 *
 *   order: a canonical order record (providers/provider_ops.h), borrowed.
 *   profile: the seller profile, borrowed:
 *       {"seller": <party in the invoice JSON shape (invoice.h)>,
 *        "payment": {"means_code", "iban", "bic", "terms"}   optional,
 *        "payment_days": integer 0..3650                     optional}
 *   default_vat_rate: decimal text such as "23", the rate of lines whose
 *       vat_rate is null (the provider did not say); may be NULL, then
 *       such a line is an error.
 *   issue_date: "YYYY-MM-DD" (required).
 *   due_date: "YYYY-MM-DD" or NULL; when NULL and the profile has
 *       payment_days, issue_date + payment_days.
 *   number: the document number for BT-1 (required by the model; the
 *       caller may pass a placeholder and replace it later).
 *
 *   On success returns INVOICE_OK and *out = a new COMPUTED invoice_t
 *   (invoice_compute done), owned by the caller (invoice_free).  On
 *   failure returns a negative invoice_rc_e, leaves *out alone and writes
 *   a one-line reason to err (if err is not NULL): no secret, no long
 *   value echoed; what the model refuses as "invoice <path>: <message>".
 *
 * What is refused (INVOICE_EINVAL): a record whose type is not "order";
 * no external_id (or one longer than FROM_ORDER_ID_MAX bytes); no or an
 * unusable currency (invoice_currency_exponent < 0); no lines; status
 * "cancelled" or "refunded"; a profile without seller, seller.name or
 * seller.address.country ("no seller profile: PUT /v1/seller"); a line
 * with a quantity that is not > 0, a rate outside 0..100 or with more
 * than 2 decimals, a negative gross total, or neither total_minor nor
 * unit_price; an order total that differs from what the lines give by
 * more than one minor unit per line (see below); a profile payment_days
 * outside 0..3650; a bad issue_date or due_date; no number; anything the
 * model itself rejects (invoice_from_json, invoice_compute: a quantity
 * with more than 6 decimals, a text over 1024 bytes or with a control
 * character, ...).  INVOICE_ERANGE when an amount or a unit price does
 * not fit; INVOICE_ENOMEM.
 * Order numbers (quantity, unit_price, vat_rate) are decimal text; a
 * JSON integer is accepted too, a JSON real never.
 *
 * The mapping:
 *   seller   = profile.seller, parsed as any invoice party.
 *   buyer    = order.customer: name (else email, else "Customer <id>"),
 *              email, address {street, city, postal_code}; country from
 *              customer.address.country, else customer.country, else the
 *              seller's (a value that is not two ASCII letters counts as
 *              absent; lower case is upper-cased).  vat_id from
 *              customer.tax_id: kept as given when it starts with two
 *              capital letters; digits with dashes or blanks (a Polish
 *              NIP "526-104-08-28") are stripped and get the buyer's
 *              country prefix (EL for GR, the VIES prefix); anything else
 *              is kept as given.  No customer: "Customer", the seller's
 *              country.
 *   lines    = one per order line: name = description, else product.name,
 *              else "Item"; seller_item_id = product.sku; quantity as
 *              given; rate = line.vat_rate or default_vat_rate; category
 *              S when the rate is > 0, Z when it is 0.
 *              Order prices are GROSS.  G (minor units) = line.total_minor,
 *              else round(quantity * unit_price); the net
 *              N = round(G * 100 / (100 + rate)); the net unit price
 *              (BT-146) = N / quantity at 8 decimals, chosen so that
 *              round(quantity * price) == N, which invoice_compute must
 *              then give as the line net (BT-131).
 *   document = kind invoice, currency of the order, BT-13 and the payment
 *              reference = external_id, note "Order <external_id>",
 *              delivery date (BT-72) = the date of ordered_at when it is
 *              a valid date, payment means/iban/bic/terms of the profile.
 *   rounding = the VAT is computed per rate on the summed nets
 *              (BR-CO-17), so BT-112 may differ from order.total_minor
 *              (what the buyer paid) by a few minor units:
 *              D = total_minor - BT-112 (0 without total_minor); when
 *              |D| <= the number of lines, BT-114 = D and so BT-115 ==
 *              total_minor; a larger D is refused ("order total X differs
 *              from its lines by D").
 * Every rounding is to the nearest, halves toward +infinity (decimal.h).
 */

#ifndef INVOICE_FROM_ORDER_H
#define INVOICE_FROM_ORDER_H

#include <stddef.h>

#include <jansson.h>

#include "invoice/invoice.h"


#define FROM_ORDER_ID_MAX  256      /* longest accepted external_id */


int invoice_from_order(const json_t *order, const json_t *profile,
    const char *default_vat_rate, const char *issue_date,
    const char *due_date, const char *number, invoice_t **out, char *err,
    size_t errlen);

#endif /* INVOICE_FROM_ORDER_H */
