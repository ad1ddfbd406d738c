/* control.sock: one JSON object per line each way, for dittoctl and the
 * tests. The socket is created mode 0660 (group from socket-group). */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "server.h"


int ctl_open(struct server *s)
{
	const char *path = s->conf->control_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		clog_msg(LOG_ERR, "control socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	mode_t old = umask(0117);

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 16) != 0) {
		umask(old);
		clog_msg(LOG_ERR, "control socket %s: %s", path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (s->conf->socket_group) {
		struct group *g = getgrnam(s->conf->socket_group);

		if (!g || chown(path, (uid_t)-1, g->gr_gid) != 0)
			clog_msg(LOG_WARNING, "control socket: group %s: %s",
				 s->conf->socket_group,
				 g ? strerror(errno) : "no such group");
	}
	s->ctl_watch.fd = fd;
	s->ctl_watch.fn = ctl_accept;
	return 0;
}

static void add_i64(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *zone_json(const struct czone *z)
{
	json_object *o = json_object_new_object();
	time_t now = time(NULL);

	add_str(o, "zone", z->name);
	add_str(o, "state", zone_state_name(z->state));
	json_object_object_add(o, "added-at-run-time",
			       json_object_new_boolean(z->conf->added));
	if (z->contents) {
		add_i64(o, "serial", z->serial);
		add_i64(o, "records", (int64_t)contents_count(z->contents));
	}
	if (z->primary_serial >= 0)
		add_i64(o, "primary-serial", z->primary_serial);
	if (z->primary_used >= 0)
		add_str(o, "primary",
			z->conf->primaries[z->primary_used]->id);
	add_i64(o, "last-refresh", z->last_refresh);
	add_str(o, "last-result", z->last_result);
	add_i64(o, "next-refresh-in", z->job ? 0 : z->next_refresh - now);
	json_object_object_add(o, "refreshing",
			       json_object_new_boolean(z->job != NULL));
	if (z->expire_at)
		add_i64(o, "expires-in", z->expire_at - now);
	add_str(o, "last-error", z->last_error);
	add_i64(o, "last-error-time", z->last_error_time);
	json_object_object_add(o, "published",
			       json_object_new_boolean(z->dp_current));
	add_i64(o, "refreshes", (int64_t)z->refreshes);
	add_i64(o, "transfers-ok", (int64_t)z->transfers_ok);
	add_i64(o, "transfers-failed", (int64_t)z->transfers_failed);
	add_i64(o, "axfr", (int64_t)z->axfr);
	add_i64(o, "ixfr", (int64_t)z->ixfr);
	add_i64(o, "notifies", (int64_t)z->notifies);
	add_i64(o, "notifies-refused", (int64_t)z->notifies_refused);
	add_i64(o, "notifies-out", (int64_t)z->notifies_out);
	add_i64(o, "notifies-out-failed", (int64_t)z->notifies_out_failed);
	add_i64(o, "journal-diffs", (int64_t)journal_count(z->journal));
	add_i64(o, "journal-bytes", (int64_t)journal_bytes(z->journal));
	uint32_t first;

	if (journal_first(z->journal, &first))
		add_i64(o, "journal-from", first);
	return o;
}

static json_object *jerr(const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	add_str(o, "error", msg);
	return o;
}

static json_object *jok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static json_object *handle(struct server *s, const char *line)
{
	json_object *req = json_tokener_parse(line), *v, *resp;
	const char *cmd = NULL, *zone = NULL;
	char msg[600];

	if (!req || !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return jerr("request is not a JSON object");
	}
	if (json_object_object_get_ex(req, "cmd", &v))
		cmd = json_object_get_string(v);
	if (json_object_object_get_ex(req, "zone", &v))
		zone = json_object_get_string(v);
	struct czone *z = zone ? zone_by_name(s, zone) : NULL;

	if (!cmd) {
		resp = jerr("request has no \"cmd\"");
	} else if (!strcmp(cmd, "zone-add")) {
		/* before the check below: the zone is new */
		resp = zone_add(s, req, msg, sizeof(msg)) == 0 ? jok()
							       : jerr(msg);
	} else if (!strcmp(cmd, "reload")) {
		if (server_reload(s, msg, sizeof(msg)) == 0) {
			resp = jok();
			add_i64(resp, "zones", (int64_t)s->n_zones);
		} else {
			resp = jerr(msg);
		}
	} else if (zone && !z) {
		snprintf(msg, sizeof(msg), "zone %s is not configured", zone);
		resp = jerr(msg);
	} else if (!strcmp(cmd, "status")) {
		unsigned st[3] = { 0 };

		resp = jok();
		add_str(resp, "process", "ditto-control");
		add_str(resp, "version", DITTO_VERSION);
		add_i64(resp, "pid", getpid());
		add_i64(resp, "uptime", time(NULL) - s->started);
		for (size_t i = 0; i < s->n_zones; i++)
			st[s->zones[i]->state]++;
		add_i64(resp, "zones", (int64_t)s->n_zones);
		add_i64(resp, "zones-bootstrap", st[ZS_BOOTSTRAP]);
		add_i64(resp, "zones-ok", st[ZS_OK]);
		add_i64(resp, "zones-expired", st[ZS_EXPIRED]);
		add_i64(resp, "transfers-running", s->running);
		add_i64(resp, "tcp-refused", (int64_t)s->tcp_refused);
		add_i64(resp, "control-requests-refused", (int64_t)s->ctl_refused);
		add_i64(resp, "zones-refused", (int64_t)s->zones_refused);
		add_i64(resp, "max-zones", s->conf->max_zones);
	} else if (!strcmp(cmd, "zone-list") || !strcmp(cmd, "zone-status")) {
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < s->n_zones; i++)
			if (!z || z == s->zones[i])
				json_object_array_add(
					a, zone_json(s->zones[i]));
		resp = jok();
		json_object_object_add(resp, "zones", a);
	} else if (!strcmp(cmd, "zone-refresh") ||
		   !strcmp(cmd, "zone-retransfer")) {
		bool axfr = !strcmp(cmd, "zone-retransfer");

		if (!zone) {
			resp = jerr("needs \"zone\"");
		} else {
			zone_refresh_now(z, axfr);
			resp = jok();
		}
	} else if (!strcmp(cmd, "zone-remove")) {
		if (!zone)
			resp = jerr("needs \"zone\"");
		else
			resp = zone_remove(s, zone, msg, sizeof(msg)) == 0 ?
				       jok() : jerr(msg);
	} else if (!strcmp(cmd, "zone-notify")) {
		if (!zone) {
			resp = jerr("needs \"zone\"");
		} else if (!z->contents || z->state != ZS_OK) {
			snprintf(msg, sizeof(msg), "zone %s has no current data "
				 "to notify of", z->name);
			resp = jerr(msg);
		} else {
			resp = jok();
			add_i64(resp, "notified", notify_zone(s, z));
		}
	} else {
		snprintf(msg, sizeof(msg), "unknown command '%.100s' (known: "
			 "status, zone-list, zone-status, zone-refresh, "
			 "zone-retransfer, zone-notify, zone-add, "
			 "zone-remove, reload)", cmd);
		resp = jerr(msg);
	}
	json_object_put(req);
	return resp;
}

void ctl_accept(struct server *s, struct watch *w)
{
	char *line;
	size_t got = 0;
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	size_t max = s->conf->control_request_max;

	line = malloc(max + 1);
	while (line && got < max) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 2000) != 1)
			break;
		ssize_t n = recv(fd, line + got, max - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	if (line) {
		json_object *resp;

		line[got] = 0;
		if (memchr(line, '\n', got)) {
			resp = handle(s, line);
		} else if (got >= max) {
			s->ctl_refused++;
			if (log_ok(&s->ctl_refused_log))
				clog_msg(LOG_WARNING, "control socket: a request "
					 "longer than control: control-request-max "
					 "(%zu bytes) refused", max);
			resp = jerr("request too long (control-request-max)");
		} else {
			resp = jerr("no complete request line");
		}
		const char *out = json_object_to_json_string_ext(
			resp, JSON_C_TO_STRING_PLAIN);

		if (send(fd, out, strlen(out), MSG_NOSIGNAL) >= 0)
			(void)send(fd, "\n", 1, MSG_NOSIGNAL);
		json_object_put(resp);
	}
	free(line);
	close(fd);
}
