/* Unit tests for the zone compiler: good zones compile into images that
 * open, bad zones are refused with an error naming the file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "ditto/error.h"
#include "ditto/wire.h"
#include "helpers.h"
#include "sample_zone.h"

#define SOA_LINE "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"

/* Lines 1-4 of most zones below. */
#define HEAD "$ORIGIN example.\n$TTL 3600\n" SOA_LINE "@ NS ns1\n"

static const char good_zone[] =
	HEAD
	"ns1 A 192.0.2.1\n"
	"www A 192.0.2.80\n"
	"www AAAA 2001:db8::80\n";

/* Compile text that must be refused; the first error must start with
 * "test.zone:<line>:" (line 0 = any line; alt, when not 0, another line
 * that names the same fault) and mention word. */
static void expect_refused_at(const char *text, unsigned line, unsigned alt,
			      const char *word)
{
	struct ditto_compiled c;
	int rc = h_compile(text, NULL, &c);
	char prefix[64], alt_prefix[64];

	CU_ASSERT_TRUE(rc < 0);
	CU_ASSERT_PTR_NULL(c.image);
	CU_ASSERT_TRUE(c.errors >= 1);
	if (line)
		snprintf(prefix, sizeof(prefix), "test.zone:%u:", line);
	else
		snprintf(prefix, sizeof(prefix), "test.zone:");
	snprintf(alt_prefix, sizeof(alt_prefix), "test.zone:%u:", alt);
	bool ok_prefix = strncmp(c.first_error, prefix, strlen(prefix)) == 0 ||
			 (alt && strncmp(c.first_error, alt_prefix,
					 strlen(alt_prefix)) == 0);
	bool ok_word = strcasestr(c.first_error, word) != NULL;
	if (rc >= 0 || !ok_prefix || !ok_word)
		printf("\n  rc=%d first_error=\"%s\" (want \"%s...\" naming %s)\n",
		       rc, c.first_error, prefix, word);
	CU_ASSERT_TRUE(ok_prefix);
	CU_ASSERT_TRUE(ok_word);
	ditto_compiled_free(&c);
}

static void expect_refused(const char *text, unsigned line, const char *word)
{
	expect_refused_at(text, line, 0, word);
}

static void test_compile_accepts_minimal_zone_and_image_opens(void)
{
	struct ditto_compiled c;
	struct ditto_image *img = NULL;
	char err[256];

	int rc = h_compile(good_zone, NULL, &c);
	if (rc < 0)
		printf("\n  %s\n", c.first_error);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.image);
	CU_ASSERT_TRUE(c.size >= sizeof(struct ditto_image_hdr));
	CU_ASSERT_EQUAL(c.serial, 2024010101u);
	CU_ASSERT_EQUAL(c.records, 5);
	CU_ASSERT_EQUAL(c.names, 3);
	CU_ASSERT_EQUAL(c.errors, 0);
	rc = h_open_copy(c.image, c.size, &img, err, sizeof(err));
	if (rc < 0)
		printf("\n  %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(img->hdr->serial, 2024010101u);
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "www.example.", DNS_T_AAAA));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "example.", DNS_T_SOA));
	CU_ASSERT_PTR_NULL(h_node(img, "nope.example."));
	ditto_image_free(img);
	ditto_compiled_free(&c);
}

static void test_compile_takes_origin_from_options(void)
{
	static const char text[] =
		"$TTL 300\n" SOA_LINE "@ NS ns1\nns1 A 192.0.2.1\n";
	struct ditto_image *img = h_image(text, "example.org.");

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	uint8_t apex[256];
	size_t n = h_wire_name("example.org.", apex, sizeof(apex));
	CU_ASSERT_EQUAL(img->hdr->apex_len, n);
	CU_ASSERT_EQUAL(memcmp(img->hdr->apex, apex, n), 0);
	CU_ASSERT_PTR_NOT_NULL(h_node(img, "ns1.example.org."));
	ditto_image_free(img);
}

