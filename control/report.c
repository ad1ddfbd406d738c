/* Metrics and health of a node, from its two sockets (see report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsock.h"
#include "report.h"

long long jint(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
		       (long long)json_object_get_int64(v) : dflt;
}

const char *jstr(json_object *o, const char *key, const char *dflt)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) &&
			       json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : dflt;
}

json_object *jget(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static json_object *ask(const char *sock, const char *cmd, int timeout_ms,
			char *err, size_t errlen)
{
	json_object *req = jsock_cmd(cmd, NULL);
	json_object *o = jsock_call(sock, req, timeout_ms, err, errlen);

	json_object_put(req);
	return o;
}

void node_view_fetch(struct node_view *v, const char *ctl_sock,
		     const char *dp_sock, int timeout_ms)
{
	memset(v, 0, sizeof(*v));
	v->ctl_status = ask(ctl_sock, "status", timeout_ms, v->ctl_err,
			    sizeof(v->ctl_err));
	if (v->ctl_status)
		v->ctl_zones = ask(ctl_sock, "zone-list", timeout_ms,
				   v->ctl_err, sizeof(v->ctl_err));
	v->dp_status = ask(dp_sock, "status", timeout_ms, v->dp_err,
			   sizeof(v->dp_err));
	if (!v->dp_status)
		return;
	v->dp_zones = ask(dp_sock, "zone-list", timeout_ms, v->dp_err,
			  sizeof(v->dp_err));
	v->dp_by_name = jsock_index(jget(v->dp_zones, "zones"), "zone");
	json_object *first = ask(dp_sock, "stats", timeout_ms, v->dp_err,
				 sizeof(v->dp_err));
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	nanosleep(&pause, NULL);
	v->dp_stats = ask(dp_sock, "stats", timeout_ms, v->dp_err,
			  sizeof(v->dp_err));
	v->workers_polling = first && v->dp_stats &&
		jint(jget(v->dp_stats, "total"), "loops", 0) >
			jint(jget(first, "total"), "loops", 0);
	json_object_put(first);
}

void node_view_free(struct node_view *v)
{
	json_object_put(v->ctl_status);
	json_object_put(v->ctl_zones);
	json_object_put(v->dp_status);
	json_object_put(v->dp_stats);
	json_object_put(v->dp_zones);
	json_object_put(v->dp_by_name);
	memset(v, 0, sizeof(*v));
}

/* ---- Prometheus --------------------------------------------------------- */

/* A label value with \, " and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void worker_counter(FILE *f, json_object *workers, const char *key,
			   const char *name, const char *help)
{
	family(f, name, "counter", help);
	for (size_t i = 0; i < json_object_array_length(workers); i++) {
		json_object *w = json_object_array_get_idx(workers, i);

		fprintf(f, "%s{worker=\"%lld\"} %lld\n", name,
			jint(w, "worker", (long long)i), jint(w, key, 0));
	}
}

/* A counter family over the members of an object of each worker:
 * name{worker, lname=member}. */
static void worker_split(FILE *f, json_object *workers, const char *obj,
			 const char *name, const char *lname, const char *help)
{
	family(f, name, "counter", help);
	for (size_t i = 0; i < json_object_array_length(workers); i++) {
		json_object *w = json_object_array_get_idx(workers, i);
		json_object *m = jget(w, obj);

		if (!m)
			continue;
		json_object_object_foreach(m, k, val) {
			fprintf(f, "%s{worker=\"%lld\",%s=\"", name,
				jint(w, "worker", (long long)i), lname);
			label(f, k);
			fprintf(f, "\"} %lld\n",
				(long long)json_object_get_int64(val));
		}
	}
}

