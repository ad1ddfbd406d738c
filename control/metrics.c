/* The metrics endpoint: Prometheus text on GET /metrics and the node's
 * health on GET /health (200 when it should be announced, 503 and the
 * reason when not), over HTTP on the management address `node: metrics:`
 * (libmicrohttpd, its own thread). The handler asks the two processes'
 * sockets as dittoctl does, so it reads no state of the event loop and
 * serves the same figures `dittoctl stats --prometheus` prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <microhttpd.h>

#include "report.h"
#include "server.h"

#define HTTP_TIMEOUT_MS 5000

static struct MHD_Daemon *daemon_;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *type, char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	const struct server *s = cls;
	struct node_view v;
	char *body;
	unsigned status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     strdup("only GET\n"));
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/health") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
			     strdup("/metrics or /health\n"));
	node_view_fetch(&v, s->conf->control_socket, s->conf->dataplane_socket,
			HTTP_TIMEOUT_MS);
	if (!strcmp(url, "/metrics")) {
		body = report_prometheus(&v);
		node_view_free(&v);
		return body ? reply(conn, MHD_HTTP_OK,
				    "text/plain; version=0.0.4; charset=utf-8",
				    body)
			    : MHD_NO;
	}
	char why[700];

	if (!report_health(&v, 0, why, sizeof(why)))
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	node_view_free(&v);
	body = malloc(strlen(why) + 2);
	if (!body)
		return MHD_NO;
	snprintf(body, strlen(why) + 2, "%s\n", why);
	return reply(conn, status, "text/plain; charset=utf-8", body);
}

int metrics_start(struct server *s)
{
	const struct cconf_addr *a = &s->conf->metrics_addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (!s->conf->metrics)
		return 0;
	if (a->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
				   MHD_OPTION_SOCK_ADDR, &a->ss,
				   MHD_OPTION_CONNECTION_LIMIT, 16u,
				   MHD_OPTION_PER_IP_CONNECTION_LIMIT, 4u,
				   MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				   MHD_OPTION_END);
	if (!daemon_) {
		clog_msg(LOG_ERR, "metrics: cannot listen on %s", a->text);
		return -1;
	}
	clog_msg(LOG_NOTICE, "metrics: http://%s/metrics and /health",
		 a->text);
	return 0;
}

void metrics_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
