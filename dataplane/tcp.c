/* DNS over TCP (RFC 7766): one service thread, epoll over nonblocking
 * kernel sockets, answering with the same engine and zone table as the UDP
 * workers. No DPDK here, so the unit tests run it as it is. */
#define _LGPL_SOURCE
#include <urcu/list.h>
#include <urcu-qsbr.h>	/* maps rcu_*() to the QSBR flavour */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ditto/hash.h"
#include "ditto/wire.h"
#include "engine.h"
#include "tcp.h"

#define TCP_MSG_MAX	65535u	/* a DNS message behind its length */
#define TCP_RBUF_MIN	2048u	/* holds a burst of ordinary queries */
#define TCP_WBUF_KEEP	16384u	/* bigger output buffers go once drained */
/* Output queued per connection beyond what the kernel took. Over this the
 * connection is not read, so a client that does not read its answers
 * holds at most this plus one answer of our memory. */
#define TCP_OUT_CAP	(128u * 1024u)
#define TCP_EVENTS	64
#define TCP_ACCEPT_BATCH 64	/* per listener per turn, for fairness */
#define TCP_ACCEPT_PAUSE_MS 100	/* after running out of descriptors */
#define TCP_CLIENT_BUCKETS_MAX 65536u

enum tcp_ep_kind { TCP_EP_WAKE, TCP_EP_LISTEN, TCP_EP_CONN };

/* What epoll hands back: the kind says what the rest of the object is. */
struct tcp_ep {
	enum tcp_ep_kind kind;
	int fd;
};

/* Open connections of one source address, for max_conns_per_client. */
struct tcp_client {
	struct tcp_client *next;
	uint8_t addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	unsigned conns;
};

struct tcp_conn {
	struct tcp_ep ep;
	/* t->idle is ordered by active_ms and t->age by started_ms, so the
	 * next timeout is always at the head of one of them. */
	struct cds_list_head idle;
	struct cds_list_head age;
	struct tcp_client *client;	/* NULL without a per-client limit */
	uint8_t addr[16];	/* the client's address, for its cookies */
	uint8_t addr_len;	/* 4 (IPv4, mapped ones too) or 16 */
	uint64_t started_ms;
	uint64_t active_ms;	/* last query or output progress */
	uint32_t events;	/* epoll interest now */
	unsigned queries;
	bool eof;		/* the client has sent all it will */
	bool finishing;		/* answer no more; close once all is sent */
	/* Input; always starts at a frame boundary between turns. */
	uint8_t *rbuf;
	size_t rlen, rcap;
	/* Output not yet taken by the kernel: wbuf[whead..wend). */
	uint8_t *wbuf;
	size_t whead, wend, wcap;
};

struct dp_tcp {
	struct dp_tcp_cfg cfg;
	struct ditto_zone_table *const *zones;
	const struct ditto_answer_cfg *const *acfg;	/* RCU-protected */
	/* Answered from while the dataplane has published no table yet. */
	struct ditto_zone_table *empty;

	int epfd;
	struct tcp_ep wake;	/* eventfd written by dp_tcp_stop() */
	struct tcp_ep listen[DP_TCP_MAX_LISTEN];
	unsigned n_listen;
	bool accept_paused;
	uint64_t accept_resume_ms;

	struct cds_list_head idle;
	struct cds_list_head age;
	unsigned n_open;

	struct tcp_client **clients;
	uint32_t client_mask;
	uint64_t client_key[2];

	pthread_t thread;
	bool running;
	bool stop;			/* atomic: set by dp_tcp_stop() */
	struct dp_tcp_stats stats;	/* written by the thread only */

	uint8_t resp[2 + TCP_MSG_MAX];	/* length prefix + response */
};

/* One writer, readers anywhere: relaxed atomic stores keep each counter
 * whole for dp_tcp_stats_get() without a lock on the query path. */
