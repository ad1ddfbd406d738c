/* dp_bench: the whole worker path without a kernel, in packets per second
 * per worker core.
 *
 *   dp_bench --zone FILE --queries FILE [--seconds S] [--ipv6]
 *            [--port ring|pcap] [--lcores MAIN,WORKER]
 *            [--rrl off|idle|limit] [--cookies] [--csum-offload]
 *
 * --csum-offload: the worker hands the checksums to the port as it does
 * on a NIC that offers UDP and IPv4 checksum offload (the pseudo-header
 * sum and the mbuf's offload flags instead of the sums in software). The
 * ring and pcap ports compute nothing, so this measures the worker's cost
 * on such a NIC; the answers checked before the run are checksummed in
 * software either way.
 * --cookies: DNS cookies on and every query with a client cookie, so
 * every answer computes a server cookie (SipHash-2-4, RFC 9018).
 * --rrl: response rate limiting off (the default); on and idle (a rate no
 * client reaches: every response checked, none limited); on and limiting
 * (1 response a second, slip 2: nearly every response limited, half sent
 * as TC, half dropped). Throughput is then queries handled per second.
 *
 * The queries are made into Ethernet/IP/UDP frames. One worker lcore runs
 * the dataplane's own loop (dp_worker_loop: rx burst, classify, answer in
 * place, rewrite headers, checksums in software, tx burst, quiescent
 * state) flat out on a DPDK port with no kernel behind it:
 *
 * - ring (default): a net_ring port. The main lcore plays the NIC: it
 *   takes the answers the worker transmitted off the TX ring, writes the
 *   next query frames into those mbufs and puts them on the RX ring, as a
 *   NIC's DMA would. The worker pays for what it does on real hardware
 *   (descriptor-sized ring operations, every byte of the answer) and not
 *   for the generator.
 * - pcap: net_pcap in infinite_rx mode. The worker also pays for the
 *   port's own work (a fresh mbuf and a copy of each frame on RX, a free
 *   on TX), so the figure is conservative.
 *
 * Throughput is the worker's answer counter over the run. The last line is
 * "RESULT key=value ..." for scripts.
 */
#define _LGPL_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_pause.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ditto/error.h"
#include "ditto/wire.h"
#include "compile.h"
#include "dp.h"
#include "queries.h"

#define CHECK_EVERY 997		/* answers checked: one in this many */

static const uint8_t port_mac[6] = { 0x02, 0, 0, 0, 0, 0x53 };
static const uint8_t client_mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };

struct frame {
	uint8_t *bytes;
	uint16_t len;
	uint16_t dns_off;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Ethernet + IPv4 or IPv6 + UDP around a DNS query, from one of 4096
 * client addresses and ports so the frames look like real traffic. */
static struct frame make_frame(const uint8_t *dns, size_t dlen, size_t i,
			       bool v6)
{
	struct frame f;
	size_t l3 = v6 ? 40 : 20, off = 14;
	uint8_t *p;

	f.len = (uint16_t)(14 + l3 + 8 + dlen);
	f.dns_off = (uint16_t)(14 + l3 + 8);
	p = f.bytes = calloc(1, f.len);
	if (!p)
		exit(1);
	memcpy(p, port_mac, 6);
	memcpy(p + 6, client_mac, 6);
	dns_put16(p + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		p[off] = 0x60;
		dns_put16(p + off + 4, (uint16_t)(8 + dlen));
		p[off + 6] = 17;
		p[off + 7] = 64;
		p[off + 8] = 0x20;	/* 2001:db8:1::/48 clients */
		p[off + 9] = 0x01;
		p[off + 10] = 0x0d;
		p[off + 11] = 0xb8;
		p[off + 13] = 1;
		dns_put16(p + off + 22, (uint16_t)(i & 0xfff));
		p[off + 24] = 0x20;	/* 2001:db8::53 */
		p[off + 25] = 0x01;
		p[off + 26] = 0x0d;
		p[off + 27] = 0xb8;
		p[off + 39] = 0x53;
	} else {
		p[off] = 0x45;
		dns_put16(p + off + 2, (uint16_t)(20 + 8 + dlen));
		p[off + 8] = 64;
		p[off + 9] = 17;
		p[off + 12] = 198;	/* 198.18.0.0/20 clients */
		p[off + 13] = 18;
		dns_put16(p + off + 14, (uint16_t)(i & 0xfff));
		p[off + 16] = 192;
		p[off + 17] = 0;
		p[off + 18] = 2;
		p[off + 19] = 53;
		dns_put16(p + off + 10, (uint16_t)~pkt_csum_fold(
				       pkt_csum_partial(p + off, 20, 0)));
	}
	dns_put16(p + off + l3, (uint16_t)(1024 + (i * 7919) % 60000));
	dns_put16(p + off + l3 + 2, 53);
	dns_put16(p + off + l3 + 4, (uint16_t)(8 + dlen));
	memcpy(p + f.dns_off, dns, dlen);
	return f;
}

static void fill(struct rte_mbuf *m, const struct frame *f)
{
	memcpy(rte_pktmbuf_mtod(m, void *), f->bytes, f->len);
	m->data_len = f->len;
	m->pkt_len = f->len;
}

/* A classic pcap file (microsecond timestamps, Ethernet). */
static int write_pcap(const char *path, const struct frame *fr, size_t n)
{
	FILE *f = fopen(path, "wb");
	uint32_t gh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1 };

