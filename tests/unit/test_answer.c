/* Unit tests for the answer engine: one test per answering rule, each a
 * query against the sample zones and the response read back with ldns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ditto/wire.h"
#include "helpers.h"
#include "sample_zone.h"

static struct ditto_image *img_example, *img_child, *img_negttl;
static struct ditto_zone_table *zones;

static const struct ditto_zone_table *zones_ready(void)
{
	if (!zones) {
		if (!img_example)
			img_example = h_image(sample_zone_example(), NULL);
		if (!img_child)
			img_child = h_image(sample_zone_child(), NULL);
		if (!img_negttl)
			img_negttl = h_image(sample_zone_negttl(), NULL);
		if (img_example && img_child && img_negttl)
			zones = h_table(img_example, img_child, img_negttl,
					NULL);
	}
	return zones;
}

#define ZONES()                                                               \
	const struct ditto_zone_table *zt = zones_ready();                    \
	CU_ASSERT_PTR_NOT_NULL_FATAL(zt)

/* Fail (without leaving the test, so the response is dumped and freed)
 * unless the response parsed. */
#define PARSED(r)                                                             \
	CU_assertImplementation((r).pkt != NULL, __LINE__,                    \
				"response parses with ldns", __FILE__, "",    \
				CU_FALSE)

#define AN LDNS_SECTION_ANSWER
#define NS LDNS_SECTION_AUTHORITY
#define AR LDNS_SECTION_ADDITIONAL

/* QR set, opcode QUERY, RA clear, TC clear, rcode and AA as given. */
static void expect_header(const struct h_resp *r, unsigned rcode, bool aa)
{
	uint16_t f = h_flags(r);

	CU_ASSERT_TRUE(r->len >= DNS_HDR_LEN);
	CU_ASSERT_TRUE(f & DNS_F_QR);
	CU_ASSERT_EQUAL(DNS_OPCODE(f), DNS_OP_QUERY);
	CU_ASSERT_FALSE(f & DNS_F_RA);
	CU_ASSERT_FALSE(f & DNS_F_TC);
	CU_ASSERT_EQUAL(h_rcode(r), rcode);
	CU_ASSERT_EQUAL(!!(f & DNS_F_AA), aa);
	CU_ASSERT_EQUAL(r->info.rcode, rcode);
}

static uint32_t ttl_of(const struct h_resp *r, ldns_pkt_section s,
		       const char *owner, uint16_t type)
{
	ldns_rr *rr = h_rr_find(r, s, owner, type, 0);

	return rr ? ldns_rr_ttl(rr) : 0xffffffffu;
}

/* A NXDOMAIN/NODATA response: rcode, AA, empty answer (unless
 * answers > 0 were expected before it, as for CNAME chains), and the
 * apex SOA in authority with the negative TTL. */
static void expect_negative(const struct h_resp *r, unsigned rcode,
			    const char *apex, uint32_t ttl)
{
	expect_header(r, rcode, true);
	CU_ASSERT_EQUAL(h_rr_count(r, NS, DNS_T_SOA), 1);
	CU_ASSERT_PTR_NOT_NULL(h_rr_find(r, NS, apex, DNS_T_SOA, 0));
	CU_ASSERT_EQUAL(ttl_of(r, NS, apex, DNS_T_SOA), ttl);
}

/* FORMERR with QR set and the query's ID, in a well-formed message (the
 * counts match what follows: no half-copied question). */
static void expect_formerr(const struct h_resp *r, uint16_t id)
{
	CU_ASSERT_TRUE(r->len >= DNS_HDR_LEN);
	CU_ASSERT_EQUAL(h_rcode(r), DNS_R_FORMERR);
	CU_ASSERT_TRUE(h_flags(r) & DNS_F_QR);
	CU_ASSERT_EQUAL(r->len >= 2 ? dns_get16(r->wire) : 0, id);
	CU_ASSERT_EQUAL(h_count(r, 1), 0);
	CU_ASSERT_PTR_NOT_NULL(r->pkt);
}

/* ---- header ------------------------------------------------------------- */

static void test_exact_match_answers_rrset_with_aa_and_ttl(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "www.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_A,
					"192.0.2.80"));
		CU_ASSERT_EQUAL(ttl_of(&r, AN, "www.example.", DNS_T_A), 3600);
		CU_ASSERT_EQUAL(h_rr_count(&r, NS, DNS_T_SOA), 0);
		CU_ASSERT_EQUAL(r.info.qtype, DNS_T_A);
	}
	h_resp_free(&r);
}

static void test_response_keeps_id_and_sets_qr(void)
{
	struct h_query q = { .id = 0xbeef, .qname = "www.example.",
			     .qtype = DNS_T_AAAA };
	struct h_resp r;
	ZONES();

	h_ask(zt, &q, NULL, &r);
	CU_ASSERT_TRUE(r.len >= DNS_HDR_LEN);
	if (r.len >= DNS_HDR_LEN) {
		CU_ASSERT_EQUAL(dns_get16(r.wire), 0xbeef);
		CU_ASSERT_TRUE(h_flags(&r) & DNS_F_QR);
		CU_ASSERT_EQUAL(h_count(&r, 0), 1);
	}
	if (PARSED(r))
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_AAAA,
					"2001:db8::80"));
	h_resp_free(&r);
}

static void test_rd_and_cd_copied_and_ra_never_set(void)
{
	static const uint16_t cases[] = { 0, DNS_F_RD, DNS_F_CD,
					  DNS_F_RD | DNS_F_CD };
	ZONES();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h_query q = { .id = 7, .flags = cases[i],
				     .qname = "www.example.", .qtype = DNS_T_A };
		struct h_resp r;
		h_ask(zt, &q, NULL, &r);
		uint16_t f = h_flags(&r);
		CU_ASSERT_EQUAL(f & DNS_F_RD, cases[i] & DNS_F_RD);
		CU_ASSERT_EQUAL(f & DNS_F_CD, cases[i] & DNS_F_CD);
		CU_ASSERT_FALSE(f & DNS_F_RA);
		CU_ASSERT_FALSE(f & DNS_F_AD);
		h_resp_free(&r);
	}
}

