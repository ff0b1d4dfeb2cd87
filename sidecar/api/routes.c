
/*
 * hubgated: the route table.  The OpenAPI document (openapi.json) describes
 * exactly these routes; t/sidecar/01-openapi.t compares the two through
 * `hubgated routes`.
 */

#include "api.h"


static const api_route_t  api_table[] = {
    { "GET",    "/healthz",                           API_AUTH_NONE, 0,
      h_healthz },
    { "GET",    "/metrics",                           API_AUTH_SIGNED, 0,
      h_metrics },
    { "GET",    "/v1/openapi.json",                   API_AUTH_SIGNED, 0,
      h_openapi },
    { "GET",    "/v1/providers",                      API_AUTH_SIGNED, 0,
      h_providers },
    { "GET",    "/v1/integrations",                   API_AUTH_TENANT, 0,
      h_integrations_list },
    { "POST",   "/v1/integrations",                   API_AUTH_TENANT,
      API_F_IDEMPOTENT, h_integrations_create },
    { "GET",    "/v1/integrations/{id}",              API_AUTH_TENANT, 0,
      h_integration_get },
    { "DELETE", "/v1/integrations/{id}",              API_AUTH_TENANT, 0,
      h_integration_delete },
    { "POST",   "/v1/integrations/{id}/activate",     API_AUTH_TENANT,
      API_F_IDEMPOTENT, h_integration_activate },
    { "POST",   "/v1/integrations/{id}/deactivate",   API_AUTH_TENANT,
      API_F_IDEMPOTENT, h_integration_deactivate },
    { "GET",    "/v1/integrations/{id}/settings",     API_AUTH_TENANT, 0,
      h_settings_get },
    { "PUT",    "/v1/integrations/{id}/settings",     API_AUTH_TENANT, 0,
      h_settings_put },
    { "GET",    "/v1/integrations/{id}/webhook-secret", API_AUTH_TENANT, 0,
      h_webhook_secret_get },
    { "PUT",    "/v1/integrations/{id}/webhook-secret", API_AUTH_TENANT, 0,
      h_webhook_secret_put },
    { "DELETE", "/v1/integrations/{id}/webhook-secret", API_AUTH_TENANT, 0,
      h_webhook_secret_delete },
    { "POST",   "/v1/webhooks/{provider}/{integration}", API_AUTH_SIGNED, 0,
      h_webhook_intake },
    { "GET",    "/v1/webhooks/events",                API_AUTH_TENANT, 0,
      h_webhook_events },
    { "GET",    "/v1/webhook-secrets/{provider}/{integration}",
      API_AUTH_SIGNED, 0, h_webhook_secrets },
    { "GET",    "/v1/oauth/callback",                 API_AUTH_SIGNED, 0,
      h_oauth_callback },
    { "POST",   "/v1/integrations/{id}/reconnect",    API_AUTH_TENANT,
      API_F_IDEMPOTENT, h_integration_reconnect },
    { "POST",   "/v1/integrations/{id}/test",         API_AUTH_TENANT,
      API_F_IDEMPOTENT, h_integration_test },
    { "POST",   "/v1/integrations/{id}/syncs",        API_AUTH_TENANT,
      API_F_IDEMPOTENT, h_sync_create },
    { "GET",    "/v1/syncs",                          API_AUTH_TENANT, 0,
      h_syncs_list },
    { "GET",    "/v1/syncs/{id}",                     API_AUTH_TENANT, 0,
      h_sync_get },
    { "GET",    "/v1/syncs/{id}/events",              API_AUTH_TENANT, 0,
      h_sync_events },
    { "DELETE", "/v1/syncs/{id}",                     API_AUTH_TENANT, 0,
      h_sync_cancel },
    { "GET",    "/v1/orders",                         API_AUTH_TENANT, 0,
      h_orders_list },
    { "GET",    "/v1/customers",                      API_AUTH_TENANT, 0,
      h_customers_list },
    { "GET",    "/v1/products",                       API_AUTH_TENANT, 0,
      h_products_list },
    { "GET",    "/v1/admin/summary",                  API_AUTH_ADMIN, 0,
      h_admin_summary },
    { "POST",   "/v1/admin/test-clock",               API_AUTH_ADMIN,
      API_F_IDEMPOTENT, h_test_clock },
    { "GET",    "/v1/audit",                          API_AUTH_ADMIN, 0,
      h_audit },
};


const api_route_t *
api_routes(size_t *n)
{
    *n = sizeof(api_table) / sizeof(api_table[0]);
    return api_table;
}