static void test_compile_follows_dollar_origin_changes(void)
{
	static const char text[] =
		HEAD
		"ns1 A 192.0.2.1\n"
		"$ORIGIN sub.example.\n"
		"host A 192.0.2.7\n"
		"$ORIGIN example.\n"
		"back A 192.0.2.8\n";
	struct ditto_image *img = h_image(text, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "host.sub.example.", DNS_T_A));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "back.example.", DNS_T_A));
	/* sub.example. exists only as an empty non-terminal */
	const struct ditto_node *ent = h_node(img, "sub.example.");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ent);
	CU_ASSERT_TRUE(ent->flags & DITTO_NODE_ENT);
	CU_ASSERT_EQUAL(ent->rrset_count, 0);
	ditto_image_free(img);
}

static void test_compile_applies_dollar_ttl_and_explicit_ttl(void)
{
	static const char text[] =
		"$ORIGIN example.\n$TTL 600\n" SOA_LINE "@ NS ns1\n"
		"ns1 A 192.0.2.1\n"
		"explicit 42 A 192.0.2.2\n"
		"$TTL 120\n"
		"later A 192.0.2.3\n";
	struct ditto_image *img = h_image(text, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	const struct ditto_rrset *a = h_rrset(img, "ns1.example.", DNS_T_A);
	const struct ditto_rrset *e = h_rrset(img, "explicit.example.",
					       DNS_T_A);
	const struct ditto_rrset *l = h_rrset(img, "later.example.", DNS_T_A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(a->ttl, 600);
	CU_ASSERT_EQUAL(e->ttl, 42);
	CU_ASSERT_EQUAL(l->ttl, 120);
	ditto_image_free(img);
}

/* True when the wire data of the block at offset holds needle. */
static bool block_holds(const struct ditto_image *img, uint32_t off,
			const uint8_t *needle, size_t n)
{
	const struct ditto_block *b =
		(const struct ditto_block *)(const void *)(img->blocks + off);

	return memmem(ditto_block_data(b), b->len, needle, n) != NULL;
}

static void test_compile_accepts_rfc3597_unknown_type_and_generic_rdata(void)
{
	static const char text[] =
		HEAD
		"ns1 A 192.0.2.1\n"
		"x TYPE65280 \\# 4 0a000001\n"
		"y CLASS1 TYPE1 \\# 4 c0000207\n";
	struct ditto_image *img = h_image(text, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	const struct ditto_rrset *x = h_rrset(img, "x.example.", 65280);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	static const uint8_t xr[] = { 0, 4, 0x0a, 0, 0, 1 };
	CU_ASSERT_TRUE(block_holds(img, x->block, xr, sizeof(xr)));
	/* generic rdata of a known type is the same record as the usual form */
	const struct ditto_rrset *y = h_rrset(img, "y.example.", DNS_T_A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	static const uint8_t yr[] = { 0, 4, 192, 0, 2, 7 };
	CU_ASSERT_TRUE(block_holds(img, y->block, yr, sizeof(yr)));
	ditto_image_free(img);
}

/* An ordinary name's RRsets come placed: their pointer slots hold the
 * answer's pointers (owner at 12, an rdata name's suffix in the question,
 * a name earlier in the block); a wildcard's do not (the query name
 * stands in for its owner). */
static void test_compile_places_answers_for_own_names_not_wildcards(void)
{
	static const char text[] =
		HEAD
		"ns1 A 192.0.2.1\n"
		"www MX 10 mail.www\n"
		"www MX 20 mail.www\n"
		"mail.www A 192.0.2.25\n"
		"*.w A 192.0.2.4\n";
	struct ditto_image *img = h_image(text, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	const struct ditto_rrset *mx = h_rrset(img, "www.example.", DNS_T_MX);
	const struct ditto_rrset *w = h_rrset(img, "*.w.example.", DNS_T_A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_TRUE(mx->flags & DITTO_RRSET_PLACED);
	CU_ASSERT_FALSE(w->flags & DITTO_RRSET_PLACED);
	/* Question "www.example." at 12 (13 bytes), the block at 29: RR 1 is
	 * owner c00c, 10 bytes, preference, then "mail" and a pointer to the
	 * question's "www.example." (c00c); RR 2's name is all pointer to
	 * RR 1's "mail.www.example." at 29 + 14. */
	const struct ditto_block *b =
		(const void *)(img->blocks + mx->block);
	const uint8_t *d = ditto_block_data(b);
	CU_ASSERT_EQUAL(dns_get16(d), 0xc00c);
	CU_ASSERT_EQUAL(memcmp(d + 14, "\4mail", 5), 0);
	CU_ASSERT_EQUAL(dns_get16(d + 19), 0xc00c);
	CU_ASSERT_EQUAL(dns_get16(d + 21), 0xc00c);
	CU_ASSERT_EQUAL(dns_get16(d + 21 + 14), 0xc000 | (29 + 14));
	ditto_image_free(img);
}

static void test_compile_includes_existing_file(void)
{
	char path[] = "/tmp/ditto-include-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	static const char inc[] = "included A 192.0.2.9\n";
	CU_ASSERT_EQUAL(write(fd, inc, sizeof(inc) - 1),
			(ssize_t)(sizeof(inc) - 1));
	close(fd);

	char text[512];
	snprintf(text, sizeof(text), HEAD "ns1 A 192.0.2.1\n$INCLUDE %s\n",
		 path);
	struct ditto_image *img = h_image(text, NULL);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "included.example.", DNS_T_A));
	ditto_image_free(img);
}

static void test_compile_refuses_zone_without_soa(void)
{
	expect_refused("$ORIGIN example.\n$TTL 3600\n@ NS ns1\n"
		       "ns1 A 192.0.2.1\n", 0, "SOA");
}

static void test_compile_refuses_second_soa_naming_its_line(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "@ SOA ns1 hostmaster 2024010102 7200 3600 1209600 300\n",
		       6, "SOA");
}

static void test_compile_refuses_soa_below_apex_naming_its_line(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "www SOA ns1 hostmaster 1 7200 3600 1209600 300\n",
		       6, "SOA");
}

static void test_compile_refuses_zone_without_apex_ns(void)
{
	expect_refused("$ORIGIN example.\n$TTL 3600\n" SOA_LINE
		       "ns1 A 192.0.2.1\nsub NS ns1\n", 0, "NS");
}

static void test_compile_refuses_cname_beside_other_data(void)
{
	/* either record of the pair may be named */
	expect_refused_at(HEAD "ns1 A 192.0.2.1\n"
			  "www A 192.0.2.80\n"
			  "www CNAME ns1\n", 7, 6, "CNAME");
}

static void test_compile_refuses_cname_added_before_other_data(void)
{
	expect_refused_at(HEAD "ns1 A 192.0.2.1\n"
			  "www CNAME ns1\n"
			  "www TXT \"x\"\n", 7, 6, "CNAME");
}

static void test_compile_refuses_out_of_zone_record_naming_it(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "www.example.net. A 192.0.2.80\n", 6, "example.net");
}

static void test_compile_refuses_bad_address_as_syntax_error(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "www A 999.0.2.80\n", 6, "");
}

