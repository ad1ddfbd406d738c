/* SOA queries and zone transfers from a primary (see xfr.h): the sockets,
 * the messages, and the record stream of AXFR and IXFR. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ditto/error.h"
#include "ditto/wire.h"
#include "xfr.h"

#define MSG_MAX 65535
#define EDNS_EXPIRE 9
#define EDNS_PAYLOAD 1232
#define SOA_TRIES 3

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- sockets with deadlines ------------------------------------------- */

/* Wait for events on fd until the deadline (monotonic ms): 1 ready, 0
 * timed out, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = { .fd = fd, .events = events };

		if (now >= deadline)
			return 0;
		int r = poll(&p, 1, (int)(deadline - now));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		return 1;
	}
}

static int open_socket(const struct xfr_peer *p, int type)
{
	int fd = socket(p->addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -1;
	if (p->src && bind(fd, p->src, p->src_len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_connect(const struct xfr_peer *p, uint64_t deadline,
		       char *err, size_t errlen)
{
	int fd = open_socket(p, SOCK_STREAM), soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return fail(err, errlen, DITTO_EIO, "socket: %s",
			    strerror(errno));
	if (connect(fd, p->addr, p->addr_len) != 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		return fail(err, errlen, DITTO_EIO, "connect: %s", strerror(e));
	}
	if (wait_fd(fd, POLLOUT, deadline) != 1) {
		close(fd);
		return fail(err, errlen, DITTO_EIO, "connect: timed out");
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		close(fd);
		return fail(err, errlen, DITTO_EIO, "connect: %s",
			    strerror(soerr ? soerr : errno));
	}
	return fd;
}

static int send_all(int fd, const uint8_t *b, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(fd, POLLOUT, deadline) == 1)
			continue;
		return -1;
	}
	return 0;
}

/* Read exactly n bytes: 0, 1 when the peer closed before the first byte,
 * -1 on error or timeout (a silence longer than io_ms, or the deadline). */
static int recv_exact(int fd, uint8_t *b, size_t n, uint64_t deadline,
		      unsigned io_ms)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, b + got, n - got, 0);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			return got == 0 ? 1 : -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		uint64_t d = now_ms() + io_ms;

		if (wait_fd(fd, POLLIN, d < deadline ? d : deadline) != 1)
			return -1;
	}
	return 0;
}

/* ---- messages ------------------------------------------------------------ */

/* A query for apex/qtype; with soa (IXFR) in the authority section and an
 * OPT asking for EXPIRE when want_expire. Returns the length. */
static size_t build_query(uint8_t *m, uint16_t id, const uint8_t *apex,
			  size_t apex_len, uint16_t qtype, uint16_t opcode,
			  const struct ditto_wire_rr *soa, bool want_expire)
{
	size_t p = DNS_HDR_LEN;

	memset(m, 0, DNS_HDR_LEN);
	dns_put16(m, id);
	dns_put16(m + 2, (unsigned)(opcode << 11));
	dns_put16(m + 4, 1);
	memcpy(m + p, apex, apex_len);
	p += apex_len;
	dns_put16(m + p, qtype);
	dns_put16(m + p + 2, DNS_CLASS_IN);
	p += 4;
	if (soa) {
		dns_put16(m + 8, 1);
		dns_put16(m + p, 0xc000 | DNS_HDR_LEN);	/* the apex */
		dns_put16(m + p + 2, DNS_T_SOA);
		dns_put16(m + p + 4, DNS_CLASS_IN);
		dns_put32(m + p + 6, soa->ttl);
		dns_put16(m + p + 10, (unsigned)soa->rdlen);
		memcpy(m + p + 12, soa->rdata, soa->rdlen);
		p += 12 + soa->rdlen;
	}
	if (want_expire) {
		dns_put16(m + 10, 1);
		m[p] = 0;
		dns_put16(m + p + 1, DNS_T_OPT);
		dns_put16(m + p + 3, EDNS_PAYLOAD);
		dns_put32(m + p + 5, 0);
		dns_put16(m + p + 9, 4);
		dns_put16(m + p + 11, EDNS_EXPIRE);
		dns_put16(m + p + 13, 0);
		p += 15;
	}
	return p;
}

static uint16_t random_id(void)
{
	uint16_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(now_ms() * 2654435761u);
	return id;
}

