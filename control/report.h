/* What an operator asks of a node as a whole, from the answers of its two
 * sockets: the Prometheus metrics (dittoctl stats --prometheus and the
 * metrics endpoint of ditto-control render the same text) and whether the
 * node should be announced (dittoctl health, BIRD's check, /health).
 */
#ifndef DITTO_REPORT_H
#define DITTO_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* The answers of both processes; NULL where one did not answer, with the
 * reason beside it. */
struct node_view {
	json_object *ctl_status, *ctl_zones;	/* control.sock */
	json_object *dp_status, *dp_stats, *dp_zones;	/* dataplane.sock */
	json_object *dp_by_name;	/* dp_zones' entries by lowercase name */
	char ctl_err[512], dp_err[512];
	bool workers_polling;		/* the workers' loop counters moved */
};

/* Ask both sockets (stats twice, a few milliseconds apart, to see the
 * workers turn). */
void node_view_fetch(struct node_view *v, const char *ctl_sock,
		     const char *dp_sock, int timeout_ms);
void node_view_free(struct node_view *v);

/* Prometheus text exposition format 0.0.4; malloc'd, NULL when out of
 * memory. */
char *report_prometheus(const struct node_view *v);

/* Whether the node should be announced: the dataplane answers, its port's
 * link is up and its workers poll; the control process answers; every
 * configured zone is loaded in the dataplane and not expired, or at most
 * max_bad of them are not. false with one sentence in why. */
bool report_health(const struct node_view *v, unsigned max_bad, char *why,
		   size_t cap);

/* Small readers of the answers: a member's integer (dflt when absent) or
 * string (dflt when absent). */
long long jint(json_object *o, const char *key, long long dflt);
json_object *jget(json_object *o, const char *key);	/* or NULL */
const char *jstr(json_object *o, const char *key, const char *dflt);

#endif