static void dataplane_metrics(FILE *f, const struct node_view *v)
{
	json_object *st = v->dp_stats, *total = jget(st, "total");
	json_object *workers = jget(st, "workers"), *port;

	family(f, "ditto_dataplane_uptime_seconds", "gauge",
	       "Seconds since ditto-dataplane started.");
	fprintf(f, "ditto_dataplane_uptime_seconds %lld\n",
		jint(v->dp_status, "uptime", 0));
	port = jget(v->dp_status, "port");
	family(f, "ditto_dataplane_port_link_up", "gauge",
	       "1 when the DPDK port's link is up.");
	fprintf(f, "ditto_dataplane_port_link_up %d\n",
		strcmp(jstr(port, "link", ""), "up") == 0);
	family(f, "ditto_dataplane_workers", "gauge",
	       "Worker lcores (one RX/TX queue pair each).");
	fprintf(f, "ditto_dataplane_workers %lld\n",
		jint(v->dp_status, "workers", 0));
	family(f, "ditto_dataplane_zones", "gauge",
	       "Zones the dataplane holds.");
	fprintf(f, "ditto_dataplane_zones %lld\n",
		jint(v->dp_status, "zones", 0));
	if (!workers || !json_object_is_type(workers, json_type_array))
		return;
	worker_counter(f, workers, "rx", "ditto_worker_rx_packets_total",
		       "Packets received by the worker.");
	worker_counter(f, workers, "tx", "ditto_worker_tx_packets_total",
		       "Packets sent by the worker.");
	worker_counter(f, workers, "queries", "ditto_worker_queries_total",
		       "DNS queries over UDP taken by the worker.");
	worker_split(f, workers, "drops", "ditto_worker_drops_total",
		     "reason", "Packets the worker dropped, by reason.");
	family(f, "ditto_worker_rrl_responses_total", "counter",
	       "Responses limited by response rate limiting, by action.");
	for (size_t i = 0; i < json_object_array_length(workers); i++) {
		json_object *w = json_object_array_get_idx(workers, i);
		long long id = jint(w, "worker", (long long)i);

		fprintf(f, "ditto_worker_rrl_responses_total{worker=\"%lld\","
			"action=\"dropped\"} %lld\n", id,
			jint(w, "rrl-dropped", 0));
		fprintf(f, "ditto_worker_rrl_responses_total{worker=\"%lld\","
			"action=\"slipped\"} %lld\n", id,
			jint(w, "rrl-slipped", 0));
	}

	family(f, "ditto_queries_total", "counter",
	       "DNS queries by protocol.");
	fprintf(f, "ditto_queries_total{protocol=\"udp\"} %lld\n",
		jint(total, "queries", 0));
	fprintf(f, "ditto_queries_total{protocol=\"tcp\"} %lld\n",
		jint(jget(st, "tcp"), "queries", 0));
	family(f, "ditto_responses_total", "counter",
	       "DNS responses over UDP by rcode.");
	json_object_object_foreach(jget(total, "rcode"), rk, rv) {
		fputs("ditto_responses_total{rcode=\"", f);
		label(f, rk);
		fprintf(f, "\"} %lld\n", (long long)json_object_get_int64(rv));
	}
	family(f, "ditto_queries_by_qtype_total", "counter",
	       "DNS queries over UDP by query type.");
	json_object_object_foreach(jget(total, "qtype"), qk, qv) {
		fputs("ditto_queries_by_qtype_total{qtype=\"", f);
		label(f, qk);
		fprintf(f, "\"} %lld\n", (long long)json_object_get_int64(qv));
	}
	family(f, "ditto_responses_truncated_total", "counter",
	       "UDP responses sent with TC set.");
	fprintf(f, "ditto_responses_truncated_total %lld\n",
		jint(total, "truncated", 0));

	json_object *e = jget(st, "exception");

	family(f, "ditto_exception_packets_total", "counter",
	       "Packets through the exception path to the kernel and back.");
	fprintf(f, "ditto_exception_packets_total{direction=\"to-kernel\"} "
		"%lld\n", jint(e, "to-kernel", 0));
	fprintf(f, "ditto_exception_packets_total{direction=\"from-kernel\"} "
		"%lld\n", jint(e, "from-kernel", 0));
	family(f, "ditto_exception_drops_total", "counter",
	       "Exception-path packets dropped, by reason.");
	json_object_object_foreach(e, ek, ev) {
		if (strncmp(ek, "drop-", 5) != 0)
			continue;
		fputs("ditto_exception_drops_total{reason=\"", f);
		label(f, ek + 5);
		fprintf(f, "\"} %lld\n", (long long)json_object_get_int64(ev));
	}
	json_object *t = jget(st, "tcp");

	if (t) {
		family(f, "ditto_tcp_connections_total", "counter",
		       "DNS-over-TCP connections by outcome.");
		fprintf(f, "ditto_tcp_connections_total{result=\"accepted\"} "
			"%lld\n", jint(t, "accepted", 0));
		fprintf(f, "ditto_tcp_connections_total{result=\"refused\"} "
			"%lld\n", jint(t, "refused", 0));
		fprintf(f, "ditto_tcp_connections_total{result=\"closed-idle\"} "
			"%lld\n", jint(t, "closed-idle", 0));
		family(f, "ditto_tcp_connections_open", "gauge",
		       "DNS-over-TCP connections open now.");
		fprintf(f, "ditto_tcp_connections_open %lld\n",
			jint(t, "open", 0));
	}
}