/* The EXPIRE option of a response's OPT, or -1. */
static int64_t edns_expire(const ldns_pkt *pkt)
{
	const ldns_rdf *d = ldns_pkt_edns_data(pkt);
	const uint8_t *o;
	size_t n;

	if (!d)
		return -1;
	o = ldns_rdf_data(d);
	n = ldns_rdf_size(d);
	for (size_t p = 0; p + 4 <= n;) {
		uint16_t code = dns_get16(o + p), len = dns_get16(o + p + 2);

		if (p + 4 + len > n)
			break;
		if (code == EDNS_EXPIRE && len == 4)
			return dns_get32(o + p + 4);
		p += 4u + len;
	}
	return -1;
}

/* A record ldns read, in wire form in buf (valid until buf is reused). */
static int wire_rr(const ldns_rr *rr, ldns_buffer *buf,
		   struct ditto_wire_rr *w)
{
	const ldns_rdf *o = ldns_rr_owner(rr);

	if (!o || ldns_rdf_size(o) == 0 || ldns_rdf_size(o) > 255)
		return DITTO_EINVAL;
	w->owner = ldns_rdf_data(o);
	w->owner_len = ldns_rdf_size(o);
	w->type = (uint16_t)ldns_rr_get_type(rr);
	w->rrclass = (uint16_t)ldns_rr_get_class(rr);
	w->ttl = ldns_rr_ttl(rr);
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > 65535)
		return DITTO_EINVAL;
	w->rdata = ldns_buffer_begin(buf);
	w->rdlen = ldns_buffer_position(buf);
	return 0;
}

static bool owner_is(const struct ditto_wire_rr *w, const uint8_t *apex,
		     size_t apex_len)
{
	uint8_t low[255];

	if (w->owner_len != apex_len)
		return false;
	dns_name_lower(low, w->owner, w->owner_len);
	return memcmp(low, apex, apex_len) == 0;
}

/* Check a response's header and TSIG, and parse it. msg is changed (the
 * TSIG record stripped). */
static int check_response(const uint8_t *apex, size_t apex_len, uint16_t id,
			  uint16_t qtype, bool first, struct tsig_ctx *tc,
			  uint64_t now, bool *is_signed, uint8_t *msg,
			  size_t *len, ldns_pkt **pkt, char *err, size_t errlen)
{
	uint16_t flags;

	*pkt = NULL;
	*is_signed = false;
	if (*len < DNS_HDR_LEN)
		return fail(err, errlen, DITTO_ETRUNC, "message of %zu bytes",
			    *len);
	flags = dns_get16(msg + 2);
	if (dns_get16(msg) != id || !(flags & DNS_F_QR))
		return fail(err, errlen, DITTO_EINVAL,
			    "answer with another id or not a response");
	if (tc->key) {
		enum tsig_result r = tsig_verify(tc, NULL, 0, msg, len, now);

		if (r == TSIG_OK)
			*is_signed = true;
		else if (r != TSIG_UNSIGNED || first || !tsig_unsigned_ok(tc))
			return fail(err, errlen, DITTO_EINVAL, "TSIG: %s",
				    r == TSIG_UNSIGNED ?
					    "message not signed" :
					    tsig_result_str(r));
	}
	if ((flags & 0xf) != DNS_R_NOERROR)
		return fail(err, errlen, DITTO_EINVAL, "primary answered %s",
			    ldns_lookup_by_id(ldns_rcodes, flags & 0xf) ?
				    ldns_lookup_by_id(ldns_rcodes,
						      flags & 0xf)->name :
				    "an error");
	if (ldns_wire2pkt(pkt, msg, *len) != LDNS_STATUS_OK)
		return fail(err, errlen, DITTO_EINVAL, "malformed message");
	/* RFC 5936 §2.2: later messages may leave the question out. */
	if (ldns_pkt_qdcount(*pkt) > 1 ||
	    (first && ldns_pkt_qdcount(*pkt) != 1))
		return fail(err, errlen, DITTO_EINVAL, "question count %u",
			    ldns_pkt_qdcount(*pkt));
	if (ldns_pkt_qdcount(*pkt) == 1) {
		const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(*pkt), 0);
		const ldns_rdf *o = ldns_rr_owner(q);
		uint8_t low[255];

		if (!o || ldns_rdf_size(o) != apex_len ||
		    (uint16_t)ldns_rr_get_type(q) != qtype)
			return fail(err, errlen, DITTO_EINVAL,
				    "answer to another question");
		dns_name_lower(low, ldns_rdf_data(o), apex_len);
		if (memcmp(low, apex, apex_len) != 0)
			return fail(err, errlen, DITTO_EINVAL,
				    "answer for another zone");
	}
	return 0;
}