	if (!f)
		return -1;
	fwrite(gh, sizeof(gh), 1, f);
	for (size_t i = 0; i < n; i++) {
		uint32_t rh[4] = { 0, (uint32_t)i, fr[i].len, fr[i].len };

		fwrite(rh, sizeof(rh), 1, f);
		fwrite(fr[i].bytes, fr[i].len, 1, f);
	}
	return fclose(f);
}

static void usage(void)
{
	fprintf(stderr, "usage: dp_bench --zone FILE --queries FILE "
		"[--seconds S] [--ipv6] [--port ring|pcap] "
		"[--lcores MAIN,WORKER] [--rrl off|idle|limit] [--cookies]\n"
		"                [--csum-offload]\n");
}

/* Frames in flight between the generator and the worker: as many as the
 * RX descriptors of a dataplane port by default. */
#define RING_FRAMES 1024

/*
 * The generator of the ring port, on the main lcore until the TSC reaches
 * until: every mbuf the worker sent comes back as the next query frame
 * (*next, cycling through fr), as a NIC would refill its RX descriptors.
 */
static void ring_generate(struct rte_ring *rx, struct rte_ring *tx,
			  struct rte_mempool *pool, const struct frame *fr,
			  size_t nfr, size_t *next, uint64_t until)
{
	struct rte_mbuf *ms[DP_BURST];

	while (rte_rdtsc() < until) {
		unsigned n = rte_ring_sc_dequeue_burst(tx, (void **)ms,
						       DP_BURST, NULL);

		/* Frames the worker dropped (rate limiting) never come
		 * back: fresh ones keep the ring fed. */
		if (n < DP_BURST && rte_ring_count(rx) < RING_FRAMES / 2 &&
		    rte_pktmbuf_alloc_bulk(pool, ms + n, DP_BURST - n) == 0)
			n = DP_BURST;
		if (!n) {
			rte_pause();
			continue;
		}
		for (unsigned j = 0; j < n; j++) {
			ms[j]->data_off = RTE_PKTMBUF_HEADROOM;
			fill(ms[j], &fr[*next]);
			if (++*next == nfr)
				*next = 0;
		}
		/* The RX ring has room for every frame there is. */
		rte_ring_sp_enqueue_burst(rx, (void **)ms, n, NULL);
	}
}

