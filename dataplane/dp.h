/* ditto-dataplane: what its threads share.
 *
 * Threads: the main lcore (start-up, signals, shutdown), one worker lcore
 * per RX/TX queue pair (dp_worker_loop), and three service threads on
 * kernel interfaces: the exception path (TAP <-> port), DNS over TCP, and
 * the control socket. Workers and the TCP thread are liburcu QSBR readers
 * of dp->zones; the control thread is the only writer.
 */
#ifndef DITTO_DP_H
#define DITTO_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "engine.h"
#include "pkt.h"
#include "rrl.h"

#define DP_MAX_WORKERS 64
#define DP_BURST 32
#define DP_PATH_MAX 512

struct dp_tcp;
struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* The configuration of the dataplane: the node: and dataplane: sections of
 * the node's YAML file. */
struct dp_conf {
	char file[DP_PATH_MAX];
	char identity[256];	/* NSID and CHAOS names; "" = off */
	char state_dir[DP_PATH_MAX];
	char socket[DP_PATH_MAX];
	char socket_group[64];	/* "" = the process's group */
	unsigned socket_clients;	/* dataplane.sock clients at once */
	unsigned socket_request_max;	/* bytes of one request line */
	char port_name[128];	/* DPDK port: id or device name */
	unsigned workers;
	struct pkt_service service;
	char service_text[PKT_MAX_SERVICE * 2][64];
	unsigned n_service;
	unsigned edns_size;
	char exception_if[16];
	unsigned idle_sleep_us;	/* workers sleep this long when idle, 0 = spin */
	unsigned mbufs;
	unsigned rx_desc, tx_desc;
	unsigned tcp_max_conns;
	unsigned tcp_max_conns_per_client;
	unsigned tcp_idle_timeout_ms;
	unsigned tcp_max_conn_time_ms;
	unsigned tcp_max_queries;
	bool tcp;
	struct rrl_cfg rrl;
	bool cookies;			/* DNS cookies (RFC 7873/9018) */
	uint8_t cookie_secret[16];	/* configured, or random at start */
	bool cookie_secret_set;		/* configured */
	uint8_t cookie_previous[16];
	bool cookie_previous_set;
};

int dp_conf_load(const char *path, struct dp_conf *c, char *err,
		 size_t errlen);

/* Counters of one worker, written only by it, on lines of their own. */
enum dp_drop {
	DP_DROP_MALFORMED,	/* bad headers */
	DP_DROP_NOT_OURS,	/* unicast to another MAC */
	DP_DROP_BAD_SOURCE,	/* source port 0, broadcast/multicast source */
	DP_DROP_ENGINE,		/* the engine gave no answer (RFC: drop) */
	DP_DROP_TX_FULL,	/* the TX queue did not take it */
	DP_DROP_EXC_FULL,	/* the exception ring to the kernel was full */
	DP_DROP_MULTISEG,	/* query in a chained mbuf */
	DP_DROP_COUNT
};

enum dp_qtype_bucket {
	DP_QT_A, DP_QT_NS, DP_QT_CNAME, DP_QT_SOA, DP_QT_PTR, DP_QT_MX,
	DP_QT_TXT, DP_QT_AAAA, DP_QT_SRV, DP_QT_DS, DP_QT_DNSKEY, DP_QT_ANY,
	DP_QT_OTHER, DP_QT_COUNT
};

struct dp_stats {
	uint64_t rx;		/* frames received */
	uint64_t tx;		/* frames sent (answers and from the kernel) */
	uint64_t queries;	/* DNS queries taken by the fast path */
	uint64_t answers;	/* answers sent */
	uint64_t rcode[32];	/* by full rcode (BADVERS is 16) */
	uint64_t qtype[DP_QT_COUNT];
	uint64_t tc;		/* answers truncated */
	uint64_t edns;
	uint64_t dnssec_ok;
	uint64_t ipv6;
	uint64_t drop[DP_DROP_COUNT];
	uint64_t to_kernel;	/* frames handed to the exception path */
	uint64_t from_kernel;	/* frames from the kernel sent on the port */
	uint64_t loops;		/* poll-loop turns (a stalled worker stops) */
	uint64_t idle_sleeps;
	uint64_t busy_tsc;	/* TSC cycles in turns that moved frames */
	uint64_t rrl_dropped;	/* responses rate-limited away */
	uint64_t rrl_slipped;	/* ... sent as TC=1 instead */
} __attribute__((aligned(64)));

