/* DNS over TCP on the management addresses: connections a primary opens
 * to send NOTIFY (Knot DNS does) and downstream secondaries open to
 * transfer (xfrout.c), read frame by frame in the event loop. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "server.h"

#define TCP_CONNS_MAX 65536	/* the most control: tcp-connections allows */
#define FRAME_MAX (65535 + 2)

struct tcp_conn {
	struct watch w;
	struct sockaddr_storage from;
	time_t last;
	size_t got;
	uint8_t buf[FRAME_MAX];
};

static struct tcp_conn **conns;	/* conf->tcp_connections slots */
static size_t n_slots;

/* Forget a connection; its socket is closed unless a transfer thread
 * took it. */
static void conn_drop(struct server *s, struct tcp_conn *c, bool close_fd)
{
	for (size_t i = 0; i < n_slots; i++)
		if (conns[i] == c)
			conns[i] = NULL;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->w.fd, NULL);
	if (close_fd)
		close(c->w.fd);
	free(c);
}

static void conn_close(struct server *s, struct tcp_conn *c)
{
	conn_drop(s, c, true);
}

int tcp_send_frame(int fd, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	const uint8_t *parts[2] = { hdr, msg };
	size_t lens[2] = { 2, len };

	for (int k = 0; k < 2; k++) {
		size_t off = 0;

		while (off < lens[k]) {
			ssize_t w = send(fd, parts[k] + off, lens[k] - off,
					 MSG_NOSIGNAL);
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN && poll(&p, 1, 1000) == 1)
				continue;
			return -1;
		}
	}
	return 0;
}

static bool same_host(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
		      16) == 0;
}

static void conn_read(struct server *s, struct watch *w)
{
	struct tcp_conn *c = (struct tcp_conn *)w;
	static uint8_t resp[65535];

	for (;;) {
		ssize_t r = recv(c->w.fd, c->buf + c->got,
				 sizeof(c->buf) - c->got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			conn_close(s, c);
			return;
		}
		c->got += (size_t)r;
		c->last = time(NULL);
		while (c->got >= 2) {
			size_t len = (size_t)c->buf[0] << 8 | c->buf[1], rlen;

			if (c->got < len + 2)
				break;
			enum xfrout_rc x = xfrout_handle(s, c->w.fd, c->buf + 2,
							 len, &c->from);

			if (x == XFROUT_DETACHED) {
				/* What the peer sends after its transfer
				 * request is not read. */
				conn_drop(s, c, false);
				return;
			}
			rlen = x == XFROUT_ANSWERED ? 0 :
			       notify_answer(s, c->buf + 2, len, &c->from,
					     resp, sizeof(resp));
			if (rlen && tcp_send_frame(c->w.fd, resp, rlen) < 0) {
				conn_close(s, c);
				return;
			}
			memmove(c->buf, c->buf + 2 + len, c->got - 2 - len);
			c->got -= 2 + len;
		}
	}
}

static void tcp_accept(struct server *s, struct watch *w)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	int fd = accept4(w->fd, (struct sockaddr *)&from, &fl,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct tcp_conn *c;
	size_t i;

	if (fd < 0)
		return;
	size_t same = 0, free_at = n_slots;

	for (i = 0; i < n_slots; i++) {
		if (!conns[i]) {
			if (free_at == n_slots)
				free_at = i;
		} else if (same_host(&conns[i]->from, &from)) {
			same++;
		}
	}
	i = free_at;
	if (i == n_slots || same >= s->conf->tcp_connections_per_client) {
		s->tcp_refused++;
		if (log_ok(&s->tcp_refused_log))
			clog_msg(LOG_WARNING, "management TCP connection refused: "
				 "%s (%llu refused so far)", i == n_slots ?
				 "control: tcp-connections reached" :
				 "control: tcp-connections-per-client reached",
				 (unsigned long long)s->tcp_refused);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w.fd = fd;
	c->w.fn = conn_read;
	c->from = from;
	c->last = time(NULL);
	if (server_watch(s, &c->w) != 0) {
		close(fd);
		free(c);
		return;
	}
	conns[i] = c;
}

void tcp_expire(struct server *s, time_t now)
{
	for (size_t i = 0; i < n_slots; i++)
		if (conns[i] && now - conns[i]->last > s->conf->tcp_timeout)
			conn_close(s, conns[i]);
}

int tcp_listen(struct server *s)
{
	n_slots = s->conf->tcp_connections < TCP_CONNS_MAX ?
		  s->conf->tcp_connections : TCP_CONNS_MAX;
	conns = calloc(n_slots, sizeof(*conns));
	if (!conns)
		return -1;
	s->tcp_watch = calloc(s->conf->n_listen + 1, sizeof(*s->tcp_watch));
	if (!s->tcp_watch)
		return -1;
	for (size_t i = 0; i < s->conf->n_listen; i++) {
		const struct cconf_addr *a = &s->conf->listen[i];
		int one = 1, fd = socket(a->ss.ss_family, SOCK_STREAM |
					 SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
			if (a->ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
					   sizeof(one));
		}
		if (fd < 0 || bind(fd, (const struct sockaddr *)&a->ss,
				   a->len) != 0 || listen(fd, 64) != 0) {
			clog_msg(LOG_ERR, "management address %s (TCP): %s",
				 a->text, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		s->tcp_watch[i].fd = fd;
		s->tcp_watch[i].fn = tcp_accept;
		if (server_watch(s, &s->tcp_watch[i]) != 0)
			return -1;
		s->n_tcp++;
	}
	return 0;
}

void tcp_close_all(struct server *s)
{
	for (size_t i = 0; i < n_slots; i++)
		if (conns[i])
			conn_close(s, conns[i]);
	for (size_t i = 0; i < s->n_tcp; i++)
		close(s->tcp_watch[i].fd);
	free(s->tcp_watch);
	s->tcp_watch = NULL;
	s->n_tcp = 0;
	free(conns);
	conns = NULL;
	n_slots = 0;
}