/* ---- SOA query ------------------------------------------------------- */

static int soa_from(ldns_pkt *pkt, const uint8_t *apex, size_t apex_len,
		    uint32_t *serial, char *err, size_t errlen)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	ldns_buffer *buf = ldns_buffer_new(512);
	int rc = fail(err, errlen, DITTO_ENOENT, "no SOA in the answer");

	for (size_t i = 0; buf && i < ldns_rr_list_rr_count(an); i++) {
		struct ditto_wire_rr w;
		struct soa_fields f;

		if (wire_rr(ldns_rr_list_rr(an, i), buf, &w) < 0)
			continue;
		if (w.type == DNS_T_SOA && owner_is(&w, apex, apex_len) &&
		    soa_parse(w.rdata, w.rdlen, &f)) {
			*serial = f.serial;
			rc = 0;
			break;
		}
	}
	if (!ldns_pkt_aa(pkt) && rc == 0)
		rc = fail(err, errlen, DITTO_EINVAL,
			  "SOA answer not authoritative");
	ldns_buffer_free(buf);
	return rc;
}

static int soa_tcp(const struct xfr_peer *p, const uint8_t *q, size_t qlen,
		   uint64_t deadline, uint8_t *msg, size_t *len, char *err,
		   size_t errlen)
{
	uint8_t hdr[2];
	int fd = tcp_connect(p, deadline, err, errlen), rc = 0;

	if (fd < 0)
		return fd;
	hdr[0] = (uint8_t)(qlen >> 8);
	hdr[1] = (uint8_t)qlen;
	if (send_all(fd, hdr, 2, deadline) || send_all(fd, q, qlen, deadline) ||
	    recv_exact(fd, hdr, 2, deadline, (unsigned)(deadline - now_ms())))
		rc = fail(err, errlen, DITTO_EIO, "SOA query over TCP failed");
	else {
		*len = dns_get16(hdr);
		if (recv_exact(fd, msg, *len, deadline, 5000) != 0)
			rc = fail(err, errlen, DITTO_EIO,
				  "SOA answer over TCP cut short");
	}
	close(fd);
	return rc;
}

int xfr_soa_query(const struct xfr_peer *p, const uint8_t *apex,
		  size_t apex_len, bool want_expire, unsigned timeout_ms,
		  uint32_t *serial, int64_t *expire, char *err, size_t errlen)
{
	uint8_t *q = malloc(2 * MSG_MAX);
	uint8_t *msg = q + MSG_MAX;
	uint64_t deadline = now_ms() + timeout_ms;
	struct tsig_ctx tc;
	int rc = DITTO_EIO, fd = -1;

	*expire = -1;
	if (!q)
		return DITTO_ENOMEM;
	snprintf(err, errlen, "no answer");
	for (int attempt = 0; attempt < SOA_TRIES && now_ms() < deadline;
	     attempt++) {
		uint16_t id = random_id();
		size_t qlen = build_query(q, id, apex, apex_len, DNS_T_SOA, 0,
					  NULL, want_expire), len = 0;
		bool is_signed;
		ldns_pkt *pkt = NULL;

		tsig_ctx_init(&tc, p->key);
		if (p->key && tsig_sign(&tc, q, &qlen, MSG_MAX, wall_s(), 0)) {
			tsig_ctx_free(&tc);
			rc = fail(err, errlen, DITTO_EINVAL, "cannot sign");
			break;
		}
		fd = open_socket(p, SOCK_DGRAM);
		if (fd < 0 || sendto(fd, q, qlen, 0, p->addr, p->addr_len) < 0) {
			rc = fail(err, errlen, DITTO_EIO, "send: %s",
				  strerror(errno));
			goto next;
		}
		/* Each try waits a share of what is left. */
		uint64_t until = now_ms() + (deadline - now_ms()) /
						    (unsigned)(SOA_TRIES - attempt);
		for (;;) {
			if (wait_fd(fd, POLLIN, until) != 1) {
				rc = fail(err, errlen, DITTO_EIO,
					  "no answer to the SOA query");
				goto next;
			}
			ssize_t r = recv(fd, msg, MSG_MAX, 0);

			if (r >= DNS_HDR_LEN && dns_get16(msg) == id) {
				len = (size_t)r;
				break;
			}
		}
		if (dns_get16(msg + 2) & DNS_F_TC) {
			tsig_ctx_free(&tc);
			tsig_ctx_init(&tc, p->key);
			qlen = build_query(q, id, apex, apex_len, DNS_T_SOA, 0,
					   NULL, want_expire);
			if (p->key &&
			    tsig_sign(&tc, q, &qlen, MSG_MAX, wall_s(), 0))
				goto next;
			rc = soa_tcp(p, q, qlen, deadline, msg, &len, err,
				     errlen);
			if (rc < 0)
				goto next;
		}
		rc = check_response(apex, apex_len, id, DNS_T_SOA, true, &tc,
				    wall_s(), &is_signed, msg, &len, &pkt, err,
				    errlen);
		if (rc == 0)
			rc = soa_from(pkt, apex, apex_len, serial, err, errlen);
		if (rc == 0)
			*expire = edns_expire(pkt);
		ldns_pkt_free(pkt);
		if (rc == 0 || rc == DITTO_EINVAL || rc == DITTO_ENOENT) {
			/* An answer that says no is not lost: no retry. */
			if (fd >= 0)
				close(fd);
			tsig_ctx_free(&tc);
			break;
		}
next:
		if (fd >= 0)
			close(fd);
		fd = -1;
		tsig_ctx_free(&tc);
	}
	free(q);
	return rc;
}