static void test_question_echoed_byte_for_byte_with_case(void)
{
	struct h_query q = { .id = 9, .qname = "WwW.ExAmPlE.",
			     .qtype = DNS_T_A };
	uint8_t buf[512];
	struct h_resp r;
	ZONES();

	size_t n = h_query_wire(&q, buf, sizeof(buf));
	h_answer_raw(zt, buf, n, NULL, &r);
	CU_ASSERT_TRUE_FATAL(r.len >= n);
	CU_ASSERT_EQUAL(memcmp(r.wire + DNS_HDR_LEN, buf + DNS_HDR_LEN,
			       n - DNS_HDR_LEN), 0);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_A,
					"192.0.2.80"));
	}
	h_resp_free(&r);
}

static void test_lookup_ignores_case_of_query_and_zone(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "MIXED.EXAMPLE.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "mixed.example.", DNS_T_A,
					"192.0.2.61"));
	}
	h_resp_free(&r);
}

static void test_answer_written_in_place_over_the_query(void)
{
	struct h_query q = { .id = 11, .qname = "alias.example.",
			     .qtype = DNS_T_A };
	uint8_t *buf = malloc(4096);
	struct ditto_answer_info info;
	ldns_pkt *p = NULL;
	ZONES();

	size_t n = h_query_wire(&q, buf, 4096);
	size_t len = ditto_answer(zt, h_cfg_default(), buf, n, buf, 4096, 0,
				  &info);
	CU_ASSERT_TRUE(len > n);
	CU_ASSERT_EQUAL(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
	if (p) {
		CU_ASSERT_EQUAL(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		CU_ASSERT_EQUAL(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2);
		CU_ASSERT_EQUAL(ldns_pkt_id(p), 11);
		ldns_pkt_free(p);
	}
	free(buf);
}

/* ---- denial ------------------------------------------------------------- */

static void test_nxdomain_has_soa_with_ttl_min_of_soa_ttl_and_minimum(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "nope.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
	}
	h_resp_free(&r);
}

static void test_negative_ttl_is_soa_ttl_when_below_minimum(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "nope.negttl.test.", DNS_T_A, &r);
	if (PARSED(r))
		expect_negative(&r, DNS_R_NXDOMAIN, "negttl.test.", 60);
	h_resp_free(&r);
	h_ask_simple(zt, "ns.negttl.test.", DNS_T_MX, &r);
	if (PARSED(r))
		expect_negative(&r, DNS_R_NOERROR, "negttl.test.", 60);
	h_resp_free(&r);
}

static void test_nodata_is_noerror_with_soa(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "www.example.", DNS_T_MX, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NOERROR, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
	}
	h_resp_free(&r);
}

static void test_empty_non_terminal_is_nodata_not_nxdomain(void)
{
	static const char *const names[] = { "b.ent.example.",
					     "ent.example." };
	ZONES();

	for (int i = 0; i < 2; i++) {
		struct h_resp r;
		h_ask_simple(zt, names[i], DNS_T_A, &r);
		if (PARSED(r)) {
			expect_negative(&r, DNS_R_NOERROR, "example.", 300);
			CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
		}
		h_resp_free(&r);
	}
}

static void test_name_below_existing_leaf_is_nxdomain(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "x.www.example.", DNS_T_A, &r);
	if (PARSED(r))
		expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
	h_resp_free(&r);
}

/* ---- CNAME -------------------------------------------------------------- */

static void test_cname_followed_to_in_zone_target(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "alias.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 2);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "alias.example.", DNS_T_CNAME,
					"www.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_A,
					"192.0.2.80"));
		/* the CNAME comes first */
		ldns_rr *first = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
		CU_ASSERT_EQUAL(ldns_rr_get_type(first), LDNS_RR_TYPE_CNAME);
	}
	h_resp_free(&r);
}

static void test_cname_chain_followed_to_the_end(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "chain1.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 3);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "chain1.example.", DNS_T_CNAME,
					"chain2.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "chain2.example.", DNS_T_CNAME,
					"www.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_A,
					"192.0.2.80"));
	}
	h_resp_free(&r);
}

static void test_cname_query_returns_the_cname_only(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "alias.example.", DNS_T_CNAME, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "alias.example.", DNS_T_CNAME,
					"www.example."));
	}
	h_resp_free(&r);
}

static void test_cname_to_missing_in_zone_name_is_nxdomain(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "dangling.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "dangling.example.",
					DNS_T_CNAME, "nothere.example."));
	}
	h_resp_free(&r);
}

static void test_cname_target_without_the_type_is_nodata_with_soa(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "alias.example.", DNS_T_MX, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NOERROR, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_CNAME), 1);
	}
	h_resp_free(&r);
}

static void test_cname_to_out_of_zone_target_not_chased(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "outside.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "outside.example.",
					DNS_T_CNAME, "www.example.net."));
	}
	h_resp_free(&r);
}

static void test_cname_loop_terminates(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "loop1.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		CU_ASSERT_TRUE(h_rcode(&r) == DNS_R_NOERROR ||
			       h_rcode(&r) == DNS_R_SERVFAIL);
		CU_ASSERT_TRUE(h_rr_count(&r, AN, DNS_T_CNAME) >= 1);
		CU_ASSERT_TRUE(h_rr_count(&r, AN, DNS_T_CNAME) <= 16);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_A), 0);
	}
	h_resp_free(&r);
}

/* ---- DNAME -------------------------------------------------------------- */

static void test_dname_synthesizes_cname_with_dname_ttl_and_continues(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "host.dn.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 3);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "dn.example.", DNS_T_DNAME,
					"target.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "host.dn.example.",
					DNS_T_CNAME, "host.target.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "host.target.example.",
					DNS_T_A, "192.0.2.33"));
		CU_ASSERT_EQUAL(ttl_of(&r, AN, "dn.example.", DNS_T_DNAME), 600);
		CU_ASSERT_EQUAL(ttl_of(&r, AN, "host.dn.example.", DNS_T_CNAME),
				600);
		ldns_rr_list *an = ldns_pkt_answer(r.pkt);
		if (ldns_rr_list_rr_count(an) == 3) {
			CU_ASSERT_EQUAL(ldns_rr_get_type(ldns_rr_list_rr(an, 0)),
					LDNS_RR_TYPE_DNAME);
			CU_ASSERT_EQUAL(ldns_rr_get_type(ldns_rr_list_rr(an, 1)),
					LDNS_RR_TYPE_CNAME);
		}
	}
	h_resp_free(&r);
}

/* A DNAME at the root's apex (found by fuzz-zonefile): the synthesized
 * CNAME's length counted a label offset the query name never set, and
 * the answer carried stale buffer bytes. Every byte of the answer must
 * be the engine's: it parses, and it ends where its records do. (ASan
 * saw the read of the unset offset before the fix.) */
