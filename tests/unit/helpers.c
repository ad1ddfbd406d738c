/* Shared helpers for the unit tests (see helpers.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ditto/error.h"
#include "ditto/wire.h"
#include "helpers.h"

int h_run(const char *name, const struct h_test *tests, size_t n)
{
	unsigned run = 0, failed = 0;
	int rc = 1;

	if (CU_initialize_registry() != CUE_SUCCESS)
		goto out;
	CU_pSuite s = CU_add_suite(name, NULL, NULL);
	if (!s)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			goto out;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	/* Every registered test must have run: a test that did not is a
	 * failure too (the registry refuses to run it only on error). */
	if (run < n)
		failed += (unsigned)n - run, run = (unsigned)n;
	rc = failed ? 1 : 0;
out:
	CU_cleanup_registry();
	printf("\nunit-%s: %u passed, %u failed\n", name, run - failed, failed);
	return rc;
}

int h_compile(const char *text, const char *origin, struct ditto_compiled *out)
{
	struct ditto_compile_opts opts = {
		.origin = origin,
		.default_ttl = 3600,
	};

	memset(out, 0, sizeof(*out));
	return ditto_compile_text(text, strlen(text), "test.zone", &opts, out);
}

static void release_free(void *mem, size_t size)
{
	(void)size;
	free(mem);
}

int h_open_copy(const uint8_t *bytes, size_t size, struct ditto_image **out,
		char *err, size_t errlen)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return DITTO_ENOMEM;
	if (size)
		memcpy(copy, bytes, size);
	int rc = ditto_image_open(copy, size, release_free, out, err, errlen);
	if (rc < 0)
		free(copy);
	return rc;
}

struct ditto_image *h_image(const char *text, const char *origin)
{
	struct ditto_compiled c;
	struct ditto_image *img = NULL;
	char err[256] = "";

	int rc = h_compile(text, origin, &c);
	if (rc < 0) {
		printf("\n  compile failed: %s (%s)\n", c.first_error,
		       ditto_strerror(rc));
		ditto_compiled_free(&c);
		return NULL;
	}
	rc = h_open_copy(c.image, c.size, &img, err, sizeof(err));
	if (rc < 0)
		printf("\n  compiled image refused: %s (%s)\n", err,
		       ditto_strerror(rc));
	ditto_compiled_free(&c);
	return rc < 0 ? NULL : img;
}

struct ditto_zone_table *h_table(struct ditto_image *first, ...)
{
	struct ditto_zone_table *t = ditto_zone_table_new();
	va_list ap;

	va_start(ap, first);
	for (struct ditto_image *img = first; img && t;
	     img = va_arg(ap, struct ditto_image *)) {
		struct ditto_zone_table *n = ditto_zone_table_with(t, img, NULL);
		ditto_zone_table_free(t);
		t = n;
	}
	va_end(ap);
	return t;
}

size_t h_wire_name(const char *text, uint8_t *out, size_t cap)
{
	size_t o = 0;
	const char *p = text;

	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (o + 1 + l + 1 > cap)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return o;
}

size_t h_query_wire(const struct h_query *q, uint8_t *buf, size_t cap)
{
	size_t o = DNS_HDR_LEN;

	memset(buf, 0, DNS_HDR_LEN);
	dns_put16(buf, q->id);
	dns_put16(buf + 2, q->flags);
	dns_put16(buf + 4, 1);
	size_t n = h_wire_name(q->qname, buf + o, cap - o - 4);
	if (!n)
		return 0;
	o += n;
	dns_put16(buf + o, q->qtype);
	dns_put16(buf + o + 2, q->qclass ? q->qclass : DNS_CLASS_IN);
	o += 4;
	if (q->edns.on) {
		if (o + 11 + q->edns.options_len > cap)
			return 0;
		dns_put16(buf + 10, 1);
		buf[o++] = 0;
		dns_put16(buf + o, DNS_T_OPT);
		dns_put16(buf + o + 2, q->edns.payload);
		buf[o + 4] = 0;
		buf[o + 5] = q->edns.version;
		dns_put16(buf + o + 6, q->edns.do_bit ? DNS_EDNS_DO : 0);
		dns_put16(buf + o + 8, (unsigned)q->edns.options_len);
		o += 10;
		if (q->edns.options_len)
			memcpy(buf + o, q->edns.options, q->edns.options_len);
		o += q->edns.options_len;
	}
	return o;
}