#define TCP_STAT_ADD(t, f, n) \
	__atomic_store_n(&(t)->stats.f, (t)->stats.f + (n), __ATOMIC_RELAXED)
#define TCP_STAT_INC(t, f) TCP_STAT_ADD(t, f, 1)

/* The object around a member. liburcu's caa_container_of() passes through
 * a const pointer, which -Wcast-qual rightly flags. */
#define TCP_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- clients ------------------------------------------------------------- */

static void client_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
	if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
}

static struct tcp_client **client_bucket(struct dp_tcp *t, const uint8_t *key)
{
	/* Keyed, so clients cannot pick addresses that share one bucket. */
	uint64_t h = ditto_siphash(t->client_key, key, 16, 1, 3);

	return &t->clients[h & t->client_mask];
}

/* The entry of the client at ss with one more connection counted, or NULL
 * when out of memory. */
static struct tcp_client *client_get(struct dp_tcp *t,
				     const struct sockaddr_storage *ss)
{
	uint8_t key[16];
	struct tcp_client **b, *cl;

	client_key(ss, key);
	b = client_bucket(t, key);
	for (cl = *b; cl; cl = cl->next)
		if (memcmp(cl->addr, key, 16) == 0)
			break;
	if (!cl) {
		cl = calloc(1, sizeof(*cl));
		if (!cl)
			return NULL;
		memcpy(cl->addr, key, 16);
		cl->next = *b;
		*b = cl;
	}
	cl->conns++;
	return cl;
}

static void client_put(struct dp_tcp *t, struct tcp_client *cl)
{
	if (!cl || --cl->conns)
		return;
	for (struct tcp_client **p = client_bucket(t, cl->addr); *p;
	     p = &(*p)->next) {
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	}
	free(cl);
}

/* ---- connections --------------------------------------------------------- */

static size_t conn_queued(const struct tcp_conn *c)
{
	return c->wend - c->whead;
}

/* A whole frame (or a runt length, which ends the connection) is buffered. */
static bool conn_has_frame(const struct tcp_conn *c)
{
	return c->rlen >= 2 && c->rlen >= 2u + dns_get16(c->rbuf);
}

static bool conn_wants_read(const struct tcp_conn *c)
{
	return !c->eof && !c->finishing && conn_queued(c) <= TCP_OUT_CAP;
}

/* The connection idle longest, and the oldest (lists not empty). */
static struct tcp_conn *conn_idlest(struct dp_tcp *t)
{
	return TCP_CONTAINER(t->idle.next, struct tcp_conn, idle);
}

static struct tcp_conn *conn_oldest(struct dp_tcp *t)
{
	return TCP_CONTAINER(t->age.next, struct tcp_conn, age);
}

static void conn_touch(struct dp_tcp *t, struct tcp_conn *c, uint64_t now)
{
	c->active_ms = now;
	cds_list_del(&c->idle);
	cds_list_add_tail(&c->idle, &t->idle);
}

static void conn_close(struct dp_tcp *t, struct tcp_conn *c)
{
	close(c->ep.fd);	/* also leaves the epoll set */
	cds_list_del(&c->idle);
	cds_list_del(&c->age);
	client_put(t, c->client);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
	t->n_open--;
	__atomic_store_n(&t->stats.open, t->n_open, __ATOMIC_RELAXED);
}

/* Close after the last answer: input the client sent meanwhile is read and
 * discarded first, because closing with unread input makes the kernel send
 * a reset, which can destroy answers still on their way to the client. */
static void conn_close_gracefully(struct dp_tcp *t, struct tcp_conn *c)
{
	for (int i = 0; i < 16; i++)
		if (recv(c->ep.fd, t->resp, sizeof(t->resp), 0) <= 0)
			break;
	conn_close(t, c);
}

