/* Transfers served onward to downstream secondaries over TCP: AXFR
 * (RFC 5936), and IXFR (RFC 1995) from the zone's journal: one SOA when
 * the secondary is current, the differences from its serial when the
 * journal reaches back that far, AXFR-style otherwise; behind the zone's
 * allow-transfer ACLs and TSIG, every message signed, EDNS EXPIRE (RFC
 * 7314) in the first when asked for.
 *
 * The checks and the refusals are the event loop's; the stream itself is
 * a thread's, with its own references to the contents and the journal, so
 * that a large transfer or a slow reader holds up nothing else. The thread
 * owns the connection and closes it at the end.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ditto/wire.h"
#include "server.h"

#define MSG_CAP 65535
#define MSG_FILL 16384		/* start a new message past this */
#define XFROUT_MAX 16		/* transfers streaming at once */

static atomic_uint streaming;

struct out {
	int fd;
	uint8_t *msg;
	size_t len, qend;
	unsigned an;
	struct tsig_ctx *tc;
	const uint8_t *req;
	bool first;
	bool opt;			/* the request had OPT: so has the answer */
	int64_t expire;			/* EXPIRE in the first message, or -1 */
};

static void out_start(struct out *o, unsigned rcode)
{
	memcpy(o->msg, o->req, DNS_HDR_LEN);
	dns_put16(o->msg + 2, DNS_F_QR | DNS_F_AA | rcode);
	dns_put16(o->msg + 4, o->first ? 1 : 0);
	dns_put16(o->msg + 6, 0);
	dns_put16(o->msg + 8, 0);
	dns_put16(o->msg + 10, 0);
	o->len = DNS_HDR_LEN;
	if (o->first) {
		memcpy(o->msg + DNS_HDR_LEN, o->req + DNS_HDR_LEN,
		       o->qend - DNS_HDR_LEN);
		o->len = o->qend;
	}
	o->an = 0;
}

static int out_flush(struct out *o)
{
	dns_put16(o->msg + 6, o->an);
	if (o->first && o->opt &&
	    edns_append(o->msg, &o->len, MSG_CAP, o->expire) < 0)
		return -1;
	if (o->tc->key &&
	    tsig_sign(o->tc, o->msg, &o->len, MSG_CAP, (uint64_t)time(NULL), 0))
		return -1;
	if (tcp_send_frame(o->fd, o->msg, o->len) < 0)
		return -1;
	o->first = false;
	out_start(o, DNS_R_NOERROR);
	return 0;
}

static int out_rr(struct out *o, const struct ditto_wire_rr *w)
{
	size_t need = w->owner_len + 10 + w->rdlen;

	if (o->an && o->len + need > MSG_FILL && out_flush(o) < 0)
		return -1;
	if (o->len + need > MSG_CAP - 512)	/* room for the TSIG */
		return -1;
	uint8_t *p = o->msg + o->len;

	memcpy(p, w->owner, w->owner_len);
	p += w->owner_len;
	dns_put16(p, w->type);
	dns_put16(p + 2, w->rrclass);
	dns_put32(p + 4, w->ttl);
	dns_put16(p + 8, (unsigned)w->rdlen);
	memcpy(p + 10, w->rdata, w->rdlen);
	o->len += need;
	o->an++;
	return 0;
}

/* The serial of the SOA in an IXFR request's authority section, or -1.
 * Its names may be compressed (Knot DNS does): the serial is found from
 * the end of the rdata. */
static int64_t ixfr_serial(const uint8_t *req, size_t len, size_t qend)
{
	size_t p = qend;

	if (dns_get16(req + 6) != 0 || dns_get16(req + 8) < 1)
		return -1;
	if (!dns_skip_name(req, len, &p) || p + 10 > len ||
	    dns_get16(req + p) != DNS_T_SOA)
		return -1;
	size_t rdlen = dns_get16(req + p + 8);

	if (rdlen < 22 || p + 10 + rdlen > len)
		return -1;
	return dns_get32(req + p + 10 + rdlen - 20);
}

/* One transfer to stream: everything the thread needs, owned. */
struct xjob {
	struct out o;
	struct tsig_ctx tc;
	struct tsig_key key;		/* a copy: the configuration may go */
	struct contents *c;		/* references */
	struct journal *j;
	uint8_t *req;
	size_t req_len;
	uint16_t qtype;
	int64_t have;			/* the IXFR's serial, or -1 */
	uint32_t serial;
	char zname[1100];
	volatile int *stop;
};

