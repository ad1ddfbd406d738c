/* NOTIFY (RFC 1996) sent to a zone's downstream secondaries when a new
 * serial is published (and when an operator asks): to every address of
 * every remote in the zone's notify list, signed with the remote's key,
 * over UDP from the remote's `via` address when it has one, sent again
 * after 1, 2, 4... seconds until an answer comes or notify-retries are
 * spent. The answer must come from the address notified, carry the id and
 * verify under TSIG when the remote has a key. A newer serial replaces a
 * NOTIFY still waiting for the same target.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ditto/wire.h"
#include "server.h"

#define DNS_OP_NOTIFY 4
#define MSG_MAX 4096
#define FIRST_WAIT_MS 1000

struct nout {
	struct nout *next;
	struct czone *z;
	const struct cconf_remote *r;
	size_t addr;			/* index in r->addrs */
	struct nsock *sock;
	uint32_t serial;
	uint16_t id;
	unsigned sent;			/* times sent */
	uint64_t due_ms;		/* next send */
	struct tsig_ctx tc;		/* of the last one sent */
};

/* A socket NOTIFYs leave from: one per family and source address. */
struct nsock {
	struct watch w;			/* first: the event loop's handle */
	struct nsock *next;
	int family;
	bool have_via;
	struct sockaddr_storage via;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool same_addr(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void nsock_read(struct server *s, struct watch *w);

static struct nsock *nsock_for(struct server *s, const struct cconf_remote *r,
			       size_t a)
{
	int family = r->addrs[a].ss.ss_family;
	struct nsock *n;

	for (n = s->nsocks; n; n = n->next)
		if (n->family == family && n->have_via == r->have_via &&
		    (!r->have_via || same_addr(&n->via, &r->via.ss)))
			return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->family = family;
	n->have_via = r->have_via;
	n->w.fn = nsock_read;
	n->w.fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->have_via)
		n->via = r->via.ss;
	if (n->w.fd < 0 ||
	    (r->have_via && (r->via.ss.ss_family != family ||
			     bind(n->w.fd, (const struct sockaddr *)&r->via.ss,
				  r->via.len) != 0)) ||
	    server_watch(s, &n->w) != 0) {
		clog_msg(LOG_ERR, "NOTIFY to %s %s: no socket%s%s: %s", r->id,
			 r->addrs[a].text, r->have_via ? " from " : "",
			 r->have_via ? r->via.text : "", strerror(errno));
		if (n->w.fd >= 0)
			close(n->w.fd);
		free(n);
		return NULL;
	}
	n->next = s->nsocks;
	s->nsocks = n;
	return n;
}

static void nout_free(struct nout *n)
{
	tsig_ctx_free(&n->tc);
	free(n);
}

/* Build, sign and send n once more. */
static void nout_send(struct server *s, struct nout *n, uint64_t now)
{
	uint8_t m[MSG_MAX];
	struct ditto_wire_rr soa;
	const struct cconf_zone *zc = n->z->conf;
	size_t p = DNS_HDR_LEN;

	(void)s;
	n->sent++;
	n->due_ms = now + ((uint64_t)FIRST_WAIT_MS
			   << (n->sent - 1 < 6 ? n->sent - 1 : 6));
	if (!n->z->contents || !contents_soa_rr(n->z->contents, &soa) ||
	    p + zc->wire_len + 4 + 12 + soa.rdlen > sizeof(m) - 512)
		return;
	memset(m, 0, DNS_HDR_LEN);
	dns_put16(m, n->id);
	dns_put16(m + 2, (DNS_OP_NOTIFY << 11) | DNS_F_AA);
	dns_put16(m + 4, 1);
	dns_put16(m + 6, 1);
	memcpy(m + p, zc->wire, zc->wire_len);
	p += zc->wire_len;
	dns_put16(m + p, DNS_T_SOA);
	dns_put16(m + p + 2, DNS_CLASS_IN);
	p += 4;
	dns_put16(m + p, 0xc000 | DNS_HDR_LEN);
	dns_put16(m + p + 2, DNS_T_SOA);
	dns_put16(m + p + 4, DNS_CLASS_IN);
	dns_put32(m + p + 6, soa.ttl);
	dns_put16(m + p + 10, (unsigned)soa.rdlen);
	memcpy(m + p + 12, soa.rdata, soa.rdlen);
	p += 12 + soa.rdlen;
	tsig_ctx_free(&n->tc);
	tsig_ctx_init(&n->tc, n->r->key);
	if (n->r->key &&
	    tsig_sign(&n->tc, m, &p, sizeof(m), (uint64_t)time(NULL), 0) != 0)
		return;
	if (sendto(n->sock->w.fd, m, p, 0,
		   (const struct sockaddr *)&n->r->addrs[n->addr].ss,
		   n->r->addrs[n->addr].len) < 0)
		clog_msg(LOG_WARNING, "zone %s: NOTIFY to %s %s: %s",
			 n->z->name, n->r->id, n->r->addrs[n->addr].text,
			 strerror(errno));
}

unsigned notify_zone(struct server *s, struct czone *z)
{
	const struct cconf_zone *zc = z->conf;
	uint64_t now = mono_ms();
	unsigned queued = 0;

	if (!z->contents)
		return 0;
	for (size_t i = 0; i < zc->n_notify; i++) {
		const struct cconf_remote *r = zc->notify[i];

		for (size_t a = 0; a < r->n_addrs; a++) {
			struct nout *n;

			for (n = s->nouts; n; n = n->next)
				if (n->z == z && n->r == r && n->addr == a)
					break;
			if (!n) {
				struct nsock *sock = nsock_for(s, r, a);

				if (!sock || !(n = calloc(1, sizeof(*n))))
					continue;
				n->z = z;
				n->r = r;
				n->addr = a;
				n->sock = sock;
				tsig_ctx_init(&n->tc, NULL);
				n->next = s->nouts;
				s->nouts = n;
			}
			if (getrandom(&n->id, sizeof(n->id), 0) != sizeof(n->id))
				n->id = (uint16_t)(now * 40503u + a);
			n->serial = z->serial;
			n->sent = 0;
			nout_send(s, n, now);
			queued++;
		}
	}
	if (queued)
		clog_msg(LOG_INFO, "zone %s: NOTIFY of serial %u to %u "
			 "downstream address%s", z->name, z->serial, queued,
			 queued == 1 ? "" : "es");
	return queued;
}

void notify_tick(struct server *s)
{
	uint64_t now = mono_ms();
	struct nout **pp = &s->nouts;

	while (*pp) {
		struct nout *n = *pp;

		if (now < n->due_ms) {
			pp = &n->next;
			continue;
		}
		if (n->sent > s->conf->notify_retries) {
			n->z->notifies_out_failed++;
			clog_msg(LOG_WARNING, "zone %s: NOTIFY of serial %u to %s "
				 "%s: no answer after %u tries", n->z->name,
				 n->serial, n->r->id, n->r->addrs[n->addr].text,
				 n->sent);
			*pp = n->next;
			nout_free(n);
			continue;
		}
		nout_send(s, n, now);
		pp = &n->next;
	}
}

static void nsock_read(struct server *s, struct watch *w)
{
	struct nsock *sock = (struct nsock *)w;
	uint8_t m[MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t r = recvfrom(w->fd, m, sizeof(m), 0, (struct sockaddr *)&from,
			     &fl);
	struct nout **pp;
	size_t len;

	if (r < DNS_HDR_LEN)
		return;
	len = (size_t)r;
	if (!(dns_get16(m + 2) & DNS_F_QR) ||
	    DNS_OPCODE(dns_get16(m + 2)) != DNS_OP_NOTIFY)
		return;
	for (pp = &s->nouts; *pp; pp = &(*pp)->next) {
		struct nout *n = *pp;

		if (n->sock != sock || n->id != dns_get16(m) ||
		    !same_addr(&from, &n->r->addrs[n->addr].ss))
			continue;
		if (n->r->key) {
			enum tsig_result tr = tsig_verify(&n->tc, NULL, 0, m,
							  &len,
							  (uint64_t)time(NULL));

			if (tr != TSIG_OK) {
				/* Not the answer: wait for a good one. */
				clog_msg(LOG_WARNING, "zone %s: answer to NOTIFY "
					 "from %s %s ignored: TSIG %s",
					 n->z->name, n->r->id,
					 n->r->addrs[n->addr].text,
					 tsig_result_str(tr));
				return;
			}
		}
		unsigned rcode = dns_get16(m + 2) & 0xf;

		if (rcode == DNS_R_NOERROR) {
			n->z->notifies_out++;
			clog_msg(LOG_INFO, "zone %s: NOTIFY of serial %u "
				 "answered by %s %s", n->z->name, n->serial,
				 n->r->id, n->r->addrs[n->addr].text);
		} else {
			n->z->notifies_out_failed++;
			clog_msg(LOG_WARNING, "zone %s: NOTIFY of serial %u "
				 "refused by %s %s (rcode %u)", n->z->name,
				 n->serial, n->r->id, n->r->addrs[n->addr].text,
				 rcode);
		}
		*pp = n->next;
		nout_free(n);
		return;
	}
}

void notify_forget(struct server *s, const struct czone *z)
{
	struct nout **pp = &s->nouts;

	while (*pp) {
		struct nout *n = *pp;

		if (n->z == z) {
			*pp = n->next;
			nout_free(n);
		} else {
			pp = &n->next;
		}
	}
}

void notify_out_close(struct server *s)
{
	while (s->nouts) {
		struct nout *n = s->nouts;

		s->nouts = n->next;
		nout_free(n);
	}
	while (s->nsocks) {
		struct nsock *n = s->nsocks;

		s->nsocks = n->next;
		close(n->w.fd);
		free(n);
	}
}
