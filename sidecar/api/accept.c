
/*
 * hubgated: the Accept header and percent-decoding (accept.h).
 */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api/accept.h"


static int accept_q_zero(const char *p, const char *end);
static int accept_hex(int c);


/* 1 when the parameters p..end hold q=0 (or 0.0, 0.00, 0.000) */
static int
accept_q_zero(const char *p, const char *end)
{
    const char  *v;

    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t')) {
            p++;
        }

        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            v = p + 2;
            if (v < end && *v == '0') {
                v++;
                if (v < end && *v == '.') {
                    v++;
                    while (v < end && *v == '0') {
                        v++;
                    }
                }
                while (v < end && (*v == ' ' || *v == '\t')) {
                    v++;
                }
                if (v == end || *v == ';') {
                    return 1;
                }
            }
        }

        p = memchr(p, ';', end - p);
        if (p == NULL) {
            break;
        }
    }

    return 0;
}


int
api_accept_pick(const char *accept, const char *const *types, size_t n)
{
    const char  *p, *end, *semi;
    size_t       i, len;

    if (accept == NULL || accept[0] == '\0') {
        return n > 0 ? 0 : -1;
    }

    for (p = accept; *p != '\0'; p = *end == ',' ? end + 1 : end) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }

        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }

        semi = memchr(p, ';', end - p);
        len = (semi != NULL ? semi : end) - p;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }

        if (semi != NULL && accept_q_zero(semi, end)) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (strlen(types[i]) == len && strncasecmp(p, types[i], len) == 0) {
                return (int) i;
            }
        }
    }

    return -1;
}


static int
accept_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


int
api_pct_decode(const char *in, char *out, size_t outlen)
{
    size_t  n;
    int     hi, lo;

    for (n = 0; *in != '\0'; in++) {
        if (n + 1 >= outlen) {
            return -1;
        }

        if (*in == '%') {
            hi = accept_hex((unsigned char) in[1]);
            lo = hi >= 0 ? accept_hex((unsigned char) in[2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                return -1;
            }
            out[n++] = (char) (hi * 16 + lo);
            in += 2;
            continue;
        }

        out[n++] = *in;
    }

    if (outlen == 0) {
        return -1;
    }

    out[n] = '\0';
    return 0;
}