/* What a job holds, and its place among those streaming. */
static void xjob_free(struct xjob *x)
{
	contents_free(x->c);
	journal_free(x->j);
	free(x->o.msg);
	free(x->req);
	free(x);
	atomic_fetch_sub(&streaming, 1);
}

/* The records of the answer after its first SOA; "how" says which. */
static int stream(struct xjob *x, const struct ditto_wire_rr *soa,
		  const char **how)
{
	struct out *o = &x->o;
	struct ditto_wire_rr w;
	size_t pos = 0;
	long at = -1;
	int rc = 0;

	*how = x->qtype == DNS_T_AXFR ? "AXFR" : "IXFR AXFR-style";
	if (x->have >= 0 && !serial_gt(x->serial, (uint32_t)x->have)) {
		/* Current already: the SOA alone (RFC 1995 §2). */
		*how = "IXFR (current)";
		return 0;
	}
	if (x->have >= 0)
		at = journal_find(x->j, (uint32_t)x->have);
	if (at >= 0) {
		/* The differences from the secondary's serial on. */
		*how = "IXFR";
		for (size_t i = (size_t)at;
		     rc == 0 && i < journal_count(x->j); i++) {
			const struct jdiff *d = journal_at(x->j, i);
			bool deleted;

			pos = 0;
			while (rc == 0 && jdiff_next(d, &pos, &w, &deleted) > 0)
				rc = out_rr(o, &w);
			if (*x->stop)
				rc = -1;
		}
		return rc ? rc : out_rr(o, soa);
	}
	for (unsigned n = 0; rc == 0 && contents_next(x->c, &pos, &w) > 0; n++) {
		if (w.type != DNS_T_SOA || w.rdata != soa->rdata)
			rc = out_rr(o, &w);
		if ((n & 4095) == 0 && *x->stop)
			rc = -1;
	}
	return rc ? rc : out_rr(o, soa);
}

static void *xjob_run(void *arg)
{
	struct xjob *x = arg;
	struct ditto_wire_rr soa;
	const char *how = "";
	int rc;

	contents_soa_rr(x->c, &soa);
	out_start(&x->o, DNS_R_NOERROR);
	rc = out_rr(&x->o, &soa);
	if (rc == 0)
		rc = stream(x, &soa, &how);
	if (rc == 0)
		rc = out_flush(&x->o);
	if (x->have >= 0)
		clog_msg(rc ? LOG_WARNING : LOG_INFO, "%s of %s %u -> %u to a "
			 "downstream%s%s: %s", how, x->zname, (uint32_t)x->have,
			 x->serial, x->tc.key ? " with key " : "",
			 x->tc.key ? x->key.text : "", rc ? "failed" : "sent");
	else
		clog_msg(rc ? LOG_WARNING : LOG_INFO, "%s of %s serial %u to a "
			 "downstream%s%s: %s", how, x->zname, x->serial,
			 x->tc.key ? " with key " : "",
			 x->tc.key ? x->key.text : "", rc ? "failed" : "sent");
	close(x->o.fd);
	tsig_ctx_free(&x->tc);
	xjob_free(x);
	return NULL;
}

unsigned xfrout_streaming(void)
{
	return atomic_load(&streaming);
}

/* Hand the transfer to a thread; false when it cannot be (the caller
 * answers SERVFAIL). */
static bool start_stream(struct server *s, struct czone *z, int fd,
			 const uint8_t *req, size_t len, size_t qend,
			 uint16_t qtype, struct tsig_ctx *tc)
{
	const struct tsig_key *key = tc->key;
	struct xjob *x;
	struct req_edns e;
	pthread_attr_t attr;
	pthread_t t;

	if (atomic_fetch_add(&streaming, 1) >= XFROUT_MAX) {
		atomic_fetch_sub(&streaming, 1);
		clog_msg(LOG_WARNING, "transfer of %s refused: %d transfers "
			 "to downstreams running already", z->name, XFROUT_MAX);
		return false;
	}
	x = calloc(1, sizeof(*x));
	if (x) {
		x->req = malloc(len);
		x->o.msg = malloc(MSG_CAP);
	}
	if (!x || !x->req || !x->o.msg) {
		if (x)
			xjob_free(x);
		else
			atomic_fetch_sub(&streaming, 1);
		return false;
	}
	memcpy(x->req, req, len);
	x->req_len = len;
	x->qtype = qtype;
	x->have = qtype == DNS_T_IXFR ? ixfr_serial(req, len, qend) : -1;
	x->serial = z->serial;
	x->stop = &s->stop;
	snprintf(x->zname, sizeof(x->zname), "%s", z->name);
	/* The conversation's TSIG state moves to the thread. */
	x->tc = *tc;
	if (tc->key) {
		x->key = *tc->key;
		x->tc.key = &x->key;
	}
	tsig_ctx_init(tc, NULL);
	edns_of_request(req, len, qend, &e);
	x->o = (struct out){ .fd = fd, .msg = x->o.msg, .qend = qend,
			     .tc = &x->tc, .req = x->req, .first = true,
			     .opt = e.present,
			     .expire = e.expire ? zone_expire_left(z) : -1 };
	x->c = contents_ref(z->contents);
	x->j = journal_ref(z->journal);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, xjob_run, x) != 0) {
		pthread_attr_destroy(&attr);
		*tc = x->tc;		/* back to the caller, to free */
		tc->key = key;
		xjob_free(x);
		return false;
	}
	pthread_attr_destroy(&attr);
	return true;
}