static void test_dname_at_the_root_apex_synthesizes_a_whole_cname(void)
{
	struct ditto_image *img = h_image(
		"$ORIGIN .\n$TTL 300\n@ SOA ns.example. host.example. 1 2 3 4 5\n"
		"@ NS ns.example.\n@ DNAME target.\n", NULL);
	struct ditto_zone_table *t;
	struct h_resp r;

	CU_ASSERT_FATAL(img != NULL);
	t = h_table(img, NULL);
	for (const char *const *q = (const char *const[]){ "z.", "a.b.c.", NULL };
	     *q; q++) {
		char want[64];

		/* Over TCP: the chain does not fit 512 bytes. */
		struct h_query hq = { .id = 1, .qname = *q, .qtype = DNS_T_MX };
		struct h_answer_opts o = { .flags = DITTO_ANSWER_TCP };

		h_ask(t, &hq, &o, &r);
		CU_ASSERT_FATAL(r.pkt != NULL);
		snprintf(want, sizeof(want), "%starget.", *q);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, ".", DNS_T_DNAME, "target."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, *q, DNS_T_CNAME, want));
		/* target. is under the root too: the chain goes on to the
		 * chain limit, each link whole. */
		CU_ASSERT(h_rr_count(&r, AN, DNS_T_CNAME) >= 1);
		size_t end = 12, n = h_count(&r, 0) + h_count(&r, 1) +
				    h_count(&r, 2) + h_count(&r, 3);

		end = h_skip_name(r.wire, r.len, end) + 4;	/* question */
		for (size_t i = 1; i < n && end; i++) {
			end = h_skip_name(r.wire, r.len, end);
			if (end && end + 10 <= r.len)
				end += 10 + dns_get16(r.wire + end + 8);
			else
				end = 0;
		}
		CU_ASSERT_EQUAL(end, r.len);
		h_resp_free(&r);
	}
	ditto_zone_table_free(t);
	ditto_image_free(img);
}

static void test_dname_owner_itself_is_not_redirected(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "dn.example.", DNS_T_DNAME, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_DNAME), 1);
	}
	h_resp_free(&r);
	h_ask_simple(zt, "dn.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NOERROR, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
	}
	h_resp_free(&r);
}

static void test_dname_to_missing_in_zone_target_is_nxdomain(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "nope.dn.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_DNAME), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "nope.dn.example.",
					DNS_T_CNAME, "nope.target.example."));
	}
	h_resp_free(&r);
}

static void test_dname_synthesis_too_long_is_yxdomain(void)
{
	/* 3 labels of 60 + "yx.example." = 183 + 12 = 195 bytes; with the
	 * 137-byte target the synthesized name would be 320. */
	char qname[256];
	char label[61];
	struct h_resp r;
	ZONES();

	memset(label, 'q', 60);
	label[60] = 0;
	snprintf(qname, sizeof(qname), "%s.%s.%s.yx.example.", label, label,
		 label);
	h_ask_simple(zt, qname, DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_YXDOMAIN, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "yx.example.", DNS_T_DNAME,
					SAMPLE_YX_TARGET));
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_CNAME), 0);
	}
	h_resp_free(&r);
}

static void test_dname_synthesis_that_fits_is_not_yxdomain(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "a.yx.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "a.yx.example.", DNS_T_CNAME,
					"a." SAMPLE_YX_TARGET));
	}
	h_resp_free(&r);
}

/* ---- wildcards ---------------------------------------------------------- */

static void test_wildcard_synthesizes_record_at_query_name(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "foo.wild.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "foo.wild.example.", DNS_T_A,
					"192.0.2.99"));
		CU_ASSERT_TRUE(r.info.flags & DITTO_INFO_WILDCARD);
	}
	h_resp_free(&r);
}

static void test_wildcard_matches_several_labels_below(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "a.b.wild.example.", DNS_T_TXT, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "a.b.wild.example.", DNS_T_TXT,
					"\"wild\""));
	}
	h_resp_free(&r);
}

static void test_wildcard_without_the_type_is_nodata(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "foo.wild.example.", DNS_T_MX, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NOERROR, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
	}
	h_resp_free(&r);
}

static void test_wildcard_not_applied_when_name_exists(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "exists.wild.example.", DNS_T_TXT, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NOERROR, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
	}
	h_resp_free(&r);
	h_ask_simple(zt, "exists.wild.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "exists.wild.example.", DNS_T_A,
					"192.0.2.100"));
		CU_ASSERT_FALSE(r.info.flags & DITTO_INFO_WILDCARD);
	}
	h_resp_free(&r);
}

static void test_wildcard_blocked_by_empty_non_terminal(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "x.wild.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_negative(&r, DNS_R_NOERROR, "example.", 300);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
	}
	h_resp_free(&r);
}

static void test_wildcard_not_applied_below_an_existing_name(void)
{
	static const char *const names[] = { "y.x.wild.example.",
					     "y.exists.wild.example." };
	ZONES();

	for (int i = 0; i < 2; i++) {
		struct h_resp r;
		h_ask_simple(zt, names[i], DNS_T_A, &r);
		if (PARSED(r)) {
			expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
			CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
		}
		h_resp_free(&r);
	}
}

static void test_wildcard_cname_synthesized_and_followed(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "foo.wc.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "foo.wc.example.", DNS_T_CNAME,
					"www.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_A,
					"192.0.2.80"));
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 2);
	}
	h_resp_free(&r);
}

static void test_wildcard_owner_queried_literally(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "*.wild.example.", DNS_T_TXT, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "*.wild.example.", DNS_T_TXT,
					"\"wild\""));
	}
	h_resp_free(&r);
}

/* ---- delegations -------------------------------------------------------- */

static void expect_referral_to_deleg(const struct h_resp *r)
{
	expect_header(r, DNS_R_NOERROR, false);
	CU_ASSERT_EQUAL(h_rr_count(r, AN, 0), 0);
	CU_ASSERT_EQUAL(h_rr_count(r, NS, DNS_T_NS), 2);
	CU_ASSERT_EQUAL(h_rr_count(r, NS, DNS_T_SOA), 0);
	CU_ASSERT_TRUE(h_rr_has(r, NS, "deleg.example.", DNS_T_NS,
				"ns.deleg.example."));
	CU_ASSERT_TRUE(h_rr_has(r, NS, "deleg.example.", DNS_T_NS,
				"ns.example.net."));
	CU_ASSERT_TRUE(h_rr_has(r, AR, "ns.deleg.example.", DNS_T_A,
				"192.0.2.53"));
	CU_ASSERT_TRUE(h_rr_has(r, AR, "ns.deleg.example.", DNS_T_AAAA,
				"2001:db8::53"));
	CU_ASSERT_EQUAL(h_rr_count(r, AR, DNS_T_A) +
			h_rr_count(r, AR, DNS_T_AAAA), 2);
	CU_ASSERT_TRUE(r->info.flags & DITTO_INFO_REFERRAL);
}

