/* Unit tests for DNSSEC answers (RFC 4035 3.1, RFC 5155 7.2): a zone is
 * signed here with ldns's signer (NSEC, NSEC3 with salt and iterations, and
 * NSEC3 with an opt-out span cut out of the chain), compiled, and every
 * answer's proofs are checked with ldns's own canonical order and NSEC3
 * hashing, so the engine's search and hash are not checked against
 * themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <ldns/ldns.h>

#include "ditto/dnssec.h"
#include "ditto/image.h"
#include "ditto/wire.h"
#include "helpers.h"
#include "sample_zone.h"

#define ORIGIN "t.test."
#define ITER 10
static uint8_t SALT[] = { 0xaa, 0xbb, 0xcc, 0xdd };

enum mode { M_NSEC, M_NSEC3, M_OPTOUT, M_COUNT };
static struct ditto_image *imgs[M_COUNT];
static struct ditto_zone_table *tables[M_COUNT];

/* ---- signing ------------------------------------------------------------- */

static char *hash_label(const char *name)
{
	ldns_rdf *d = ldns_dname_new_frm_str(name);
	ldns_rdf *h = ldns_nsec3_hash_name(d, 1, ITER, sizeof(SALT), SALT);
	char *s = ldns_rdf2str(h);
	ldns_rdf_deep_free(d);
	ldns_rdf_deep_free(h);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char *dot = strchr(s, '.');
	if (dot)
		*dot = 0;
	return s;
}

static char *first_label(const ldns_rdf *owner)
{
	char *s = ldns_rdf2str(owner);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char *dot = strchr(s, '.');
	if (dot)
		*dot = 0;
	return s;
}

static char *next_hash(const ldns_rr *rr)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, 4));
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* Opt-out by hand: the NSEC3s of the insecure delegations and of the
 * empty non-terminal above only insecure ones leave the chain; their
 * predecessors' next hashes jump over them and every NSEC3 gets the
 * opt-out flag. (The RRSIGs no longer match, which no answer checks.) */
static void cut_optout(ldns_zone *z)
{
	const char *gone[] = { "sub.t.test.", "x.ent.t.test.", "ent.t.test." };
	ldns_rr_list *rrs = ldns_zone_rrs(z);

	for (size_t g = 0; g < 3; g++) {
		char *h = hash_label(gone[g]);
		char *after = NULL;
		for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(rrs, i);
			char *o = first_label(ldns_rr_owner(rr));
			if (strcmp(o, h) == 0) {
				if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3)
					after = next_hash(rr);
				ldns_rr_free(ldns_rr_list_set_rr(rrs, NULL, i));
				/* compact: move the last one here */
				size_t n = ldns_rr_list_rr_count(rrs);
				ldns_rr_list_set_rr(rrs,
						    ldns_rr_list_rr(rrs, n - 1), i);
				ldns_rr_list_set_rr_count(rrs, n - 1);
				i--;
			}
			free(o);
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(after);
		for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(rrs, i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
				continue;
			char *nx = next_hash(rr);
			if (strcmp(nx, h) == 0) {
				ldns_rdf *r = ldns_rdf_new_frm_str(
					LDNS_RDF_TYPE_NSEC3_NEXT_OWNER, after);
				ldns_rdf_deep_free(ldns_rr_set_rdf(rr, r, 4));
			}
			free(nx);
		}
		free(after);
		free(h);
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3)
			ldns_nsec3_add_param_rdfs(rr, 1, 1, ITER, sizeof(SALT),
						  SALT);
	}
}

static char *signed_text(enum mode m)
{
	if (m == M_NSEC)
		return sample_sign(sample_zone_signable(), ORIGIN, false, 0, NULL, 0);
	ldns_zone *s = sample_sign_zone(sample_zone_signable(), ORIGIN, true, ITER,
				   SALT, sizeof(SALT));
	char *out = NULL;
	size_t len = 0;

	if (!s)
		return NULL;
	if (m == M_OPTOUT)
		cut_optout(s);
	FILE *o = open_memstream(&out, &len);
	ldns_zone_print(o, s);
	fclose(o);
	ldns_zone_deep_free(s);
	return out;
}

