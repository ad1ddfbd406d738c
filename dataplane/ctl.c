/* dataplane.sock: one JSON object per line each way, for ditto-control and
 * for operators. Requests: status, zone-list, zone-load, zone-remove,
 * stats. This thread is the only writer of the zone table.
 */
#define _LGPL_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "dp.h"
#include "tcp.h"


struct ctl_client {
	int fd;
	size_t len;
	char *buf;	/* socket-request-max + 1 */
};

static pthread_t ctl_thread;
static bool ctl_running;
static int ctl_listen = -1;
static int ctl_wake[2] = { -1, -1 };

static const char *const rcode_names[32] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS", "BADKEY",
	"BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE",
	"RCODE24", "RCODE25", "RCODE26", "RCODE27", "RCODE28", "RCODE29",
	"RCODE30", "OTHER",
};

static const char *const qtype_names[DP_QT_COUNT] = {
	"A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "DS",
	"DNSKEY", "ANY", "other",
};

static const char *const drop_names[DP_DROP_COUNT] = {
	"malformed", "not-ours", "bad-source", "engine", "tx-full",
	"exception-full", "multi-segment",
};

static json_object *jerror(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static json_object *jerror(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	json_object *o = json_object_new_object();

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(buf));
	return o;
}

static json_object *jok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static json_object *stats_json(const struct dp_stats *s)
{
	json_object *o = json_object_new_object();
	json_object *rc = json_object_new_object();
	json_object *qt = json_object_new_object();
	json_object *dr = json_object_new_object();

	add_u64(o, "rx", s->rx);
	add_u64(o, "tx", s->tx);
	add_u64(o, "queries", s->queries);
	add_u64(o, "answers", s->answers);
	for (unsigned i = 0; i < 32; i++)
		if (s->rcode[i] || i == 0 || i == 3 || i == 5)
			add_u64(rc, rcode_names[i], s->rcode[i]);
	json_object_object_add(o, "rcode", rc);
	for (unsigned i = 0; i < DP_QT_COUNT; i++)
		add_u64(qt, qtype_names[i], s->qtype[i]);
	json_object_object_add(o, "qtype", qt);
	add_u64(o, "truncated", s->tc);
	add_u64(o, "edns", s->edns);
	add_u64(o, "dnssec-ok", s->dnssec_ok);
	add_u64(o, "ipv6", s->ipv6);
	for (unsigned i = 0; i < DP_DROP_COUNT; i++)
		add_u64(dr, drop_names[i], s->drop[i]);
	json_object_object_add(o, "drops", dr);
	add_u64(o, "to-kernel", s->to_kernel);
	add_u64(o, "from-kernel", s->from_kernel);
	add_u64(o, "loops", s->loops);
	add_u64(o, "idle-sleeps", s->idle_sleeps);
	add_u64(o, "busy-cycles", s->busy_tsc);
	add_u64(o, "rrl-dropped", s->rrl_dropped);
	add_u64(o, "rrl-slipped", s->rrl_slipped);
	return o;
}

static json_object *cmd_stats(struct dp *dp)
{
	json_object *o = jok(), *ws = json_object_new_array();
	struct dp_stats sum;

	dp_stats_sum(dp, &sum);
	json_object_object_add(o, "total", stats_json(&sum));
	for (unsigned i = 0; i < dp->n_workers; i++) {
		json_object *w = stats_json(&dp->workers[i].stats);

		add_u64(w, "worker", i);
		add_u64(w, "lcore", dp->workers[i].lcore);
		add_u64(w, "queue", dp->workers[i].queue);
		json_object_array_add(ws, w);
	}
	json_object_object_add(o, "workers", ws);

	json_object *e = json_object_new_object();

	add_u64(e, "to-kernel", dp->exc.to_kernel);
	add_u64(e, "from-kernel", dp->exc.from_kernel);
	add_u64(e, "drop-write", dp->exc.drop_write);
	add_u64(e, "drop-no-mbuf", dp->exc.drop_nombuf);
	add_u64(e, "drop-ring", dp->exc.drop_ring);
	add_u64(e, "drop-chained", dp->exc.drop_chained);
	json_object_object_add(o, "exception", e);

	if (dp->tcp) {
		struct dp_tcp_stats t;
		json_object *to = json_object_new_object();

		dp_tcp_stats_get(dp->tcp, &t);
		add_u64(to, "accepted", t.accepted);
		add_u64(to, "refused", t.refused);
		add_u64(to, "closed-idle", t.closed_idle);
		add_u64(to, "queries", t.queries);
		add_u64(to, "answers", t.answers);
		add_u64(to, "dropped", t.dropped);
		add_u64(to, "errors", t.errors);
		add_u64(to, "open", t.open);
		json_object_object_add(o, "tcp", to);
	}
	json_object *z = json_object_new_object();

	add_u64(z, "loaded", dp->n_meta);
	add_u64(z, "loads", dp->zone_loads);
	add_u64(z, "load-failures", dp->zone_load_failures);
	add_u64(z, "removes", dp->zone_removes);
	json_object_object_add(o, "zones", z);
	json_object *cs = json_object_new_object();
	add_u64(cs, "refused-clients", dp->ctl_refused_clients);
	add_u64(cs, "refused-long-requests", dp->ctl_refused_long);
	json_object_object_add(o, "socket", cs);
	return o;
}

