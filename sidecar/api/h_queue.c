
/*
 * hubgated: the test clock (placeholder).
 */

#include "api.h"

void
h_test_clock(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


