
/*
 * hubgated: sync runs (placeholder).
 */

#include "api.h"

void
h_sync_create(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_syncs_list(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_sync_get(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_sync_events(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


void
h_sync_cancel(api_req_t *r)
{
    api_error(r, 501, "not_implemented", "not implemented yet");
}