static void test_referral_below_cut_clears_aa_with_ns_and_glue(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "www.deleg.example.", DNS_T_A, &r);
	if (PARSED(r))
		expect_referral_to_deleg(&r);
	h_resp_free(&r);
}

static void test_referral_at_the_cut_itself(void)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_NS, DNS_T_MX };
	ZONES();

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct h_resp r;
		h_ask_simple(zt, "deleg.example.", types[i], &r);
		if (PARSED(r))
			expect_referral_to_deleg(&r);
		h_resp_free(&r);
	}
}

static void test_glue_name_gets_referral_not_authoritative_answer(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "ns.deleg.example.", DNS_T_A, &r);
	if (PARSED(r))
		expect_referral_to_deleg(&r);
	h_resp_free(&r);
}

/* ---- additional section ------------------------------------------------- */

static void test_mx_additional_has_in_zone_target_address(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "example.", DNS_T_MX, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "example.", DNS_T_MX,
					"10 mail.example."));
		CU_ASSERT_TRUE(h_rr_has(&r, AR, "mail.example.", DNS_T_A,
					"192.0.2.25"));
	}
	h_resp_free(&r);
}

static void test_ns_additional_has_in_zone_addresses_only(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "example.", DNS_T_NS, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_NS), 2);
		CU_ASSERT_TRUE(h_rr_has(&r, AR, "ns1.example.", DNS_T_A,
					"192.0.2.1"));
		CU_ASSERT_TRUE(h_rr_has(&r, AR, "ns1.example.", DNS_T_AAAA,
					"2001:db8::1"));
		CU_ASSERT_PTR_NULL(h_rr_find(&r, AR, "ns2.example.net.", 0, 0));
	}
	h_resp_free(&r);
}

static void test_srv_additional_has_target_address(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "_sip._udp.example.", DNS_T_SRV, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_SRV), 1);
		CU_ASSERT_TRUE(h_rr_has(&r, AR, "sip.example.", DNS_T_A,
					"192.0.2.60"));
	}
	h_resp_free(&r);
}

/* ---- several zones ------------------------------------------------------ */

static void test_hosted_child_zone_answers_instead_of_parent_referral(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "www.child.example.", DNS_T_A, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.child.example.", DNS_T_A,
					"192.0.2.180"));
	}
	h_resp_free(&r);
	h_ask_simple(zt, "child.example.", DNS_T_SOA, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		ldns_rr *soa = h_rr_find(&r, AN, "child.example.", DNS_T_SOA, 0);
		CU_ASSERT_PTR_NOT_NULL(soa);
		if (soa)
			CU_ASSERT_EQUAL(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)),
					7);
	}
	h_resp_free(&r);
	h_ask_simple(zt, "nope.child.example.", DNS_T_A, &r);
	if (PARSED(r))
		expect_negative(&r, DNS_R_NXDOMAIN, "child.example.", 300);
	h_resp_free(&r);
}

static void test_name_outside_every_zone_is_refused_without_aa(void)
{
	static const char *const names[] = { "www.example.org.",
					     "example.net.", ".",
					     "notexample." };
	ZONES();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct h_resp r;
		h_ask_simple(zt, names[i], DNS_T_A, &r);
		if (PARSED(r)) {
			expect_header(&r, DNS_R_REFUSED, false);
			CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 0);
		}
		h_resp_free(&r);
	}
}

/* ---- EDNS --------------------------------------------------------------- */

static void ask_edns(const struct ditto_zone_table *zt, const char *qname,
		     uint16_t qtype, struct h_edns e,
		     const struct ditto_answer_cfg *cfg, struct h_resp *r)
{
	struct h_query q = { .id = 0x4444, .qname = qname, .qtype = qtype,
			     .edns = e };
	struct h_answer_opts o = { .cfg = cfg };

	q.edns.on = true;
	h_ask(zt, &q, &o, r);
}

static void test_edns_opt_echoed_with_our_payload_size_and_version_0(void)
{
	struct h_resp r;
	struct h_opt opt;
	ZONES();

	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 4096 }, NULL, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_TRUE(opt.present);
	CU_ASSERT_EQUAL(opt.count, 1);
	CU_ASSERT_EQUAL(opt.payload, DITTO_EDNS_DEFAULT);
	CU_ASSERT_EQUAL(opt.version, 0);
	CU_ASSERT_EQUAL(opt.ext_rcode, 0);
	CU_ASSERT_FALSE(opt.eflags & DNS_EDNS_DO);
	CU_ASSERT_TRUE(r.info.flags & DITTO_INFO_EDNS);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_A), 1);
	}
	h_resp_free(&r);
}

static void test_edns_do_bit_echoed(void)
{
	struct h_resp r;
	struct h_opt opt;
	ZONES();

	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 1232, .do_bit = true }, NULL, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_TRUE(opt.present);
	CU_ASSERT_TRUE(opt.eflags & DNS_EDNS_DO);
	CU_ASSERT_TRUE(r.info.flags & DITTO_INFO_DO);
	h_resp_free(&r);
}

static void test_no_opt_in_response_without_opt_in_query(void)
{
	struct h_resp r;
	struct h_opt opt;
	ZONES();

	h_ask_simple(zt, "www.example.", DNS_T_A, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_FALSE(opt.present);
	CU_ASSERT_FALSE(r.info.flags & DITTO_INFO_EDNS);
	h_resp_free(&r);
}

static void test_edns_version_1_gets_badvers(void)
{
	struct h_resp r;
	struct h_opt opt;
	ZONES();

	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 1232, .version = 1 }, NULL, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_TRUE(opt.present);
	CU_ASSERT_EQUAL(h_rcode(&r), 0);	/* 16 = 0x1 << 4 | 0x0 */
	CU_ASSERT_EQUAL(opt.ext_rcode, 1);
	CU_ASSERT_EQUAL(opt.version, 0);
	CU_ASSERT_EQUAL(h_count(&r, 1), 0);
	CU_ASSERT_EQUAL(r.info.rcode, DNS_R_BADVERS);
	CU_ASSERT_TRUE(h_flags(&r) & DNS_F_QR);
	h_resp_free(&r);
}