static void test_compile_refuses_unknown_type_mnemonic(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "www BOGUSTYPE foo\n", 6, "");
}

/* RFC 6895 3.1: TYPE0, OPT and 128-255 exist only in messages. A record
 * of one, in RFC 3597 form, is refused on its line as BIND refuses it. */
static void test_compile_refuses_meta_and_query_types_naming_the_line(void)
{
	static const unsigned types[] = { 0, 41, 128, 248, 249, 250, 251,
					  252, 253, 254, 255 };
	char text[256];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(text, sizeof(text),
			 HEAD "ns1 A 192.0.2.1\nx TYPE%u \\# 0\n", types[i]);
		expect_refused(text, 6, "meta");
	}
	/* the edges of the range stay data (256 is URI: rdata it can read) */
	static const char *const data[] = { "TYPE127 \\# 0",
					    "TYPE256 \\# 5 000a000161" };
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		snprintf(text, sizeof(text),
			 HEAD "ns1 A 192.0.2.1\nx %s\n", data[i]);
		struct ditto_image *img = h_image(text, NULL);
		CU_ASSERT_PTR_NOT_NULL(img);
		ditto_image_free(img);
	}
}

struct rr_list {
	const char *const *text;
	size_t at;
};

static int rr_list_next(void *arg, struct ditto_wire_rr *rr)
{
	struct rr_list *l = arg;

	if (!l->text[l->at])
		return 0;
	const struct ditto_wire_rr *w = sample_wire_rr(l->text[l->at++]);
	if (!w)
		return DITTO_EINVAL;
	*rr = *w;
	return 1;
}