struct dp_worker {
	struct dp *dp;
	unsigned index;
	unsigned lcore;
	uint16_t queue;
	struct rte_ring *to_kernel;	/* worker -> exception thread */
	struct rte_ring *from_kernel;	/* exception thread -> worker */
	struct dp_stats stats;
	struct rrl_table *rrl;		/* its own accounts */
} __attribute__((aligned(64)));

struct dp_zone_meta {
	char name[256];		/* apex as text, lowercase, with the dot */
	char path[DP_PATH_MAX];	/* the copy in the state directory */
	uint32_t serial;
	uint32_t image_flags;	/* enum ditto_image_flags: DNSSEC mode */
	uint64_t size;
	time_t loaded;
	bool expired;		/* answered SERVFAIL until a new image */
};

/* Exception path counters (written by its thread only). */
struct dp_exc_stats {
	uint64_t to_kernel;	/* frames written to the TAP */
	uint64_t from_kernel;	/* frames read from the TAP */
	uint64_t drop_write;	/* TAP write failed */
	uint64_t drop_nombuf;	/* no mbuf for a kernel frame */
	uint64_t drop_ring;	/* worker ring full */
	uint64_t drop_chained;	/* chained mbufs, not written */
};

/* The settings a reload may change while the workers answer, swapped
 * under RCU: read with rcu_dereference(dp->live) once per turn. */
struct dp_live {
	struct ditto_answer_cfg answer;
	char identity[256];		/* answer's identity and NSID point here */
	unsigned idle_sleep_us;
	struct rrl_cfg rrl;
	struct ditto_cookie_cfg cookies;	/* answer.cookies points here */
};

struct dp {
	struct dp_conf conf;		/* as read at start */
	struct dp_live *live;		/* RCU-protected */
	const struct ditto_answer_cfg *answer;	/* &live->answer, RCU-protected
						 * too (the TCP thread's) */
	struct ditto_zone_table *zones;	/* RCU-protected */
	/* Zones as the control thread knows them (it alone writes). */
	struct dp_zone_meta *meta;
	size_t n_meta;
	uint64_t zone_loads, zone_load_failures, zone_removes;
	/* dataplane.sock refusals (the control thread's alone) */
	uint64_t ctl_refused_clients, ctl_refused_long;

	uint16_t port_id;
	char port_dev[64];
	uint16_t mtu;
	bool csum_offload;
	struct rte_mempool *pool;
	unsigned mbufs_baseline;	/* free after the port started */
	unsigned n_workers;
	struct dp_worker *workers;	/* n_workers */

	int tap_fd;
	struct dp_exc_stats exc;
	struct dp_tcp *tcp;

	volatile bool stop;
	time_t started;
};

/* Live settings from a configuration (allocated; NULL when out of
 * memory). */
struct dp_live *dp_live_new(const struct dp_conf *c);
/* Read the configuration file again: what may change live is swapped in
 * (control thread: it waits for a grace period), anything else changed is
 * refused with what it is. 0, or -1 with err, nothing changed. */
int dp_reload(struct dp *dp, char *what, size_t whatlen, char *err,
	      size_t errlen);

/* zones.c: load the images of the state directory; adopt or remove a zone
 * (control thread only: it calls synchronize_rcu()). */
int dp_zones_restore(struct dp *dp, char *err, size_t errlen);
int dp_zone_adopt(struct dp *dp, const char *zone, const char *path,
		  struct dp_zone_meta *adopted, char *err, size_t errlen);
int dp_zone_remove(struct dp *dp, const char *zone, char *err,
		   size_t errlen);
/* Mark a zone expired (SERVFAIL), across restarts, until an image of it
 * is loaded again. */
int dp_zone_expire(struct dp *dp, const char *zone, char *err,
		   size_t errlen);
void dp_zones_free(struct dp *dp);
/* "Example.COM" -> "example.com."; -1 if it is not a plausible name. */
int dp_zone_name_norm(const char *in, char *out, size_t cap);

/* worker.c */
int dp_worker_loop(void *arg);
/* Process one received burst (also used by the benchmark). */
void dp_worker_burst(struct dp_worker *w, struct rte_mbuf **pkts, unsigned n);
void dp_stats_sum(const struct dp *dp, struct dp_stats *out);

/* exception.c: the TAP and the thread moving frames both ways. */
int dp_tap_open(struct dp *dp, char *err, size_t errlen);
int dp_exception_start(struct dp *dp, char *err, size_t errlen);
void dp_exception_stop(struct dp *dp);

/* ctl.c: the dataplane.sock thread. */
int dp_ctl_start(struct dp *dp, char *err, size_t errlen);
void dp_ctl_stop(struct dp *dp);

/* log.c */
void dp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
