/*
 * hubgated: exact decimal arithmetic (decimal.h).
 */

#include <stdio.h>
#include <string.h>

#include "invoice/decimal.h"


typedef __int128  i128;

#define I128_MAX  ((i128) (((unsigned __int128) 1 << 127) - 1))


static i128 dec_pow10(int n);
static int dec_mul128(i128 a, i128 b, i128 *out);
static i128 dec_div_half_up(i128 n, i128 d);
static int dec_fits64(i128 v, int64_t *out);


static const int64_t  pow10_64[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
    100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
    1000000000000LL, 10000000000000LL, 100000000000000LL,
    1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL
};


int
dec_parse(const char *s, size_t len, dec_t *out)
{
    size_t   i;
    int      neg, scale, intdigits, fracdigits;
    i128     m;

    i = 0;
    neg = 0;
    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }

    m = 0;
    intdigits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        m = m * 10 + (s[i] - '0');
        if (m > INT64_MAX) {
            return DEC_ERANGE;
        }
        intdigits++;
    }

    if (intdigits == 0) {
        return DEC_ESYNTAX;
    }

    scale = 0;
    if (i < len && s[i] == '.') {
        i++;
        fracdigits = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            fracdigits++;
            if (scale == DEC_MAX_SCALE) {
                if (s[i] != '0') {
                    return DEC_ERANGE;
                }
                continue;
            }
            m = m * 10 + (s[i] - '0');
            if (m > INT64_MAX) {
                return DEC_ERANGE;
            }
            scale++;
        }
        if (fracdigits == 0) {
            return DEC_ESYNTAX;
        }
    }

    if (i != len) {
        return DEC_ESYNTAX;
    }

    out->m = (int64_t) (neg ? -m : m);
    out->scale = scale;

    return DEC_OK;
}


int
dec_format(dec_t d, char *buf, size_t buflen)
{
    char               digits[24], tmp[DEC_STR_MAX];
    unsigned __int128  u;
    int                n, i, k;

    if (d.scale < 0 || d.scale > DEC_MAX_SCALE) {
        return -1;
    }

    u = (unsigned __int128) (d.m < 0 ? -(i128) d.m : (i128) d.m);
    n = 0;
    do {
        digits[n++] = (char) ('0' + (int) (u % 10));
        u /= 10;
    } while (u != 0);

    while (n <= d.scale) {
        digits[n++] = '0';
    }

    k = 0;
    if (d.m < 0) {
        tmp[k++] = '-';
    }

    for (i = n - 1; i >= 0; i--) {
        tmp[k++] = digits[i];
        if (i == d.scale && d.scale > 0) {
            tmp[k++] = '.';
        }
    }
    tmp[k] = '\0';

    if ((size_t) k >= buflen) {
        return -1;
    }

    memcpy(buf, tmp, (size_t) k + 1);

    return k;
}


int
dec_cmp(dec_t a, dec_t b)
{
    i128  x, y;

    x = (i128) a.m * dec_pow10(DEC_MAX_SCALE - a.scale);
    y = (i128) b.m * dec_pow10(DEC_MAX_SCALE - b.scale);

    return x < y ? -1 : (x > y ? 1 : 0);
}


int
dec_sign(dec_t d)
{
    return d.m < 0 ? -1 : (d.m > 0 ? 1 : 0);
}


int
dec_rescale(dec_t d, int scale, dec_t *out)
{
    i128     v, p;
    int64_t  m;

    if (scale < 0 || scale > DEC_MAX_SCALE) {
        return DEC_ERANGE;
    }

    if (scale >= d.scale) {
        v = (i128) d.m * dec_pow10(scale - d.scale);
    } else {
        p = dec_pow10(d.scale - scale);
        if (d.m % p != 0) {
            return DEC_ERANGE;
        }
        v = d.m / p;
    }

    if (dec_fits64(v, &m) != DEC_OK) {
        return DEC_ERANGE;
    }

    out->m = m;
    out->scale = scale;

    return DEC_OK;
}