/* ---- the record stream of a transfer --------------------------------- */

enum stream_state {
	ST_FIRST,	/* the first record: the new SOA */
	ST_SECOND,	/* IXFR: our SOA (incremental), another record (AXFR
			 * style), or nothing (up to date) */
	ST_AXFR,	/* records until the closing SOA */
	ST_DEL,		/* IXFR: deletions until the sequence's new SOA */
	ST_ADD,		/* IXFR: additions until the next old SOA or the end */
	ST_DONE,
};

struct stream {
	enum stream_state st;
	const uint8_t *apex;
	size_t apex_len;
	const struct contents *cur;
	uint32_t cur_serial, new_serial, seq_from, seq_to;
	struct ditto_wire_rr first_soa;
	uint8_t first_soa_buf[65535 + 255];
	struct contents *zone;		/* AXFR: built; IXFR: a changed copy */
	bool ixfr_asked;
	enum xfr_kind kind;
	uint64_t max_records;
	uint64_t records;
	unsigned diffs;
	struct jdiff **seqs;		/* the sequences done, diffs of them */
	size_t seq_cap;
	struct jdiff *seq;		/* the one being read */
	bool up_to_date;
	bool fallback;			/* set on out-of-sync IXFR */
	char *err;
	size_t errlen;
};

static void keep_first_soa(struct stream *s, const struct ditto_wire_rr *w)
{
	memcpy(s->first_soa_buf, w->owner, w->owner_len);
	memcpy(s->first_soa_buf + w->owner_len, w->rdata, w->rdlen);
	s->first_soa = *w;
	s->first_soa.owner = s->first_soa_buf;
	s->first_soa.rdata = s->first_soa_buf + w->owner_len;
}

static int stream_add(struct stream *s, const struct ditto_wire_rr *w)
{
	int r = contents_add(s->zone, w, s->max_records);

	if (r == DITTO_ELIMIT)
		return fail(s->err, s->errlen, r, "more than %llu records",
			    (unsigned long long)s->max_records);
	if (r < 0) {
		char o[1100];

		dns_name_to_text(w->owner, o, sizeof(o));
		return fail(s->err, s->errlen, r,
			    "record %s type %u %s", o, w->type,
			    r == DITTO_EINVAL ? "malformed or outside the zone"
					      : "not kept");
	}
	return 0;
}

/* The sequence read is complete: keep it with the others. */
static int seq_done(struct stream *s)
{
	if (s->diffs == s->seq_cap) {
		size_t cap = s->seq_cap ? s->seq_cap * 2 : 4;
		struct jdiff **n = realloc(s->seqs, cap * sizeof(*n));

		if (!n)
			return DITTO_ENOMEM;
		s->seqs = n;
		s->seq_cap = cap;
	}
	s->seqs[s->diffs++] = s->seq;
	s->seq = NULL;
	return 0;
}

