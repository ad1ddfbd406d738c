/* ditto-dataplane: the DPDK application that answers the internet.
 *
 *   ditto-dataplane [EAL options] -- --config FILE
 *
 * Start-up: EAL, configuration, mbuf pool, port (one RX/TX queue pair per
 * worker), the zones of the state directory, the exception TAP, DNS over
 * TCP, the control socket, then the workers. SIGINT or SIGTERM stops it:
 * workers leave their loops, threads stop, the port closes, and every mbuf
 * must be back in the pool (a leak is reported and makes the exit status 3).
 */
#define _LGPL_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <urcu-qsbr.h>

#include "dp.h"
#include "tcp.h"

#define RING_SIZE 1024

static struct dp the_dp = { .tap_fd = -1 };

static void on_signal(int sig)
{
	(void)sig;
	the_dp.stop = true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ditto-dataplane [EAL options] -- --config FILE\n"
		"       ditto-dataplane [EAL options] -- --check --config FILE\n"
		"  --config FILE  the node's YAML configuration (node: and "
		"dataplane: sections)\n"
		"  --check        read the configuration, report, and exit\n"
		"  --version      print the version\n"
		"EAL options choose cores and ports, e.g. -l 0,1 --in-memory "
		"--vdev net_af_xdp0,iface=eth1\n");
}

static int find_port(struct dp *dp, char *err, size_t errlen)
{
	const char *name = dp->conf.port_name;
	char *end;
	unsigned long id = strtoul(name, &end, 10);
	uint16_t pid;

	if (*name && *end == '\0') {
		if (id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(
						      (uint16_t)id)) {
			snprintf(err, errlen, "port %s: no such DPDK port (%u "
				 "available; give one with -a or --vdev)",
				 name, rte_eth_dev_count_avail());
			return -1;
		}
		pid = (uint16_t)id;
	} else if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
		snprintf(err, errlen, "port %s: no such DPDK device", name);
		return -1;
	}
	dp->port_id = pid;
	if (rte_eth_dev_get_name_by_port(pid, dp->port_dev) != 0)
		snprintf(dp->port_dev, sizeof(dp->port_dev), "%u", pid);
	return 0;
}

static int port_init(struct dp *dp, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf pc;
	uint16_t nq = (uint16_t)dp->n_workers;
	uint16_t nrx = (uint16_t)dp->conf.rx_desc;
	uint16_t ntx = (uint16_t)dp->conf.tx_desc;
	int rc;

	memset(&pc, 0, sizeof(pc));
	rc = rte_eth_dev_info_get(dp->port_id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: %s", dp->port_dev,
			 rte_strerror(-rc));
		return -1;
	}
	if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
		snprintf(err, errlen, "port %s (%s) has %u RX and %u TX queues; "
			 "%u workers need as many (for af_xdp set queue_count, "
			 "for af_packet qpairs)", dp->port_dev,
			 info.driver_name, info.max_rx_queues,
			 info.max_tx_queues, nq);
		return -1;
	}
	if (nq > 1) {
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pc.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP |
						  RTE_ETH_RSS_UDP) &
						 info.flow_type_rss_offloads;
		if (!pc.rx_adv_conf.rss_conf.rss_hf)
			pc.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	const uint64_t want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			      RTE_ETH_TX_OFFLOAD_UDP_CKSUM;

	if ((info.tx_offload_capa & want) == want) {
		pc.txmode.offloads = want;
		dp->csum_offload = true;
	}
	rc = rte_eth_dev_configure(dp->port_id, nq, nq, &pc);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(dp->port_id, &nrx, &ntx);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: configure: %s", dp->port_dev,
			 rte_strerror(-rc));
		return -1;
	}
	int socket = rte_eth_dev_socket_id(dp->port_id);

	if (socket < 0)
		socket = (int)rte_socket_id();
	for (uint16_t q = 0; q < nq; q++) {
		struct rte_eth_txconf txc = info.default_txconf;

		txc.offloads = pc.txmode.offloads;
		rc = rte_eth_rx_queue_setup(dp->port_id, q, nrx,
					    (unsigned)socket, NULL, dp->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(dp->port_id, q, ntx,
						    (unsigned)socket, &txc);
		if (rc != 0) {
			snprintf(err, errlen, "port %s: queue %u: %s",
				 dp->port_dev, q, rte_strerror(-rc));
			return -1;
		}
	}
	if (rte_eth_dev_get_mtu(dp->port_id, &dp->mtu) != 0 || dp->mtu < 576)
		dp->mtu = 1500;
	rc = rte_eth_dev_start(dp->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: start: %s", dp->port_dev,
			 rte_strerror(-rc));
		return -1;
	}
	/* What the driver keeps for itself from here on (an af_xdp fill
	 * ring holds its mbufs even after close) is the baseline of the
	 * leak check at exit. */
	dp->mbufs_baseline = rte_mempool_avail_count(dp->pool);
	/* ND and multicast listeners need multicast frames. */
	(void)rte_eth_allmulticast_enable(dp->port_id);

	struct rte_ether_addr mac;

	rte_eth_macaddr_get(dp->port_id, &mac);
	memcpy(dp->conf.service.mac, mac.addr_bytes, 6);
	return 0;
}