static int wq_append(struct tcp_conn *c, const uint8_t *data, size_t len)
{
	if (c->wend + len > c->wcap && c->whead) {
		memmove(c->wbuf, c->wbuf + c->whead, conn_queued(c));
		c->wend -= c->whead;
		c->whead = 0;
	}
	if (c->wend + len > c->wcap) {
		size_t cap = c->wcap ? c->wcap * 2 : 4096;
		while (cap < c->wend + len)
			cap *= 2;
		uint8_t *p = realloc(c->wbuf, cap);
		if (!p)
			return -ENOMEM;
		c->wbuf = p;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wend, data, len);
	c->wend += len;
	return 0;
}

/* Hand queued output to the kernel; 0, or -errno when the connection is
 * broken. */
static int conn_flush(struct dp_tcp *t, struct tcp_conn *c, uint64_t now)
{
	while (conn_queued(c)) {
		ssize_t n = send(c->ep.fd, c->wbuf + c->whead, conn_queued(c),
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->whead += (size_t)n;
		/* A client reading a long answer slowly is not idle. */
		conn_touch(t, c, now);
	}
	c->whead = c->wend = 0;
	if (c->wcap > TCP_WBUF_KEEP) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = 0;
	}
	return 0;
}

/* One recv(); 0, or -1 when the connection was closed. */
static int conn_read(struct dp_tcp *t, struct tcp_conn *c)
{
	size_t need = c->rlen >= 2 ? 2u + dns_get16(c->rbuf) : 0;

	if (need < TCP_RBUF_MIN)
		need = TCP_RBUF_MIN;
	if (need > c->rcap) {
		uint8_t *p = realloc(c->rbuf, need);
		if (!p) {
			TCP_STAT_INC(t, errors);
			conn_close(t, c);
			return -1;
		}
		c->rbuf = p;
		c->rcap = need;
	}
	if (c->rlen == c->rcap)
		return 0;	/* whole frames wait for output room */

	ssize_t n = recv(c->ep.fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	if (n > 0) {
		c->rlen += (size_t)n;
	} else if (n == 0) {
		c->eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		TCP_STAT_INC(t, errors);
		conn_close(t, c);
		return -1;
	}
	return 0;
}

/* Answer the buffered frames in order, while output has room. */
static void conn_process(struct dp_tcp *t, struct tcp_conn *c, uint64_t now)
{
	size_t off = 0;

	while (!c->finishing && conn_queued(c) <= TCP_OUT_CAP &&
	       c->rlen - off >= 2) {
		size_t qlen = dns_get16(c->rbuf + off);
		if (qlen < DNS_HDR_LEN) {
			/* Not a DNS message: the stream cannot be trusted. */
			TCP_STAT_INC(t, errors);
			c->finishing = true;
			break;
		}
		if (c->rlen - off < 2 + qlen)
			break;

		const uint8_t *q = c->rbuf + off + 2;
		const struct ditto_zone_table *zones;
		struct ditto_answer_info info;

		off += 2 + qlen;
		c->queries++;
		conn_touch(t, c, now);
		TCP_STAT_INC(t, queries);
		zones = rcu_dereference(*t->zones);
		/* Cookies over TCP too (RFC 7873 5.2): a server cookie for
		 * a client cookie; a bad one is no reason to refuse, as the
		 * connection itself proves the address. */
		struct ditto_client who = { .addr = c->addr,
					    .addr_len = c->addr_len,
					    .now = (uint32_t)time(NULL) };
		size_t n = ditto_answer_client(zones ? zones : t->empty,
					       rcu_dereference(*t->acfg),
					       c->addr_len ? &who : NULL, q,
					       qlen, t->resp + 2, TCP_MSG_MAX,
					       DITTO_ANSWER_TCP, &info);
		if (!n || (info.flags & DITTO_INFO_DROPPED)) {
			/* As Knot does: a query not worth an answer ends
			 * the connection (answers before it still go out). */
			TCP_STAT_INC(t, dropped);
			c->finishing = true;
			break;
		}
		dns_put16(t->resp, (unsigned)n);
		if (wq_append(c, t->resp, n + 2) < 0) {
			TCP_STAT_INC(t, errors);
			c->finishing = true;
			break;
		}
		TCP_STAT_INC(t, answers);
		if (t->cfg.max_queries_per_conn &&
		    c->queries >= t->cfg.max_queries_per_conn)
			c->finishing = true;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

/* Keep epoll's interest in step with what the connection can do now. */
static void conn_update(struct dp_tcp *t, struct tcp_conn *c)
{
	uint32_t want = (conn_wants_read(c) ? EPOLLIN : 0u) |
			(conn_queued(c) ? EPOLLOUT : 0u);

	if (want == c->events)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = &c->ep };
	if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->ep.fd, &ev) < 0) {
		TCP_STAT_INC(t, errors);
		conn_close(t, c);
		return;
	}
	c->events = want;
}