static void test_edns_unknown_option_ignored(void)
{
	static const uint8_t opts[] = { 0xfd, 0xe9, 0, 3, 'x', 'y', 'z' };
	struct h_resp r;
	struct h_opt opt;
	uint16_t len;
	ZONES();

	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 1232, .options = opts,
				  .options_len = sizeof(opts) }, NULL, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_TRUE(opt.present);
	CU_ASSERT_PTR_NULL(h_opt_option(&opt, 0xfde9, &len));
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_TRUE(h_rr_has(&r, AN, "www.example.", DNS_T_A,
					"192.0.2.80"));
	}
	h_resp_free(&r);
}

static const uint8_t nsid_req[] = { 0, DNS_EDNS_NSID, 0, 0 };

static void test_nsid_returned_when_requested_and_configured(void)
{
	static const uint8_t id[] = "pop-ams-1";
	struct ditto_answer_cfg cfg = { .edns_max = DITTO_EDNS_DEFAULT,
					.nsid = id, .nsid_len = 9 };
	struct h_resp r;
	struct h_opt opt;
	uint16_t len = 0;
	ZONES();

	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 1232, .options = nsid_req,
				  .options_len = sizeof(nsid_req) }, &cfg, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	const uint8_t *d = h_opt_option(&opt, DNS_EDNS_NSID, &len);
	CU_ASSERT_PTR_NOT_NULL(d);
	CU_ASSERT_EQUAL(len, 9);
	if (d && len == 9)
		CU_ASSERT_EQUAL(memcmp(d, id, 9), 0);
	if (PARSED(r))
		expect_header(&r, DNS_R_NOERROR, true);
	h_resp_free(&r);
}

static void test_nsid_absent_when_not_configured_or_not_requested(void)
{
	static const uint8_t id[] = "pop-ams-1";
	struct ditto_answer_cfg cfg = { .edns_max = DITTO_EDNS_DEFAULT,
					.nsid = id, .nsid_len = 9 };
	struct h_resp r;
	struct h_opt opt;
	uint16_t len;
	ZONES();

	/* requested, not configured */
	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 1232, .options = nsid_req,
				  .options_len = sizeof(nsid_req) }, NULL, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_PTR_NULL(h_opt_option(&opt, DNS_EDNS_NSID, &len));
	h_resp_free(&r);
	/* configured, not requested */
	ask_edns(zt, "www.example.", DNS_T_A,
		 (struct h_edns){ .payload = 1232 }, &cfg, &r);
	CU_ASSERT_TRUE(h_opt(&r, &opt));
	CU_ASSERT_PTR_NULL(h_opt_option(&opt, DNS_EDNS_NSID, &len));
	h_resp_free(&r);
}

static void test_two_opt_records_are_formerr(void)
{
	struct h_query q = { .id = 5, .qname = "www.example.",
			     .qtype = DNS_T_A,
			     .edns = { .on = true, .payload = 1232 } };
	uint8_t buf[512];
	struct h_resp r;
	ZONES();

	size_t n = h_query_wire(&q, buf, sizeof(buf));
	memcpy(buf + n, buf + n - 11, 11);	/* a second OPT */
	n += 11;
	dns_put16(buf + 10, 2);
	h_answer_raw(zt, buf, n, NULL, &r);
	expect_formerr(&r, 5);
	h_resp_free(&r);
}

/* ---- ANY ---------------------------------------------------------------- */

static void test_any_returns_exactly_one_rrset(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "www.example.", DNS_T_ANY, &r);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		size_t n = h_rr_count(&r, AN, 0);
		CU_ASSERT_TRUE(n >= 1);
		if (n >= 1) {
			ldns_rr_list *an = ldns_pkt_answer(r.pkt);
			ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(an, 0));
			CU_ASSERT_EQUAL(h_rr_count(&r, AN, (uint16_t)t), n);
		}
	}
	h_resp_free(&r);
}

static void test_any_at_missing_name_is_nxdomain(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "nope.example.", DNS_T_ANY, &r);
	if (PARSED(r))
		expect_negative(&r, DNS_R_NXDOMAIN, "example.", 300);
	h_resp_free(&r);
}

/* ---- CHAOS -------------------------------------------------------------- */

static void ask_chaos(const struct ditto_zone_table *zt, const char *qname,
		      const struct ditto_answer_cfg *cfg, struct h_resp *r)
{
	struct h_query q = { .id = 0xc4a0, .qname = qname,
			     .qtype = DNS_T_TXT, .qclass = DNS_CLASS_CH };
	struct h_answer_opts o = { .cfg = cfg };

	h_ask(zt, &q, &o, r);
}

static const uint8_t identity[] = "ditto-node-7";
static const struct ditto_answer_cfg chaos_cfg = {
	.edns_max = DITTO_EDNS_DEFAULT,
	.identity = identity,
	.identity_len = 12,
};

static void test_chaos_id_server_and_hostname_bind_return_identity(void)
{
	static const char *const names[] = { "id.server.", "hostname.bind.",
					     "ID.SERVER." };
	ZONES();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct h_resp r;
		ask_chaos(zt, names[i], &chaos_cfg, &r);
		if (PARSED(r)) {
			CU_ASSERT_EQUAL(h_rcode(&r), DNS_R_NOERROR);
			CU_ASSERT_EQUAL(h_rr_count(&r, AN, 0), 1);
			ldns_rr *rr = h_rr_find(&r, AN, names[i], DNS_T_TXT, 0);
			CU_ASSERT_PTR_NOT_NULL(rr);
			if (rr) {
				char buf[64];
				CU_ASSERT_EQUAL(ldns_rr_get_class(rr),
						LDNS_RR_CLASS_CH);
				CU_ASSERT_STRING_EQUAL(
					h_rdata_str(rr, buf, sizeof(buf)),
					"\"ditto-node-7\"");
			}
		}
		h_resp_free(&r);
	}
}

static void test_chaos_identity_refused_when_not_configured(void)
{
	static const char *const names[] = { "id.server.", "hostname.bind." };
	ZONES();

	for (size_t i = 0; i < 2; i++) {
		struct h_resp r;
		ask_chaos(zt, names[i], NULL, &r);
		CU_ASSERT_TRUE(r.len >= DNS_HDR_LEN);
		CU_ASSERT_EQUAL(h_rcode(&r), DNS_R_REFUSED);
		CU_ASSERT_EQUAL(h_count(&r, 1), 0);
		h_resp_free(&r);
	}
}

