/* The worker lcore: poll one RX queue, answer DNS queries in place, hand
 * everything else to the exception path, transmit, report a quiescent state.
 * No allocation, lock, shared atomic or system call per packet: the only
 * shared writes are to the worker's own statistics line and its own rings.
 */
#define _LGPL_SOURCE
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <urcu-qsbr.h>

#include "ditto/wire.h"
#include "dp.h"

/* Idle turns before an idle worker sleeps (when idle-sleep-us is set). */
#define IDLE_TURNS 256

static unsigned qtype_bucket(uint16_t t)
{
	switch (t) {
	case DNS_T_A: return DP_QT_A;
	case DNS_T_NS: return DP_QT_NS;
	case DNS_T_CNAME: return DP_QT_CNAME;
	case DNS_T_SOA: return DP_QT_SOA;
	case DNS_T_PTR: return DP_QT_PTR;
	case DNS_T_MX: return DP_QT_MX;
	case DNS_T_TXT: return DP_QT_TXT;
	case DNS_T_AAAA: return DP_QT_AAAA;
	case DNS_T_SRV: return DP_QT_SRV;
	case DNS_T_DS: return DP_QT_DS;
	case DNS_T_DNSKEY: return DP_QT_DNSKEY;
	case DNS_T_ANY: return DP_QT_ANY;
	default: return DP_QT_OTHER;
	}
}