static int workers_init(struct dp *dp, char *err, size_t errlen)
{
	unsigned lcore, i = 0;

	dp->workers = rte_zmalloc("ditto_workers",
				  sizeof(*dp->workers) * dp->n_workers, 64);
	if (!dp->workers) {
		snprintf(err, errlen, "out of memory for workers");
		return -1;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w;
		char name[RTE_RING_NAMESIZE];

		if (i == dp->n_workers)
			break;
		w = &dp->workers[i];
		w->dp = dp;
		w->index = i;
		w->lcore = lcore;
		w->queue = (uint16_t)i;
		snprintf(name, sizeof(name), "ditto_exc_%u", i);
		w->to_kernel = rte_ring_create(name, RING_SIZE,
					       (int)rte_lcore_to_socket_id(lcore),
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "ditto_inj_%u", i);
		w->from_kernel = rte_ring_create(name, RING_SIZE,
						 (int)rte_lcore_to_socket_id(lcore),
						 RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!w->to_kernel || !w->from_kernel) {
			snprintf(err, errlen, "cannot create rings: %s",
				 rte_strerror(rte_errno));
			return -1;
		}
		/* Allocated whether or not it is enabled: a reload may
		 * turn it on. */
		w->rrl = rrl_new(dp->conf.rrl.table_size);
		if (!w->rrl) {
			snprintf(err, errlen, "out of memory for the rate "
				 "limiting table");
			return -1;
		}
		i++;
	}
	return 0;
}

