/* Unit tests for the master file reader's fast path (rrtext.c): every
 * entry it reads must come out byte for byte as ldns reads it (owner,
 * type, TTL, rdata, and the previous owner left for the next entry), and
 * what it cannot read in full it must leave to ldns. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <ldns/ldns.h>

#include "rng.h"
#include "ditto/wire.h"
#include "helpers.h"
#include "rrtext.h"

/* What entries are read against: parse.c's origin, previous owner and
 * $TTL (NULL: none). */
struct env {
	const char *origin;
	const char *prev;
	uint32_t ttl;
};

static const struct env env_main = { "Example.COM.", "Prev.Example.COM.",
				      3600 };
/* No previous owner yet: a blank owner is the origin. $TTL 0 stands for
 * ldns's default TTL, 3600. */
static const struct env env_first = { "Example.COM.", NULL, 0 };
/* No origin: only absolute names can be read. */
static const struct env env_no_origin = { NULL, "prev.example.", 600 };

static struct rrtext_rr fast_rr;

static void print_hex(const char *what, const uint8_t *p, size_t n)
{
	printf("    %s (%zu):", what, n);
	for (size_t i = 0; i < n; i++)
		printf(" %02x", p[i]);
	printf("\n");
}

static ldns_rdf *dname_or_null(const char *text)
{
	return text ? ldns_dname_new_frm_str(text) : NULL;
}

/* How ldns's reading of entry differs from fast_rr, or NULL when it does
 * not; ldns updates *prev as parse.c lets it. want_prev is the previous
 * owner ldns must leave. */
static const char *ldns_differs(const char *entry, uint32_t ttl,
				const ldns_rdf *origin, ldns_rdf **prev,
				const uint8_t *want_prev, size_t want_prev_len,
				bool print)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, entry, ttl, origin, prev);
	ldns_buffer *buf = ldns_buffer_new(512);
	const char *why = NULL;

	if (st != LDNS_STATUS_OK)
		why = ldns_get_errorstr_by_id(st);
	else if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		why = "class";
	else if (ldns_rdf_size(ldns_rr_owner(rr)) != fast_rr.owner_len ||
		 memcmp(ldns_rdf_data(ldns_rr_owner(rr)), fast_rr.owner,
			fast_rr.owner_len) != 0)
		why = "owner";
	else if (ldns_rr_get_type(rr) != fast_rr.type)
		why = "type";
	else if (ldns_rr_ttl(rr) != fast_rr.ttl)
		why = "ttl";
	else if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		 ldns_buffer_position(buf) != fast_rr.rdlen ||
		 memcmp(ldns_buffer_begin(buf), fast_rr.rdata,
			fast_rr.rdlen) != 0)
		why = "rdata";
	else if ((*prev ? ldns_rdf_size(*prev) : 0) != want_prev_len ||
		 (*prev && memcmp(ldns_rdf_data(*prev), want_prev,
				  want_prev_len) != 0))
		why = "previous owner";

	if (why && print) {
		printf("\n  fast path and ldns differ (%s): '%s'\n", why, entry);
		print_hex("fast owner", fast_rr.owner, fast_rr.owner_len);
		printf("    fast type %u ttl %u\n", fast_rr.type, fast_rr.ttl);
		print_hex("fast rdata", fast_rr.rdata, fast_rr.rdlen);
		if (st == LDNS_STATUS_OK) {
			ldns_rr_print(stdout, rr);
			print_hex("ldns rdata", ldns_buffer_begin(buf),
				  ldns_buffer_position(buf));
		}
	}
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
	return why;
}

/* Read entry with the fast path; when it takes it, ldns must read the
 * same record, or *diffs grows (the first differences are printed).
 * ldns is asked only about what the fast path read: some entries it
 * declines overrun ldns's token buffers (a '(' then newlines inside one
 * token), which parse.c never hands it. Returns whether it took it. */
