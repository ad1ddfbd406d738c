/* NOTIFY (RFC 1996) received on the management addresses: checked
 * against TSIG and the zone's ACL, answered, and followed by a refresh.
 * SOA queries of downstream secondaries allowed to transfer a zone are
 * answered too; anything else on these sockets is refused or dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include "ditto/wire.h"
#include "server.h"

#define DNS_OP_NOTIFY 4
#define MSG_MAX 65535

static void peer_text(const struct sockaddr_storage *ss, char *buf,
		      size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in = (const void *)ss;

		inet_ntop(AF_INET6, &in->sin6_addr, a, sizeof(a));
		port = ntohs(in->sin6_port);
	}
	snprintf(buf, cap, "%s@%u", a, port);
}

/* The answer's header and question, from the request's. */
static size_t answer_head(uint8_t *out, const uint8_t *req, size_t qend,
			  unsigned rcode, bool question)
{
	uint16_t flags = dns_get16(req + 2);

	memcpy(out, req, DNS_HDR_LEN);
	dns_put16(out + 2, DNS_F_QR | (flags & 0x7800u) | DNS_F_AA | rcode);
	dns_put16(out + 4, question ? 1 : 0);
	dns_put16(out + 6, 0);
	dns_put16(out + 8, 0);
	dns_put16(out + 10, 0);
	if (!question)
		return DNS_HDR_LEN;
	memcpy(out + DNS_HDR_LEN, req + DNS_HDR_LEN, qend - DNS_HDR_LEN);
	return qend;
}

/* Rate-limited warnings: a flood of bad NOTIFYs must not flood the log. */
static struct log_limit notify_log;

static bool warn_ok(void)
{
	return log_ok(&notify_log);
}

