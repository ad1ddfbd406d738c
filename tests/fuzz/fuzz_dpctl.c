/* Fuzz target: arbitrary bytes sent on dataplane.sock, through the
 * dataplane's own socket thread (dataplane/ctl.c, linked as it is, started
 * with dp_ctl_start()): the line splitting of a connection, the JSON-c
 * tokener, the field extraction and the dispatch, and the status,
 * stats and zone-list answers of a dataplane with one worker, one zone and
 * the TCP thread. Every answer must be one line of a JSON object with
 * "ok", at most one per line sent.
 *
 * DPDK is not started: the port and mempool calls are stand-ins here, as
 * are the commands that act (zone-load, zone-expire, zone-remove, reload),
 * which refuse or change the zone list alone. What they do to images, the
 * zone table and the live settings is not fuzzed.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dp.h"
#include "fuzz.h"
#include "tcp.h"

#define SEND_MAX (80u << 10)	/* past dataplane.sock's 64 KiB lines */

/* ---- stand-ins: DPDK ----------------------------------------------------- */

int rte_eth_link_get_nowait(uint16_t port_id, struct rte_eth_link *link)
{
	(void)port_id;
	memset(link, 0, sizeof(*link));
	link->link_speed = 10000;
	link->link_status = 1;
	return 0;
}

int rte_eth_macaddr_get(uint16_t port_id, struct rte_ether_addr *mac)
{
	static const uint8_t m[6] = { 2, 0, 0, 0, 0x53, 1 };

	(void)port_id;
	memcpy(mac->addr_bytes, m, 6);
	return 0;
}

int rte_eth_dev_info_get(uint16_t port_id, struct rte_eth_dev_info *info)
{
	(void)port_id;
	memset(info, 0, sizeof(*info));
	info->driver_name = "net_fuzz";
	return 0;
}

void rte_ether_format_addr(char *buf, uint16_t size,
			   const struct rte_ether_addr *a)
{
	const uint8_t *b = a->addr_bytes;

	snprintf(buf, size, "%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2],
		 b[3], b[4], b[5]);
}

uint64_t rte_get_tsc_hz(void)
{
	return 2000000000ull;
}

unsigned int rte_mempool_avail_count(const struct rte_mempool *mp)
{
	return mp->size / 2;
}

/* ---- stand-ins: the rest of the dataplane --------------------------------- */

static struct dp_zone_meta *meta_of(struct dp *dp, const char *zone)
{
	char want[260];
	size_t n = strlen(zone);

	snprintf(want, sizeof(want), "%s%s", zone,
		 n && zone[n - 1] == '.' ? "" : ".");
	for (size_t i = 0; i < dp->n_meta; i++)
		if (strcasecmp(dp->meta[i].name, want) == 0)
			return &dp->meta[i];
	return NULL;
}

int dp_zone_adopt(struct dp *dp, const char *zone, const char *path,
		  struct dp_zone_meta *adopted, char *err, size_t errlen)
{
	(void)dp;
	(void)zone;
	(void)adopted;
	snprintf(err, errlen, "%s: images are not loaded in the fuzzer", path);
	return -1;
}

int dp_zone_expire(struct dp *dp, const char *zone, char *err, size_t errlen)
{
	struct dp_zone_meta *m = meta_of(dp, zone);

	if (!m) {
		snprintf(err, errlen, "zone %s is not loaded", zone);
		return -1;
	}
	m->expired = true;
	return 0;
}

int dp_zone_remove(struct dp *dp, const char *zone, char *err, size_t errlen)
{
	(void)dp;
	snprintf(err, errlen, "zone %s is not removed in the fuzzer", zone);
	return -1;
}

int dp_reload(struct dp *dp, char *what, size_t whatlen, char *err,
	      size_t errlen)
{
	(void)dp;
	(void)what;
	(void)whatlen;
	snprintf(err, errlen, "reload is not run in the fuzzer");
	return -1;
}

