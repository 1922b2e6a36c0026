/* api.h - the KPI routes of the HTTP API (api_kpi.c). */
#ifndef MIZAN_API_H
#define MIZAN_API_H

#include "http/http_internal.h"

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

/* api_alert.c: GET /api/v1/alerts (history: /api/v1/alerts/history) */
enum MHD_Result api_alerts(struct http *h, struct MHD_Connection *c, struct req *r, bool history);
/* POST /api/v1/alerts/{id}/ack {comment} */
enum MHD_Result api_alert_ack(struct http *h, struct MHD_Connection *c, struct req *r,
			      const char *id);
/* GET and POST /api/v1/silences */
enum MHD_Result api_silences(struct http *h, struct MHD_Connection *c, struct req *r);
enum MHD_Result api_silence_post(struct http *h, struct MHD_Connection *c, struct req *r);
/* GET /api/v1/outbox (admin) */
enum MHD_Result api_outbox(struct http *h, struct MHD_Connection *c, struct req *r);
/* GET /api/v1/audit */
enum MHD_Result api_audit(struct http *h, struct MHD_Connection *c, struct req *r);
/* PUT /api/v1/kpis/{id}/targets/{period} */
enum MHD_Result api_target_put(struct http *h, struct MHD_Connection *c, struct req *r,
			       const char *kpi, const char *period);

#endif