const struct ditto_answer_cfg *h_cfg_default(void)
{
	static const struct ditto_answer_cfg cfg = {
		.edns_max = DITTO_EDNS_DEFAULT,
	};
	return &cfg;
}

void h_answer_raw(const struct ditto_zone_table *t, const uint8_t *q,
		  size_t qlen, const struct h_answer_opts *o, struct h_resp *r)
{
	static const struct h_answer_opts none;
	if (!o)
		o = &none;
	size_t cap = o->cap ? o->cap : 65535;

	memset(r, 0, sizeof(*r));
	r->fails = CU_get_number_of_failures();
	snprintf(r->what, sizeof(r->what), "%zu query bytes", qlen);
	/* Exactly cap bytes, so ASan catches a write past it. */
	r->wire = malloc(cap);
	if (!r->wire)
		return;
	r->len = ditto_answer(t, o->cfg ? o->cfg : h_cfg_default(), q, qlen,
			      r->wire, cap, o->flags, &r->info);
	if (r->len > cap) {
		printf("\n  answer() returned %zu > cap %zu\n", r->len, cap);
		r->len = 0;
	}
	if (r->len && ldns_wire2pkt(&r->pkt, r->wire, r->len) != LDNS_STATUS_OK)
		r->pkt = NULL;
}

void h_ask(const struct ditto_zone_table *t, const struct h_query *q,
	   const struct h_answer_opts *o, struct h_resp *r)
{
	uint8_t buf[1024];
	size_t n = h_query_wire(q, buf, sizeof(buf));

	h_answer_raw(t, buf, n, o, r);
	snprintf(r->what, sizeof(r->what),
		 "%s type %u class %u flags %04x%s%s edns(payload %u version %u"
		 " do %d options %zu)%s", q->qname, q->qtype,
		 q->qclass ? q->qclass : 1u, q->flags,
		 o && (o->flags & DITTO_ANSWER_TCP) ? " tcp" : "",
		 o && o->cfg ? " custom cfg" : "", q->edns.payload,
		 q->edns.version, q->edns.do_bit, q->edns.options_len,
		 q->edns.on ? "" : " off");
}

void h_ask_simple(const struct ditto_zone_table *t, const char *qname,
		  uint16_t qtype, struct h_resp *r)
{
	struct h_query q = { .id = 0x1234, .qname = qname, .qtype = qtype };

	h_ask(t, &q, NULL, r);
}

void h_resp_free(struct h_resp *r)
{
	if (CU_get_number_of_failures() > r->fails ||
	    getenv("DITTO_TEST_DUMP")) {
		printf("\n  query: %s\n  response (%zu bytes, info rcode %u "
		       "flags %#x):", r->what, r->len, r->info.rcode,
		       r->info.flags);
		h_dump(r);
	}
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	free(r->wire);
	memset(r, 0, sizeof(*r));
}

uint16_t h_flags(const struct h_resp *r)
{
	return r->len >= DNS_HDR_LEN ? dns_get16(r->wire + 2) : 0;
}

unsigned h_rcode(const struct h_resp *r)
{
	return h_flags(r) & 0xfu;
}

unsigned h_count(const struct h_resp *r, int section)
{
	return r->len >= DNS_HDR_LEN ? dns_get16(r->wire + 4 + 2 * section)
				     : 0;
}

static ldns_rr_list *section(const struct h_resp *r, ldns_pkt_section s)
{
	if (!r->pkt)
		return NULL;
	switch (s) {
	case LDNS_SECTION_QUESTION: return ldns_pkt_question(r->pkt);
	case LDNS_SECTION_ANSWER: return ldns_pkt_answer(r->pkt);
	case LDNS_SECTION_AUTHORITY: return ldns_pkt_authority(r->pkt);
	case LDNS_SECTION_ADDITIONAL: return ldns_pkt_additional(r->pkt);
	default: return NULL;
	}
}

size_t h_rr_count(const struct h_resp *r, ldns_pkt_section s, uint16_t type)
{
	ldns_rr_list *l = section(r, s);
	size_t n = 0;

	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++)
		if (!type || ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type)
			n++;
	return n;
}