static const struct ditto_zone_table *zone(enum mode m)
{
	if (!tables[m]) {
		char *text = signed_text(m);
		if (!text)
			return NULL;
		imgs[m] = h_image(text, ORIGIN);
		free(text);
		if (imgs[m])
			tables[m] = h_table(imgs[m], NULL);
	}
	return tables[m];
}

/* ---- asking and checking --------------------------------------------------- */

#define AN LDNS_SECTION_ANSWER
#define NS LDNS_SECTION_AUTHORITY
#define AR LDNS_SECTION_ADDITIONAL

static void ask(enum mode m, const char *name, uint16_t type, bool dnssec,
		struct h_resp *r)
{
	const struct ditto_zone_table *t = zone(m);
	struct h_query q = { .id = 7, .qname = name, .qtype = type,
			     .edns = { .on = true, .payload = 4096,
				       .do_bit = dnssec } };

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	h_ask(t, &q, NULL, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->pkt);
}

static ldns_rr_list *section(const struct h_resp *r, ldns_pkt_section s)
{
	return s == AN ? ldns_pkt_answer(r->pkt)
	       : s == NS ? ldns_pkt_authority(r->pkt)
			 : ldns_pkt_additional(r->pkt);
}

static size_t count_type(const struct h_resp *r, ldns_pkt_section s,
			 ldns_rr_type t)
{
	return h_rr_count(r, s, (uint16_t)t);
}

/* Every RRset of the section but RRSIGs has an RRSIG over it (glue aside:
 * skip is a type left out, 0 for none). */
static bool all_signed(const struct h_resp *r, ldns_pkt_section s,
		       ldns_rr_type skip)
{
	ldns_rr_list *l = section(r, s);

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		bool found = false;
		if (t == LDNS_RR_TYPE_RRSIG || t == skip)
			continue;
		for (size_t j = 0; j < ldns_rr_list_rr_count(l); j++) {
			ldns_rr *sig = ldns_rr_list_rr(l, j);
			if (ldns_rr_get_type(sig) == LDNS_RR_TYPE_RRSIG &&
			    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)) == t &&
			    ldns_dname_compare(ldns_rr_owner(sig),
					       ldns_rr_owner(rr)) == 0)
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

static bool no_dnssec_records(const struct h_resp *r)
{
	ldns_pkt_section ss[] = { AN, NS, AR };
	for (int k = 0; k < 3; k++)
		if (count_type(r, ss[k], LDNS_RR_TYPE_RRSIG) ||
		    count_type(r, ss[k], LDNS_RR_TYPE_NSEC) ||
		    count_type(r, ss[k], LDNS_RR_TYPE_NSEC3))
			return false;
	return true;
}

/* NSEC: one in authority covers name (owner < name < next, the last one
 * wrapping to the apex). */
static bool nsec_covers(const struct h_resp *r, const char *name)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_rr_list *l = section(r, NS);
	bool ok = false;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !ok; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC)
			continue;
		ldns_rdf *o = ldns_rr_owner(rr), *nx = ldns_rr_rdf(rr, 0);
		bool wraps = ldns_dname_compare(nx, o) <= 0;
		ok = ldns_dname_compare(o, n) < 0 &&
		     (wraps || ldns_dname_compare(n, nx) < 0);
	}
	ldns_rdf_deep_free(n);
	return ok;
}

/* NSEC: the one at name, whose bitmap lacks type (and has has, if set). */
static bool nsec_at_without(const struct h_resp *r, const char *name,
			    ldns_rr_type type, ldns_rr_type has)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_rr_list *l = section(r, NS);
	bool ok = false;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !ok; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC ||
		    ldns_dname_compare(ldns_rr_owner(rr), n) != 0)
			continue;
		ldns_rdf *bm = ldns_rr_rdf(rr, 1);
		ok = !ldns_nsec_bitmap_covers_type(bm, type) &&
		     (!has || ldns_nsec_bitmap_covers_type(bm, has));
	}
	ldns_rdf_deep_free(n);
	return ok;
}

/* NSEC3: one in authority matches the hash of name (and lacks type, when
 * type is set); or covers it, with the opt-out flag when optout. */
