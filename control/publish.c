/* Publication: the dataplane adopts each new image through its socket
 * (one JSON object per line each way), and a reconciliation every few
 * seconds brings a dataplane that was down, restarted or behind in line
 * with what ditto-control holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jsock.h"
#include "server.h"

#define DP_TIMEOUT_MS 30000

/* Send req, parse the answer; NULL with err on failure or refusal. */
static json_object *dp_call(const char *sock, json_object *req, char *err,
			    size_t errlen)
{
	char why[480];
	json_object *o = jsock_call(sock, req, DP_TIMEOUT_MS, why, sizeof(why));

	if (!o)
		snprintf(err, errlen, "dataplane: %s", why);
	return o;
}

int dp_publish(const char *sock, const char *zone, const char *image,
	       uint32_t *serial, char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *o, *v;

	json_object_object_add(req, "cmd", json_object_new_string("zone-load"));
	json_object_object_add(req, "zone", json_object_new_string(zone));
	json_object_object_add(req, "image", json_object_new_string(image));
	o = dp_call(sock, req, err, errlen);
	json_object_put(req);
	if (!o)
		return -1;
	*serial = json_object_object_get_ex(o, "serial", &v) ?
			  (uint32_t)json_object_get_int64(v) : 0;
	json_object_put(o);
	return 0;
}

static int dp_zone_cmd(const char *sock, const char *cmd, const char *zone,
		       char *err, size_t errlen)
{
	json_object *req = jsock_cmd(cmd, zone), *o;

	o = dp_call(sock, req, err, errlen);
	json_object_put(req);
	if (!o)
		return -1;
	json_object_put(o);
	return 0;
}

int dp_remove(const char *sock, const char *zone, char *err, size_t errlen)
{
	return dp_zone_cmd(sock, "zone-remove", zone, err, errlen);
}

int dp_expire(const char *sock, const char *zone, char *err, size_t errlen)
{
	return dp_zone_cmd(sock, "zone-expire", zone, err, errlen);
}

/* The serial the dataplane serves for zone (lowercase, as czone names
 * are), or -1 when it has none; *expired whether it answers it with
 * SERVFAIL. */
static int64_t dp_serial_of(json_object *map, const char *zone,
			    bool *expired)
{
	json_object *z, *v, *s;

	*expired = false;
	if (!json_object_object_get_ex(map, zone, &z) ||
	    !json_object_object_get_ex(z, "serial", &s))
		return -1;
	*expired = json_object_object_get_ex(z, "expired", &v) &&
		   json_object_get_boolean(v);
	return json_object_get_int64(s);
}

void dp_reconcile(struct server *s)
{
	const char *sock = s->conf->dataplane_socket;
	json_object *req = json_object_new_object(), *o, *zones;
	char err[512];
	static bool was_down;

	json_object_object_add(req, "cmd", json_object_new_string("zone-list"));
	o = dp_call(sock, req, err, sizeof(err));
	json_object_put(req);
	if (!o) {
		if (!was_down)
			clog_msg(LOG_WARNING, "%s; zones will be "
				 "published when it answers", err);
		was_down = true;
		for (size_t i = 0; i < s->n_zones; i++)
			s->zones[i]->dp_current = false;
		return;
	}
	if (was_down)
		clog_msg(LOG_NOTICE, "dataplane: answering again");
	was_down = false;
	if (!json_object_object_get_ex(o, "zones", &zones) ||
	    !json_object_is_type(zones, json_type_array)) {
		json_object_put(o);
		return;
	}
	json_object *map = jsock_index(zones, "zone");

	/* Zones removed from the configuration: out of the dataplane too. */
	for (size_t i = 0; map && i < s->n_withdraw;) {
		json_object *have;

		if (!json_object_object_get_ex(map, s->withdraw[i], &have) ||
		    dp_remove(sock, s->withdraw[i], err, sizeof(err)) == 0) {
			if (have)
				clog_msg(LOG_NOTICE, "zone %s: withdrawn from "
					 "the dataplane", s->withdraw[i]);
			free(s->withdraw[i]);
			s->withdraw[i] = s->withdraw[--s->n_withdraw];
			continue;
		}
		clog_msg(LOG_ERR, "zone %s: the dataplane did not withdraw it: "
			 "%s", s->withdraw[i], err);
		i++;
	}

	for (size_t i = 0; map && i < s->n_zones; i++) {
		struct czone *z = s->zones[i];
		bool expired;
		int64_t have = dp_serial_of(map, z->name, &expired);

		/* A refresh that is publishing a newer image under the same
		 * file name right now: the dataplane's other serial is that
		 * one, and the job's result will tell. */
		if (z->job && have >= 0 && have != (int64_t)z->serial)
			continue;
		uint32_t serial;

		if (z->state == ZS_EXPIRED) {
			z->dp_current = false;
			if (have >= 0 && !expired &&
			    dp_expire(sock, z->name, err, sizeof(err)) < 0)
				clog_msg(LOG_ERR, "zone %s: the dataplane did "
					 "not take the expiry: %s", z->name, err);
			continue;
		}
		if (expired && have == (int64_t)z->serial)
			have = -1;	/* publish again: that ends the expiry */
		if (!z->contents || !z->image[0]) {
			z->dp_current = false;
			continue;
		}
		if (have == (int64_t)z->serial) {
			z->dp_current = true;
			continue;
		}
		if (dp_publish(sock, z->name, z->image, &serial, err,
			       sizeof(err)) < 0) {
			z->dp_current = false;
			clog_msg(LOG_ERR, "zone %s: the dataplane did not adopt "
				 "serial %u: %s", z->name, z->serial, err);
			continue;
		}
		z->dp_current = serial == z->serial;
		clog_msg(LOG_NOTICE, "zone %s: serial %u published to the "
			 "dataplane%s", z->name, z->serial,
			 have >= 0 ? " (it had an older one)" : "");
	}
	json_object_put(map);
	json_object_put(o);
}