int main(int argc, char **argv)
{
	static struct dp dp = { .tap_fd = -1 };
	const char *zone = NULL, *qfile = NULL, *lcores = "0,1";
	const char *port_kind = "ring", *rrl_mode = "off";
	double seconds = 5;
	bool v6 = false, csum_offload = false;
	int opt;
	char err[512];
	static const struct option lo[] = {
		{ "zone", required_argument, NULL, 'z' },
		{ "queries", required_argument, NULL, 'q' },
		{ "seconds", required_argument, NULL, 's' },
		{ "lcores", required_argument, NULL, 'l' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "port", required_argument, NULL, 'p' },
		{ "rrl", required_argument, NULL, 'r' },
		{ "cookies", no_argument, NULL, 'c' },
		{ "csum-offload", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'z': zone = optarg; break;
		case 'q': qfile = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'l': lcores = optarg; break;
		case '6': v6 = true; break;
		case 'p': port_kind = optarg; break;
		case 'r': rrl_mode = optarg; break;
		case 'c': query_cookie = true; break;
		case 'o': csum_offload = true; break;
		default: usage(); return 2;
		}
	}
	bool use_ring = !strcmp(port_kind, "ring");

	if (!zone || !qfile || seconds <= 0 ||
	    (!use_ring && strcmp(port_kind, "pcap")) ||
	    (strcmp(rrl_mode, "off") && strcmp(rrl_mode, "idle") &&
	     strcmp(rrl_mode, "limit"))) {
		usage();
		return 2;
	}

	/* The zone, compiled and opened as the dataplane would. */
	struct ditto_compile_opts copts = { 0 };
	struct ditto_compiled comp;
	struct ditto_image *img = NULL;

	if (ditto_compile_file(zone, &copts, &comp) != 0) {
		fprintf(stderr, "dp_bench: %s: %s\n", zone, comp.first_error);
		return 1;
	}
	/* Through a file, so the image sits in the memory the dataplane's
	 * loader gives it (2 MiB-aligned, transparent huge pages). */
	char img_path[] = "/tmp/dp_bench_img.XXXXXX";
	int img_fd = mkstemp(img_path);

	if (img_fd < 0 || (close(img_fd), 0) ||
	    ditto_image_write(img_path, comp.image, comp.size) != 0 ||
	    ditto_image_load_file(img_path, &img, err, sizeof(err)) != 0) {
		fprintf(stderr, "dp_bench: image: %s\n",
			img_fd < 0 ? "no temporary file" : err);
		unlink(img_path);
		return 1;
	}
	unlink(img_path);
	struct ditto_image *none = NULL;
	struct ditto_zone_table *t0 = ditto_zone_table_new();

	dp.zones = t0 ? ditto_zone_table_with(t0, img, &none) : NULL;
	ditto_zone_table_free(t0);
	if (!dp.zones)
		return 1;

	/* The query frames; for the pcap port, in a file for it to replay. */
	struct query_list ql;

	if (query_list_load("dp_bench", qfile, &ql) < 0)
		return 1;
	struct frame *frames = malloc(ql.n * sizeof(*frames));
	char pcap[] = "/tmp/dp_bench.XXXXXX";
	int fd = mkstemp(pcap);

	if (!frames || fd < 0)
		return 1;
	close(fd);
	for (size_t i = 0; i < ql.n; i++)
		frames[i] = make_frame(ql.pk + ql.qs[i].off, ql.qs[i].len, i,
				       v6);
	if (!use_ring && write_pcap(pcap, frames, ql.n) != 0) {
		fprintf(stderr, "dp_bench: cannot write %s\n", pcap);
		return 1;
	}

	char vdev[256], l[64];

	if (use_ring)
		unlink(pcap);
	snprintf(vdev, sizeof(vdev), "net_pcap0,rx_pcap=%s,infinite_rx=1",
		 pcap);
	snprintf(l, sizeof(l), "%s", lcores);
	static char a_l[] = "-l", a_mem[] = "--in-memory",
		    a_pci[] = "--no-pci", a_log[] = "--log-level=warning",
		    a_vdev[] = "--vdev";
	char *eal[] = { argv[0], a_l, l, a_mem, a_pci, a_log, a_vdev, vdev,
			NULL };
	int ret = rte_eal_init(use_ring ? 6 : 8, eal);

	if (ret < 0) {
		fprintf(stderr, "dp_bench: EAL: %s\n", rte_strerror(rte_errno));
		if (!use_ring)
			unlink(pcap);
		return 1;
	}
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "dp_bench: needs two lcores (--lcores 0,1)\n");
		return 2;
	}

	/* The node: service address, answer settings, pool, port, worker.
	 * The pool holds the port's in-memory copy of every frame too. */
	memcpy(dp.conf.service.mac, port_mac, 6);
	dp.conf.service.port = 53;
	pkt_service_add(&dp.conf.service, "192.0.2.53");
	pkt_service_add(&dp.conf.service, "2001:db8::53");
	dp.conf.edns_size = DITTO_EDNS_DEFAULT;
	dp.conf.rrl = (struct rrl_cfg){
		.enabled = strcmp(rrl_mode, "off") != 0,
		.rate = strcmp(rrl_mode, "limit") ? 1000000 : 1, .slip = 2,
		.window = 15, .v4_bits = 24, .v6_bits = 56, .table_size = 65536 };
	dp.conf.cookies = query_cookie;
	memcpy(dp.conf.cookie_secret, "dp_bench secret!", 16);
	dp.live = dp_live_new(&dp.conf);
	if (!dp.live)
		return 2;
	dp.answer = &dp.live->answer;
	dp.mtu = 1500;
	dp.n_workers = 1;
	dp.pool = rte_pktmbuf_pool_create("bench_mbufs",
					  (unsigned)ql.n + 16383, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	dp.workers = rte_zmalloc("w", sizeof(*dp.workers), 64);
	if (!dp.pool || !dp.workers) {
		fprintf(stderr, "dp_bench: no memory (hugepages?)\n");
		return 1;
	}
	uint16_t port;
	struct rte_eth_conf pc;
	struct rte_ring *ring_rx = NULL, *ring_tx = NULL;
	int rc;

	memset(&pc, 0, sizeof(pc));
	if (use_ring) {
		ring_rx = rte_ring_create("bench_rx", RING_FRAMES * 2, 0,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
		ring_tx = rte_ring_create("bench_tx", RING_FRAMES * 2, 0,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
		rc = ring_rx && ring_tx ? rte_eth_from_rings("bench_ring",
			&ring_rx, 1, &ring_tx, 1, (unsigned)rte_socket_id()) :
			-1;
		if (rc < 0) {
			fprintf(stderr, "dp_bench: ring port: %s\n",
				rte_strerror(rte_errno));
			return 1;
		}
		port = (uint16_t)rc;
	} else if (rte_eth_dev_get_port_by_name("net_pcap0", &port)) {
		fprintf(stderr, "dp_bench: no pcap port\n");
		return 1;
	}
	if (rte_eth_dev_configure(port, 1, 1, &pc) ||
	    rte_eth_rx_queue_setup(port, 0, 1024, 0, NULL, dp.pool) ||
	    rte_eth_tx_queue_setup(port, 0, 1024, 0, NULL) ||
	    rte_eth_dev_start(port)) {
		fprintf(stderr, "dp_bench: %s port: %s\n", port_kind,
			rte_strerror(rte_errno));
		return 1;
	}
	if (!use_ring)
		unlink(pcap);	/* loaded into memory by now */
	dp.port_id = port;

	struct dp_worker *w = &dp.workers[0];

	w->dp = &dp;
	w->lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	w->to_kernel = rte_ring_create("bench_exc", 1024, 0,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->from_kernel = rte_ring_create("bench_inj", 1024, 0,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->rrl = rrl_new(dp.conf.rrl.table_size);
	if (!w->to_kernel || !w->from_kernel || !w->rrl)
		return 1;

	/* A correctness pass first, on the main lcore: every frame through
	 * the same burst function, every answer checked. */
	unsigned long checked = 0, bad = 0;

	for (size_t i = 0; i < ql.n; i += DP_BURST) {
		struct rte_mbuf *ms[DP_BURST];
		unsigned n = (unsigned)(ql.n - i < DP_BURST ? ql.n - i :
							     DP_BURST);

		for (unsigned j = 0; j < n; j++) {
			ms[j] = rte_pktmbuf_alloc(dp.pool);
			if (!ms[j])
				return 1;
			fill(ms[j], &frames[i + j]);
		}
		for (unsigned j = 0; j < n; j++) {
			const struct query *q = &ql.qs[i + j];
			const uint8_t *qb = ql.pk + q->off;
			uint8_t *f = rte_pktmbuf_mtod(ms[j], uint8_t *);
			struct pkt_info pi;
			struct ditto_answer_info info;
			struct verdict v;
			uint8_t qcopy[512];

			checked++;
			memcpy(qcopy, qb, q->len);
			if (pkt_classify(f, ms[j]->data_len, &dp.conf.service,
					 &pi) != PKT_DNS) {
				bad++;
				continue;
			}
			size_t rl = ditto_answer(dp.zones, dp.answer,
						 f + pi.dns_off, pi.dns_len,
						 f + pi.dns_off,
						 1500 - (v6 ? 48u : 28u), 0,
						 &info);
			size_t sh = pkt_reply(f, &pi, rl, false);

			/* The DNS message stays where it was: the reply's
			 * headers end where the query's did. */
			inspect(qcopy, q->len, f + pi.dns_off, rl, &info, &v);
			if (!rl || !pkt_verify(f + sh, pkt_reply_len(&pi, rl)) ||
			    !judge((enum expect)q->expect, q->qtype, &v, &info))
				bad++;
		}
		rte_pktmbuf_free_bulk(ms, n);
	}

	/* The ring port starts with a ring full of frames; the answers come
	 * back to the generator. */
	if (use_ring) {
		struct rte_mbuf *ms[RING_FRAMES];

		if (rte_pktmbuf_alloc_bulk(dp.pool, ms, RING_FRAMES) != 0)
			return 1;
		rte_ring_sp_enqueue_bulk(ring_tx, (void **)ms, RING_FRAMES,
					 NULL);
	}
	dp.csum_offload = csum_offload;
	rte_eal_remote_launch(dp_worker_loop, w, w->lcore);

	/* The first half second warms caches and is not counted; the main
	 * lcore generates (ring) or sleeps (pcap), 10 ms at a time. */
	size_t gen_next = 0;
	double t_warm = now_s() + 0.5, t_end = t_warm + seconds;
	uint64_t a0 = 0, b0 = 0, q0 = 0, answers, busy, queries;
	double t_run = 0, wall;
	/* The best quarter second too: on a shared machine others' work only
	 * ever slows a run down, so the best interval is the steadier figure
	 * for comparing two builds. */
	uint64_t a_iv = 0;
	double t_iv = 0, best_pps = 0;

	while (now_s() < t_end) {
		if (!t_run && now_s() >= t_warm) {
			a0 = w->stats.answers;
			b0 = w->stats.busy_tsc;
			q0 = w->stats.queries;
			t_run = t_iv = now_s();
			a_iv = a0;
		} else if (t_run && now_s() - t_iv >= 0.25) {
			uint64_t a = w->stats.answers;
			double t = now_s(), r = (double)(a - a_iv) / (t - t_iv);
			if (r > best_pps)
				best_pps = r;
			a_iv = a;
			t_iv = t;
		}
		if (use_ring)
			ring_generate(ring_rx, ring_tx, dp.pool, frames, ql.n,
				      &gen_next,
				      rte_rdtsc() + rte_get_tsc_hz() / 100);
		else
			usleep(10 * 1000);
	}
	answers = w->stats.answers - a0;
	busy = w->stats.busy_tsc - b0;
	queries = w->stats.queries - q0;
	wall = now_s() - t_run;

	dp.stop = true;
	rte_eal_mp_wait_lcore();

	struct dp_stats s = w->stats;
	double pps = (double)answers / wall, qps = (double)queries / wall;

	printf("dp_bench: %s, %zu queries, %s, %.1f s on lcore %u\n", zone,
	       ql.n, v6 ? "IPv6" : "IPv4", wall, w->lcore);
	printf("worker      %.2f Mpps answered per worker core, %.1f "
	       "ns/packet (worker busy %.0f%% of the time); best quarter "
	       "second %.2f Mpps\n", pps / 1e6, 1e9 / pps,
	       (double)busy / (double)rte_get_tsc_hz() / wall * 100,
	       best_pps / 1e6);
	printf("answers     checked %lu (every query once), wrong %lu; "
	       "rcodes NOERROR %lu NXDOMAIN %lu other %lu; drops malformed "
	       "%lu engine %lu tx %lu\n", checked, bad,
	       (unsigned long)s.rcode[0], (unsigned long)s.rcode[3],
	       (unsigned long)(s.answers - s.rcode[0] - s.rcode[3]),
	       (unsigned long)s.drop[DP_DROP_MALFORMED],
	       (unsigned long)s.drop[DP_DROP_ENGINE],
	       (unsigned long)s.drop[DP_DROP_TX_FULL]);
	printf("rrl         %s: %lu limited responses dropped, %lu sent as "
	       "TC; %.2f M queries handled per second (%.1f ns each)\n",
	       rrl_mode, (unsigned long)s.rrl_dropped,
	       (unsigned long)s.rrl_slipped, qps / 1e6, 1e9 / qps);
	printf("RESULT pps=%.0f ns_per_packet=%.1f best_pps=%.0f wrong=%lu "
	       "qps=%.0f rrl=%s csum=%s\n", pps, 1e9 / pps, best_pps, bad,
	       qps, rrl_mode, csum_offload ? "offload" : "software");
	rte_eth_dev_stop(port);
	rte_eal_cleanup();
	free(dp.live);
	rrl_free(w->rrl);
	return bad ? 3 : 0;
}