/* Answer what is buffered, send what is queued, and decide what to wait
 * for next. c may be freed on return. */
static void conn_run(struct dp_tcp *t, struct tcp_conn *c, uint64_t now)
{
	for (;;) {
		conn_process(t, c, now);
		if (conn_flush(t, c, now) < 0) {
			TCP_STAT_INC(t, errors);
			conn_close(t, c);
			return;
		}
		/* The kernel took enough to make room for frames that were
		 * waiting: answer them now rather than after another turn. */
		if (c->finishing || conn_queued(c) > TCP_OUT_CAP ||
		    !conn_has_frame(c))
			break;
	}
	/* The client closed its side: what is left is a partial frame. */
	if (c->eof && !conn_has_frame(c))
		c->finishing = true;
	if (c->finishing && !conn_queued(c)) {
		conn_close_gracefully(t, c);
		return;
	}
	conn_update(t, c);
}

static void conn_event(struct dp_tcp *t, struct tcp_conn *c, uint32_t events,
		       uint64_t now)
{
	if (events & EPOLLERR) {
		TCP_STAT_INC(t, errors);
		conn_close(t, c);
		return;
	}
	if (events & EPOLLIN) {
		if (conn_read(t, c) < 0)
			return;
	} else if (events & EPOLLHUP) {
		/* Both directions are gone: nothing could be delivered. */
		conn_close(t, c);
		return;
	}
	conn_run(t, c, now);
}

/* The client's address as the UDP path sees it (RFC 9018 server cookies
 * hash it): IPv4 in 4 bytes, also when it reaches a dual-stack socket. */
static void conn_address(struct tcp_conn *c, const struct sockaddr_storage *ss)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		memcpy(c->addr, &a->sin_addr, 4);
		c->addr_len = 4;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		const uint8_t *b = a->sin6_addr.s6_addr;
		bool v4 = memcmp(b, mapped, 12) == 0;
		memcpy(c->addr, v4 ? b + 12 : b, v4 ? 4 : 16);
		c->addr_len = v4 ? 4 : 16;
	}
}

/* ---- accepting ----------------------------------------------------------- */

static void tcp_accept_arm(struct dp_tcp *t, bool on, uint64_t now)
{
	for (unsigned i = 0; i < t->n_listen; i++) {
		struct epoll_event ev = { .events = on ? EPOLLIN : 0u,
					  .data.ptr = &t->listen[i] };
		epoll_ctl(t->epfd, EPOLL_CTL_MOD, t->listen[i].fd, &ev);
	}
	t->accept_paused = !on;
	t->accept_resume_ms = now + TCP_ACCEPT_PAUSE_MS;
}

