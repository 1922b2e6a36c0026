/* api.h - the JSON API under /api/v1, and /healthz and /metrics.
 *
 * api_register adds every route of the API to the server's router (see
 * http/http.h): events (ingest and query), goals, KPIs and their series,
 * reported values, targets, alerts, silences, the outbox and the audit log.
 * The handlers read the store and the configuration; the router has checked
 * the token's role, the body's type and size before they run.  Errors are
 * {"error": "a sentence"}.
 */
#ifndef MIZAN_API_H
#define MIZAN_API_H

#include "http/http.h"
#include "model/event.h"
#include "store/store.h"

struct cJSON;
struct metric;
struct metrics;
struct target;

/* What the API's handlers share.  The caller fills the first fields and
 * keeps the struct (and what it points to) alive while the server runs. */
struct api {
	const struct config *cfg;
	struct store *store;
	struct metrics *metrics;
	/* Called (on a work thread) after a batch stored at least one new
	 * event; may be NULL. */
	void (*stored)(void *ud);
	void *stored_ud;
	/* ---- api_register's own: the ingest counters ---- */
	struct metric *accepted[EV_NKINDS], *duplicates[EV_NKINDS];
	struct metric *rejected[EV_NKINDS + 1]; /* last: kind unknown */
	struct metric *batches_failed;
};

/* Registers the API's routes (and a JSON 404 for any other /api/ path).
 * 0, or -ENOMEM. */
int api_register(struct http *h, struct api *a);

/* ---- between the API's own files ---- */

/* {rule, low?, high?, warn} */
struct cJSON *target_json(const struct target *t);

/* events.c */
enum MHD_Result api_events_get(void *ud, struct MHD_Connection *c, struct http_req *r);
void api_events_post(void *ud, struct http_req *r);
extern const char *const api_event_types[];

/* kpis.c */
enum MHD_Result api_goals(struct api *h, struct MHD_Connection *c, struct http_req *r);
/* kpi NULL for all */
enum MHD_Result api_kpis(struct api *h, struct MHD_Connection *c, struct http_req *r,
			 const char *kpi);
enum MHD_Result api_series(struct api *h, struct MHD_Connection *c, struct http_req *r,
			   const char *kpi);
enum MHD_Result api_value_post(struct api *h, struct MHD_Connection *c, struct http_req *r,
			       const char *kpi);

/* alerts.c */
enum MHD_Result api_alerts(struct api *h, struct MHD_Connection *c, struct http_req *r,
			   bool history);
enum MHD_Result api_alert_ack(struct api *h, struct MHD_Connection *c, struct http_req *r,
			      const char *id);
enum MHD_Result api_silences(struct api *h, struct MHD_Connection *c, struct http_req *r);
enum MHD_Result api_silence_post(struct api *h, struct MHD_Connection *c, struct http_req *r);
enum MHD_Result api_outbox(struct api *h, struct MHD_Connection *c, struct http_req *r);
enum MHD_Result api_audit(struct api *h, struct MHD_Connection *c, struct http_req *r);
enum MHD_Result api_target_put(struct api *h, struct MHD_Connection *c, struct http_req *r,
			       const char *kpi, const char *period);

#endif