size_t notify_answer(struct server *s, uint8_t *req, size_t len,
		     const struct sockaddr_storage *from, uint8_t *resp,
		     size_t cap)
{
	size_t qn, qend, rlen, orig_len = len;
	uint16_t flags;
	char peer[80], zname[1100];
	struct tsig_ctx tc;
	enum tsig_result tr;
	struct czone *z = NULL;
	uint8_t low[255];
	unsigned rcode = DNS_R_REFUSED;

	if (len < DNS_HDR_LEN || cap < len)
		return 0;
	flags = dns_get16(req + 2);
	if (flags & DNS_F_QR)
		return 0;	/* never answer a response */
	peer_text(from, peer, sizeof(peer));
	if (dns_get16(req + 4) != 1)
		return answer_head(resp, req, 0, DNS_R_FORMERR, false);
	qn = dns_name_len(req + DNS_HDR_LEN, len - DNS_HDR_LEN);
	qend = DNS_HDR_LEN + qn + 4;
	if (!qn || qend > len)
		return answer_head(resp, req, 0, DNS_R_FORMERR, false);
	/* IXFR over UDP gets the SOA alone, which sends the client to TCP
	 * (RFC 1995 §2). */
	bool soa_query = DNS_OPCODE(flags) == 0 &&
			 (dns_get16(req + qend - 4) == DNS_T_SOA ||
			  dns_get16(req + qend - 4) == DNS_T_IXFR);

	if (DNS_OPCODE(flags) != DNS_OP_NOTIFY && !soa_query)
		return answer_head(resp, req, qend, DNS_R_REFUSED, true);
	dns_name_lower(low, req + DNS_HDR_LEN, qn);
	dns_name_to_text(low, zname, sizeof(zname));
	z = zone_by_name(s, zname);
	tsig_ctx_init(&tc, NULL);
	tr = tsig_verify(&tc, s->conf->keys, s->conf->n_keys, req, &len,
			 (uint64_t)time(NULL));
	if (tr != TSIG_OK && tr != TSIG_UNSIGNED) {
		if (warn_ok())
			clog_msg(LOG_WARNING, "NOTIFY for %s from %s refused: "
				 "TSIG %s", zname, peer, tsig_result_str(tr));
		if (z)
			z->notifies_refused++;
		rlen = answer_head(resp, req, qend, DNS_R_NOTAUTH, true);
		tsig_answer_failure(&tc, tr, resp, &rlen, cap, req, orig_len,
				    (uint64_t)time(NULL));
		tsig_ctx_free(&tc);
		return rlen;
	}
	if (soa_query) {
		/* A downstream secondary's refresh: the SOA for those
		 * allowed to transfer the zone. */
		struct ditto_wire_rr soa;
		struct req_edns e;
		bool ok = false;

		edns_of_request(req, len, qend, &e);
		if (z && z->contents && z->state == ZS_OK &&
		    cconf_allowed(z->conf, CCONF_TRANSFER,
				  (const struct sockaddr *)from, tc.key) &&
		    contents_soa_rr(z->contents, &soa) &&
		    qend + 12 + soa.rdlen + 600 < cap) {
			rlen = answer_head(resp, req, qend, DNS_R_NOERROR, true);
			dns_put16(resp + 6, 1);
			dns_put16(resp + rlen, 0xc000 | DNS_HDR_LEN);
			dns_put16(resp + rlen + 2, DNS_T_SOA);
			dns_put16(resp + rlen + 4, DNS_CLASS_IN);
			dns_put32(resp + rlen + 6, soa.ttl);
			dns_put16(resp + rlen + 10, (unsigned)soa.rdlen);
			memcpy(resp + rlen + 12, soa.rdata, soa.rdlen);
			rlen += 12 + soa.rdlen;
			ok = true;
		} else {
			rlen = answer_head(resp, req, qend, z ? DNS_R_REFUSED :
					   DNS_R_NOTAUTH, true);
		}
		if (e.present)
			(void)edns_append(resp, &rlen, cap, ok && e.expire ?
					  zone_expire_left(z) : -1);
		if (tc.key)
			(void)tsig_sign(&tc, resp, &rlen, cap,
					(uint64_t)time(NULL), 0);
		tsig_ctx_free(&tc);
		return rlen;
	}
	if (!z) {
		rcode = DNS_R_NOTAUTH;
		if (warn_ok())
			clog_msg(LOG_INFO, "NOTIFY for %s from %s: not a zone "
				 "of this node", zname, peer);
	} else if (!cconf_allowed(z->conf, CCONF_NOTIFY,
				  (const struct sockaddr *)from, tc.key)) {
		z->notifies_refused++;
		if (warn_ok())
			clog_msg(LOG_WARNING, "NOTIFY for %s from %s%s%s "
				 "refused by the zone's ACL", zname, peer,
				 tc.key ? " key " : " unsigned",
				 tc.key ? tc.key->text : "");
	} else {
		rcode = DNS_R_NOERROR;
		z->notifies++;
		clog_msg(LOG_INFO, "NOTIFY for %s from %s%s%s: refreshing",
			 zname, peer, tc.key ? " key " : "",
			 tc.key ? tc.key->text : "");
		zone_refresh_now(z, false);
	}
	rlen = answer_head(resp, req, qend, rcode, true);
	if (tc.key)
		(void)tsig_sign(&tc, resp, &rlen, cap, (uint64_t)time(NULL), 0);
	tsig_ctx_free(&tc);
	return rlen;
}

void notify_handle(struct server *s, struct watch *w)
{
	int fd = w->fd;
	static uint8_t req[MSG_MAX], resp[MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t r = recvfrom(fd, req, sizeof(req), 0,
			     (struct sockaddr *)&from, &fl);
	size_t rlen;

	if (r < 0)
		return;
	rlen = notify_answer(s, req, (size_t)r, &from, resp, sizeof(resp));
	if (rlen && sendto(fd, resp, rlen, 0, (struct sockaddr *)&from, fl) < 0
	    && warn_ok())
		clog_msg(LOG_WARNING, "answer to a NOTIFY: %s", strerror(errno));
}