static void test_chaos_version_and_other_names_refused(void)
{
	static const char *const names[] = { "version.bind.",
					     "version.server.",
					     "authors.bind.", "www.example." };
	ZONES();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct h_resp r;
		ask_chaos(zt, names[i], &chaos_cfg, &r);
		CU_ASSERT_TRUE(r.len >= DNS_HDR_LEN);
		CU_ASSERT_EQUAL(h_rcode(&r), DNS_R_REFUSED);
		CU_ASSERT_EQUAL(h_count(&r, 1), 0);
		h_resp_free(&r);
	}
}

/* ---- truncation --------------------------------------------------------- */

/* TC set, no records in the answer, question echoed, within limit. */
static void expect_truncated(const struct h_resp *r, size_t limit)
{
	CU_ASSERT_TRUE(r->len >= DNS_HDR_LEN);
	CU_ASSERT_TRUE(r->len <= limit);
	CU_ASSERT_TRUE(h_flags(r) & DNS_F_TC);
	CU_ASSERT_EQUAL(h_count(r, 0), 1);
	CU_ASSERT_EQUAL(h_count(r, 1), 0);
	CU_ASSERT_TRUE(r->info.flags & DITTO_INFO_TC);
}

static void test_udp_answer_over_512_without_edns_sets_tc(void)
{
	struct h_resp r;
	ZONES();

	h_ask_simple(zt, "big.example.", DNS_T_TXT, &r);
	expect_truncated(&r, 512);
	h_resp_free(&r);
}

static void test_answer_within_edns_payload_is_not_truncated(void)
{
	struct h_resp r;
	ZONES();

	ask_edns(zt, "big.example.", DNS_T_TXT,
		 (struct h_edns){ .payload = 1232 }, NULL, &r);
	CU_ASSERT_TRUE(r.len > 512 && r.len <= 1232);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_TXT), 8);
	}
	h_resp_free(&r);
}

static void test_client_payload_above_our_max_is_capped(void)
{
	struct h_resp r;
	ZONES();

	ask_edns(zt, "huge.example.", DNS_T_TXT,
		 (struct h_edns){ .payload = 65000 }, NULL, &r);
	expect_truncated(&r, DITTO_EDNS_DEFAULT);
	h_resp_free(&r);
}

static void test_client_payload_smaller_than_answer_sets_tc(void)
{
	struct h_resp r;
	ZONES();

	ask_edns(zt, "big.example.", DNS_T_TXT,
		 (struct h_edns){ .payload = 700 }, NULL, &r);
	expect_truncated(&r, 700);
	h_resp_free(&r);
}

static void test_client_payload_below_512_treated_as_512(void)
{
	struct h_resp r;
	ZONES();

	ask_edns(zt, "mid.example.", DNS_T_TXT,
		 (struct h_edns){ .payload = 100 }, NULL, &r);
	CU_ASSERT_TRUE(r.len > 100 && r.len <= 512);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_TXT), 3);
	}
	h_resp_free(&r);
}

static void test_tcp_answer_is_not_truncated(void)
{
	struct h_query q = { .id = 1, .qname = "huge.example.",
			     .qtype = DNS_T_TXT };
	struct h_answer_opts o = { .flags = DITTO_ANSWER_TCP };
	struct h_resp r;
	ZONES();

	h_ask(zt, &q, &o, &r);
	CU_ASSERT_TRUE(r.len > 2000);
	if (PARSED(r)) {
		expect_header(&r, DNS_R_NOERROR, true);
		CU_ASSERT_EQUAL(h_rr_count(&r, AN, DNS_T_TXT), 20);
	}
	h_resp_free(&r);
}

static void test_answer_truncated_to_buffer_capacity(void)
{
	struct h_query q = { .id = 1, .qname = "huge.example.",
			     .qtype = DNS_T_TXT };
	struct h_answer_opts o = { .flags = DITTO_ANSWER_TCP, .cap = 1000 };
	struct h_resp r;
	ZONES();

	h_ask(zt, &q, &o, &r);
	expect_truncated(&r, 1000);
	h_resp_free(&r);
}

/* ---- malformed queries -------------------------------------------------- */

static void test_qdcount_other_than_one_is_formerr(void)
{
	struct h_query q = { .id = 0x5151, .qname = "www.example.",
			     .qtype = DNS_T_A };
	uint8_t buf[512];
	ZONES();

	size_t n = h_query_wire(&q, buf, sizeof(buf));
	for (unsigned qd = 0; qd <= 2; qd += 2) {
		struct h_resp r;
		dns_put16(buf + 4, qd);
		h_answer_raw(zt, buf, qd ? n : DNS_HDR_LEN, NULL, &r);
		expect_formerr(&r, 0x5151);
		h_resp_free(&r);
	}
}

/* ditto_answer_burst() reorders and interleaves its work; every response
 * must still be byte for byte what ditto_answer() gives, bursts longer
 * than DITTO_BURST_MAX included. */
static void test_burst_answers_equal_single_answers(void)
{
	static const char *const names[] = {
		"www.example.", "WwW.Example.", "alias.example.", "chain1.example.",
		"dangling.example.", "outside.example.", "loop1.example.",
		"x.wild.example.", "deep.x.wild.example.", "exists.wild.example.",
		"a.b.ent.example.", "b.ent.example.", "nothere.example.",
		"host.deleg.example.", "deleg.example.", "ns.deleg.example.",
		"child.example.", "www.child.example.", "x.yx.example.",
		"mail.example.", "example.", "www.example.org.", "sip.example.",
	};
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
					  DNS_T_TXT, DNS_T_NS, DNS_T_ANY,
					  DNS_T_CNAME, DNS_T_DS };
	enum { N = 3 * DITTO_BURST_MAX + 5 };
	static uint8_t wire[N][512], single[N][2048], burst[N][2048];
	struct ditto_query qs[N];
	size_t single_len[N];
	ZONES();

	for (unsigned i = 0; i < N; i++) {
		struct h_query q = {
			.id = (uint16_t)i,
			.qname = names[(i * 7) % (sizeof(names) / sizeof(names[0]))],
			.qtype = types[i % (sizeof(types) / sizeof(types[0]))],
			.edns = { .on = i % 3 != 0, .payload = 1232,
				  .do_bit = i % 5 == 0 },
		};
		size_t len = h_query_wire(&q, wire[i], sizeof(wire[i]));
		CU_ASSERT_TRUE_FATAL(len > 0);
		single_len[i] = ditto_answer(zt, h_cfg_default(), wire[i], len,
					     single[i], sizeof(single[i]), 0,
					     NULL);
		qs[i] = (struct ditto_query){ .q = wire[i], .qlen = (uint16_t)len,
					      .resp = burst[i],
					      .cap = sizeof(burst[i]) };
	}
	ditto_answer_burst(zt, h_cfg_default(), qs, N, 0);
	for (unsigned i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(qs[i].resp_len, single_len[i]);
		CU_ASSERT_TRUE(qs[i].resp_len == single_len[i] &&
			       memcmp(burst[i], single[i], single_len[i]) == 0);
	}
}

