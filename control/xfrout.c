/* Transfers served onward to downstream secondaries over TCP: AXFR
 * (RFC 5936), and IXFR (RFC 1995) from the zone's journal: one SOA when
 * the secondary is current, the differences from its serial when the
 * journal reaches back that far, AXFR-style otherwise; behind the zone's
 * allow-transfer ACLs and TSIG, every message signed, EDNS EXPIRE (RFC
 * 7314) in the first when asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include "ditto/wire.h"
#include "server.h"

#define MSG_CAP 65535
#define MSG_FILL 16384		/* start a new message past this */

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
	size_t p;

	if (dns_get16(req + 6) != 0 || dns_get16(req + 8) < 1)
		return -1;
	p = msg_skip_name(req, len, qend);
	if (!p || p + 10 > len || dns_get16(req + p) != DNS_T_SOA)
		return -1;
	size_t rdlen = dns_get16(req + p + 8);

	if (rdlen < 22 || p + 10 + rdlen > len)
		return -1;
	return dns_get32(req + p + 10 + rdlen - 20);
}

bool xfrout_handle(struct server *s, int fd, uint8_t *req, size_t len,
		   const struct sockaddr_storage *from)
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
	struct req_edns e;
	int rc = 0;

	if (len < DNS_HDR_LEN || (dns_get16(req + 2) & (DNS_F_QR | 0x7800)) ||
	    dns_get16(req + 4) != 1)
		return false;
	qn = dns_name_len(req + DNS_HDR_LEN, len - DNS_HDR_LEN);
	qend = DNS_HDR_LEN + qn + 4;
	if (!qn || qend > len)
		return false;
	qtype = dns_get16(req + DNS_HDR_LEN + qn);
	if (qtype != DNS_T_AXFR && qtype != DNS_T_IXFR)
		return false;
	o.qend = qend;
	o.msg = malloc(MSG_CAP);
	if (!o.msg)
		return true;
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
	if (rcode != DNS_R_NOERROR) {
		clog_msg(LOG_WARNING, "%s of %s refused (%s)",
			 qtype == DNS_T_AXFR ? "AXFR" : "IXFR", zname,
			 rcode == DNS_R_REFUSED ? "ACL" :
			 rcode == DNS_R_NOTAUTH ? "not a zone of this node" :
						  "no current data");
		out_start(&o, rcode);
		if (tc.key)
			(void)tsig_sign(&tc, o.msg, &o.len, MSG_CAP,
					(uint64_t)time(NULL), 0);
		(void)tcp_send_frame(fd, o.msg, o.len);
		goto out;
	}

	struct ditto_wire_rr soa, w;
	size_t pos = 0;
	int64_t have = qtype == DNS_T_IXFR ? ixfr_serial(req, len, qend) : -1;
	long at = -1;
	const char *how = qtype == DNS_T_AXFR ? "AXFR" : "IXFR AXFR-style";

	edns_of_request(req, len, qend, &e);
	o.opt = e.present;
	if (e.expire)
		o.expire = zone_expire_left(z);
	contents_soa_rr(z->contents, &soa);
	out_start(&o, DNS_R_NOERROR);
	rc = out_rr(&o, &soa);
	if (have >= 0 && !serial_gt(z->serial, (uint32_t)have)) {
		/* Current already: the SOA alone (RFC 1995 §2). */
		rc = rc ? rc : out_flush(&o);
		how = "IXFR (current)";
		goto done;
	}
	if (have >= 0)
		at = journal_find(z->journal, (uint32_t)have);
	if (at >= 0) {
		/* The differences from the secondary's serial on. */
		for (size_t i = (size_t)at;
		     rc == 0 && i < journal_count(z->journal); i++) {
			const struct jdiff *d = journal_at(z->journal, i);
			bool deleted;

			pos = 0;
			while (rc == 0 && jdiff_next(d, &pos, &w, &deleted) > 0)
				rc = out_rr(&o, &w);
		}
		if (rc == 0)
			rc = out_rr(&o, &soa);
		if (rc == 0)
			rc = out_flush(&o);
		how = "IXFR";
		goto done;
	}
	while (rc == 0 && contents_next(z->contents, &pos, &w) > 0)
		if (w.type != DNS_T_SOA || w.rdata != soa.rdata)
			rc = out_rr(&o, &w);
	if (rc == 0)
		rc = out_rr(&o, &soa);
	if (rc == 0)
		rc = out_flush(&o);
done:
	if (have >= 0)
		clog_msg(rc ? LOG_WARNING : LOG_INFO, "%s of %s %u -> %u to a "
			 "downstream%s%s: %s", how, zname, (uint32_t)have,
			 z->serial, tc.key ? " with key " : "",
			 tc.key ? tc.key->text : "", rc ? "failed" : "sent");
	else
		clog_msg(rc ? LOG_WARNING : LOG_INFO, "%s of %s serial %u to a "
			 "downstream%s%s: %s", how, zname, z->serial,
			 tc.key ? " with key " : "", tc.key ? tc.key->text : "",
			 rc ? "failed" : "sent");
out:
	tsig_ctx_free(&tc);
	free(o.msg);
	return true;
}