ldns_rr *h_rr_find(const struct h_resp *r, ldns_pkt_section s,
		   const char *owner, uint16_t type, size_t n)
{
	ldns_rr_list *l = section(r, s);
	ldns_rdf *want = NULL;

	if (!l || ldns_str2rdf_dname(&want, owner) != LDNS_STATUS_OK)
		return NULL;
	ldns_rr *found = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if ((!type || ldns_rr_get_type(rr) == type) &&
		    ldns_dname_compare(ldns_rr_owner(rr), want) == 0 &&
		    n-- == 0) {
			found = rr;
			break;
		}
	}
	ldns_rdf_deep_free(want);
	return found;
}

const char *h_rdata_str(const ldns_rr *rr, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr) && o < cap; i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		if (!s)
			break;
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? " " : "", s);
		free(s);
	}
	return buf;
}

bool h_rr_has(const struct h_resp *r, ldns_pkt_section s, const char *owner,
	      uint16_t type, const char *rdata)
{
	ldns_rr *rr;
	char buf[1024];

	for (size_t n = 0; (rr = h_rr_find(r, s, owner, type, n)); n++)
		if (strcasecmp(h_rdata_str(rr, buf, sizeof(buf)), rdata) == 0)
			return true;
	return false;
}

void h_dump(const struct h_resp *r)
{
	if (!r->len) {
		printf("\n  (no response)\n");
		return;
	}
	if (!r->pkt) {
		printf("\n  (response of %zu bytes does not parse)\n", r->len);
		return;
	}
	char *s = ldns_pkt2str(r->pkt);
	printf("\n%s\n", s ? s : "(unprintable)");
	free(s);
}

size_t h_skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = m[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l > 63)
			return 0;
		off += 1u + l;
	}
	return 0;
}

bool h_opt(const struct h_resp *r, struct h_opt *opt)
{
	const uint8_t *m = r->wire;
	size_t len = r->len, off = DNS_HDR_LEN;

	memset(opt, 0, sizeof(*opt));
	if (len < DNS_HDR_LEN)
		return false;
	for (unsigned i = 0; i < dns_get16(m + 4); i++) {
		off = h_skip_name(m, len, off);
		if (!off || off + 4 > len)
			return false;
		off += 4;
	}
	unsigned rrs = dns_get16(m + 6) + dns_get16(m + 8);
	unsigned ar = dns_get16(m + 10);
	for (unsigned i = 0; i < rrs + ar; i++) {
		size_t name = off;
		off = h_skip_name(m, len, off);
		if (!off || off + 10 > len)
			return false;
		uint16_t rdlen = dns_get16(m + off + 8);
		if (off + 10 + rdlen > len)
			return false;
		if (i >= rrs && dns_get16(m + off) == DNS_T_OPT) {
			opt->count++;
			opt->present = true;
			if (m[name] != 0)
				return false;	/* OPT owner must be root */
			opt->payload = dns_get16(m + off + 2);
			opt->ext_rcode = m[off + 4];
			opt->version = m[off + 5];
			opt->eflags = dns_get16(m + off + 6);
			opt->rdata = m + off + 10;
			opt->rdlen = rdlen;
		}
		off += 10u + rdlen;
	}
	return off == len;
}

const uint8_t *h_opt_option(const struct h_opt *opt, uint16_t code,
			    uint16_t *len)
{
	for (size_t o = 0; o + 4 <= opt->rdlen;) {
		uint16_t c = dns_get16(opt->rdata + o);
		uint16_t l = dns_get16(opt->rdata + o + 2);
		if (o + 4 + l > opt->rdlen)
			return NULL;
		if (c == code) {
			*len = l;
			return opt->rdata + o + 4;
		}
		o += 4u + l;
	}
	return NULL;
}

const struct ditto_node *h_node(const struct ditto_image *img, const char *name)
{
	uint8_t w[256];
	size_t n = h_wire_name(name, w, sizeof(w));
	uint32_t i = ditto_image_find(img, w, n);

	return i == DITTO_NONE ? NULL : &img->nodes[i];
}

const struct ditto_rrset *h_rrset(const struct ditto_image *img,
				  const char *name, uint16_t type)
{
	const struct ditto_node *node = h_node(img, name);

	return node ? ditto_node_rrset(img, node, type) : NULL;
}