/* The serial the dataplane serves for zone (lowercase), or -1. */
static long long dp_serial(const struct node_view *v, const char *zone,
			   bool *expired)
{
	json_object *z = jget(v->dp_by_name, zone), *x = jget(z, "expired");

	*expired = x && json_object_get_boolean(x);
	return z ? jint(z, "serial", -1) : -1;
}

static void zone_line(FILE *f, const char *name, const char *zone,
		      const char *extra, long long value)
{
	fprintf(f, "%s{zone=\"", name);
	label(f, zone);
	fprintf(f, "\"%s} %lld\n", extra, value);
}

static void zone_metrics(FILE *f, const struct node_view *v)
{
	json_object *zs = jget(v->ctl_zones, "zones");
	static const struct {
		const char *name, *type, *help, *key, *extra;
	} per[] = {
		{ "ditto_zone_serial", "gauge",
		  "Serial of the zone ditto-control holds.", "serial", "" },
		{ "ditto_zone_primary_serial", "gauge",
		  "Serial last seen on a primary.", "primary-serial", "" },
		{ "ditto_zone_expire_seconds", "gauge",
		  "Seconds until the zone expires.", "expires-in", "" },
		{ "ditto_zone_last_refresh_timestamp_seconds", "gauge",
		  "When a primary last confirmed or gave data (Unix time).",
		  "last-refresh", "" },
		{ "ditto_zone_records", "gauge", "Records in the zone.",
		  "records", "" },
		{ "ditto_zone_transfers_total", "counter",
		  "Transfers from primaries by result.", "transfers-ok",
		  ",result=\"success\"" },
		{ NULL, NULL, NULL, "transfers-failed", ",result=\"failure\"" },
		{ "ditto_zone_transfers_by_type_total", "counter",
		  "Successful transfers by type.", "axfr", ",type=\"axfr\"" },
		{ NULL, NULL, NULL, "ixfr", ",type=\"ixfr\"" },
		{ "ditto_zone_notifies_received_total", "counter",
		  "NOTIFY received by outcome.", "notifies",
		  ",result=\"accepted\"" },
		{ NULL, NULL, NULL, "notifies-refused", ",result=\"refused\"" },
		{ "ditto_zone_notifies_sent_total", "counter",
		  "NOTIFY sent to downstreams by outcome.", "notifies-out",
		  ",result=\"answered\"" },
		{ NULL, NULL, NULL, "notifies-out-failed",
		  ",result=\"failed\"" },
		{ "ditto_zone_journal_bytes", "gauge",
		  "Bytes of the zone's journal of differences.",
		  "journal-bytes", "" },
	};

	if (!zs || !json_object_is_type(zs, json_type_array))
		return;
	for (size_t k = 0; k < sizeof(per) / sizeof(per[0]); k++) {
		if (per[k].name)
			family(f, per[k].name, per[k].type, per[k].help);
		const char *name = per[k].name;

		for (size_t b = k; !name; b--)
			name = per[b].name;
		for (size_t i = 0; i < json_object_array_length(zs); i++) {
			json_object *z = json_object_array_get_idx(zs, i);

			if (jget(z, per[k].key))
				zone_line(f, name, jstr(z, "zone", ""),
					  per[k].extra, jint(z, per[k].key, 0));
		}
	}
	family(f, "ditto_zone_state", "gauge",
	       "1 for the state the zone is in (bootstrap, ok, expired).");
	for (size_t i = 0; i < json_object_array_length(zs); i++) {
		json_object *z = json_object_array_get_idx(zs, i);
		static const char *const states[] = { "bootstrap", "ok",
						      "expired" };

		for (size_t s = 0; s < 3; s++) {
			char extra[64];

			snprintf(extra, sizeof(extra), ",state=\"%s\"",
				 states[s]);
			zone_line(f, "ditto_zone_state", jstr(z, "zone", ""),
				  extra, strcmp(jstr(z, "state", ""),
						states[s]) == 0);
		}
	}
	if (!v->dp_zones)
		return;
	family(f, "ditto_zone_dataplane_serial", "gauge",
	       "Serial the dataplane answers from (-1: none).");
	for (size_t i = 0; i < json_object_array_length(zs); i++) {
		json_object *z = json_object_array_get_idx(zs, i);
		bool expired;
		const char *name = jstr(z, "zone", "");

		zone_line(f, "ditto_zone_dataplane_serial", name, "",
			  dp_serial(v, name, &expired));
	}
}