static void test_opcode_other_than_query_is_notimp_or_notauth(void)
{
	static const unsigned opcodes[] = { 1, 2, 4, 5, 15 };
	ZONES();

	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		struct h_query q = { .id = 0x0909,
				     .flags = (uint16_t)(opcodes[i] << 11),
				     .qname = "www.example.", .qtype = DNS_T_A };
		struct h_resp r;
		h_ask(zt, &q, NULL, &r);
		CU_ASSERT_TRUE(r.len >= DNS_HDR_LEN);
		/* NOTIFY and UPDATE belong to the control process: NOTAUTH,
		 * as Knot DNS answers them; the rest are not implemented. */
		CU_ASSERT_EQUAL(h_rcode(&r), opcodes[i] == 4 || opcodes[i] == 5
						     ? DNS_R_NOTAUTH
						     : DNS_R_NOTIMP);
		CU_ASSERT_TRUE(h_flags(&r) & DNS_F_QR);
		CU_ASSERT_EQUAL(DNS_OPCODE(h_flags(&r)), opcodes[i]);
		CU_ASSERT_EQUAL(h_count(&r, 1), 0);
		h_resp_free(&r);
	}
}

static void test_response_packets_are_dropped(void)
{
	struct h_query q = { .id = 3, .flags = DNS_F_QR,
			     .qname = "www.example.", .qtype = DNS_T_A };
	struct h_resp r;
	ZONES();

	h_ask(zt, &q, NULL, &r);
	CU_ASSERT_EQUAL(r.len, 0);
	CU_ASSERT_TRUE(r.info.flags & DITTO_INFO_DROPPED);
	h_resp_free(&r);
}

static void test_packets_shorter_than_header_are_dropped(void)
{
	uint8_t buf[DNS_HDR_LEN] = { 0x12, 0x34, 0, 0, 0, 1 };
	ZONES();

	for (size_t n = 0; n < DNS_HDR_LEN; n++) {
		struct h_resp r;
		uint8_t *q = malloc(n ? n : 1);	/* exact, for ASan */
		memcpy(q, buf, n);
		h_answer_raw(zt, q, n, NULL, &r);
		CU_ASSERT_EQUAL(r.len, 0);
		h_resp_free(&r);
		free(q);
	}
}

static void test_truncated_question_is_formerr(void)
{
	struct h_query q = { .id = 0x7777, .qname = "www.example.",
			     .qtype = DNS_T_A };
	uint8_t buf[512];
	ZONES();

	size_t n = h_query_wire(&q, buf, sizeof(buf));
	for (size_t cut = DNS_HDR_LEN; cut < n; cut++) {
		struct h_resp r;
		uint8_t *m = malloc(cut);	/* exact, for ASan */
		memcpy(m, buf, cut);
		h_answer_raw(zt, m, cut, NULL, &r);
		expect_formerr(&r, 0x7777);
		if (h_rcode(&r) != DNS_R_FORMERR)
			printf("\n  query cut to %zu of %zu bytes: rcode %u, "
			       "%zu bytes\n", cut, n, h_rcode(&r), r.len);
		h_resp_free(&r);
		free(m);
	}
}

static void test_malformed_question_name_is_formerr(void)
{
	/* compression pointer, label type 01, label over 63, name over 255 */
	static const uint8_t ptr[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c };
	static const uint8_t ext[] = { 0x41, 'x', 0 };
	uint8_t big[80] = { 64 }, huge[300];
	struct {
		const uint8_t *name;
		size_t len;
	} cases[] = {
		{ ptr, sizeof(ptr) }, { ext, sizeof(ext) },
		{ big, 67 }, { huge, 0 },
	};
	ZONES();

	memset(big + 1, 'a', 64);
	big[65] = 0;
	size_t o = 0;
	for (int i = 0; i < 5; i++) {
		huge[o++] = 50;
		memset(huge + o, 'h', 50);
		o += 50;
	}
	huge[o++] = 7;
	memcpy(huge + o, "example", 7);
	o += 7;
	huge[o++] = 0;		/* 5 * 51 + 8 + 1 = 264 bytes */
	cases[3].len = o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[400] = { 0x66, 0x66, 0, 0, 0, 1 };
		size_t n = DNS_HDR_LEN;
		memcpy(buf + n, cases[i].name, cases[i].len);
		n += cases[i].len;
		dns_put16(buf + n, DNS_T_A);
		dns_put16(buf + n + 2, DNS_CLASS_IN);
		n += 4;
		struct h_resp r;
		h_answer_raw(zt, buf, n, NULL, &r);
		expect_formerr(&r, 0x6666);
		if (h_rcode(&r) != DNS_R_FORMERR)
			printf("\n  malformed name case %zu: rcode %u\n", i,
			       h_rcode(&r));
		h_resp_free(&r);
	}
}

/* A question whose name has labels of the given lengths (all 'a'). */
static size_t long_name_query(uint8_t *buf, const uint8_t *labels, int n)
{
	size_t o = DNS_HDR_LEN;

	memset(buf, 0, DNS_HDR_LEN);
	dns_put16(buf, 0x2552);
	dns_put16(buf + 4, 1);
	for (int i = 0; i < n; i++) {
		buf[o++] = labels[i];
		memset(buf + o, 'a', labels[i]);
		o += labels[i];
	}
	buf[o++] = 0;
	dns_put16(buf + o, DNS_T_A);
	dns_put16(buf + o + 2, DNS_CLASS_IN);
	return o + 4;
}

