
/*
 * hubgated: picking a media type by the Accept header (accept.h).
 */

#include <string.h>
#include <strings.h>

#include "api/accept.h"


static int accept_q_zero(const char *p, const char *end);


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