static void tcp_admit(struct dp_tcp *t, int fd,
		      const struct sockaddr_storage *ss, uint64_t now)
{
	struct tcp_client *cl = NULL;
	struct tcp_conn *c;

	if (t->n_open >= t->cfg.max_conns)
		goto refuse;
	if (t->cfg.max_conns_per_client) {
		cl = client_get(t, ss);
		if (!cl)
			goto fail;
		if (cl->conns > t->cfg.max_conns_per_client)
			goto refuse;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->ep.kind = TCP_EP_CONN;
	c->ep.fd = fd;
	c->client = cl;
	c->started_ms = c->active_ms = now;
	conn_address(c, ss);
	c->events = EPOLLIN;

	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->ep };
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		goto fail;
	}
	/* Every write is whole messages; Nagle would only hold back the
	 * answer to a pipelined query behind the ACK of the one before. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cds_list_add_tail(&c->idle, &t->idle);
	cds_list_add_tail(&c->age, &t->age);
	t->n_open++;
	TCP_STAT_INC(t, accepted);
	__atomic_store_n(&t->stats.open, t->n_open, __ATOMIC_RELAXED);
	return;

refuse:
	/* Accept and close at once: the client learns now instead of
	 * waiting in the backlog, and the backlog stays free. */
	TCP_STAT_INC(t, refused);
	client_put(t, cl);
	close(fd);
	return;
fail:
	TCP_STAT_INC(t, errors);
	client_put(t, cl);
	close(fd);
}

static void tcp_accept(struct dp_tcp *t, int lfd, uint64_t now)
{
	for (unsigned i = 0; i < TCP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			tcp_admit(t, fd, &ss, now);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		TCP_STAT_INC(t, errors);
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* The listener stays readable, so without a pause
			 * the loop would spin until a descriptor frees. */
			tcp_accept_arm(t, false, now);
			return;
		}
		/* Others are errors of that one pending connection. */
	}
}

/* ---- the thread ---------------------------------------------------------- */

/* Close connections past their deadlines: heads of the ordered lists. */
static void tcp_expire(struct dp_tcp *t, uint64_t now)
{
	while (!cds_list_empty(&t->idle)) {
		struct tcp_conn *c = conn_idlest(t);
		if (c->active_ms + t->cfg.idle_timeout_ms > now)
			break;
		TCP_STAT_INC(t, closed_idle);
		conn_close(t, c);
	}
	while (t->cfg.max_conn_time_ms && !cds_list_empty(&t->age)) {
		struct tcp_conn *c = conn_oldest(t);
		if (c->started_ms + t->cfg.max_conn_time_ms > now)
			break;
		TCP_STAT_INC(t, closed_idle);
		conn_close(t, c);
	}
	if (t->accept_paused && now >= t->accept_resume_ms)
		tcp_accept_arm(t, true, now);
}

/* Milliseconds until the next deadline, -1 for none. */
static int tcp_timeout(struct dp_tcp *t, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (!cds_list_empty(&t->idle))
		next = conn_idlest(t)->active_ms + t->cfg.idle_timeout_ms;
	if (t->cfg.max_conn_time_ms && !cds_list_empty(&t->age)) {
		uint64_t d = conn_oldest(t)->started_ms +
			     t->cfg.max_conn_time_ms;
		if (d < next)
			next = d;
	}
	if (t->accept_paused && t->accept_resume_ms < next)
		next = t->accept_resume_ms;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return next - now > 3600000u ? 3600000 : (int)(next - now);
}

static void tcp_event(struct dp_tcp *t, const struct epoll_event *ev,
		      uint64_t now)
{
	struct tcp_ep *ep = ev->data.ptr;
	uint64_t v;
	ssize_t n;

	switch (ep->kind) {
	case TCP_EP_WAKE:
		/* Only dp_tcp_stop() writes it, and the stop flag is checked
		 * at the top of the loop: the value does not matter. */
		n = read(ep->fd, &v, sizeof(v));
		(void)n;
		break;
	case TCP_EP_LISTEN:
		tcp_accept(t, ep->fd, now);
		break;
	case TCP_EP_CONN:
		conn_event(t, TCP_CONTAINER(ep, struct tcp_conn, ep),
			   ev->events, now);
		break;
	}
}

