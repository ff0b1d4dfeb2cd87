
/*
 * hubgated: the pure parts of reading a request: picking a media type by
 * the Accept header (RFC 9110 §12.5.1) and percent-decoding a path
 * segment (RFC 3986 §2.1).
 *
 * Pure C, no allocation: unit tests and the fuzzer link accept.c alone.
 * The ranges are taken in the order the client lists them (the q-values
 * are not ranked: a client that lists JSON first gets JSON); a range with
 * q=0 means "not acceptable" and is skipped; parameters other than q are
 * ignored; media types compare case-insensitively.
 */

#ifndef API_ACCEPT_H
#define API_ACCEPT_H

#include <stddef.h>


/*
 * The index in types[0..n) of the first listed range of accept that
 * equals one of them, or -1 when none does.  types may hold the
 * wildcards (any type, any application type), matched as written, so the
 * caller says what a wildcard gives.  accept NULL or empty (no preference)
 * gives 0.
 */
int api_accept_pick(const char *accept, const char *const *types, size_t n);

/*
 * A path segment with its %XX decoded into out (outlen bytes with the
 * NUL).  0; -1 when a % is not followed by two hex digits, when it would
 * decode to a NUL byte, or when out is too small.
 */
int api_pct_decode(const char *in, char *out, size_t outlen);

#endif /* API_ACCEPT_H */
