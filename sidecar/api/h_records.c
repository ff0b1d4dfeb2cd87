
/*
 * hubgated: canonical records (placeholder).
 */

#include "api.h"

void
h_orders_list(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_customers_list(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_products_list(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