static void send_burst(struct dp_worker *w, struct rte_mbuf **tx, unsigned n)
{
	unsigned sent = 0;

	if (!n)
		return;
	sent = rte_eth_tx_burst(w->dp->port_id, w->queue, tx, (uint16_t)n);
	w->stats.tx += sent;
	if (unlikely(sent < n)) {
		w->stats.drop[DP_DROP_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(tx + sent, n - sent);
	}
}

/* Response rate limiting (rrl.h), first pass: the account key of each
 * answer of the burst, its account prefetched. */
static uint64_t limit_key(const struct dp_worker *w,
			  const struct rrl_cfg *cfg,
			  const struct ditto_query *q,
			  const struct pkt_info *pi)
{
	const uint8_t *frame = q->q - pi->dns_off;
	const uint8_t *src = frame + pi->l2_len + (pi->ipv6 ? 8 : 12);
	const struct ditto_answer_info *in = &q->info;
	const uint8_t *r = q->resp;
	size_t qn = q->resp_len > DNS_HDR_LEN ?
		    dns_name_len(r + DNS_HDR_LEN, q->resp_len - DNS_HDR_LEN) : 0;
	enum rrl_class cls;
	uint64_t key;

	if (in->rcode == DNS_R_NXDOMAIN)
		cls = RRL_NXDOMAIN;
	else if (in->rcode != DNS_R_NOERROR)
		cls = RRL_ERROR;
	else if (in->flags & DITTO_INFO_REFERRAL)
		cls = RRL_REFERRAL;
	else if (dns_get16(r + 6) == 0)
		cls = RRL_NODATA;
	else
		cls = RRL_ANSWER;
	/* A valid server cookie proves the address: not limited. */
	if (in->flags & DITTO_INFO_COOKIE_OK)
		return 0;
	key = rrl_key(w->rrl, cfg, src, pi->ipv6, cls, r + DNS_HDR_LEN, qn);
	rrl_prefetch(w->rrl, key);
	return key;
}

/* Second pass: the verdict, and for a slip the answer cut to its header
 * and question with TC set, so that the client asks again over TCP. */
static enum rrl_verdict limit(struct dp_worker *w, const struct rrl_cfg *cfg,
			      struct ditto_query *q, uint64_t key, uint32_t now)
{
	enum rrl_verdict v = rrl_account(w->rrl, cfg, key, now);
	uint8_t *r = q->resp;
	size_t qn;

	if (v != RRL_SLIP)
		return v;
	qn = dns_name_len(r + DNS_HDR_LEN, q->resp_len - DNS_HDR_LEN);
	if (!qn || DNS_HDR_LEN + qn + 4 > q->resp_len)
		return RRL_DROP;
	/* A client that sent a cookie is told BADCOOKIE with a fresh one,
	 * so that it asks again with it and is not limited. */
	if ((q->info.flags & DITTO_INFO_COOKIE) && q->client) {
		size_t n = ditto_answer_to_badcookie(r, q->resp_len);

		if (n) {
			q->resp_len = (uint16_t)n;
			return RRL_SLIP;
		}
	}
	dns_put16(r + 2, dns_get16(r + 2) | DNS_F_TC);
	dns_put16(r + 6, 0);
	dns_put16(r + 8, 0);
	dns_put16(r + 10, 0);
	q->resp_len = (uint16_t)(DNS_HDR_LEN + qn + 4);
	return RRL_SLIP;
}

void dp_worker_burst(struct dp_worker *w, struct rte_mbuf **pkts, unsigned n)
{
	struct dp *dp = w->dp;
	struct ditto_query qs[DP_BURST];
	struct pkt_info pi[DP_BURST];
	struct rte_mbuf *dns[DP_BURST], *tx[DP_BURST], *exc[DP_BURST];
	unsigned nd = 0, ntx = 0, nexc = 0;
	const struct ditto_zone_table *zones;
	const struct dp_live *lv = rcu_dereference(dp->live);
	struct ditto_client cl[DP_BURST];
	uint32_t wall = 0;

	if (unlikely(lv->answer.cookies != NULL)) {
		struct timespec ts;

		/* vDSO, once a burst: the cookies' timestamps are wall
		 * clock seconds, the same on every node. */
		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		wall = (uint32_t)ts.tv_sec;
	}

	/* Headers in the first line; the question of a query over IPv4
	 * starts at byte 54 and runs into the second. */
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);

		rte_prefetch0(f);
		rte_prefetch0(f + RTE_CACHE_LINE_SIZE);
	}
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
		enum pkt_verdict v;

		v = pkt_classify(f, m->data_len, &dp->conf.service, &pi[nd]);
		if (v == PKT_DNS && unlikely(m->nb_segs != 1))
			v = PKT_KERNEL;	/* let the kernel reassemble it */
		switch (v) {
		case PKT_DNS: {
			struct ditto_query *q = &qs[nd];
			size_t room = m->buf_len - m->data_off - pi[nd].dns_off;
			size_t mtu_room = dp->mtu - (pi[nd].ipv6 ? 48u : 28u);

			if (room > mtu_room)
				room = mtu_room;
			q->q = f + pi[nd].dns_off;
			q->resp = f + pi[nd].dns_off;
			q->qlen = pi[nd].dns_len;
			q->cap = (uint16_t)(room > 65535 ? 65535 : room);
			q->client = NULL;
			if (unlikely(lv->answer.cookies != NULL)) {
				cl[nd].addr = f + pi[nd].l2_len +
					      (pi[nd].ipv6 ? 8 : 12);
				cl[nd].addr_len = pi[nd].ipv6 ? 16 : 4;
				cl[nd].now = wall;
				q->client = &cl[nd];
			}
			dns[nd++] = m;
			break;
		}
		case PKT_KERNEL:
			exc[nexc++] = m;
			break;
		case PKT_DROP_NOT_OURS:
			w->stats.drop[DP_DROP_NOT_OURS]++;
			rte_pktmbuf_free(m);
			break;
		case PKT_DROP_BAD_SOURCE:
			w->stats.drop[DP_DROP_BAD_SOURCE]++;
			rte_pktmbuf_free(m);
			break;
		default:
			w->stats.drop[DP_DROP_MALFORMED]++;
			rte_pktmbuf_free(m);
			break;
		}
	}
	bool rrl = unlikely(lv->rrl.enabled) && w->rrl;
	uint64_t keys[DP_BURST];
	uint32_t now = 0;

	if (nd) {
		zones = rcu_dereference(dp->zones);
		ditto_answer_burst(zones, &lv->answer, qs, nd, 0);
		w->stats.queries += nd;
	}
	if (rrl && nd) {
		now = (uint32_t)(rte_get_tsc_cycles() / rte_get_tsc_hz());
		for (unsigned j = 0; j < nd; j++)
			keys[j] = qs[j].resp_len ?
				  limit_key(w, &lv->rrl, &qs[j], &pi[j]) : 0;
	}
	for (unsigned j = 0; j < nd; j++) {
		struct rte_mbuf *m = dns[j];
		struct ditto_query *q = &qs[j];
		const struct ditto_answer_info *in = &q->info;

		if (q->resp_len == 0) {
			w->stats.drop[DP_DROP_ENGINE]++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (rrl) {
			enum rrl_verdict v = limit(w, &lv->rrl, q, keys[j], now);

			if (v == RRL_DROP) {
				w->stats.rrl_dropped++;
				rte_pktmbuf_free(m);
				continue;
			}
			if (v == RRL_SLIP)
				w->stats.rrl_slipped++;
		}
		w->stats.rcode[in->rcode < 32 ? in->rcode : 31]++;
		w->stats.qtype[qtype_bucket(in->qtype)]++;
		w->stats.tc += !!(in->flags & DITTO_INFO_TC);
		w->stats.edns += !!(in->flags & DITTO_INFO_EDNS);
		w->stats.dnssec_ok += !!(in->flags & DITTO_INFO_DO);
		w->stats.ipv6 += pi[j].ipv6;

		uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
		size_t shift = pkt_reply(f, &pi[j], q->resp_len,
					 dp->csum_offload);
		uint16_t len = (uint16_t)pkt_reply_len(&pi[j], q->resp_len);

		m->data_off = (uint16_t)(m->data_off + shift);
		m->data_len = len;
		m->pkt_len = len;
		m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
		if (dp->csum_offload) {
			m->l2_len = pi[j].l2_len;
			m->l3_len = pi[j].ipv6 ? 40 : 20;
			m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM |
				       (pi[j].ipv6 ? RTE_MBUF_F_TX_IPV6 :
					RTE_MBUF_F_TX_IPV4 |
					RTE_MBUF_F_TX_IP_CKSUM);
		}
		tx[ntx++] = m;
	}
	w->stats.answers += ntx;
	send_burst(w, tx, ntx);
	if (nexc) {
		unsigned k = rte_ring_sp_enqueue_burst(w->to_kernel,
						       (void **)exc, nexc, NULL);

		w->stats.to_kernel += k;
		if (unlikely(k < nexc)) {
			w->stats.drop[DP_DROP_EXC_FULL] += nexc - k;
			rte_pktmbuf_free_bulk(exc + k, nexc - k);
		}
	}
}