static bool nsec3_check(const struct h_resp *r, const char *name,
			bool match, ldns_rr_type type, bool optout)
{
	char *h = hash_label(name);
	ldns_rr_list *l = section(r, NS);
	bool ok = false;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !ok; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
			continue;
		char *o = first_label(ldns_rr_owner(rr)), *nx = next_hash(rr);
		if (match) {
			ok = strcmp(o, h) == 0 &&
			     (!type || !ldns_nsec_bitmap_covers_type(
					       ldns_nsec3_bitmap(rr), type));
		} else {
			bool wraps = strcmp(nx, o) <= 0;
			ok = (strcmp(o, h) < 0 && (wraps || strcmp(h, nx) < 0)) ||
			     (wraps && strcmp(h, nx) < 0);
			if (optout && !ldns_nsec3_optout(rr))
				ok = false;
		}
		free(o);
		free(nx);
	}
	free(h);
	return ok;
}

#define CHECK(r, cond) CU_assertImplementation((cond), __LINE__, #cond, \
					       __FILE__, "", CU_FALSE)

/* ---- the tests ------------------------------------------------------------- */

/* SHA-1 of every length class (one block, padding spilling into a second,
 * several blocks) against ldns's, with the SHA extensions where the CPU
 * has them and with the plain C compression; then NSEC3 hashes against
 * RFC 5155 appendix A. Run first: the plain one stays in use after. */
static void test_sha1_and_nsec3_hash_match_ldns_and_rfc5155(void)
{
	uint8_t buf[1000], want[20], got[20];
	static const size_t lens[] = { 0, 1, 3, 55, 56, 63, 64, 65, 119, 120,
				       128, 1000 };

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			ldns_sha1(buf, (unsigned)lens[k], want);
			ditto_sha1(buf, lens[k], got);
			CU_ASSERT_EQUAL(memcmp(want, got, 20), 0);
		}
		/* H(example) with salt aabbccdd, 12 iterations. */
		ditto_nsec3_hash((const uint8_t *)"\7example", 9, SALT,
				 sizeof(SALT), 12, got);
		uint8_t rfc[20];
		CU_ASSERT_EQUAL(ditto_base32hex_decode(
			(const uint8_t *)"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", 32,
			rfc, sizeof(rfc)), 20);
		CU_ASSERT_EQUAL(memcmp(rfc, got, 20), 0);
		printf("(%s) ", ditto_sha1_impl());
		ditto_sha1_force_portable();
	}
	uint8_t x[20];
	CU_ASSERT_EQUAL(ditto_base32hex_decode((const uint8_t *)"0p9w", 4, x,
					       sizeof(x)), -1);
	CU_ASSERT_EQUAL(ditto_base32hex_decode((const uint8_t *)"0p9!", 4, x,
					       sizeof(x)), -1);
}

/* Sort-key prefixes never order two names against ldns's canonical order
 * (RFC 4034 6.1), for names with bytes 0 and 1, long labels, parents and
 * children. */
static void test_canonical_prefix_agrees_with_canonical_order(void)
{
	static const char *names[] = {
		"t.test.", "a.t.test.", "A.t.test.", "z.a.t.test.", "\\000.t.test.",
		"\\001.t.test.", "\\001\\001.t.test.", "\\002.t.test.",
		"*.t.test.", "aaaaaaaa.t.test.", "aaaaaaab.t.test.",
		"aaaaaaa.t.test.", "b.aaaaaaa.t.test.", "yljkjljk.a.t.test.",
		"z.t.test.", "zABC.a.t.test.", "\\200.t.test.",
		"a\\000b.t.test.", "a.b.c.d.t.test.", "x.aaaaaaaa.t.test.",
	};
	size_t n = sizeof(names) / sizeof(names[0]), bad = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			ldns_rdf *a = ldns_dname_new_frm_str(names[i]);
			ldns_rdf *b = ldns_dname_new_frm_str(names[j]);
			ldns_dname2canonical(a);
			ldns_dname2canonical(b);
			uint8_t ka[8], kb[8];
			ditto_canon_prefix(ldns_rdf_data(a), 2, ka);
			ditto_canon_prefix(ldns_rdf_data(b), 2, kb);
			int k = memcmp(ka, kb, 8), want = ldns_dname_compare(a, b);
			int mine = dns_name_cmp(ldns_rdf_data(a),
							ldns_rdf_data(b));
			if ((k < 0 && want >= 0) || (k > 0 && want <= 0) ||
			    (mine < 0) != (want < 0) || (mine > 0) != (want > 0))
				bad++;
			ldns_rdf_deep_free(a);
			ldns_rdf_deep_free(b);
		}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_zones_sign_compile_and_carry_denial_sections(void)
{
	for (int m = 0; m < M_COUNT; m++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(zone((enum mode)m));
		const struct ditto_image_hdr *h = imgs[m]->hdr;
		CU_ASSERT_TRUE(h->flags & DITTO_IMAGE_SIGNED);
		CU_ASSERT_EQUAL(!!(h->flags & DITTO_IMAGE_NSEC3), m != M_NSEC);
		CU_ASSERT_EQUAL(!!(h->flags & DITTO_IMAGE_NSEC), m == M_NSEC);
		CU_ASSERT_PTR_NOT_NULL(imgs[m]->denial);
		/* NSEC3 owners are no names of the tree. */
		if (m != M_NSEC) {
			char *hl = hash_label("www.t.test.");
			char name[128];
			snprintf(name, sizeof(name), "%s.t.test.", hl);
			free(hl);
			CU_ASSERT_PTR_NULL(h_node(imgs[m], name));
			CU_ASSERT_EQUAL(imgs[m]->nsec3->iterations, ITER);
			CU_ASSERT_EQUAL(imgs[m]->nsec3->salt_len, sizeof(SALT));
		}
	}
}