static void seqs_free(struct jdiff **seqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jdiff_put(seqs[i]);
	free(seqs);
}

/* One record of the answer sections, in order. */
static int stream_rr(struct stream *s, const struct ditto_wire_rr *w)
{
	struct soa_fields f;
	bool is_soa = w->type == DNS_T_SOA && owner_is(w, s->apex, s->apex_len);

	s->records++;
	if (is_soa && !soa_parse(w->rdata, w->rdlen, &f))
		return fail(s->err, s->errlen, DITTO_EINVAL, "malformed SOA");
	if (w->rrclass != DNS_CLASS_IN)
		return fail(s->err, s->errlen, DITTO_EINVAL,
			    "record of class %u", w->rrclass);
	switch (s->st) {
	case ST_FIRST:
		if (!is_soa)
			return fail(s->err, s->errlen, DITTO_EINVAL,
				    "the transfer does not start with the "
				    "zone's SOA");
		s->new_serial = f.serial;
		keep_first_soa(s, w);
		if (s->ixfr_asked && !serial_gt(f.serial, s->cur_serial)) {
			/* Our serial or older: nothing to take. */
			s->up_to_date = true;
			s->st = ST_DONE;
			return 0;
		}
		if (s->ixfr_asked) {
			s->st = ST_SECOND;
			return 0;
		}
		s->st = ST_AXFR;
		s->kind = XFR_AXFR;
		s->zone = contents_new(s->apex, s->apex_len);
		return s->zone ? stream_add(s, w) : DITTO_ENOMEM;
	case ST_SECOND:
		if (is_soa && f.serial == s->cur_serial &&
		    s->new_serial != s->cur_serial) {
			s->kind = XFR_IXFR;
			s->zone = contents_clone(s->cur);
			if (!s->zone)
				return DITTO_ENOMEM;
			s->seq_to = s->cur_serial;
			goto del_start;
		}
		if (is_soa) {
			/* A second SOA opens a difference sequence: from
			 * another serial than ours, this history is not ours. */
			s->fallback = true;
			return fail(s->err, s->errlen, DITTO_EINVAL,
				    "IXFR sequence starts at serial %u, not %u",
				    f.serial, s->cur_serial);
		}
		/* Anything else: an AXFR-style answer (RFC 1995 §4). */
		s->kind = XFR_AXFR;
		s->st = ST_AXFR;
		s->zone = contents_new(s->apex, s->apex_len);
		if (!s->zone)
			return DITTO_ENOMEM;
		if (stream_add(s, &s->first_soa) < 0)
			return DITTO_EINVAL;
		goto axfr;
	case ST_AXFR:
axfr:
		if (is_soa) {
			if (f.serial != s->new_serial)
				return fail(s->err, s->errlen, DITTO_EINVAL,
					    "closing SOA serial %u, not %u",
					    f.serial, s->new_serial);
			s->st = ST_DONE;
			return 0;
		}
		return stream_add(s, w);
	case ST_DEL:
		if (is_soa) {
			/* The sequence's new SOA: additions follow. */
			if (!serial_gt(f.serial, s->seq_from))
				return fail(s->err, s->errlen, DITTO_EINVAL,
					    "IXFR sequence from %u to %u goes "
					    "backwards", s->seq_from, f.serial);
			s->seq_to = f.serial;
			s->st = ST_ADD;
			jdiff_set_to(s->seq, f.serial);
			if (jdiff_push(s->seq, false, w) < 0)
				return DITTO_ENOMEM;
			return stream_add(s, w);
		}
		if (jdiff_push(s->seq, true, w) < 0)
			return DITTO_ENOMEM;
		if (contents_delete(s->zone, w) != 0) {
			char o[1100];

			s->fallback = true;
			dns_name_to_text(w->owner, o, sizeof(o));
			return fail(s->err, s->errlen, DITTO_EINVAL,
				    "IXFR deletes %s type %u, which is not in "
				    "serial %u: out of sync", o, w->type,
				    s->seq_from);
		}
		return 0;
	case ST_ADD:
		if (is_soa) {
			if (seq_done(s) < 0)
				return DITTO_ENOMEM;
			if (f.serial == s->new_serial &&
			    s->seq_to == s->new_serial) {
				s->st = ST_DONE;
				return 0;
			}
			goto del_start;
		}
		if (jdiff_push(s->seq, false, w) < 0)
			return DITTO_ENOMEM;
		return stream_add(s, w);
	case ST_DONE:
		return fail(s->err, s->errlen, DITTO_EINVAL,
			    "records after the closing SOA");
	}
	return DITTO_EINVAL;
del_start:
	/* w is the old SOA of a sequence: it must be the serial we are at. */
	if (f.serial != s->seq_to) {
		s->fallback = true;
		return fail(s->err, s->errlen, DITTO_EINVAL,
			    "IXFR sequence starts at serial %u, not %u",
			    f.serial, s->seq_to);
	}
	s->seq_from = f.serial;
	s->st = ST_DEL;
	s->seq = jdiff_new(f.serial, f.serial);
	if (!s->seq || jdiff_push(s->seq, true, w) < 0)
		return DITTO_ENOMEM;
	if (contents_delete(s->zone, w) != 0) {
		s->fallback = true;
		return fail(s->err, s->errlen, DITTO_EINVAL,
			    "IXFR's old SOA %u is not ours: out of sync",
			    f.serial);
	}
	return 0;
}

