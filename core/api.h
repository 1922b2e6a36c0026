/* api.h - the KPI routes of the HTTP API (api_kpi.c). */
#ifndef MIZAN_API_H
#define MIZAN_API_H

#include "http_internal.h"

struct target;
/* {rule, low?, high?, warn} */
struct cJSON *target_json(const struct target *t);

/* GET /api/v1/goals */
enum MHD_Result api_goals(struct http *h, struct MHD_Connection *c, struct req *r);
/* GET /api/v1/kpis and GET /api/v1/kpis/{id} (kpi NULL for all) */
enum MHD_Result api_kpis(struct http *h, struct MHD_Connection *c, struct req *r, const char *kpi);
/* GET /api/v1/kpis/{id}/series?period=&from=&to=&by= */
enum MHD_Result api_series(struct http *h, struct MHD_Connection *c, struct req *r,
			   const char *kpi);
/* POST /api/v1/kpis/{id}/values, the body in r->body */
enum MHD_Result api_value_post(struct http *h, struct MHD_Connection *c, struct req *r,
			       const char *kpi);

#endif