enum xfrout_rc xfrout_handle(struct server *s, int fd, uint8_t *req,
			     size_t len, const struct sockaddr_storage *from)
{
	size_t qn, qend, orig_len = len;
	uint16_t qtype;
	uint8_t low[255];
	char zname[1100];
	struct czone *z;
	struct tsig_ctx tc;
	enum tsig_result tr;
	unsigned rcode = DNS_R_NOERROR;
	struct out o = { .fd = fd, .req = req, .first = true, .tc = &tc,
			 .expire = -1 };
	enum xfrout_rc ret = XFROUT_ANSWERED;

	if (len < DNS_HDR_LEN || (dns_get16(req + 2) & (DNS_F_QR | 0x7800)) ||
	    dns_get16(req + 4) != 1)
		return XFROUT_NOT;
	qn = dns_name_len(req + DNS_HDR_LEN, len - DNS_HDR_LEN);
	qend = DNS_HDR_LEN + qn + 4;
	if (!qn || qend > len)
		return XFROUT_NOT;
	qtype = dns_get16(req + DNS_HDR_LEN + qn);
	if (qtype != DNS_T_AXFR && qtype != DNS_T_IXFR)
		return XFROUT_NOT;
	o.qend = qend;
	o.msg = malloc(MSG_CAP);
	if (!o.msg)
		return XFROUT_ANSWERED;
	dns_name_lower(low, req + DNS_HDR_LEN, qn);
	dns_name_to_text(low, zname, sizeof(zname));
	z = zone_by_name(s, zname);
	tsig_ctx_init(&tc, NULL);
	tr = tsig_verify(&tc, s->conf->keys, s->conf->n_keys, req, &len,
			 (uint64_t)time(NULL));
	if (tr != TSIG_OK && tr != TSIG_UNSIGNED) {
		clog_msg(LOG_WARNING, "transfer of %s refused: TSIG %s", zname,
			 tsig_result_str(tr));
		out_start(&o, DNS_R_NOTAUTH);
		tsig_answer_failure(&tc, tr, o.msg, &o.len, MSG_CAP, req,
				    orig_len, (uint64_t)time(NULL));
		(void)tcp_send_frame(fd, o.msg, o.len);
		goto out;
	}
	if (!z)
		rcode = DNS_R_NOTAUTH;
	else if (!cconf_allowed(z->conf, CCONF_TRANSFER,
				(const struct sockaddr *)from, tc.key))
		rcode = DNS_R_REFUSED;
	else if (!z->contents || z->state != ZS_OK)
		rcode = DNS_R_SERVFAIL;
	else if (start_stream(s, z, fd, req, len, qend, qtype, &tc)) {
		ret = XFROUT_DETACHED;
		goto out;
	} else
		rcode = DNS_R_SERVFAIL;
	clog_msg(LOG_WARNING, "%s of %s refused (%s)",
		 qtype == DNS_T_AXFR ? "AXFR" : "IXFR", zname,
		 rcode == DNS_R_REFUSED ? "ACL" :
		 rcode == DNS_R_NOTAUTH ? "not a zone of this node" :
		 z->contents && z->state == ZS_OK ? "no stream could start" :
						     "no current data");
	out_start(&o, rcode);
	if (tc.key)
		(void)tsig_sign(&tc, o.msg, &o.len, MSG_CAP,
				(uint64_t)time(NULL), 0);
	(void)tcp_send_frame(fd, o.msg, o.len);
out:
	tsig_ctx_free(&tc);
	free(o.msg);
	return ret;
}
