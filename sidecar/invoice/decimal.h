/*
 * hubgated: exact decimal arithmetic for invoices (DESIGN §4, Invoices).
 *
 * Pure C, no allocation, no global state: unit tests and fuzzers link this
 * file alone.  Never floating point.
 *
 * dec_t is a fixed-point number: value = m / 10^scale, with an int64_t
 * mantissa and 0 <= scale <= DEC_MAX_SCALE (8).  It is used for
 * quantities, unit prices, VAT rates and exchange rates; a value keeps the
 * scale it was parsed with, so "1.50" formats back as "1.50".  The range is
 * what fits the mantissa: |m| <= 2^63 - 1 (about 9.2e10 at scale 8).
 *
 * Money is an int64_t count of minor units of a currency whose exponent
 * (decimal places) is 0..2: see invoice_currency_exponent() in invoice.h.
 *
 * Rounding: every rounding in this file rounds to the nearest and a half
 * toward +infinity (floor(x + 1/2)), as the issue states for EN 16931:
 * 0.005 -> 0.01, -0.005 -> -0.00 (= 0), -0.015 -> -0.01.
 * Intermediate products are exact in __int128; anything that does not fit
 * returns DEC_ERANGE, never wraps.
 *
 * Text syntax (dec_parse, money_parse): an optional '-', one or more
 * digits, optionally '.' and one or more digits; no '+', no exponent, no
 * blanks, no leading '.'.  Leading zeros are allowed.
 *
 * Return contract: int functions return DEC_OK (0) or a negative dec_rc_e
 * and write their output parameter only on success.
 */

#ifndef INVOICE_DECIMAL_H
#define INVOICE_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DEC_MAX_SCALE  8
#define DEC_STR_MAX    32      /* enough for any dec_t or money, with NUL */


typedef enum {
    DEC_OK      =  0,
    DEC_ESYNTAX = -1,          /* not a decimal number */
    DEC_ERANGE  = -2,          /* does not fit (mantissa, scale, result) */
    DEC_EDIV0   = -3           /* division by zero */
} dec_rc_e;


typedef struct {
    int64_t  m;                /* mantissa */
    int      scale;            /* 0..DEC_MAX_SCALE */
} dec_t;


#define DEC(m_, s_)  ((dec_t) { (m_), (s_) })
#define DEC_ZERO     DEC(0, 0)
#define DEC_ONE      DEC(1, 0)

/* parse s[0..len); more than DEC_MAX_SCALE fraction digits: DEC_ERANGE
 * unless the extra digits are zeros (they are dropped) */
int dec_parse(const char *s, size_t len, dec_t *out);

/* NUL-terminated text at the value's own scale; returns the length, or
 * -1 if buf is too small (DEC_STR_MAX always suffices) */
int dec_format(dec_t d, char *buf, size_t buflen);

/* -1, 0, 1 by value (scales may differ) */
int dec_cmp(dec_t a, dec_t b);
int dec_sign(dec_t d);

/* the same value at a larger or equal scale (exact), DEC_ERANGE if the
 * scale is above DEC_MAX_SCALE or the mantissa overflows; a smaller scale
 * is allowed only if no non-zero digit is lost */
int dec_rescale(dec_t d, int scale, dec_t *out);

/* the value with trailing fraction zeros removed (scale minimal) */
dec_t dec_normalize(dec_t d);

/* round(d) to exp decimal places as an integer count of 10^-exp units */
int dec_to_minor(dec_t d, int exp, int64_t *minor);

/* minor units at exponent exp as a dec_t of scale exp */
dec_t dec_from_minor(int64_t minor, int exp);

/* round(a * b / c) to exp decimal places (integer of 10^-exp units), exact
 * intermediate; c must be non-zero (DEC_EDIV0) */
int dec_muldiv_minor(dec_t a, dec_t b, dec_t c, int exp, int64_t *minor);

/* money text: exactly the syntax above with at most exp fraction digits
 * (more: DEC_ERANGE unless they are zeros); "12" and "12.3" are accepted
 * for exp 2 */
int money_parse(const char *s, size_t len, int exp, int64_t *minor);

/* money text with exactly exp fraction digits ("-0.50", "12", "3.00") */
int money_format(int64_t minor, int exp, char *buf, size_t buflen);

/* checked int64 arithmetic: DEC_ERANGE on overflow */
int money_add(int64_t a, int64_t b, int64_t *out);
int money_sub(int64_t a, int64_t b, int64_t *out);

#endif /* INVOICE_DECIMAL_H */
