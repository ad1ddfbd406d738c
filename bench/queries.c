/* Query lists for the benchmarks (see queries.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ditto/wire.h"
#include "queries.h"

const char *const expect_names[EXP_COUNT] = {
	"-", "hit", "nxdomain", "wildcard", "cname", "referral"
};

static const struct {
	const char *name;
	uint16_t type;
} types[] = {
	{ "A", DNS_T_A }, { "NS", DNS_T_NS }, { "CNAME", DNS_T_CNAME },
	{ "SOA", DNS_T_SOA }, { "PTR", DNS_T_PTR }, { "HINFO", DNS_T_HINFO },
	{ "MX", DNS_T_MX }, { "TXT", DNS_T_TXT }, { "AAAA", DNS_T_AAAA },
	{ "SRV", DNS_T_SRV }, { "NAPTR", DNS_T_NAPTR },
	{ "DNAME", DNS_T_DNAME }, { "DS", DNS_T_DS }, { "RRSIG", DNS_T_RRSIG },
	{ "NSEC", DNS_T_NSEC }, { "DNSKEY", DNS_T_DNSKEY },
	{ "NSEC3", DNS_T_NSEC3 }, { "NSEC3PARAM", DNS_T_NSEC3PARAM },
	{ "SVCB", DNS_T_SVCB }, { "HTTPS", DNS_T_HTTPS }, { "ANY", DNS_T_ANY },
};

static int parse_type(const char *s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(s, types[i].name))
			return types[i].type;
	if (!strncasecmp(s, "TYPE", 4) && s[4]) {
		char *end;
		long v = strtol(s + 4, &end, 10);

		if (!*end && v >= 0 && v <= 65535)
			return (int)v;
	}
	return -1;
}

/* Presentation name (dots, no escapes) to wire, case kept. */
static size_t text_to_wire(const char *s, uint8_t *out)
{
	size_t n = 0;

	if (!strcmp(s, "."))
		s = "";
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		if (l == 0 || l > 63 || n + l + 2 > DITTO_MAX_NAME)
			return 0;
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s += l;
		if (*s)
			s++;
	}
	out[n++] = 0;
	return n;
}

bool query_dnssec_ok;
bool query_cookie;

static size_t build_query(uint8_t *p, uint16_t id, const uint8_t *name,
			  size_t nlen, uint16_t qtype)
{
	size_t n = 0;

	dns_put16(p, id);
	dns_put16(p + 2, 0);		/* QUERY, RD clear, as resolvers send */
	dns_put16(p + 4, 1);
	dns_put16(p + 6, 0);
	dns_put16(p + 8, 0);
	dns_put16(p + 10, 1);
	n = DNS_HDR_LEN;
	memcpy(p + n, name, nlen);
	n += nlen;
	dns_put16(p + n, qtype);
	dns_put16(p + n + 2, DNS_CLASS_IN);
	n += 4;
	/* OPT: root owner, payload 1232, DO as asked, no options. */
	p[n++] = 0;
	dns_put16(p + n, DNS_T_OPT);
	dns_put16(p + n + 2, DITTO_EDNS_DEFAULT);
	dns_put32(p + n + 4, query_dnssec_ok ? DNS_EDNS_DO : 0);
	if (!query_cookie) {
		dns_put16(p + n + 8, 0);
		return n + 10;
	}
	/* A client cookie (RFC 7873 4.1): 8 bytes, a different one each. */
	dns_put16(p + n + 8, 12);
	dns_put16(p + n + 10, DNS_EDNS_COOKIE);
	dns_put16(p + n + 12, 8);
	dns_put32(p + n + 14, 0x636f6f6bu);
	dns_put32(p + n + 18, id);
	return n + 22;
}

/* Skip a possibly compressed name; returns the offset after it or 0. */
static size_t skip_name(const uint8_t *p, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = p[off];

		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xc0)
			return 0;
		off += 1 + (size_t)l;
	}
	return 0;
}