int dp_worker_loop(void *arg)
{
	struct dp_worker *w = arg;
	struct dp *dp = w->dp;
	struct rte_mbuf *pkts[DP_BURST];
	unsigned idle = 0;

	rcu_register_thread();
	while (!dp->stop) {
		uint64_t t0 = rte_rdtsc();
		uint16_t n = rte_eth_rx_burst(dp->port_id, w->queue, pkts,
					      DP_BURST);
		unsigned k;

		if (n) {
			w->stats.rx += n;
			dp_worker_burst(w, pkts, n);
		}
		/* Frames the kernel sends out through the exception path. */
		k = rte_ring_sc_dequeue_burst(w->from_kernel, (void **)pkts,
					      DP_BURST, NULL);
		if (k) {
			w->stats.from_kernel += k;
			send_burst(w, pkts, k);
		}
		w->stats.loops++;
		if (n || k)
			w->stats.busy_tsc += rte_rdtsc() - t0;
		rcu_quiescent_state();
		unsigned sleep_us = rcu_dereference(dp->live)->idle_sleep_us;

		if (n || k || !sleep_us) {
			idle = 0;
			continue;
		}
		if (++idle < IDLE_TURNS)
			continue;
		/* Offline while asleep: a grace period need not wait. */
		const struct timespec nap = { .tv_nsec = (long)sleep_us * 1000 };

		rcu_thread_offline();
		nanosleep(&nap, NULL);
		rcu_thread_online();
		w->stats.idle_sleeps++;
	}
	rcu_unregister_thread();
	return 0;
}

void dp_stats_sum(const struct dp *dp, struct dp_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->n_workers; i++) {
		const uint64_t *s = (const uint64_t *)&dp->workers[i].stats;
		uint64_t *d = (uint64_t *)out;

		for (size_t j = 0; j < sizeof(*out) / sizeof(uint64_t); j++)
			d[j] += s[j];
	}
}
