/* Publication: the dataplane adopts each new image through its socket
 * (one JSON object per line each way), and a reconciliation every few
 * seconds brings a dataplane that was down, restarted or behind in line
 * with what ditto-control holds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "server.h"

#define DP_TIMEOUT_MS 30000

#define DP_ANSWER_MAX (256u << 20)	/* a zone-list of a million zones */

/* One request, its answer line into a growing *resp (NUL-terminated).
 * 0, or -1 with err. */
static int dp_roundtrip(const char *sock, const char *req, char **resp,
			char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0, cap = 1 << 16, len = strlen(req);
	char *buf = NULL;
	int fd;

	*resp = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", sock);
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "dataplane socket %s: %s", sock,
			 strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "dataplane socket: %s",
				 strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, DP_TIMEOUT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "dataplane did not answer");
			goto fail;
		}
		if (got + 1 == cap) {
			char *nb = cap < DP_ANSWER_MAX ? realloc(buf, cap * 2)
						       : NULL;

			if (!nb) {
				snprintf(err, errlen, "dataplane answer larger "
					 "than %zu bytes", cap);
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0) {
			snprintf(err, errlen, "dataplane closed the socket "
				 "before the end of its answer");
			goto fail;
		}
		size_t was = got;

		got += (size_t)n;
		buf[got] = 0;
		if (memchr(buf + was, '\n', (size_t)n))
			break;
	}
	close(fd);
	*resp = buf;
	return 0;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Send req (a JSON object), parse the answer; NULL with err on failure or
 * refusal. */
static json_object *dp_call(const char *sock, json_object *req, char *err,
			    size_t errlen)
{
	char line[8192], *resp;
	json_object *o, *ok, *e;

	snprintf(line, sizeof(line), "%s\n",
		 json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	if (dp_roundtrip(sock, line, &resp, err, errlen) < 0)
		return NULL;
	o = json_tokener_parse(resp);
	free(resp);
	if (!o || !json_object_object_get_ex(o, "ok", &ok)) {
		snprintf(err, errlen, "dataplane answered something else than "
			 "JSON with \"ok\"");
		json_object_put(o);
		return NULL;
	}
	if (!json_object_get_boolean(ok)) {
		snprintf(err, errlen, "dataplane refused: %s",
			 json_object_object_get_ex(o, "error", &e) ?
				 json_object_get_string(e) : "no reason");
		json_object_put(o);
		return NULL;
	}
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

int dp_expire(const char *sock, const char *zone, char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *o;

	json_object_object_add(req, "cmd",
			       json_object_new_string("zone-expire"));
	json_object_object_add(req, "zone", json_object_new_string(zone));
	o = dp_call(sock, req, err, errlen);
	json_object_put(req);
	if (!o)
		return -1;
	json_object_put(o);
	return 0;
}

/* The dataplane's zones by lowercase name, for lookups in O(1). */
static json_object *by_name(json_object *zones)
{
	json_object *map = json_object_new_object();
	size_t n = json_object_array_length(zones);

	for (size_t i = 0; map && i < n; i++) {
		json_object *z = json_object_array_get_idx(zones, i), *v;
		char low[1100];
		size_t k;

		if (!json_object_object_get_ex(z, "zone", &v))
			continue;
		const char *name = json_object_get_string(v);

		for (k = 0; name[k] && k + 1 < sizeof(low); k++)
			low[k] = (char)((name[k] >= 'A' && name[k] <= 'Z') ?
					name[k] + 32 : name[k]);
		low[k] = 0;
		json_object_object_add(map, low, json_object_get(z));
	}
	return map;
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
			clog_msg(LOG_WARNING, "dataplane: %s; zones will be "
				 "published when it answers", err);
		was_down = true;
		for (size_t i = 0; i < s->n_zones; i++)
			s->zones[i].dp_current = false;
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
	json_object *map = by_name(zones);

	for (size_t i = 0; map && i < s->n_zones; i++) {
		struct czone *z = &s->zones[i];
		bool expired;
		int64_t have = dp_serial_of(map, z->name, &expired);
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