void inspect(const uint8_t *q, size_t qlen, const uint8_t *r,
		    size_t rlen, const struct ditto_answer_info *info,
		    struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->first_an = v->first_ns = -1;
	v->rcode = info->rcode;
	if (rlen < DNS_HDR_LEN)
		return;
	unsigned f = dns_get16(r + 2);

	v->qr = f & DNS_F_QR;
	v->aa = f & DNS_F_AA;
	v->tc = f & DNS_F_TC;
	v->an = dns_get16(r + 6);
	v->ns = dns_get16(r + 8);
	v->ar = dns_get16(r + 10);
	/* The question, echoed byte for byte. */
	size_t qend = skip_name(q, qlen, DNS_HDR_LEN) + 4;

	v->echo = rlen >= qend && dns_get16(r) == dns_get16(q) &&
		  dns_get16(r + 4) == 1 &&
		  !memcmp(q + DNS_HDR_LEN, r + DNS_HDR_LEN, qend - DNS_HDR_LEN);
	if (!v->echo)
		return;
	size_t off = qend;
	unsigned total = v->an + v->ns;

	for (unsigned i = 0; i < total && i < 2 + v->an; i++) {
		off = skip_name(r, rlen, off);
		if (!off || off + 10 > rlen)
			return;
		int t = dns_get16(r + off);

		if (i == 0 && v->an)
			v->first_an = t;
		if (i == v->an) {
			v->first_ns = t;
			return;
		}
		off += 10 + dns_get16(r + off + 8);
	}
}

bool judge(enum expect e, uint16_t qtype, const struct verdict *v,
		  const struct ditto_answer_info *info)
{
	if (!v->qr || !v->echo || v->tc)
		return false;
	switch (e) {
	case EXP_HIT:
		return v->rcode == DNS_R_NOERROR && v->aa && v->an >= 1 &&
		       v->first_an == qtype;
	case EXP_WILDCARD:
		return v->rcode == DNS_R_NOERROR && v->aa && v->an >= 1 &&
		       v->first_an == qtype &&
		       (info->flags & DITTO_INFO_WILDCARD);
	case EXP_NXDOMAIN:
		return v->rcode == DNS_R_NXDOMAIN && v->aa && v->an == 0 &&
		       v->first_ns == DNS_T_SOA;
	case EXP_CNAME:
		return v->rcode == DNS_R_NOERROR && v->aa && v->an >= 1 &&
		       v->first_an == DNS_T_CNAME;
	case EXP_REFERRAL:
		return v->rcode == DNS_R_NOERROR && !v->aa && v->an == 0 &&
		       v->first_ns == DNS_T_NS &&
		       (info->flags & DITTO_INFO_REFERRAL);
	default:
		return true;
	}
}

int query_list_load(const char *prog, const char *qfile, struct query_list *l)
{
	FILE *qf = fopen(qfile, "r");

	if (!qf) {
		fprintf(stderr, "%s: %s: %s\n", prog, qfile,
			strerror(errno));
		return -1;
	}
	size_t nq = 0, qcap = 1 << 16, bcap = 1 << 22, blen = 0;
	struct query *qs = malloc(qcap * sizeof(*qs));
	uint8_t *pk = malloc(bcap);
	char line[1024];
	unsigned lineno = 0;

	if (!qs || !pk)
		return -1;
	while (fgets(line, sizeof(line), qf)) {
		char name[512], type[32], exp[32] = "";
		uint8_t wire[DITTO_MAX_NAME + 1];
		size_t wl;
		int qt, e = EXP_NONE;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%511s %31s %31s", name, type, exp) < 2 ||
		    (qt = parse_type(type)) < 0 ||
		    !(wl = text_to_wire(name, wire))) {
			fprintf(stderr, "%s: %s:%u: bad query\n", prog,
				qfile, lineno);
			fclose(qf);
			return -1;
		}
		for (int i = 1; i < EXP_COUNT && exp[0]; i++)
			if (!strcmp(exp, expect_names[i]))
				e = i;
		if (nq == qcap) {
			qcap *= 2;
			qs = realloc(qs, qcap * sizeof(*qs));
		}
		if (blen + 512 > bcap) {
			bcap *= 2;
			pk = realloc(pk, bcap);
		}
		if (!qs || !pk)
			return -1;
		qs[nq].off = (uint32_t)blen;
		qs[nq].len = (uint16_t)build_query(pk + blen, (uint16_t)nq,
						   wire, wl, (uint16_t)qt);
		qs[nq].qtype = (uint16_t)qt;
		qs[nq].expect = (uint8_t)e;
		blen += (qs[nq].len + 7u) & ~7u;
		nq++;
	}
	fclose(qf);
	if (!nq) {
		fprintf(stderr, "%s: %s: no queries\n", prog, qfile);
		return -1;
	}
	l->qs = qs;
	l->n = nq;
	l->pk = pk;
	return 0;
}

void query_list_free(struct query_list *l)
{
	free(l->qs);
	free(l->pk);
	memset(l, 0, sizeof(*l));
}