/* ---- the transfer ------------------------------------------------------ */

/* One transfer: the request and its TSIG conversation, the record stream,
 * and the result being filled, the same whether the messages come from
 * the primary's connection (xfr_transfer) or from memory
 * (xfr_parse_stream). */
struct transfer {
	struct stream s;
	struct tsig_ctx tc;
	const struct tsig_key *key;
	uint16_t id, qtype;
	bool last_signed;
	uint64_t now;			/* for TSIG; 0: the clock, each message */
	const struct xfr_limits *lim;
	struct xfr_result *res;
	ldns_buffer *buf;
	uint8_t req[2 + MSG_MAX];	/* the request after its TCP length */
	size_t req_len;
};

/* Where the primary's bytes come from. read() gives the next n bytes at
 * *p, in the reader's buffer until the next call: 0; 1 when the stream
 * ended before the first of them; -1 when it ended among them, stalled
 * or timed out. */
struct reader {
	int (*read)(struct reader *r, size_t n, uint8_t **p);
};

struct sock_reader {
	struct reader r;
	int fd;
	uint64_t deadline;
	unsigned io_ms;
	uint8_t *buf;			/* MSG_MAX */
};

static int sock_read(struct reader *r, size_t n, uint8_t **p)
{
	struct sock_reader *sr = (struct sock_reader *)r;

	*p = sr->buf;
	return recv_exact(sr->fd, sr->buf, n, sr->deadline, sr->io_ms);
}

struct mem_reader {
	struct reader r;
	const uint8_t *at;
	size_t left;
	uint8_t *copy;			/* exactly sized, so overreads show */
};

static int mem_read(struct reader *r, size_t n, uint8_t **p)
{
	struct mem_reader *m = (struct mem_reader *)r;

	free(m->copy);
	m->copy = NULL;
	if (n && !m->left)
		return 1;
	if (n > m->left) {
		m->left = 0;
		return -1;
	}
	m->copy = malloc(n ? n : 1);
	if (!m->copy)
		return -1;
	memcpy(m->copy, m->at, n);
	m->at += n;
	m->left -= n;
	*p = m->copy;
	return 0;
}

/* Set up the transfer and its request, signed at now when key is set:
 * 0, or a negative ditto_error with res->error. *out is to be given to
 * transfer_end() either way. */
static int transfer_start(struct transfer **out, const uint8_t *apex,
			  size_t apex_len, const struct contents *cur,
			  bool ixfr, const struct tsig_key *key,
			  bool want_expire, uint16_t id, uint64_t now,
			  const struct xfr_limits *lim,
			  struct xfr_result *res)
{
	struct transfer *t = calloc(1, sizeof(*t));
	struct stream *s = t ? &t->s : NULL;
	struct ditto_wire_rr soa;
	struct soa_fields cf;

