
/*
 * hubgated: the OAuth authorization-code flow (placeholder).
 */

#include "api.h"

void
h_oauth_callback(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_integration_reconnect(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_integration_test(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