char *report_prometheus(const struct node_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	family(f, "ditto_up", "gauge",
	       "1 when the process answers on its socket.");
	fprintf(f, "ditto_up{process=\"dataplane\"} %d\n", v->dp_status != NULL);
	fprintf(f, "ditto_up{process=\"control\"} %d\n", v->ctl_status != NULL);
	if (v->ctl_status) {
		family(f, "ditto_control_uptime_seconds", "gauge",
		       "Seconds since ditto-control started.");
		fprintf(f, "ditto_control_uptime_seconds %lld\n",
			jint(v->ctl_status, "uptime", 0));
		family(f, "ditto_control_transfers_running", "gauge",
		       "Refreshes and transfers from primaries running now.");
		fprintf(f, "ditto_control_transfers_running %lld\n",
			jint(v->ctl_status, "transfers-running", 0));
		zone_metrics(f, v);
	}
	if (v->dp_status && v->dp_stats)
		dataplane_metrics(f, v);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- health ------------------------------------------------------------- */

bool report_health(const struct node_view *v, unsigned max_bad, char *why,
		   size_t cap)
{
	json_object *zs = jget(v->ctl_zones, "zones");
	unsigned bad = 0, total;
	char first[300] = "";

	if (!v->dp_status) {
		snprintf(why, cap, "the dataplane does not answer (%s)",
			 v->dp_err);
		return false;
	}
	if (strcmp(jstr(jget(v->dp_status, "port"), "link", ""), "up") != 0) {
		snprintf(why, cap, "the dataplane's port link is %s",
			 jstr(jget(v->dp_status, "port"), "link", "unknown"));
		return false;
	}
	if (!v->workers_polling) {
		snprintf(why, cap, "the dataplane's workers are not polling");
		return false;
	}
	if (!v->ctl_status || !zs) {
		snprintf(why, cap, "the control process does not answer (%s)",
			 v->ctl_err);
		return false;
	}
	total = (unsigned)json_object_array_length(zs);
	for (unsigned i = 0; i < total; i++) {
		json_object *z = json_object_array_get_idx(zs, i);
		const char *name = jstr(z, "zone", "?"), *st = jstr(z, "state", "");
		bool expired;
		long long served = dp_serial(v, name, &expired);
		const char *what = NULL;

		if (strcmp(st, "expired") == 0 || expired)
			what = "expired";
		else if (served < 0)
			what = strcmp(st, "bootstrap") == 0 ?
				       "not transferred yet" :
				       "not loaded in the dataplane";
		if (!what)
			continue;
		if (!bad++)
			snprintf(first, sizeof(first), "%s %s", name, what);
	}
	if (bad > max_bad) {
		snprintf(why, cap, "%u of %u zones not served (%s%s); %u "
			 "allowed", bad, total, first, bad > 1 ? ", ..." : "",
			 max_bad);
		return false;
	}
	if (bad)
		snprintf(why, cap, "healthy: %u of %u zones served, %u not "
			 "(%s%s), within the %u allowed", total - bad, total,
			 bad, first, bad > 1 ? ", ..." : "", max_bad);
	else
		snprintf(why, cap, "healthy: %u zones served, dataplane "
			 "forwarding", total);
	return true;
}