static void test_answers_carry_rrsigs_only_with_do(void)
{
	for (int m = 0; m < M_COUNT; m++) {
		struct h_resp r;
		ask((enum mode)m, "www.t.test.", LDNS_RR_TYPE_A, true, &r);
		CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_A) == 1);
		CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_RRSIG) == 1);
		CHECK(r, all_signed(&r, AN, 0));
		h_resp_free(&r);
		ask((enum mode)m, "www.t.test.", LDNS_RR_TYPE_A, false, &r);
		CHECK(r, no_dnssec_records(&r));
		h_resp_free(&r);
		ask((enum mode)m, "nothere.t.test.", LDNS_RR_TYPE_A, false, &r);
		CHECK(r, h_rcode(&r) == LDNS_RCODE_NXDOMAIN);
		CHECK(r, no_dnssec_records(&r));
		h_resp_free(&r);
	}
}

static void test_additional_addresses_signed_but_glue_not(void)
{
	struct h_resp r;

	ask(M_NSEC, "mx.t.test.", LDNS_RR_TYPE_MX, true, &r);
	CHECK(r, h_rr_find(&r, AR, "www.t.test.", LDNS_RR_TYPE_A, 0) != NULL);
	CHECK(r, all_signed(&r, AR, 0));
	h_resp_free(&r);
	ask(M_NSEC, "host.sub.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, h_rr_find(&r, AR, "ns.sub.t.test.", LDNS_RR_TYPE_A, 0) != NULL);
	CHECK(r, count_type(&r, AR, LDNS_RR_TYPE_RRSIG) == 0);
	h_resp_free(&r);
}

static void test_nsec_nxdomain_proves_name_and_wildcard_absent(void)
{
	static const char *names[] = { "nothere.t.test.", "zzz.t.test.",
				       "a.t.test.", "deep.a.b.c.t.test.",
				       "q.www.t.test." };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct h_resp r;
		ask(M_NSEC, names[i], LDNS_RR_TYPE_A, true, &r);
		CHECK(r, h_rcode(&r) == LDNS_RCODE_NXDOMAIN);
		CHECK(r, nsec_covers(&r, names[i]));
		CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_SOA) == 1);
		CHECK(r, all_signed(&r, NS, 0));
		h_resp_free(&r);
	}
	/* The wildcards at the closest enclosers. */
	struct h_resp r;
	ask(M_NSEC, "nothere.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, nsec_covers(&r, "*.t.test."));
	h_resp_free(&r);
	ask(M_NSEC, "deep.a.b.c.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, nsec_covers(&r, "*.a.b.c.t.test."));
	h_resp_free(&r);
	ask(M_NSEC, "q.www.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, nsec_covers(&r, "*.www.t.test."));
	h_resp_free(&r);
}

static void test_nsec_nodata_and_empty_non_terminal(void)
{
	struct h_resp r;

	ask(M_NSEC, "www.t.test.", LDNS_RR_TYPE_TXT, true, &r);
	CHECK(r, h_rcode(&r) == LDNS_RCODE_NOERROR);
	CHECK(r, nsec_at_without(&r, "www.t.test.", LDNS_RR_TYPE_TXT,
				 LDNS_RR_TYPE_A));
	CHECK(r, all_signed(&r, NS, 0));
	h_resp_free(&r);
	ask(M_NSEC, "b.c.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, h_rcode(&r) == LDNS_RCODE_NOERROR);
	CHECK(r, nsec_covers(&r, "b.c.t.test."));
	h_resp_free(&r);
}

static void test_nsec_wildcard_answer_and_wildcard_nodata(void)
{
	struct h_resp r;

	ask(M_NSEC, "x.w.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_A) == 1);
	ldns_rr *sig = h_rr_find(&r, AN, "x.w.t.test.", LDNS_RR_TYPE_RRSIG, 0);
	CHECK(r, sig && ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)) == 3);
	CHECK(r, nsec_covers(&r, "x.w.t.test."));
	h_resp_free(&r);
	ask(M_NSEC, "x.w.t.test.", LDNS_RR_TYPE_TXT, true, &r);
	CHECK(r, count_type(&r, AN, 0) == 0);
	CHECK(r, nsec_at_without(&r, "*.w.t.test.", LDNS_RR_TYPE_TXT,
				 LDNS_RR_TYPE_A));
	CHECK(r, nsec_covers(&r, "x.w.t.test."));
	h_resp_free(&r);
	/* A wildcard CNAME: the chain and the proof for the query name. */
	ask(M_NSEC, "y.wc.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_CNAME) == 1);
	CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_A) == 1);
	CHECK(r, all_signed(&r, AN, 0));
	CHECK(r, nsec_covers(&r, "y.wc.t.test."));
	h_resp_free(&r);
}

static void test_nsec_referrals_with_ds_or_proof_of_none(void)
{
	struct h_resp r;

	ask(M_NSEC, "host.sec.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_DS) == 1);
	CHECK(r, all_signed(&r, NS, LDNS_RR_TYPE_NS));
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_NSEC) == 0);
	h_resp_free(&r);
	ask(M_NSEC, "host.sub.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_DS) == 0);
	CHECK(r, nsec_at_without(&r, "sub.t.test.", LDNS_RR_TYPE_DS,
				 LDNS_RR_TYPE_NS));
	h_resp_free(&r);
	/* DS at the cut: the parent's answer, or its NODATA. */
	ask(M_NSEC, "sec.t.test.", LDNS_RR_TYPE_DS, true, &r);
	CHECK(r, ldns_pkt_aa(r.pkt));
	CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_DS) == 1);
	CHECK(r, all_signed(&r, AN, 0));
	h_resp_free(&r);
	ask(M_NSEC, "sub.t.test.", LDNS_RR_TYPE_DS, true, &r);
	CHECK(r, ldns_pkt_aa(r.pkt));
	CHECK(r, count_type(&r, AN, 0) == 0);
	CHECK(r, nsec_at_without(&r, "sub.t.test.", LDNS_RR_TYPE_DS,
				 LDNS_RR_TYPE_NS));
	h_resp_free(&r);
}

