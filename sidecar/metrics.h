
/*
 * hubgated: Prometheus metrics (/metrics).  Counters are atomics updated
 * by request threads without locks; metrics_render writes the text format
 * (version 0.0.4) into a malloc'ed buffer owned by the caller.
 */

#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>


typedef enum {
    METRICS_VAULT_SEAL = 0,
    METRICS_VAULT_OPEN,
    METRICS_VAULT_WRAP,
    METRICS_VAULT_UNWRAP,
    METRICS_VAULT_REWRAP,
    METRICS_VAULT_NOPS
} metrics_vault_op_e;


/* nroutes: the route table's length; names: "GET /v1/x" labels (borrowed) */
int metrics_init(size_t nroutes, const char *const *methods,
    const char *const *paths);

/* route -1 for an unmatched path; seconds: the request's duration */
void metrics_request(int route, int status, double seconds);

void metrics_vault(metrics_vault_op_e op, int ok);

void metrics_reload(int ok);

/* a webhook intake group of n events committed together (store/intake.h) */
void metrics_intake_group(size_t n);

/*
 * Returns the text (caller frees) and its length in *len, or NULL;
 * inflight: the requests being served now, a gauge.
 */
char *metrics_render(unsigned inflight, size_t *len);


#endif /* METRICS_H */