static json_object *cmd_status(struct dp *dp)
{
	json_object *o = jok(), *p = json_object_new_object();
	json_object *svc = json_object_new_array();
	struct rte_eth_link link;
	struct rte_ether_addr mac;
	char macs[RTE_ETHER_ADDR_FMT_SIZE];
	struct rte_eth_dev_info info;

	json_object_object_add(o, "process",
			       json_object_new_string("ditto-dataplane"));
	json_object_object_add(o, "version",
			       json_object_new_string(DITTO_VERSION));
	add_u64(o, "pid", (uint64_t)getpid());
	add_u64(o, "uptime", (uint64_t)(time(NULL) - dp->started));
	add_u64(o, "workers", dp->n_workers);
	add_u64(o, "queues", dp->n_workers);
	add_u64(o, "zones", dp->n_meta);
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(dp->port_id, &link);
	rte_eth_macaddr_get(dp->port_id, &mac);
	rte_ether_format_addr(macs, sizeof(macs), &mac);
	memset(&info, 0, sizeof(info));
	rte_eth_dev_info_get(dp->port_id, &info);
	add_u64(p, "id", dp->port_id);
	json_object_object_add(p, "name", json_object_new_string(dp->port_dev));
	json_object_object_add(p, "driver", json_object_new_string(
		info.driver_name ? info.driver_name : "?"));
	json_object_object_add(p, "mac", json_object_new_string(macs));
	json_object_object_add(p, "link", json_object_new_string(
		link.link_status ? "up" : "down"));
	add_u64(p, "speed-mbps", link.link_speed);
	add_u64(p, "mtu", dp->mtu);
	json_object_object_add(p, "checksum-offload",
			       json_object_new_boolean(dp->csum_offload));
	json_object_object_add(o, "port", p);
	for (unsigned i = 0; i < dp->conf.n_service; i++)
		json_object_array_add(svc, json_object_new_string(
			dp->conf.service_text[i]));
	json_object_object_add(o, "service-addresses", svc);
	add_u64(o, "service-port", dp->conf.service.port);
	json_object_object_add(o, "exception-interface",
			       json_object_new_string(dp->conf.exception_if));
	json_object_object_add(o, "tcp", json_object_new_boolean(dp->tcp != NULL));
	json_object_object_add(o, "rrl", json_object_new_boolean(
					      dp->live->rrl.enabled));
	add_u64(o, "mbufs-total", dp->pool->size);
	add_u64(o, "mbufs-free", rte_mempool_avail_count(dp->pool));
	add_u64(o, "tsc-hz", rte_get_tsc_hz());
	return o;
}

/* How a zone's denials are proven with DO. */
static const char *dnssec_mode(uint32_t flags)
{
	if (flags & DITTO_IMAGE_NSEC3)
		return "nsec3";
	if (flags & DITTO_IMAGE_NSEC)
		return "nsec";
	return flags & DITTO_IMAGE_SIGNED ? "sigs-only" : "unsigned";
}