/* A transfer carrying a record of type ANY is refused, naming the record
 * by its number in the transfer. */
static void test_compile_records_refuses_meta_type_from_a_transfer(void)
{
	static const char *const good[] = {
		"example. 3600 IN SOA ns1.example. h.example. 1 7200 3600 "
		"1209600 300",
		"example. 3600 IN NS ns1.example.",
		"ns1.example. 3600 IN A 192.0.2.1",
		NULL,
	};
	static const char *const bad[] = {
		"example. 3600 IN SOA ns1.example. h.example. 1 7200 3600 "
		"1209600 300",
		"example. 3600 IN NS ns1.example.",
		"ns1.example. 3600 IN A 192.0.2.1",
		"x.example. 3600 IN TYPE255 \\# 0",
		NULL,
	};
	struct ditto_compile_opts opts = { .origin = "example." };
	struct ditto_compiled c;
	struct rr_list l = { good, 0 };

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(ditto_compile_records(rr_list_next, &l, "axfr", &opts,
					      &c), 0);
	CU_ASSERT_PTR_NOT_NULL(c.image);
	ditto_compiled_free(&c);

	memset(&c, 0, sizeof(c));
	l = (struct rr_list){ bad, 0 };
	CU_ASSERT_TRUE(ditto_compile_records(rr_list_next, &l, "axfr", &opts,
					     &c) < 0);
	CU_ASSERT_PTR_NULL(c.image);
	if (strncmp(c.first_error, "axfr:4:", 7) != 0 ||
	    !strstr(c.first_error, "TYPE255"))
		printf("\n  first_error=\"%s\"\n", c.first_error);
	CU_ASSERT_EQUAL(strncmp(c.first_error, "axfr:4:", 7), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.first_error, "TYPE255"));
	ditto_compiled_free(&c);
}

static void test_compile_refuses_unbalanced_parenthesis(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "www TXT ( \"a\"\n", 6, "");
}

/* ldns 1.8 overruns a buffer on a string that spans lines. */
static void test_compile_refuses_quoted_string_spanning_lines(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "www 3\"0 b(\n\n\n\" A 192.0.2.1\n", 6,
		       "unterminated");
}

static void test_compile_refuses_include_of_missing_file_naming_it(void)
{
	expect_refused(HEAD "ns1 A 192.0.2.1\n"
		       "$INCLUDE /nonexistent/ditto-missing.zone\n", 6,
		       "ditto-missing.zone");
}