void dp_stats_sum(const struct dp *dp, struct dp_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->n_workers; i++) {
		out->rx += dp->workers[i].stats.rx;
		out->tx += dp->workers[i].stats.tx;
		out->queries += dp->workers[i].stats.queries;
	}
}

void dp_tcp_stats_get(const struct dp_tcp *t, struct dp_tcp_stats *out)
{
	(void)t;
	memset(out, 0, sizeof(*out));
	out->accepted = 3;
	out->open = 1;
}

/* ---- the dataplane ---------------------------------------------------------- */

static struct dp dp;
static struct dp_live live;
static struct dp_worker worker;
static struct dp_zone_meta meta;
static struct rte_mempool pool;

static void stop(void)
{
	dp_ctl_stop(&dp);
}

static const char *start(void)
{
	char err[512];

	if (dp.conf.socket[0])
		return dp.conf.socket;
	snprintf(dp.conf.socket, sizeof(dp.conf.socket),
		 "/tmp/ditto-fuzz-dpctl-%d.sock", (int)getpid());
	snprintf(dp.conf.service_text[0], sizeof(dp.conf.service_text[0]),
		 "192.0.2.53");
	dp.conf.n_service = 1;
	dp.conf.service.port = 53;
	snprintf(dp.conf.exception_if, sizeof(dp.conf.exception_if), "ditto0");
	snprintf(dp.port_dev, sizeof(dp.port_dev), "net_fuzz0");
	dp.live = &live;
	dp.workers = &worker;
	dp.n_workers = 1;
	worker.dp = &dp;
	worker.stats.rx = worker.stats.tx = worker.stats.queries = 42;
	snprintf(meta.name, sizeof(meta.name), "example.");
	snprintf(meta.path, sizeof(meta.path), "/var/lib/ditto/example.img");
	meta.serial = 10;
	meta.size = 4096;
	dp.meta = &meta;
	dp.n_meta = 1;
	pool.size = 16383;
	dp.pool = &pool;
	dp.tcp = (struct dp_tcp *)(void *)&worker;	/* never read here */
	dp.started = time(NULL);
	if (dp_ctl_start(&dp, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	atexit(stop);
	return dp.conf.socket;
}

/* Each answer line a JSON object with "ok"; at most one per line sent. */
static void check_answers(char *buf, size_t len, size_t lines)
{
	size_t n = 0;

	FUZZ_CHECK(len == 0 || buf[len - 1] == '\n', "an answer cut short");
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(buf + len - p));
		*e = 0;
		json_object *o = json_tokener_parse(p), *ok;

		FUZZ_CHECK(o && json_object_is_type(o, json_type_object) &&
				   json_object_object_get_ex(o, "ok", &ok) &&
				   json_object_is_type(ok, json_type_boolean),
			   "an answer is not a JSON object with \"ok\"");
		json_object_put(o);
		n++;
	}
	FUZZ_CHECK(n <= lines + 1, "more answers than lines");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = size < SEND_MAX ? size : SEND_MAX, got = 0, cap = 1 << 16;
	size_t lines = 0;
	char *buf = malloc(cap + 1);
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	const char *path = start();
	size_t plen = strlen(path);

	if (plen >= sizeof(sa.sun_path))
		abort();
	memcpy(sa.sun_path, path, plen + 1);
	if (c < 0 || !buf ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		lines += data[i] == '\n';
	/* The thread reads as it comes; send and read in turns, so that
	 * neither side waits on a full buffer. */
	for (size_t off = 0; off < n;) {
		ssize_t r = send(c, data + off, n - off, MSG_NOSIGNAL |
				 MSG_DONTWAIT);

		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (got == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		r = recv(c, buf + got, cap - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;		/* closed: a line too long */
		else
			usleep(100);
	}
	shutdown(c, SHUT_WR);
	fuzz_recv_all(c, &buf, &cap, &got);
	close(c);
	check_answers(buf, got, lines);
	free(buf);
	return 0;
}