static void drain_ring(struct rte_ring *r)
{
	void *m;

	if (!r)
		return;
	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

static int tcp_init(struct dp *dp, char *err, size_t errlen)
{
	struct dp_tcp_cfg tc;
	const struct dp_conf *c = &dp->conf;

	memset(&tc, 0, sizeof(tc));
	for (unsigned i = 0; i < c->n_service && i < DP_TCP_MAX_LISTEN; i++) {
		const char *a = c->service_text[i];

		if (strchr(a, ':')) {
			struct sockaddr_in6 *s6 = (void *)&tc.addrs[tc.n_addrs];

			s6->sin6_family = AF_INET6;
			inet_pton(AF_INET6, a, &s6->sin6_addr);
			s6->sin6_port = htons(c->service.port);
		} else {
			struct sockaddr_in *s4 = (void *)&tc.addrs[tc.n_addrs];

			s4->sin_family = AF_INET;
			inet_pton(AF_INET, a, &s4->sin_addr);
			s4->sin_port = htons(c->service.port);
		}
		tc.n_addrs++;
	}
	tc.port = c->service.port;
	tc.max_conns = c->tcp_max_conns;
	tc.max_conns_per_client = c->tcp_max_conns_per_client;
	tc.idle_timeout_ms = c->tcp_idle_timeout_ms;
	tc.max_conn_time_ms = c->tcp_max_conn_time_ms;
	tc.max_queries_per_conn = c->tcp_max_queries;
	return dp_tcp_start(&tc, &dp->zones, &dp->answer, &dp->tcp, err,
			    errlen);
}

int main(int argc, char **argv)
{
	struct dp *dp = &the_dp;
	const char *config = NULL;
	bool check = false;
	char err[1024];
	int status = 1, ret, opt;
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	/* Our options come after "--"; they are read first, so --help,
	 * --version and --check work without EAL (and without root). */
	int dd = 1;

	while (dd < argc && strcmp(argv[dd], "--") != 0)
		dd++;
	/* Without "--", every argument is ours and EAL gets its defaults. */
	int nour = dd < argc ? argc - dd : argc;
	char **our = dd < argc ? argv + dd : argv;
	int neal = dd < argc ? dd : 1;

	optind = 1;
	while ((opt = getopt_long(nour, our, "c:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'V':
			printf("ditto-dataplane %s\n", DITTO_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config) {
		usage(stderr);
		return 2;
	}
	if (dp_conf_load(config, &dp->conf, err, sizeof(err)) < 0) {
		dp_log("configuration refused: %s", err);
		return 1;
	}
	if (check) {
		printf("%s: dataplane configuration is valid\n", config);
		return 0;
	}
	ret = rte_eal_init(neal, argv);
	if (ret < 0) {
		fprintf(stderr, "ditto-dataplane: EAL: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	dp->started = time(NULL);
	dp->n_workers = dp->conf.workers;
	if (rte_lcore_count() < dp->n_workers + 1) {
		dp_log("workers: %u need %u worker lcores besides the main one;"
		       " EAL has %u lcores in all (give more with -l)",
		       dp->n_workers, dp->n_workers, rte_lcore_count());
		goto out_eal;
	}
	dp->live = dp_live_new(&dp->conf);
	if (!dp->live)
		goto out_eal;
	dp->answer = &dp->live->answer;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (find_port(dp, err, sizeof(err)) < 0)
		goto fail;
	dp->pool = rte_pktmbuf_pool_create("ditto_mbufs", dp->conf.mbufs, 256,
					   0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (!dp->pool) {
		snprintf(err, sizeof(err), "mbuf pool of %u: %s (reserve "
			 "hugepages?)", dp->conf.mbufs, rte_strerror(rte_errno));
		goto fail;
	}
	if (workers_init(dp, err, sizeof(err)) < 0 ||
	    port_init(dp, err, sizeof(err)) < 0)
		goto fail;
	dp->zones = ditto_zone_table_new();
	if (!dp->zones) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	if (dp_zones_restore(dp, err, sizeof(err)) < 0 ||
	    dp_tap_open(dp, err, sizeof(err)) < 0 ||
	    dp_exception_start(dp, err, sizeof(err)) < 0)
		goto fail;
	if (dp->conf.tcp && tcp_init(dp, err, sizeof(err)) < 0)
		goto fail;
	for (unsigned i = 0; i < dp->n_workers; i++) {
		ret = rte_eal_remote_launch(dp_worker_loop, &dp->workers[i],
					    dp->workers[i].lcore);
		if (ret != 0) {
			snprintf(err, sizeof(err), "cannot start worker on "
				 "lcore %u", dp->workers[i].lcore);
			dp->stop = true;
			goto fail;
		}
	}
	if (dp_ctl_start(dp, err, sizeof(err)) < 0) {
		dp->stop = true;
		goto fail;
	}
	{
		char macs[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_ether_addr mac;
		struct rte_eth_dev_info info;

		rte_eth_macaddr_get(dp->port_id, &mac);
		rte_ether_format_addr(macs, sizeof(macs), &mac);
		rte_eth_dev_info_get(dp->port_id, &info);
		dp_log("ready: port %s (%s, %s, mtu %u, checksums %s), %u "
		       "worker(s), %zu zone(s), exception interface %s, "
		       "socket %s", dp->port_dev, info.driver_name, macs,
		       dp->mtu, dp->csum_offload ? "offloaded" : "in software",
		       dp->n_workers, dp->n_meta, dp->conf.exception_if,
		       dp->conf.socket);
	}
	while (!dp->stop)
		usleep(100 * 1000);
	dp_log("stopping");
	status = 0;
fail:
	if (status != 0)
		dp_log("%s", err);
	dp->stop = true;
	rte_eal_mp_wait_lcore();
	dp_ctl_stop(dp);
	if (dp->tcp)
		dp_tcp_stop(dp->tcp);
	dp->tcp = NULL;
	dp_exception_stop(dp);
	if (dp->workers) {
		for (unsigned i = 0; i < dp->n_workers; i++) {
			drain_ring(dp->workers[i].to_kernel);
			drain_ring(dp->workers[i].from_kernel);
			rrl_free(dp->workers[i].rrl);
		}
	}
	if (rte_eth_dev_is_valid_port(dp->port_id) && dp->pool) {
		/* The workers are gone: let the driver reclaim what it sent
		 * (af_xdp frees transmitted mbufs only on a later call). */
		for (unsigned q = 0; q < dp->n_workers; q++) {
			(void)rte_eth_tx_done_cleanup(dp->port_id, (uint16_t)q, 0);
			(void)rte_eth_tx_burst(dp->port_id, (uint16_t)q, NULL, 0);
		}
		rte_eth_dev_stop(dp->port_id);
		rte_eth_dev_close(dp->port_id);
	}
	if (dp->pool) {
		unsigned avail = rte_mempool_avail_count(dp->pool);
		unsigned base = dp->mbufs_baseline ? dp->mbufs_baseline :
						     dp->pool->size;

		if (avail < base) {
			dp_log("mbufs: %u of %u back in the pool, %u leaked",
			       avail, base, base - avail);
			if (status == 0)
				status = 3;
		} else {
			dp_log("mbufs: all back in the pool (%u free of %u, "
			       "%u kept by the port driver)", avail,
			       dp->pool->size, dp->pool->size - avail);
		}
		rte_mempool_free(dp->pool);
	}
	dp_zones_free(dp);
	rte_free(dp->workers);
	free(dp->live);
out_eal:
	rte_eal_cleanup();
	return status;
}