dec_t
dec_normalize(dec_t d)
{
    while (d.scale > 0 && d.m % 10 == 0) {
        d.m /= 10;
        d.scale--;
    }

    if (d.m == 0) {
        d.scale = 0;
    }

    return d;
}


int
dec_to_minor(dec_t d, int exp, int64_t *minor)
{
    i128  v;

    if (exp < 0 || exp > 18) {
        return DEC_ERANGE;
    }

    if (exp >= d.scale) {
        if (dec_mul128(d.m, dec_pow10(exp - d.scale), &v) != DEC_OK) {
            return DEC_ERANGE;
        }
    } else {
        v = dec_div_half_up(d.m, dec_pow10(d.scale - exp));
    }

    return dec_fits64(v, minor);
}


dec_t
dec_from_minor(int64_t minor, int exp)
{
    return DEC(minor, exp);
}


int
dec_muldiv_minor(dec_t a, dec_t b, dec_t c, int exp, int64_t *minor)
{
    i128  n, d, t;
    int   shift;

    if (c.m == 0) {
        return DEC_EDIV0;
    }

    if (exp < 0 || exp > 18) {
        return DEC_ERANGE;
    }

    /*
     * a*b/c = (am * bm / cm) * 10^(cs - as - bs); in units of 10^-exp:
     * am * bm * 10^(cs + exp) / (cm * 10^(as + bs))
     */
    if (dec_mul128(a.m, b.m, &n) != DEC_OK) {
        return DEC_ERANGE;
    }

    shift = c.scale + exp - a.scale - b.scale;
    d = c.m;
    if (shift >= 0) {
        if (dec_mul128(n, dec_pow10(shift), &t) != DEC_OK) {
            return DEC_ERANGE;
        }
        n = t;
    } else {
        if (dec_mul128(d, dec_pow10(-shift), &t) != DEC_OK) {
            return DEC_ERANGE;
        }
        d = t;
    }

    if (d < 0) {
        d = -d;
        n = -n;
    }

    return dec_fits64(dec_div_half_up(n, d), minor);
}


int
money_parse(const char *s, size_t len, int exp, int64_t *minor)
{
    dec_t  d;
    int    rc;

    rc = dec_parse(s, len, &d);
    if (rc != DEC_OK) {
        return rc;
    }

    if (dec_rescale(d, exp, &d) != DEC_OK) {
        return DEC_ERANGE;
    }

    *minor = d.m;

    return DEC_OK;
}


int
money_format(int64_t minor, int exp, char *buf, size_t buflen)
{
    if (exp < 0 || exp > DEC_MAX_SCALE) {
        return -1;
    }

    return dec_format(DEC(minor, exp), buf, buflen);
}


int
money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t  r;

    if (__builtin_add_overflow(a, b, &r)) {
        return DEC_ERANGE;
    }

    *out = r;

    return DEC_OK;
}


int
money_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t  r;

    if (__builtin_sub_overflow(a, b, &r)) {
        return DEC_ERANGE;
    }

    *out = r;

    return DEC_OK;
}


static i128
dec_pow10(int n)
{
    i128  p;

    if (n <= 18) {
        return pow10_64[n];
    }

    p = pow10_64[18];
    for (n -= 18; n > 0; n--) {
        p *= 10;
    }

    return p;
}


static int
dec_mul128(i128 a, i128 b, i128 *out)
{
    return __builtin_mul_overflow(a, b, out) ? DEC_ERANGE : DEC_OK;
}


/* floor(n / d + 1/2) for d > 0: halves toward +infinity */
static i128
dec_div_half_up(i128 n, i128 d)
{
    i128  q, r;

    q = n / d;
    r = n % d;
    if (r < 0) {            /* make it floor division */
        q--;
        r += d;
    }

    if (r * 2 >= d) {       /* r < d <= I128_MAX / 2 in practice */
        q++;
    }

    return q;
}


static int
dec_fits64(i128 v, int64_t *out)
{
    if (v > INT64_MAX || v < INT64_MIN) {
        return DEC_ERANGE;
    }

    *out = (int64_t) v;

    return DEC_OK;
}