static void *tcp_thread(void *arg)
{
	struct dp_tcp *t = arg;
	struct epoll_event evs[TCP_EVENTS];

	rcu_register_thread();
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		int timeout = tcp_timeout(t, now_ms());

		/* Offline while asleep: a table swap need not wait for
		 * clients to speak. */
		rcu_thread_offline();
		int n = epoll_wait(t->epfd, evs, TCP_EVENTS, timeout);
		rcu_thread_online();

		uint64_t now = now_ms();
		for (int i = 0; i < n; i++)
			tcp_event(t, &evs[i], now);
		tcp_expire(t, now);
		/* No table pointer is kept from one turn to the next. */
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

static void tcp_free(struct dp_tcp *t)
{
	while (!cds_list_empty(&t->age))
		conn_close(t, conn_oldest(t));
	for (unsigned i = 0; i < t->n_listen; i++)
		close(t->listen[i].fd);
	if (t->wake.fd >= 0)
		close(t->wake.fd);
	if (t->epfd >= 0)
		close(t->epfd);
	free(t->clients);	/* empty: every connection is closed */
	if (t->empty)
		ditto_zone_table_free(t->empty);
	free(t);
}

static int tcp_listen(struct dp_tcp *t, const struct sockaddr_storage *addr,
		      char *err, size_t errlen)
{
	struct sockaddr_storage sa = *addr;
	char text[INET6_ADDRSTRLEN] = "?";
	const char *what;
	socklen_t len;
	int one = 1, fd = -1, rc;

	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
		sin->sin_port = htons(t->cfg.port);
		len = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
		sin6->sin6_port = htons(t->cfg.port);
		len = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
	} else {
		snprintf(err, errlen, "listen address of family %u is neither "
			 "IPv4 nor IPv6", sa.ss_family);
		return -EAFNOSUPPORT;
	}

	what = "socket";
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_TCP);
	if (fd < 0)
		goto fail;
	what = "SO_REUSEADDR on";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (sa.ss_family == AF_INET6) {
		/* The IPv4 addresses get sockets of their own. */
		what = "IPV6_V6ONLY on";
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			       sizeof(one)) < 0)
			goto fail;
		/* Service addresses may appear on the exception interface
		 * after we start; IP_FREEBIND covers IPv6 on kernels older
		 * than 4.15. */
		what = "IPV6_FREEBIND on";
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one,
			       sizeof(one)) < 0 &&
		    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one,
			       sizeof(one)) < 0)
			goto fail;
	} else {
		what = "IP_FREEBIND on";
		if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one,
			       sizeof(one)) < 0)
			goto fail;
	}
	what = "bind";
	if (bind(fd, (struct sockaddr *)&sa, len) < 0)
		goto fail;
	what = "listen on";
	if (listen(fd, SOMAXCONN) < 0)
		goto fail;

	struct tcp_ep *ep = &t->listen[t->n_listen];
	ep->kind = TCP_EP_LISTEN;
	ep->fd = fd;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ep };
	what = "epoll for";
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	t->n_listen++;
	return 0;