static void test_nsec_cname_chain_to_nxdomain_proves_the_target(void)
{
	struct h_resp r;

	ask(M_NSEC, "dangling.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, h_rcode(&r) == LDNS_RCODE_NXDOMAIN);
	CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_CNAME) == 1);
	CHECK(r, all_signed(&r, AN, 0));
	CHECK(r, nsec_covers(&r, "nothere.t.test."));
	h_resp_free(&r);
}

static void test_nsec3_nxdomain_closest_encloser_proof(void)
{
	static const struct {
		const char *name, *ce, *nc;
	} cases[] = {
		{ "nothere.t.test.", "t.test.", "nothere.t.test." },
		{ "deep.er.t.test.", "t.test.", "er.t.test." },
		{ "deep.a.b.c.t.test.", "a.b.c.t.test.", "deep.a.b.c.t.test." },
		{ "q.r.b.c.t.test.", "b.c.t.test.", "r.b.c.t.test." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h_resp r;
		char wild[256];
		snprintf(wild, sizeof(wild), "*.%s", cases[i].ce);
		ask(M_NSEC3, cases[i].name, LDNS_RR_TYPE_A, true, &r);
		CHECK(r, h_rcode(&r) == LDNS_RCODE_NXDOMAIN);
		CHECK(r, nsec3_check(&r, cases[i].ce, true, 0, false));
		CHECK(r, nsec3_check(&r, cases[i].nc, false, 0, false));
		CHECK(r, nsec3_check(&r, wild, false, 0, false));
		CHECK(r, all_signed(&r, NS, 0));
		h_resp_free(&r);
	}
}

static void test_nsec3_nodata_ent_and_wildcard(void)
{
	struct h_resp r;

	ask(M_NSEC3, "www.t.test.", LDNS_RR_TYPE_TXT, true, &r);
	CHECK(r, nsec3_check(&r, "www.t.test.", true, LDNS_RR_TYPE_TXT, false));
	h_resp_free(&r);
	ask(M_NSEC3, "b.c.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, h_rcode(&r) == LDNS_RCODE_NOERROR);
	CHECK(r, nsec3_check(&r, "b.c.t.test.", true, LDNS_RR_TYPE_A, false));
	h_resp_free(&r);
	/* A wildcard answer: the next closer name is covered. */
	ask(M_NSEC3, "x.w.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, AN, LDNS_RR_TYPE_A) == 1);
	CHECK(r, nsec3_check(&r, "x.w.t.test.", false, 0, false));
	h_resp_free(&r);
	/* Wildcard NODATA (RFC 5155 7.2.5). */
	ask(M_NSEC3, "x.w.t.test.", LDNS_RR_TYPE_TXT, true, &r);
	CHECK(r, nsec3_check(&r, "w.t.test.", true, 0, false));
	CHECK(r, nsec3_check(&r, "x.w.t.test.", false, 0, false));
	CHECK(r, nsec3_check(&r, "*.w.t.test.", true, LDNS_RR_TYPE_TXT, false));
	h_resp_free(&r);
}

static void test_nsec3_referrals_and_ds_queries(void)
{
	struct h_resp r;

	ask(M_NSEC3, "host.sub.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, nsec3_check(&r, "sub.t.test.", true, LDNS_RR_TYPE_DS, false));
	h_resp_free(&r);
	ask(M_NSEC3, "host.sec.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_DS) == 1);
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_NSEC3) == 0);
	h_resp_free(&r);
	ask(M_NSEC3, "sub.t.test.", LDNS_RR_TYPE_DS, true, &r);
	CHECK(r, ldns_pkt_aa(r.pkt));
	CHECK(r, nsec3_check(&r, "sub.t.test.", true, LDNS_RR_TYPE_DS, false));
	h_resp_free(&r);
}

static void test_nsec3_optout_insecure_delegation_and_ent(void)
{
	struct h_resp r;

	/* RFC 5155 7.2.7: no NSEC3 for the delegation; the closest provable
	 * encloser (the apex) and an opt-out NSEC3 over the next closer. */
	ask(M_OPTOUT, "host.sub.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_NS) == 1);
	CHECK(r, nsec3_check(&r, "t.test.", true, 0, false));
	CHECK(r, nsec3_check(&r, "sub.t.test.", false, 0, true));
	h_resp_free(&r);
	ask(M_OPTOUT, "host.x.ent.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, nsec3_check(&r, "t.test.", true, 0, false));
	CHECK(r, nsec3_check(&r, "ent.t.test.", false, 0, true));
	h_resp_free(&r);
	/* 7.2.4: DS at an opt-out delegation, the same proof. */
	ask(M_OPTOUT, "sub.t.test.", LDNS_RR_TYPE_DS, true, &r);
	CHECK(r, ldns_pkt_aa(r.pkt));
	CHECK(r, nsec3_check(&r, "t.test.", true, 0, false));
	CHECK(r, nsec3_check(&r, "sub.t.test.", false, 0, true));
	h_resp_free(&r);
	/* A signed delegation keeps its DS. */
	ask(M_OPTOUT, "host.sec.t.test.", LDNS_RR_TYPE_A, true, &r);
	CHECK(r, count_type(&r, NS, LDNS_RR_TYPE_DS) == 1);
	h_resp_free(&r);
}

static void test_proofs_that_do_not_fit_set_tc(void)
{
	const struct ditto_zone_table *t = zone(M_NSEC3);
	struct h_query q = { .id = 9, .qname = "deep.er.t.test.",
			     .qtype = LDNS_RR_TYPE_A,
			     .edns = { .on = true, .payload = 512,
				       .do_bit = true } };
	struct h_resp r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	h_ask(t, &q, NULL, &r);
	/* SOA, three NSEC3 and four RRSIGs do not fit 512 bytes. */
	CHECK(r, h_flags(&r) & DNS_F_TC);
	CHECK(r, count_type(&r, NS, 0) == 0);
	h_resp_free(&r);
}

static void test_compiler_warns_about_unsigned_rrsets_and_broken_chains(void)
{
	char *text = signed_text(M_NSEC);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* As signed: nothing to report, so what follows is the change's. */
	struct ditto_compiled base;
	CU_ASSERT_EQUAL(h_compile(text, ORIGIN, &base), 0);
	CU_ASSERT_EQUAL(base.warnings, 0);
	ditto_compiled_free(&base);
	/* An unsigned record and a hole in the chain. */
	size_t len = strlen(text);
	char *more = malloc(len + 64);
	memcpy(more, text, len);
	strcpy(more + len, "extra.t.test. 300 IN A 192.0.2.9\n");
	struct ditto_compiled out;
	CU_ASSERT_EQUAL(h_compile(more, ORIGIN, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(out.image);	/* served all the same */
	CU_ASSERT_TRUE(out.warnings >= 2);
	ditto_compiled_free(&out);
	free(more);
	free(text);
}

/* Signed data the compiler cannot use is reported and served without
 * proofs, never a refusal or a crash: an NSEC3PARAM with no NSEC3 records
 * (found by fuzz-zonefile), NSEC3 of other parameters, an NSEC3 owner that
 * is no hash. */
static void test_unusable_chains_are_warned_and_the_zone_served(void)
{
	static const char *zones[] = {
		"$ORIGIN x.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
		"ns A 192.0.2.1\n@ NSEC3PARAM 1 0 10 aabbccdd\n"
		"@ RRSIG SOA 13 2 300 20300101000000 20200101000000 1 x.test. "
		"AAAA\n",
		"$ORIGIN x.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
		"ns A 192.0.2.1\n@ NSEC3PARAM 1 0 10 aabbccdd\n"
		"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 0 5 aabbccdd "
		"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A\n"
		"@ RRSIG SOA 13 2 300 20300101000000 20200101000000 1 x.test. "
		"AAAA\n",
		"$ORIGIN x.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
		"ns A 192.0.2.1\n@ NSEC3PARAM 1 0 10 aabbccdd\n"
		"notahash NSEC3 1 0 10 aabbccdd 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A\n"
		"@ RRSIG SOA 13 2 300 20300101000000 20200101000000 1 x.test. "
		"AAAA\n",
		/* The apex's NS target owns nothing but an NSEC3 (found by
		 * fuzz-xfr: the target was looked up as a node). */
		"$ORIGIN x.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
		"ns NSEC3 1 0 10 aabbccdd 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A\n"
		"@ RRSIG SOA 13 2 300 20300101000000 20200101000000 1 x.test. "
		"AAAA\n",
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct ditto_compiled out;
		struct ditto_image *img = NULL;
		char err[256];
		CU_ASSERT_EQUAL(h_compile(zones[i], NULL, &out), 0);
		CU_ASSERT_TRUE(out.warnings >= 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(out.image);
		CU_ASSERT_EQUAL(h_open_copy(out.image, out.size, &img, err,
					    sizeof(err)), 0);
		if (img) {
			struct ditto_zone_table *t = h_table(img, NULL);
			struct h_query q = { .id = 1, .qname = "nx.x.test.",
					     .qtype = DNS_T_A,
					     .edns = { .on = true,
						       .payload = 1232,
						       .do_bit = true } };
			struct h_resp r;
			h_ask(t, &q, NULL, &r);
			CU_ASSERT_EQUAL(h_rcode(&r), LDNS_RCODE_NXDOMAIN);
			h_resp_free(&r);
			ditto_zone_table_free(t);
			ditto_image_free(img);
		}
		ditto_compiled_free(&out);
	}
}

/* The burst (which looks up NSEC3 next closer names for all its queries
 * at once) answers every DO query byte for byte as one at a time does. */
static void test_burst_answers_with_proofs_equal_single_answers(void)
{
	static const char *const names[] = {
		"nothere.t.test.", "zz.t.test.", "a.t.test.", "x.w.t.test.",
		"deep.x.w.t.test.", "y.wc.t.test.", "q.a.b.c.t.test.",
		"r.b.c.t.test.", "b.c.t.test.", "www.t.test.", "host.sub.t.test.",
		"host.sec.t.test.", "sub.t.test.", "q.www.t.test.",
		"dangling.t.test.", "host.x.ent.t.test.", "x.dn.t.test.",
		"t.test.", "NotHere.T.Test.", "e.d.c.b.a.t.test.",
	};
	static const uint16_t types[] = { DNS_T_A, DNS_T_TXT, DNS_T_DS,
					  DNS_T_AAAA, DNS_T_MX };
	enum { N = 2 * DITTO_BURST_MAX + 7 };
	static uint8_t wire[N][512], single[N][4096], burst[N][4096];
	struct ditto_query qs[N];
	size_t single_len[N];

	for (int m = 0; m < M_COUNT; m++) {
		const struct ditto_zone_table *t = zone((enum mode)m);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		for (unsigned i = 0; i < N; i++) {
			struct h_query q = {
				.id = (uint16_t)i,
				.qname = names[(i * 7) %
					       (sizeof(names) / sizeof(names[0]))],
				.qtype = types[i % (sizeof(types) /
						    sizeof(types[0]))],
				.edns = { .on = true, .payload = 4096,
					  .do_bit = i % 4 != 3 },
			};
			size_t len = h_query_wire(&q, wire[i], sizeof(wire[i]));
			CU_ASSERT_TRUE_FATAL(len > 0);
			single_len[i] = ditto_answer(t, h_cfg_default(), wire[i],
						     len, single[i],
						     sizeof(single[i]), 0, NULL);
			qs[i] = (struct ditto_query){ .q = wire[i],
						      .qlen = (uint16_t)len,
						      .resp = burst[i],
						      .cap = sizeof(burst[i]) };
		}
		ditto_answer_burst(t, h_cfg_default(), qs, N, 0);
		for (unsigned i = 0; i < N; i++)
			CU_ASSERT_TRUE(qs[i].resp_len == single_len[i] &&
				       memcmp(burst[i], single[i],
					      single_len[i]) == 0);
	}
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_sha1_and_nsec3_hash_match_ldns_and_rfc5155),
		T(test_canonical_prefix_agrees_with_canonical_order),
		T(test_zones_sign_compile_and_carry_denial_sections),
		T(test_answers_carry_rrsigs_only_with_do),
		T(test_additional_addresses_signed_but_glue_not),
		T(test_nsec_nxdomain_proves_name_and_wildcard_absent),
		T(test_nsec_nodata_and_empty_non_terminal),
		T(test_nsec_wildcard_answer_and_wildcard_nodata),
		T(test_nsec_referrals_with_ds_or_proof_of_none),
		T(test_nsec_cname_chain_to_nxdomain_proves_the_target),
		T(test_nsec3_nxdomain_closest_encloser_proof),
		T(test_nsec3_nodata_ent_and_wildcard),
		T(test_nsec3_referrals_and_ds_queries),
		T(test_nsec3_optout_insecure_delegation_and_ent),
		T(test_proofs_that_do_not_fit_set_tc),
		T(test_burst_answers_with_proofs_equal_single_answers),
		T(test_compiler_warns_about_unsigned_rrsets_and_broken_chains),
		T(test_unusable_chains_are_warned_and_the_zone_served),
#undef T
	};
	int rc = h_run("dnssec", tests, sizeof(tests) / sizeof(tests[0]));

	for (int m = 0; m < M_COUNT; m++) {
		if (tables[m])
			ditto_zone_table_free(tables[m]);
		if (imgs[m])
			ditto_image_free(imgs[m]);
	}
	return rc;
}
