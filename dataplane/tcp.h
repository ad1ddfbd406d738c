/* DNS over TCP (RFC 7766) for the dataplane: a service thread on kernel
 * sockets bound to the service addresses on the exception interface,
 * answering from the same RCU-protected zone table with the same engine as
 * the UDP workers.
 *
 * The thread is a liburcu QSBR reader: it reads the table with
 * rcu_dereference(*zones), reports a quiescent state after every turn of its
 * event loop and is offline while it sleeps in epoll_wait(), so the
 * dataplane's synchronize_rcu() never waits on it.
 */
#ifndef DITTO_DP_TCP_H
#define DITTO_DP_TCP_H

#include <stdint.h>
#include <sys/socket.h>

#include "engine.h"

#define DP_TCP_MAX_LISTEN 16

struct dp_tcp_cfg {
	/* Addresses to listen on (port filled in from .port); bound with
	 * IP_FREEBIND/IPV6_FREEBIND so they need not exist yet. */
	struct sockaddr_storage addrs[DP_TCP_MAX_LISTEN];
	unsigned n_addrs;
	uint16_t port;
	unsigned max_conns;		/* open connections in total */
	unsigned max_conns_per_client;	/* per source address, 0 = no limit */
	unsigned idle_timeout_ms;	/* close after this long without a query */
	unsigned max_conn_time_ms;	/* close after this long in all, 0 = no limit */
	unsigned max_queries_per_conn;	/* 0 = no limit */
};

struct dp_tcp_stats {
	uint64_t accepted;
	uint64_t refused;	/* over max_conns or max_conns_per_client */
	uint64_t closed_idle;	/* idle or total-time timeout */
	uint64_t queries;
	uint64_t answers;
	uint64_t dropped;	/* queries the engine dropped */
	uint64_t errors;	/* read/write errors, short or oversized frames */
	uint64_t open;		/* connections open now */
};

struct dp_tcp;

/* Open the listening sockets and start the thread. zones points at the
 * dataplane's RCU-protected table pointer; acfg must outlive the thread.
 * Returns 0, or a negative errno with a sentence in err. */
/* acfg: an RCU-protected pointer to the answer configuration, which a
 * reload may swap like the zone table. */
int dp_tcp_start(const struct dp_tcp_cfg *cfg,
		 struct ditto_zone_table *const *zones,
		 const struct ditto_answer_cfg *const *acfg, struct dp_tcp **out,
		 char *err, size_t errlen);

/* A snapshot of the counters (any thread). */
void dp_tcp_stats_get(const struct dp_tcp *t, struct dp_tcp_stats *out);

/* Stop the thread, close every socket, free t. */
void dp_tcp_stop(struct dp_tcp *t);

#endif