fail:
	rc = -errno;
	snprintf(err, errlen, "%s %s port %u: %s", what, text, t->cfg.port,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int tcp_check_cfg(const struct dp_tcp_cfg *cfg, char *err,
			 size_t errlen)
{
	if (cfg->n_addrs == 0 || cfg->n_addrs > DP_TCP_MAX_LISTEN) {
		snprintf(err, errlen, "DNS over TCP needs 1 to %u listen "
			 "addresses, not %u", DP_TCP_MAX_LISTEN, cfg->n_addrs);
		return -EINVAL;
	}
	if (cfg->max_conns == 0) {
		snprintf(err, errlen, "DNS over TCP needs max_conns above 0");
		return -EINVAL;
	}
	if (cfg->idle_timeout_ms == 0) {
		snprintf(err, errlen, "DNS over TCP needs an idle timeout "
			 "above 0 ms");
		return -EINVAL;
	}
	return 0;
}

int dp_tcp_start(const struct dp_tcp_cfg *cfg,
		 struct ditto_zone_table *const *zones,
		 const struct ditto_answer_cfg *const *acfg, struct dp_tcp **out,
		 char *err, size_t errlen)
{
	struct dp_tcp *t;
	sigset_t all, old;
	int rc;

	*out = NULL;
	rc = tcp_check_cfg(cfg, err, errlen);
	if (rc < 0)
		return rc;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "DNS over TCP: out of memory");
		return -ENOMEM;
	}
	t->cfg = *cfg;
	t->zones = zones;
	t->acfg = acfg;
	t->epfd = -1;
	t->wake.kind = TCP_EP_WAKE;
	t->wake.fd = -1;
	CDS_INIT_LIST_HEAD(&t->idle);
	CDS_INIT_LIST_HEAD(&t->age);

	rc = -ENOMEM;
	t->empty = ditto_zone_table_new();
	if (!t->empty)
		goto nomem;
	if (cfg->max_conns_per_client) {
		uint32_t n = 16;
		while (n < cfg->max_conns && n < TCP_CLIENT_BUCKETS_MAX)
			n *= 2;
		t->clients = calloc(n, sizeof(*t->clients));
		if (!t->clients)
			goto nomem;
		t->client_mask = n - 1;
		if (getrandom(t->client_key, sizeof(t->client_key), 0) !=
		    sizeof(t->client_key)) {
			rc = -errno;
			snprintf(err, errlen, "DNS over TCP: getrandom: %s",
				 strerror(errno));
			goto fail;
		}
	}

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->wake.fd = t->epfd < 0 ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->wake.fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "DNS over TCP: %s: %s",
			 t->epfd < 0 ? "epoll_create1" : "eventfd",
			 strerror(errno));
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &t->wake };
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake.fd, &ev) < 0) {
		rc = -errno;
		snprintf(err, errlen, "DNS over TCP: epoll_ctl: %s",
			 strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		rc = tcp_listen(t, &cfg->addrs[i], err, errlen);
		if (rc < 0)
			goto fail;
	}

	/* Signals belong to the main thread: the new thread inherits a
	 * mask that blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&t->thread, NULL, tcp_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		snprintf(err, errlen, "DNS over TCP: pthread_create: %s",
			 strerror(-rc));
		goto fail;
	}
	pthread_setname_np(t->thread, "ditto-tcp");
	t->running = true;
	*out = t;
	return 0;

nomem:
	snprintf(err, errlen, "DNS over TCP: out of memory");
fail:
	tcp_free(t);
	return rc;
}

void dp_tcp_stats_get(const struct dp_tcp *t, struct dp_tcp_stats *out)
{
	out->accepted = __atomic_load_n(&t->stats.accepted, __ATOMIC_RELAXED);
	out->refused = __atomic_load_n(&t->stats.refused, __ATOMIC_RELAXED);
	out->closed_idle = __atomic_load_n(&t->stats.closed_idle,
					   __ATOMIC_RELAXED);
	out->queries = __atomic_load_n(&t->stats.queries, __ATOMIC_RELAXED);
	out->answers = __atomic_load_n(&t->stats.answers, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&t->stats.dropped, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&t->stats.errors, __ATOMIC_RELAXED);
	out->open = __atomic_load_n(&t->stats.open, __ATOMIC_RELAXED);
}

void dp_tcp_stop(struct dp_tcp *t)
{
	uint64_t one = 1;
	ssize_t n;

	if (!t)
		return;
	if (t->running) {
		__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
		/* An eventfd write only fails when the counter would
		 * overflow, and then the thread is awake anyway. */
		n = write(t->wake.fd, &one, sizeof(one));
		(void)n;
		pthread_join(t->thread, NULL);
	}
	tcp_free(t);
}