	memset(res, 0, sizeof(*res));
	res->expire = -1;
	*out = t;
	if (!t || !(t->buf = ldns_buffer_new(4096)))
		return DITTO_ENOMEM;
	tsig_ctx_init(&t->tc, key);
	t->key = key;
	t->id = id;
	t->lim = lim;
	t->res = res;
	s->apex = apex;
	s->apex_len = apex_len;
	s->cur = cur;
	s->max_records = lim->max_records;
	s->err = res->error;
	s->errlen = sizeof(res->error);
	s->ixfr_asked = ixfr && cur && contents_soa_rr(cur, &soa) &&
			contents_soa(cur, &cf);
	if (s->ixfr_asked)
		s->cur_serial = cf.serial;
	t->qtype = s->ixfr_asked ? DNS_T_IXFR : DNS_T_AXFR;
	t->req_len = build_query(t->req + 2, id, apex, apex_len, t->qtype, 0,
				 s->ixfr_asked ? &soa : NULL, want_expire);
	if (key && tsig_sign(&t->tc, t->req + 2, &t->req_len, MSG_MAX, now, 0))
		return fail(res->error, sizeof(res->error), DITTO_EINVAL,
			    "cannot sign the request");
	t->req[0] = (uint8_t)(t->req_len >> 8);
	t->req[1] = (uint8_t)t->req_len;
	return 0;
}

/* One message of the answer: its header and TSIG checked, its records
 * through the stream. */
static int transfer_message(struct transfer *t, uint8_t *msg, size_t len)
{
	struct stream *s = &t->s;
	struct xfr_result *res = t->res;
	ldns_pkt *pkt = NULL;
	int rc;

	rc = check_response(s->apex, s->apex_len, t->id, t->qtype,
			    res->messages == 0, &t->tc,
			    t->now ? t->now : wall_s(), &t->last_signed, msg,
			    &len, &pkt, res->error, sizeof(res->error));
	res->messages++;
	if (rc < 0) {
		/* A primary that refuses IXFR may still give AXFR. */
		res->fallback = s->ixfr_asked;
		ldns_pkt_free(pkt);
		return rc;
	}
	if (res->messages == 1)
		res->expire = edns_expire(pkt);
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = ldns_rr_list_rr_count(an);

	if (n == 0) {
		ldns_pkt_free(pkt);
		return fail(res->error, sizeof(res->error), DITTO_EINVAL,
			    "empty message in the transfer");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ditto_wire_rr w;

		if (wire_rr(ldns_rr_list_rr(an, i), t->buf, &w) < 0)
			rc = fail(res->error, sizeof(res->error),
				  DITTO_EINVAL, "malformed record");
		else
			rc = stream_rr(s, &w);
	}
	ldns_pkt_free(pkt);
	if (rc < 0)
		res->fallback = s->fallback;
	return rc;
}

/* The stream has ended with its closing SOA: the result. */
static int transfer_finish(struct transfer *t)
{
	struct stream *s = &t->s;
	struct xfr_result *res = t->res;

	if (t->key && !t->last_signed)
		return fail(res->error, sizeof(res->error), DITTO_EINVAL,
			    "TSIG: the last message is not signed");
	if (s->zone) {
		struct soa_fields nf;

		if (!contents_soa(s->zone, &nf) || nf.serial != s->new_serial)
			return fail(res->error, sizeof(res->error),
				    DITTO_EINVAL, "the transferred zone has "
				    "no SOA of serial %u", s->new_serial);
	}
	res->up_to_date = s->up_to_date;
	res->zone = s->zone;
	s->zone = NULL;
	res->kind = s->kind;
	res->serial = s->new_serial;
	res->records = res->zone ? contents_count(res->zone) : 0;
	res->diffs = s->diffs;
	if (res->kind == XFR_IXFR) {
		res->seqs = s->seqs;
		s->seqs = NULL;
		s->diffs = 0;
	}
	return 0;
}

/* The primary's messages, each after its 2-byte length, until the
 * closing SOA. */
static int transfer_run(struct transfer *t, struct reader *rd)
{
	struct xfr_result *res = t->res;

	while (t->s.st != ST_DONE) {
		uint8_t *p;
		size_t len;
		int r = rd->read(rd, 2, &p), rc;

		if (r != 0) {
			/* An IXFR cut short says nothing of its history. */
			res->fallback = t->s.ixfr_asked;
			return fail(res->error, sizeof(res->error),
				    DITTO_ETRUNC,
				    r > 0 ? "the primary closed the connection "
					    "before the end of the transfer"
					  : "the transfer stalled or timed out");
		}
		len = dns_get16(p);
		if (t->lim->max_bytes &&
		    res->bytes + len + 2 > t->lim->max_bytes)
			return fail(res->error, sizeof(res->error),
				    DITTO_ELIMIT,
				    "transfer larger than %llu bytes",
				    (unsigned long long)t->lim->max_bytes);
		if (rd->read(rd, len, &p) != 0) {
			res->fallback = t->s.ixfr_asked;
			return fail(res->error, sizeof(res->error),
				    DITTO_ETRUNC,
				    "a message of the transfer was cut short");
		}
		res->bytes += len + 2;
		rc = transfer_message(t, p, len);
		if (rc < 0)
			return rc;
	}
	return transfer_finish(t);
}