static json_object *cmd_zone_list(struct dp *dp)
{
	json_object *o = jok(), *a = json_object_new_array();

	for (size_t i = 0; i < dp->n_meta; i++) {
		json_object *z = json_object_new_object();
		const struct dp_zone_meta *m = &dp->meta[i];

		json_object_object_add(z, "zone", json_object_new_string(m->name));
		add_u64(z, "serial", m->serial);
		add_u64(z, "bytes", m->size);
		json_object_object_add(z, "dnssec", json_object_new_string(
			dnssec_mode(m->image_flags)));
		json_object_object_add(z, "image", json_object_new_string(m->path));
		add_u64(z, "loaded", (uint64_t)m->loaded);
		json_object_object_add(z, "expired",
				       json_object_new_boolean(m->expired));
		json_object_array_add(a, z);
	}
	json_object_object_add(o, "zones", a);
	return o;
}

static const char *jstr(json_object *req, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *handle(struct dp *dp, const char *line)
{
	json_object *req = json_tokener_parse(line);
	json_object *resp;
	const char *cmd;
	char err[1024];

	if (!req || !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return jerror("request is not a JSON object");
	}
	cmd = jstr(req, "cmd");
	if (!cmd) {
		resp = jerror("request has no \"cmd\" string");
	} else if (!strcmp(cmd, "status")) {
		resp = cmd_status(dp);
	} else if (!strcmp(cmd, "stats")) {
		resp = cmd_stats(dp);
	} else if (!strcmp(cmd, "zone-list")) {
		resp = cmd_zone_list(dp);
	} else if (!strcmp(cmd, "zone-load")) {
		const char *img = jstr(req, "image"), *zone = jstr(req, "zone");
		struct dp_zone_meta m;

		if (!img)
			resp = jerror("zone-load needs \"image\": the path of "
				      "a compiled zone image");
		else if (dp_zone_adopt(dp, zone, img, &m, err,
				       sizeof(err)) < 0)
			resp = jerror("%s", err);
		else {
			resp = jok();
			json_object_object_add(resp, "zone",
					       json_object_new_string(m.name));
			add_u64(resp, "serial", m.serial);
			add_u64(resp, "bytes", m.size);
		}
	} else if (!strcmp(cmd, "zone-expire")) {
		const char *zone = jstr(req, "zone");

		if (!zone)
			resp = jerror("zone-expire needs \"zone\"");
		else if (dp_zone_expire(dp, zone, err, sizeof(err)) < 0)
			resp = jerror("%s", err);
		else
			resp = jok();
	} else if (!strcmp(cmd, "reload")) {
		char what[400];

		if (dp_reload(dp, what, sizeof(what), err, sizeof(err)) < 0)
			resp = jerror("%s", err);
		else {
			resp = jok();
			json_object_object_add(resp, "applied",
					       json_object_new_string(what));
		}
	} else if (!strcmp(cmd, "zone-remove")) {
		const char *zone = jstr(req, "zone");

		if (!zone)
			resp = jerror("zone-remove needs \"zone\"");
		else if (dp_zone_remove(dp, zone, err, sizeof(err)) < 0)
			resp = jerror("%s", err);
		else
			resp = jok();
	} else {
		resp = jerror("unknown command '%s' (known: status, stats, "
			      "zone-list, zone-load, zone-expire, zone-remove, "
			      "reload)", cmd);
	}
	json_object_put(req);
	return resp;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int reply(int fd, json_object *resp)
{
	const char *s = json_object_to_json_string_ext(resp,
						       JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = send_all(fd, s, strlen(s));

	if (rc == 0)
		rc = send_all(fd, "\n", 1);
	json_object_put(resp);
	return rc;
}

/* Read what there is; answer every complete line. -1: close. */
static int client_read(struct dp *dp, struct ctl_client *c)
{
	size_t max = dp->conf.socket_request_max;
	ssize_t r = recv(c->fd, c->buf + c->len, max - c->len, 0);

	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (!nl)
			break;
		*nl = '\0';
		size_t used = (size_t)(nl - c->buf) + 1;

		if (nl > c->buf && reply(c->fd, handle(dp, c->buf)) < 0)
			return -1;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (c->len == max) {
		reply(c->fd, jerror("request longer than %zu bytes "
				    "(socket-request-max)", max));
		if (dp->ctl_refused_long++ % 1000 == 0)
			dp_log("dataplane.sock: a request longer than %zu "
			       "bytes refused (%llu so far)", max,
			       (unsigned long long)dp->ctl_refused_long);
		return -1;
	}
	return 0;
}

static void *ctl_main(void *arg)
{
	struct dp *dp = arg;
	unsigned max = dp->conf.socket_clients, n = 0;
	struct ctl_client *cl = calloc(max, sizeof(*cl));
	struct pollfd *pfd = calloc(max + 2, sizeof(*pfd));

	if (!cl || !pfd) {
		dp_log("dataplane.sock: out of memory, not served");
		free(cl);
		free(pfd);
		return NULL;
	}

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = ctl_wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = ctl_listen, .events = POLLIN };
		for (unsigned i = 0; i < n; i++)
			pfd[i + 2] = (struct pollfd){ .fd = cl[i].fd,
						      .events = POLLIN };
		if (poll(pfd, n + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		for (unsigned i = n; i-- > 0;) {
			if (!pfd[i + 2].revents)
				continue;
			if (client_read(dp, &cl[i]) < 0) {
				close(cl[i].fd);
				free(cl[i].buf);
				cl[i] = cl[--n];
			}
		}
		if (pfd[1].revents & POLLIN) {
			int fd = accept4(ctl_listen, NULL, NULL, SOCK_CLOEXEC);
			struct timeval tv = { .tv_sec = 5 };
			char *buf;

			if (fd < 0)
				continue;
			buf = n < max ? malloc(dp->conf.socket_request_max + 1)
				      : NULL;
			if (!buf) {
				reply(fd, jerror("too many clients (socket-"
						 "clients: %u)", max));
				close(fd);
				if (dp->ctl_refused_clients++ % 1000 == 0)
					dp_log("dataplane.sock: a client over "
					       "socket-clients (%u) refused "
					       "(%llu so far)", max,
					       (unsigned long long)
						       dp->ctl_refused_clients);
				continue;
			}
			/* A client that stops reading cannot wedge us. */
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			cl[n++] = (struct ctl_client){ .fd = fd, .buf = buf };
		}
	}
	for (unsigned i = 0; i < n; i++) {
		close(cl[i].fd);
		free(cl[i].buf);
	}
	free(cl);
	free(pfd);
	return NULL;
}

int dp_ctl_start(struct dp *dp, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = dp->conf.socket;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A live dataplane on this socket: refuse; a stale file: replace. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail_errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		snprintf(err, errlen, "%s: another dataplane is listening "
			 "there", path);
		return -1;
	}
	close(fd);
	unlink(path);
	char dir[DP_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			goto fail_errno;
	}
	ctl_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl_listen < 0)
		goto fail_errno;
	if (bind(ctl_listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 ||
	    listen(ctl_listen, (int)dp->conf.socket_clients + 16) < 0)
		goto fail_errno;
	if (dp->conf.socket_group[0]) {
		struct group *g = getgrnam(dp->conf.socket_group);

		if (!g) {
			snprintf(err, errlen, "socket-group %s: no such group",
				 dp->conf.socket_group);
			goto fail;
		}
		if (chown(path, (uid_t)-1, g->gr_gid) < 0)
			goto fail_errno;
	}
	if (pipe2(ctl_wake, O_CLOEXEC) < 0)
		goto fail_errno;
	rc = pthread_create(&ctl_thread, NULL, ctl_main, dp);
	if (rc) {
		errno = rc;
		goto fail_errno;
	}
	pthread_setname_np(ctl_thread, "ditto-ctl");
	ctl_running = true;
	return 0;
fail_errno:
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
fail:
	if (ctl_listen >= 0)
		close(ctl_listen);
	ctl_listen = -1;
	return -1;
}

void dp_ctl_stop(struct dp *dp)
{
	if (ctl_running) {
		(void)!write(ctl_wake[1], "x", 1);
		pthread_join(ctl_thread, NULL);
		ctl_running = false;
	}
	if (ctl_listen >= 0) {
		close(ctl_listen);
		unlink(dp->conf.socket);
		ctl_listen = -1;
	}
	for (int i = 0; i < 2; i++)
		if (ctl_wake[i] >= 0)
			close(ctl_wake[i]);
	ctl_wake[0] = ctl_wake[1] = -1;
}