static void test_compile_reports_every_error_to_log(void)
{
	static const char text[] =
		HEAD "ns1 A 192.0.2.1\n"
		"a.example.net. A 192.0.2.1\n"
		"b.example.net. A 192.0.2.2\n";
	char *log = NULL;
	size_t loglen = 0;
	FILE *f = open_memstream(&log, &loglen);
	struct ditto_compile_opts opts = { .default_ttl = 3600, .log = f };
	struct ditto_compiled c;

	memset(&c, 0, sizeof(c));
	int rc = ditto_compile_text(text, strlen(text), "test.zone", &opts, &c);
	fclose(f);
	CU_ASSERT_TRUE(rc < 0);
	CU_ASSERT_TRUE(c.errors >= 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "test.zone:6:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "test.zone:7:"));
	if (c.errors < 2 || !strstr(log, "test.zone:7:"))
		printf("\n  errors=%u log:\n%s\n", c.errors, log);
	free(log);
	ditto_compiled_free(&c);
}

/* Nodes come out in canonical order (RFC 4034 6.1), bytes 0 and 1 inside
 * labels included: the order the compiler's sort keys must keep. */
static void test_compile_orders_nodes_canonically(void)
{
	struct ditto_image *img = h_image(
		"$ORIGIN example.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
		"ns A 192.0.2.1\nz A 192.0.2.2\na A 192.0.2.3\n"
		"\\000 A 192.0.2.4\n\\001 A 192.0.2.5\n\\002 A 192.0.2.6\n"
		"a\\000 A 192.0.2.7\na\\001b A 192.0.2.8\nab A 192.0.2.9\n"
		"b.a A 192.0.2.10\n*.a A 192.0.2.11\n\\001.\\000.z A 192.0.2.12\n"
		"yljkjljk.a A 192.0.2.13\nZ.a.b A 192.0.2.14\nzABc.a A 192.0.2.15\n"
		"\\200 A 192.0.2.16\n\\255 A 192.0.2.17\nxx.\\255 A 192.0.2.18\n",
		NULL);

	CU_ASSERT_FATAL(img != NULL);
	CU_ASSERT(img->hdr->node_count >= 19);
	for (uint32_t i = 1; i < img->hdr->node_count; i++) {
		const uint8_t *a = img->names + img->nodes[i - 1].name;
		const uint8_t *b = img->names + img->nodes[i].name;

		CU_ASSERT(dns_name_cmp(a, b) < 0);
	}
	ditto_image_free(img);
}

/* An NSEC3 whose next hashed owner has a '=' inside: ldns's text parser
 * writes a length byte no reader accepts (found by fuzz-zonefile); the
 * record is refused with its line, and a good NSEC3 still compiles. */
static void test_compile_refuses_rdata_no_resolver_could_read(void)
{
	static const char head[] = "$ORIGIN example.\n@ SOA ns host 1 2 3 4 5\n"
				   "@ NS ns\nns A 192.0.2.1\n";
	char text[512];
	struct ditto_compiled out;

	snprintf(text, sizeof(text), "%sx NSEC3 1 0 10 aabbccdd "
		 "2vptu5timamqttgl=luu9kg21e0aor3t A RRSIG\n", head);
	CU_ASSERT(h_compile(text, NULL, &out) != 0);
	CU_ASSERT(strstr(out.first_error, ":5:") &&
		  strstr(out.first_error, "no resolver could read"));
	ditto_compiled_free(&out);
	snprintf(text, sizeof(text), "%sx NSEC3 1 0 10 aabbccdd "
		 "2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG\n", head);
	CU_ASSERT_EQUAL(h_compile(text, NULL, &out), 0);
	ditto_compiled_free(&out);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_compile_accepts_minimal_zone_and_image_opens),
		T(test_compile_orders_nodes_canonically),
		T(test_compile_refuses_rdata_no_resolver_could_read),
		T(test_compile_takes_origin_from_options),
		T(test_compile_follows_dollar_origin_changes),
		T(test_compile_applies_dollar_ttl_and_explicit_ttl),
		T(test_compile_accepts_rfc3597_unknown_type_and_generic_rdata),
		T(test_compile_places_answers_for_own_names_not_wildcards),
		T(test_compile_includes_existing_file),
		T(test_compile_refuses_zone_without_soa),
		T(test_compile_refuses_second_soa_naming_its_line),
		T(test_compile_refuses_soa_below_apex_naming_its_line),
		T(test_compile_refuses_zone_without_apex_ns),
		T(test_compile_refuses_cname_beside_other_data),
		T(test_compile_refuses_cname_added_before_other_data),
		T(test_compile_refuses_out_of_zone_record_naming_it),
		T(test_compile_refuses_bad_address_as_syntax_error),
		T(test_compile_refuses_unknown_type_mnemonic),
		T(test_compile_refuses_meta_and_query_types_naming_the_line),
		T(test_compile_records_refuses_meta_type_from_a_transfer),
		T(test_compile_refuses_unbalanced_parenthesis),
		T(test_compile_refuses_quoted_string_spanning_lines),
		T(test_compile_refuses_include_of_missing_file_naming_it),
		T(test_compile_reports_every_error_to_log),
#undef T
	};
	return h_run("compile", tests, sizeof(tests) / sizeof(tests[0]));
}