static bool read_both(const char *entry, const struct env *env,
		      unsigned *diffs)
{
	ldns_rdf *origin = dname_or_null(env->origin);
	ldns_rdf *prev = dname_or_null(env->prev);
	struct rrtext_ctx ctx = {
		.origin = origin ? ldns_rdf_data(origin) : NULL,
		.origin_len = origin ? ldns_rdf_size(origin) : 0,
		.prev = prev ? ldns_rdf_data(prev) : NULL,
		.prev_len = prev ? ldns_rdf_size(prev) : 0,
		.default_ttl = env->ttl,
	};

	/* Poison what the fast path must set (the rdata: up to rdlen). */
	memset(&fast_rr, 0xa5, offsetof(struct rrtext_rr, rdata));
	bool fast = rrtext_parse(entry, &ctx, &fast_rr);
	if (fast) {
		/* An entry that names its owner makes it the previous one. */
		const uint8_t *want = fast_rr.owner_given ? fast_rr.owner
							  : ctx.prev;
		size_t want_len = fast_rr.owner_given ? fast_rr.owner_len
						      : ctx.prev_len;
		uint8_t want_prev[255];

		if (want_len)
			memcpy(want_prev, want, want_len);
		if (ldns_differs(entry, env->ttl, origin, &prev, want_prev,
				 want_len, *diffs < 20))
			++*diffs;
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return fast;
}

/* ---- the generated table -------------------------------------------------- */

#define L63 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567-_x"
#define L61 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678"
/* 255 bytes in wire form, 254 characters: the longest owner ldns takes. */
#define NAME255 L63 "." L63 "." L63 "." L61 "."
#define S255 \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"

/* Owners with the blank after them; an entry without one starts with a
 * blank (the previous owner's). */
static const char *const owners[] = {
	"www.example.com. ", "www ", "@ ", " ", "\t", "MiXeD.CaSe\t",
	"a\\.b\\032c\\065 ", "\\@x ", "*.wild ", L63 " ", NAME255 " ",
	"_sip._tcp ", "xn--bcher-kva.Example.COM. ", ". ",
};

/* TTL and class, as ldns takes them: TTL first, both optional. */
static const char *const ttl_class[] = {
	"", "300 ", "IN ", "300 IN ", "in\t", "1h30m IN ", "2W ",
	"86400\t", "0 In ", "1d2h3m4s5 ", "4294967295 ", "4294967296 ",
	"00010 ",
};

struct sample {
	const char *type;	/* mnemonic, case varied */
	const char *rdata;
};

static const struct sample samples[] = {
	{ "A", "192.0.2.1" }, { "a", "0.0.0.0" }, { "A", "255.255.255.255" },
	{ "AAAA", "::" }, { "aaaa", "::1" }, { "AaAa", "2001:db8::1" },
	{ "AAAA", "::ffff:1.2.3.4" }, { "AAAA", "2001:DB8:0:0:8:800:200C:417A" },
	{ "AAAA", "fe80::" }, { "AAAA", "1:2:3:4:5:6:7:8" },
	{ "NS", "ns1" }, { "ns", "ns1.example.net." }, { "NS", "@" },
	{ "NS", "NS2.Example.COM." }, { "NS", "." }, { "NS", L63 },
	{ "NS", NAME255 },
	{ "CNAME", "a\\.b" }, { "cname", "\\065\\066c" },
	{ "CNAME", "x\\ y.example." }, { "CNAME", "a.b.c.d.e" },
	{ "CNAME", "\\\\back\\\\slash" }, { "CNAME", "q\\(x\\)\\;y" },
	{ "PTR", "host.example.com." }, { "ptr", "Host" },
	{ "DNAME", "example.net." }, { "Dname", "sub" },
	{ "MX", "10 mail" }, { "mx", "0 ." }, { "MX", "65535 mail.example.net." },
	{ "MX", "010 @" }, { "MX", "10\tMail" },
	{ "SRV", "10 60 5060 sip" }, { "srv", "0 0 0 ." },
	{ "SRV", "65535 65535 65535 Target.example.net." },
	{ "TXT", "\"v=spf1 -all\"" }, { "txt", "unquoted" },
	{ "TXT", "\"a\" \"b\" c" }, { "TXT", "\"\"" }, { "TXT", "\"\" \"\"" },
	{ "TXT", "\"with \\\"quotes\\\"\"" }, { "TXT", "\"\\065\\066\\255\\000\"" },
	{ "TXT", "\"semi;colon (paren) ( \"" }, { "TXT", "\\\"" },
	{ "TXT", "a\\ b" }, { "TXT", "\"" S255 "\"" }, { "TXT", S255 },
	{ "TXT", "\"tab\there\"" }, { "TXT", "\"x\"\t\"y\"  " },
	{ "TXT", "\"back\\\\\" slash\\\\" }, { "TXT", "\"\\\\\\\"\"" },
	{ "TXT", "\"caf\xc3\xa9\" \x01\x7f" }, { "TXT", "\"\\#\"" },
	{ "SOA", "ns1 hostmaster 2024010101 7200 3600 1209600 300" },
	{ "soa", "ns1.example.com. host\\.master 1 1h 30m 2w 1d" },
	{ "SOA", "@ @ 4294967295 0 0 0 0" },
	{ "SOA", "a. b. 0 1W2D3H4M5S 1s 60 3600h" },
	{ "DS", "12345 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC" },
	{ "ds", "1 13 2 ab cd\tef 0 1" }, { "DS", "65535 255 255 00" },
	{ "CAA", "0 issue \"letsencrypt.org\"" },
	{ "caa", "128 iodef \"mailto:x@example.com\"" },
	{ "CAA", "0 issuewild \"\"" }, { "CAA", "0 Tag9 \"esc\\\"aped;\\059\"" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The entries of the table, generated: every sample under every owner
 * form and TTL/class form. */
static size_t table_entry(size_t i, char *buf, size_t cap)
{
	size_t s = i % N(samples), o = i / N(samples) % N(owners),
	       t = i / N(samples) / N(owners);

	if (t >= N(ttl_class))
		return 0;
	snprintf(buf, cap, "%s%s%s %s", owners[o], ttl_class[t],
		 samples[s].type, samples[s].rdata);
	return strlen(buf);
}

static void test_rrtext_reads_generated_entries_as_ldns_does(void)
{
	static const struct env *const envs[] = { &env_main, &env_first };
	unsigned diffs = 0, taken = 0, total = 0;
	char entry[1024];

	for (size_t e = 0; e < N(envs); e++) {
		for (size_t i = 0; table_entry(i, entry, sizeof(entry)); i++) {
			total++;
			if (read_both(entry, envs[e], &diffs)) {
				taken++;
			} else if (total - taken <= 10) {
				printf("\n  fast path declined '%s'\n", entry);
			}
		}
	}
	printf("\n  %u entries, %u read by the fast path, %u differences\n",
	       total, taken, diffs);
	CU_ASSERT_EQUAL(diffs, 0);
	CU_ASSERT_EQUAL(taken, total);
	CU_ASSERT_TRUE(total > 1000);
}

/* Without an origin, ldns leaves relative names relative (an error for
 * the compiler): the fast path reads absolute names only. */
static void test_rrtext_without_origin_reads_absolute_names_only(void)
{
	unsigned diffs = 0;

	CU_ASSERT_TRUE(read_both("a.example. 300 IN A 192.0.2.1",
				 &env_no_origin, &diffs));
	CU_ASSERT_TRUE(read_both(" MX 10 mail.example.", &env_no_origin,
				 &diffs));
	CU_ASSERT_FALSE(read_both("a 300 IN A 192.0.2.1", &env_no_origin,
				  &diffs));
	CU_ASSERT_FALSE(read_both("@ A 192.0.2.1", &env_no_origin, &diffs));
	CU_ASSERT_FALSE(read_both("a.example. MX 10 mail", &env_no_origin,
				  &diffs));
	CU_ASSERT_FALSE(read_both("a.example. NS @", &env_no_origin, &diffs));
	CU_ASSERT_EQUAL(diffs, 0);
}

/* Entries the fast path must leave to ldns: other types and classes,
 * RFC 3597 rdata, and whatever ldns reads in its own way or refuses (its
 * error message is the one the user sees). */
static void test_rrtext_leaves_to_ldns_what_it_does_not_read_in_full(void)
{
	static const char *const entries[] = {
		/* other types, generic rdata, other classes */
		"www HINFO \"pc\" \"os\"", "www TYPE1 192.0.2.1",
		"www A \\# 4 c0000201", "www TXT \\# 3 026869",
		"www TYPE65280 \\# 1 00", "www MX \\# 3 000a00",
		"www NS \\#", "www CH A 192.0.2.1", "www 300 CH TXT \"x\"",
		"www HS A 1.2.3.4", "www CLASS1 A 192.0.2.1",
		"www ANY A 192.0.2.1", "www NONE A 192.0.2.1",
		"www DS 1 RSASHA256 2 abcd", "www SSHFP 1 1 abcd",
		/* class before TTL: ldns reads 300 as the type */
		"www IN 300 A 192.0.2.1",
		/* garbage, missing and extra fields */
		"!!!", "www", "www 300", "www 300 IN", "www A",
		"www A 192.0.2.1 extra", "www MX 10", "www MX mail",
		"www SOA ns1 host 1 2 3 4", "www SOA ns1 host 1 2 3 4 5 6",
		"www TXT", "www TXT   ", "www SRV 1 2 target",
		"www DS 1 2 3", "www CAA 0 issue", "www CAA 0 issue x",
		/* addresses */
		"www A 01.2.3.4", "www A 1.2.3", "www A 256.1.1.1",
		"www A 192.0.2.1/24", "www AAAA 1::2::3", "www AAAA 192.0.2.1",
		"www A 1\\.2.3.4",
		/* names */
		"a..b A 192.0.2.1", ".a A 192.0.2.1", "www NS a..b",
		L63 "x A 192.0.2.1", "www NS " L63 "x",
		NAME255 "x A 192.0.2.1", "www NS a" NAME255,
		L63 "." L63 "." L63 "." L63 " A 192.0.2.1",
		"a\\256 A 192.0.2.1", "a\\1 A 192.0.2.1", "a\\12 A 1.2.3.4",
		"www NS a\\", "www NS \\@", "www NS @.sub", "www NS \\064",
		"@sub A 192.0.2.1", "@@ A 192.0.2.1",
		/* numbers and timers */
		"www MX 65536 mail", "www MX -1 mail", "www MX +1 mail",
		"www MX 0x10 mail", "www SOA a b 4294967296 1 2 3 4",
		"www SOA a b -1 1 2 3 4", "www SOA a b 1 1x 2 3 4",
		"www SOA a b 1 h 2 3 4", "www SOA a b 1 -1 2 3 4",
		"www DS 1 256 2 ab", "www CAA 256 issue \"x\"",
		"www +300 A 192.0.2.1", "www 300x A 192.0.2.1",
		"www 3-0 A 192.0.2.1", "www 123456789012345678901 A 1.2.3.4",
		/* strings */
		"www TXT \"" S255 "x\"", "www TXT " S255 "x", "www TXT \"abc",
		"www TXT \"a\"\"b\"", "www TXT \"a\"b", "www TXT a\"b\"",
		"www TXT \"\\0\"", "www TXT \"\\300\"", "www TXT a\\",
		"www TXT \"multi\nline\"", "www TXT \"cr\r\"", "www TXT a\rb",
		"www TXT (paren)", "www TXT a;b", "www TXT \"x\" \"",
		/* DS and CAA */
		"www DS 1 8 2 abc", "www DS 1 8 2 xy", "www DS 1 8 2 ab\\cd",
		"www CAA 0 issue \"x\" ", "www CAA 0 is-sue \"x\"",
		"www CAA 0 \"issue\" \"x\"", "www CAA 0 issue \"x\"y",
		/* quotes and parentheses outside rdata */
		"\"www\" A 192.0.2.1", "www\\ A 192.0.2.1 A 1.2.3.4",
		"www (A) 192.0.2.1",
	};
	unsigned diffs = 0;

	for (size_t i = 0; i < N(entries); i++) {
		bool fast = read_both(entries[i], &env_main, &diffs);
		if (fast)
			printf("\n  fast path read '%s'\n", entries[i]);
		CU_ASSERT_FALSE(fast);
	}
	CU_ASSERT_EQUAL(diffs, 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	return rng_next(&rng_state);
}

/* Edit text in place at random: insert, delete, replace or repeat
 * characters, favouring the ones with a meaning in master files. */
static void edit(char *s, size_t cap)
{
	static const char chars[] = " \t\\\"().;@#0159azAZhmw-+:\n\r\xc3";
	size_t n = strlen(s), at = n ? rng() % (n + 1) : 0;
	char c = chars[rng() % (sizeof(chars) - 1)];

	switch (rng() % 4) {
	case 0:	/* insert */
		if (n + 2 < cap) {
			memmove(s + at + 1, s + at, n - at + 1);
			s[at] = c;
		}
		break;
	case 1:	/* delete */
		if (at < n)
			memmove(s + at, s + at + 1, n - at);
		break;
	case 2:	/* replace */
		if (at < n)
			s[at] = c;
		break;
	default: { /* repeat a few characters */
		size_t len = 1 + rng() % 8;
		if (at + len <= n && n + len + 1 < cap) {
			memmove(s + at + len, s + at, n - at + 1);
		}
		break;
	}
	}
}

/* Random edits of the table's entries: whatever the fast path still
 * reads, ldns must read the same way. */
static void test_rrtext_random_edits_never_read_differently(void)
{
	unsigned diffs = 0, taken = 0, total = 0;
	char entry[1100];
	size_t count = 0;

	while (table_entry(count, entry, sizeof(entry)))
		count++;
	for (unsigned round = 0; round < 60000; round++) {
		table_entry(rng() % count, entry, sizeof(entry));
		for (unsigned k = 1 + rng() % 3; k > 0; k--)
			edit(entry, sizeof(entry));
		const struct env *env = round % 5 == 0 ? &env_no_origin
				      : round % 5 == 1 ? &env_first
						       : &env_main;
		total++;
		taken += read_both(entry, env, &diffs);
	}
	printf("\n  %u edited entries, %u read by the fast path, %u differences\n",
	       total, taken, diffs);
	CU_ASSERT_EQUAL(diffs, 0);
	/* The edits must leave plenty for the fast path to read, and plenty
	 * it must decline. */
	CU_ASSERT_TRUE(taken > total / 10);
	CU_ASSERT_TRUE(taken < total - total / 10);
}

/* ---- through the compiler ------------------------------------------------ */

/* Entries without an owner take the previous one whichever parser read
 * it: HINFO goes to ldns, A and AAAA to the fast path. */
static void test_compile_shares_previous_owner_between_parsers(void)
{
	static const char zone[] =
		"$ORIGIN example.\n$TTL 3600\n"
		"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
		"  IN NS ns1\n"
		"ns1 A 192.0.2.1\n"
		"x IN HINFO \"pc\" \"os\"\n"
		"  IN A 192.0.2.2\n"
		"y IN A 192.0.2.3\n"
		"  IN HINFO \"a\" \"b\"\n"
		"  IN AAAA ::1\n"
		"@ TXT apex\n"
		"  HINFO \"c\" \"d\"\n"
		"z.example. HINFO \"e\" \"f\"\n"
		"  TXT zed\n";
	struct ditto_image *img = h_image(zone, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "x.example.", DNS_T_A));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "y.example.", DNS_T_HINFO));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "y.example.", DNS_T_AAAA));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "example.", DNS_T_TXT));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "example.", DNS_T_HINFO));
	CU_ASSERT_PTR_NOT_NULL(h_rrset(img, "z.example.", DNS_T_TXT));
	CU_ASSERT_PTR_NULL(h_rrset(img, "ns1.example.", DNS_T_HINFO));
	CU_ASSERT_PTR_NULL(h_rrset(img, "x.example.", DNS_T_AAAA));
	ditto_image_free(img);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_rrtext_reads_generated_entries_as_ldns_does),
		T(test_rrtext_without_origin_reads_absolute_names_only),
		T(test_rrtext_leaves_to_ldns_what_it_does_not_read_in_full),
		T(test_rrtext_random_edits_never_read_differently),
		T(test_compile_shares_previous_owner_between_parsers),
#undef T
	};
	return h_run("rrtext", tests, N(tests));
}