static int transfer_end(struct transfer *t, struct xfr_result *res, int rc)
{
	if (rc < 0 && !res->error[0])
		snprintf(res->error, sizeof(res->error), "%s",
			 ditto_strerror(rc));
	if (t) {
		tsig_ctx_free(&t->tc);
		contents_free(t->s.zone);
		seqs_free(t->s.seqs, t->s.diffs);
		jdiff_put(t->s.seq);
		if (t->buf)
			ldns_buffer_free(t->buf);
		free(t);
	}
	return rc;
}

int xfr_transfer(const struct xfr_peer *p, const uint8_t *apex,
		 size_t apex_len, const struct contents *cur, bool ixfr,
		 bool want_expire, const struct xfr_limits *lim,
		 struct xfr_result *res)
{
	uint64_t deadline = now_ms() +
			    (lim->timeout_ms ? lim->timeout_ms : 120000);
	struct sock_reader sr = {
		.r.read = sock_read,
		.fd = -1,
		.deadline = deadline,
		.io_ms = lim->io_timeout_ms ? lim->io_timeout_ms : 10000,
		.buf = malloc(MSG_MAX),
	};
	struct transfer *t;
	int rc = transfer_start(&t, apex, apex_len, cur, ixfr, p->key,
				want_expire, random_id(), wall_s(), lim, res);

	if (rc == 0 && !sr.buf)
		rc = DITTO_ENOMEM;
	if (rc < 0)
		goto out;
	sr.fd = tcp_connect(p, deadline, res->error, sizeof(res->error));
	if (sr.fd < 0) {
		rc = sr.fd;
		res->fallback = t->s.ixfr_asked;
		goto out;
	}
	if (send_all(sr.fd, t->req, t->req_len + 2, deadline) != 0) {
		rc = fail(res->error, sizeof(res->error), DITTO_EIO,
			  "sending the request failed");
		res->fallback = t->s.ixfr_asked;
		goto out;
	}
	rc = transfer_run(t, &sr.r);
out:
	if (sr.fd >= 0)
		close(sr.fd);
	free(sr.buf);
	return transfer_end(t, res, rc);
}

int xfr_request(const uint8_t *apex, size_t apex_len,
		const struct contents *cur, bool ixfr, bool want_expire,
		const struct tsig_key *key, uint16_t id, uint64_t now,
		uint8_t *req, size_t cap, size_t *len)
{
	static const struct xfr_limits none;
	struct xfr_result res;
	struct transfer *t;
	int rc = transfer_start(&t, apex, apex_len, cur, ixfr, key,
				want_expire, id, now, &none, &res);

	if (rc == 0 && t->req_len > cap)
		rc = DITTO_ELIMIT;
	if (rc == 0) {
		memcpy(req, t->req + 2, t->req_len);
		*len = t->req_len;
	}
	return transfer_end(t, &res, rc);
}

int xfr_parse_stream(const uint8_t *apex, size_t apex_len,
		     const struct contents *cur, bool ixfr,
		     const struct tsig_key *key, uint16_t id, uint64_t now,
		     const uint8_t *msgs, size_t len,
		     const struct xfr_limits *lim, struct xfr_result *res)
{
	struct mem_reader m = { .r.read = mem_read, .at = msgs, .left = len };
	struct transfer *t;
	int rc = transfer_start(&t, apex, apex_len, cur, ixfr, key, false, id,
				now, lim, res);

	if (rc == 0) {
		t->now = now;
		rc = transfer_run(t, &m.r);
	}
	free(m.copy);
	return transfer_end(t, res, rc);
}

void xfr_result_free(struct xfr_result *res)
{
	contents_free(res->zone);
	res->zone = NULL;
	seqs_free(res->seqs, res->seqs ? res->diffs : 0);
	res->seqs = NULL;
}
