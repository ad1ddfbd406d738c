/* The dataplane's configuration read again while it answers (`reload` on
 * dataplane.sock, `dittoctl reload`): identity (NSID, CHAOS), edns-size,
 * idle-sleep-us, DNS cookies and their secrets (rotation: the new one as
 * secret, the old as previous-secret) and response rate limiting (but
 * its table size) change live, swapped under RCU with no query lost;
 * every other setting is bound at start (the port, its queues and
 * mbufs, the service addresses the TCP listeners hold, the exception
 * interface, the sockets), so a change there is refused, naming it, and
 * nothing changes until a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "dp.h"

struct dp_live *dp_live_new(const struct dp_conf *c)
{
	struct dp_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	snprintf(l->identity, sizeof(l->identity), "%s", c->identity);
	if (l->identity[0]) {
		l->answer.identity = (const uint8_t *)l->identity;
		l->answer.identity_len = (uint8_t)strlen(l->identity);
		l->answer.nsid = l->answer.identity;
		l->answer.nsid_len = l->answer.identity_len;
	}
	l->answer.edns_max = (uint16_t)c->edns_size;
	l->idle_sleep_us = c->idle_sleep_us;
	l->rrl = c->rrl;
	for (int i = 0; i < 8; i++) {
		l->cookies.secret[0] |= (uint64_t)c->cookie_secret[i] << (8 * i);
		l->cookies.secret[1] |= (uint64_t)c->cookie_secret[8 + i]
					<< (8 * i);
		l->cookies.previous[0] |= (uint64_t)c->cookie_previous[i]
					  << (8 * i);
		l->cookies.previous[1] |= (uint64_t)c->cookie_previous[8 + i]
					  << (8 * i);
	}
	l->cookies.have_previous = c->cookie_previous_set;
	l->answer.cookies = c->cookies ? &l->cookies : NULL;
	return l;
}

/* The first setting bound at start that differs, or NULL. */
static const char *bound_change(const struct dp_conf *a, const struct dp_conf *b)
{
	if (strcmp(a->state_dir, b->state_dir))
		return "node: state-dir";
	if (strcmp(a->socket, b->socket))
		return "dataplane: socket";
	if (strcmp(a->socket_group, b->socket_group))
		return "dataplane: socket-group";
	if (strcmp(a->port_name, b->port_name))
		return "dataplane: port";
	if (a->workers != b->workers)
		return "dataplane: workers";
	if (a->n_service != b->n_service || a->service.port != b->service.port)
		return "dataplane: service-addresses / service-port";
	for (unsigned i = 0; i < a->n_service; i++)
		if (strcmp(a->service_text[i], b->service_text[i]))
			return "dataplane: service-addresses";
	if (strcmp(a->exception_if, b->exception_if))
		return "dataplane: exception-interface";
	if (a->mbufs != b->mbufs || a->rx_desc != b->rx_desc ||
	    a->tx_desc != b->tx_desc)
		return "dataplane: mbufs / rx-descriptors / tx-descriptors";
	if (a->tcp != b->tcp || a->tcp_max_conns != b->tcp_max_conns ||
	    a->tcp_max_conns_per_client != b->tcp_max_conns_per_client ||
	    a->tcp_idle_timeout_ms != b->tcp_idle_timeout_ms ||
	    a->tcp_max_conn_time_ms != b->tcp_max_conn_time_ms ||
	    a->tcp_max_queries != b->tcp_max_queries)
		return "dataplane: tcp";
	if (a->rrl.table_size != b->rrl.table_size)
		return "dataplane: rrl: table-size";
	return NULL;
}

int dp_reload(struct dp *dp, char *what, size_t whatlen, char *err,
	      size_t errlen)
{
	struct dp_conf *c = calloc(1, sizeof(*c));
	struct dp_live *nl, *old;
	const char *bound;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (dp_conf_load(dp->conf.file, c, err, errlen) < 0) {
		free(c);
		return -1;
	}
	bound = bound_change(&dp->conf, c);
	if (bound) {
		snprintf(err, errlen, "%s changed in %s: restart "
			 "ditto-dataplane to apply it (nothing was changed)",
			 bound, c->file);
		free(c);
		return -1;
	}
	/* A secret made up at start stays until one is configured. */
	if (!c->cookie_secret_set)
		memcpy(c->cookie_secret, dp->conf.cookie_secret, 16);
	nl = dp_live_new(c);
	if (!nl) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(what, whatlen, "identity '%s', edns-size %u, idle-sleep-us %u, "
		 "cookies %s%s, "
		 "rrl %s (%u/s, slip %u, window %u s, /%u and /%u, %u exempt)",
		 nl->identity, c->edns_size, nl->idle_sleep_us,
		 c->cookies ? "on" : "off",
		 c->cookies ? (c->cookie_secret_set ? " (configured secret)"
						   : " (secret made at start)")
			    : "",
		 nl->rrl.enabled ? "on" : "off", nl->rrl.rate, nl->rrl.slip,
		 nl->rrl.window, nl->rrl.v4_bits, nl->rrl.v6_bits,
		 nl->rrl.n_exempt);
	/* Keep the live values in the configuration too (status). */
	snprintf(dp->conf.identity, sizeof(dp->conf.identity), "%s",
		 c->identity);
	dp->conf.edns_size = c->edns_size;
	dp->conf.idle_sleep_us = c->idle_sleep_us;
	dp->conf.rrl = c->rrl;
	dp->conf.cookies = c->cookies;
	memcpy(dp->conf.cookie_secret, c->cookie_secret, 16);
	dp->conf.cookie_secret_set = c->cookie_secret_set;
	free(c);
	old = dp->live;
	rcu_assign_pointer(dp->live, nl);
	cmm_smp_wmb();		/* rcu_assign_pointer() for a const pointer */
	CMM_STORE_SHARED(dp->answer, (const struct ditto_answer_cfg *)&nl->answer);
	synchronize_rcu();
	free(old);
	dp_log("configuration reloaded: %s", what);
	return 0;
}