static void test_question_name_of_256_bytes_is_formerr(void)
{
	static const uint8_t labels[] = { 63, 63, 63, 62 };	/* 256 bytes */
	uint8_t buf[400];
	struct h_resp r;
	ZONES();

	size_t n = long_name_query(buf, labels, 4);
	CU_ASSERT_EQUAL(n, DNS_HDR_LEN + 256 + 4);
	h_answer_raw(zt, buf, n, NULL, &r);
	expect_formerr(&r, 0x2552);
	h_resp_free(&r);
}

static void test_question_name_of_255_bytes_is_echoed_whole(void)
{
	static const uint8_t labels[] = { 63, 63, 63, 61 };	/* 255 bytes */
	uint8_t buf[400];
	struct h_resp r;
	ZONES();

	size_t n = long_name_query(buf, labels, 4);
	h_answer_raw(zt, buf, n, NULL, &r);
	CU_ASSERT_TRUE_FATAL(r.len >= n);
	CU_ASSERT_EQUAL(memcmp(r.wire + DNS_HDR_LEN, buf + DNS_HDR_LEN,
			       n - DNS_HDR_LEN), 0);
	if (PARSED(r))
		expect_header(&r, DNS_R_REFUSED, false);
	h_resp_free(&r);
}

static void test_truncated_opt_is_formerr_or_dropped(void)
{
	struct h_query q = { .id = 0x8888, .qname = "www.example.",
			     .qtype = DNS_T_A,
			     .edns = { .on = true, .payload = 1232 } };
	uint8_t buf[512];
	ZONES();

	size_t n = h_query_wire(&q, buf, sizeof(buf));
	for (size_t cut = n - 10; cut < n; cut++) {
		struct h_resp r;
		uint8_t *m = malloc(cut);
		memcpy(m, buf, cut);
		h_answer_raw(zt, m, cut, NULL, &r);
		CU_ASSERT_TRUE(r.len == 0 || h_rcode(&r) == DNS_R_FORMERR);
		h_resp_free(&r);
		free(m);
	}
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_exact_match_answers_rrset_with_aa_and_ttl),
		T(test_response_keeps_id_and_sets_qr),
		T(test_rd_and_cd_copied_and_ra_never_set),
		T(test_question_echoed_byte_for_byte_with_case),
		T(test_lookup_ignores_case_of_query_and_zone),
		T(test_answer_written_in_place_over_the_query),
		T(test_nxdomain_has_soa_with_ttl_min_of_soa_ttl_and_minimum),
		T(test_negative_ttl_is_soa_ttl_when_below_minimum),
		T(test_nodata_is_noerror_with_soa),
		T(test_empty_non_terminal_is_nodata_not_nxdomain),
		T(test_name_below_existing_leaf_is_nxdomain),
		T(test_cname_followed_to_in_zone_target),
		T(test_cname_chain_followed_to_the_end),
		T(test_cname_query_returns_the_cname_only),
		T(test_cname_to_missing_in_zone_name_is_nxdomain),
		T(test_cname_target_without_the_type_is_nodata_with_soa),
		T(test_cname_to_out_of_zone_target_not_chased),
		T(test_cname_loop_terminates),
		T(test_dname_synthesizes_cname_with_dname_ttl_and_continues),
		T(test_dname_owner_itself_is_not_redirected),
		T(test_dname_at_the_root_apex_synthesizes_a_whole_cname),
		T(test_dname_to_missing_in_zone_target_is_nxdomain),
		T(test_dname_synthesis_too_long_is_yxdomain),
		T(test_dname_synthesis_that_fits_is_not_yxdomain),
		T(test_wildcard_synthesizes_record_at_query_name),
		T(test_wildcard_matches_several_labels_below),
		T(test_wildcard_without_the_type_is_nodata),
		T(test_wildcard_not_applied_when_name_exists),
		T(test_wildcard_blocked_by_empty_non_terminal),
		T(test_wildcard_not_applied_below_an_existing_name),
		T(test_wildcard_cname_synthesized_and_followed),
		T(test_wildcard_owner_queried_literally),
		T(test_referral_below_cut_clears_aa_with_ns_and_glue),
		T(test_referral_at_the_cut_itself),
		T(test_glue_name_gets_referral_not_authoritative_answer),
		T(test_mx_additional_has_in_zone_target_address),
		T(test_ns_additional_has_in_zone_addresses_only),
		T(test_srv_additional_has_target_address),
		T(test_hosted_child_zone_answers_instead_of_parent_referral),
		T(test_name_outside_every_zone_is_refused_without_aa),
		T(test_edns_opt_echoed_with_our_payload_size_and_version_0),
		T(test_edns_do_bit_echoed),
		T(test_no_opt_in_response_without_opt_in_query),
		T(test_edns_version_1_gets_badvers),
		T(test_edns_unknown_option_ignored),
		T(test_nsid_returned_when_requested_and_configured),
		T(test_nsid_absent_when_not_configured_or_not_requested),
		T(test_two_opt_records_are_formerr),
		T(test_any_returns_exactly_one_rrset),
		T(test_any_at_missing_name_is_nxdomain),
		T(test_chaos_id_server_and_hostname_bind_return_identity),
		T(test_chaos_identity_refused_when_not_configured),
		T(test_chaos_version_and_other_names_refused),
		T(test_udp_answer_over_512_without_edns_sets_tc),
		T(test_answer_within_edns_payload_is_not_truncated),
		T(test_client_payload_above_our_max_is_capped),
		T(test_client_payload_smaller_than_answer_sets_tc),
		T(test_client_payload_below_512_treated_as_512),
		T(test_tcp_answer_is_not_truncated),
		T(test_answer_truncated_to_buffer_capacity),
		T(test_qdcount_other_than_one_is_formerr),
		T(test_opcode_other_than_query_is_notimp_or_notauth),
		T(test_burst_answers_equal_single_answers),
		T(test_response_packets_are_dropped),
		T(test_packets_shorter_than_header_are_dropped),
		T(test_truncated_question_is_formerr),
		T(test_malformed_question_name_is_formerr),
		T(test_question_name_of_256_bytes_is_formerr),
		T(test_question_name_of_255_bytes_is_echoed_whole),
		T(test_truncated_opt_is_formerr_or_dropped),
#undef T
	};
	int rc = h_run("answer", tests, sizeof(tests) / sizeof(tests[0]));

	if (zones)
		ditto_zone_table_free(zones);
	struct ditto_image *imgs[] = { img_example, img_child, img_negttl };
	for (int i = 0; i < 3; i++)
		if (imgs[i])
			ditto_image_free(imgs[i]);
	return rc;
}
