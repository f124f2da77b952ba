/* The route table: every endpoint, its method and what the router checks
 * before the handler runs. */
#include "api/api.h"

static const sd_route routes[] = {
    {"POST", "/research", api_research_post, SD_ROUTE_BODY, "application/json"},
    {"GET", "/status/:id", api_status_get, 0, NULL},
    {"DELETE", "/status/:id", api_status_delete, 0, NULL},
    {"GET", "/health", api_health_get, 0, NULL},
    {"GET", "/health/store", api_health_store_get, 0, NULL},
    {"GET", "/ready", api_ready_get, 0, NULL},
};

const sd_route *sd_api_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}
