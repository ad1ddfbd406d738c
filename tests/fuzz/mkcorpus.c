/* Writes the fuzz seed corpora: images of the sample zones, one query per
 * answering rule and a few malformed ones, transfers as a primary sends
 * them (fuzz_xfr's input: mode, mask, messages) and signed exchanges
 * (fuzz_tsig's: mode, time, messages). Run by the build (seeds that follow
 * the current image format) and by hand to refresh tests/fuzz/corpus:
 *   fuzz_mkcorpus tests/fuzz/corpus/image tests/fuzz/corpus/answer \
 *     tests/fuzz/corpus/xfr tests/fuzz/corpus/tsig */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ditto/wire.h"
#include "helpers.h"
#include "sample_zone.h"
#include "tsig.h"
#include "tsig_keys.h"

static int write_file(const char *dir, const char *name, const uint8_t *b,
		      size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int write_images(const char *dir)
{
	static const struct {
		const char *file;
		const char *(*text)(void);
	} zones[] = {
		{ "example", sample_zone_example },
		{ "child", sample_zone_child },
		{ "negttl", sample_zone_negttl },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct ditto_compiled c;
		if (h_compile(zones[i].text(), NULL, &c) < 0) {
			fprintf(stderr, "%s: %s\n", zones[i].file,
				c.first_error);
			return -1;
		}
		rc |= write_file(dir, zones[i].file, c.image, c.size);
		ditto_compiled_free(&c);
	}
	/* Signed: the DENIAL section, and NSEC3's. */
	for (int k = 0; k < 2; k++) {
		struct ditto_compiled c;
		char *text = sample_zone_signed(k == 1);
		if (!text || h_compile(text, NULL, &c) < 0) {
			fprintf(stderr, "signed sample zone: %s\n",
				text ? c.first_error : "not signed");
			free(text);
			return -1;
		}
		rc |= write_file(dir, k ? "signed-nsec3" : "signed-nsec",
				 c.image, c.size);
		ditto_compiled_free(&c);
		free(text);
	}
	return rc;
}

static int write_queries(const char *dir)
{
	static const uint8_t nsid[] = { 0, DNS_EDNS_NSID, 0, 0 };
	static const uint8_t unknown[] = { 0xfd, 0xe9, 0, 2, 'h', 'i' };
	static const struct {
		const char *file;
		struct h_query q;
	} queries[] = {
#define E(...) .edns = { .on = true, __VA_ARGS__ }
		{ "exact", { 1, DNS_F_RD, "www.example.", DNS_T_A, 0, {0} } },
		{ "mixed-case", { 2, 0, "WwW.ExAmPlE.", DNS_T_AAAA, 0, {0} } },
		{ "edns-do-nsid", { 3, DNS_F_CD, "www.example.", DNS_T_A, 0,
		  E(.payload = 4096, .do_bit = true, .options = nsid,
		    .options_len = sizeof(nsid)) } },
		{ "badvers", { 4, 0, "www.example.", DNS_T_A, 0,
		  E(.payload = 1232, .version = 1) } },
		{ "unknown-option", { 5, 0, "www.example.", DNS_T_A, 0,
		  E(.payload = 512, .options = unknown,
		    .options_len = sizeof(unknown)) } },
		{ "cname", { 6, 0, "alias.example.", DNS_T_A, 0, {0} } },
		{ "cname-chain", { 7, 0, "chain1.example.", DNS_T_A, 0, {0} } },
		{ "cname-dangling", { 8, 0, "dangling.example.", DNS_T_A, 0,
		  {0} } },
		{ "cname-loop", { 9, 0, "loop1.example.", DNS_T_A, 0, {0} } },
		{ "dname", { 10, 0, "host.dn.example.", DNS_T_A, 0, {0} } },
		{ "dname-yx", { 11, 0,
		  "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq."
		  "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq."
		  "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq."
		  "yx.example.", DNS_T_A, 0, {0} } },
		{ "wildcard", { 12, 0, "a.b.wild.example.", DNS_T_TXT, 0,
		  {0} } },
		{ "wildcard-cname", { 13, 0, "x.wc.example.", DNS_T_A, 0,
		  {0} } },
		{ "ent", { 14, 0, "x.wild.example.", DNS_T_A, 0, {0} } },
		{ "nxdomain", { 15, 0, "nope.example.", DNS_T_A, 0, {0} } },
		{ "referral", { 16, 0, "www.deleg.example.", DNS_T_A, 0,
		  {0} } },
		{ "ns-additional", { 17, 0, "example.", DNS_T_NS, 0, {0} } },
		{ "mx", { 18, 0, "example.", DNS_T_MX, 0, {0} } },
		{ "srv", { 19, 0, "_sip._udp.example.", DNS_T_SRV, 0, {0} } },
		{ "tc-udp", { 20, 0, "big.example.", DNS_T_TXT, 0, {0} } },
		{ "tc-edns", { 21, 0, "huge.example.", DNS_T_TXT, 0,
		  E(.payload = 4096) } },
		{ "any", { 22, 0, "www.example.", DNS_T_ANY, 0, {0} } },
		{ "child", { 23, 0, "www.child.example.", DNS_T_A, 0, {0} } },
		{ "refused", { 24, 0, "www.example.org.", DNS_T_A, 0, {0} } },
		{ "chaos-id", { 25, 0, "id.server.", DNS_T_TXT, DNS_CLASS_CH,
		  {0} } },
		{ "chaos-version", { 26, 0, "version.bind.", DNS_T_TXT,
		  DNS_CLASS_CH, {0} } },
		{ "notify", { 27, 4u << 11, "example.", DNS_T_SOA, 0, {0} } },
		{ "do-nxdomain-nsec", { 32, 0, "nope.a.b.c.s.test.", DNS_T_A,
		  0, E(.payload = 4096, .do_bit = true) } },
		{ "do-nxdomain-nsec3", { 33, 0, "nope.x.s3.test.", DNS_T_A, 0,
		  E(.payload = 4096, .do_bit = true) } },
		{ "do-nodata-ent", { 34, 0, "b.c.s3.test.", DNS_T_TXT, 0,
		  E(.payload = 1232, .do_bit = true) } },
		{ "do-wildcard", { 35, 0, "x.w.s3.test.", DNS_T_A, 0,
		  E(.payload = 1232, .do_bit = true) } },
		{ "do-wildcard-nodata", { 36, 0, "x.w.s.test.", DNS_T_MX, 0,
		  E(.payload = 512, .do_bit = true) } },
		{ "do-referral", { 37, 0, "a.sub.s3.test.", DNS_T_A, 0,
		  E(.payload = 1232, .do_bit = true) } },
		{ "do-ds", { 38, 0, "sec.s.test.", DNS_T_DS, 0,
		  E(.payload = 1232, .do_bit = true) } },
		{ "do-cname-nx", { 39, 0, "dangling.s3.test.", DNS_T_A, 0,
		  E(.payload = 4096, .do_bit = true) } },
#undef E
	};
	uint8_t buf[1024];
	int rc = 0;

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		size_t n = h_query_wire(&queries[i].q, buf, sizeof(buf));
		rc |= write_file(dir, queries[i].file, buf, n);
	}
	/* malformed: a pointer in the question, no question, cut short */
	static const uint8_t ptr[] = { 0, 28, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				       3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1 };
	static const uint8_t noq[] = { 0, 29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t cut[] = { 0, 30, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				       3, 'w', 'w' };
	/* names at the length limit: 255 bytes, and 256 */
	uint8_t lim[300] = { 0, 31, 0, 0, 0, 1 };
	size_t o = DNS_HDR_LEN;
	for (int i = 0; i < 4; i++) {
		uint8_t l = i < 3 ? 63 : 61;
		lim[o++] = l;
		memset(lim + o, 'a' + i, l);
		o += l;
	}
	lim[o++] = 0;
	dns_put16(lim + o, DNS_T_A);
	dns_put16(lim + o + 2, DNS_CLASS_IN);
	rc |= write_file(dir, "name-255", lim, o + 4);
	lim[DNS_HDR_LEN + 3 * 64] = 62;
	memmove(lim + DNS_HDR_LEN + 3 * 64 + 63, lim + DNS_HDR_LEN + 3 * 64 + 62, 5);
	lim[DNS_HDR_LEN + 3 * 64 + 62] = 'd';
	rc |= write_file(dir, "bad-name-256", lim, o + 5);
	rc |= write_file(dir, "bad-pointer", ptr, sizeof(ptr));
	rc |= write_file(dir, "bad-no-question", noq, sizeof(noq));
	rc |= write_file(dir, "bad-cut", cut, sizeof(cut));
	return rc;
}

/* ---- transfers ----------------------------------------------------------- */

/* A seed being written: bytes appended. */
struct seed {
	uint8_t b[16384];
	size_t len;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->len + n > sizeof(s->b)) {
		fprintf(stderr, "seed too large\n");
		exit(1);
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

/* A message of a transfer from the records' text (NULL-terminated): id
 * 0x1234 (fuzz_xfr's), QR AA, the question example./qtype when question,
 * and an OPT with EXPIRE when expire. Returns its length in out. */
static size_t answer_msg(uint8_t *out, size_t cap, uint16_t id, bool question,
			 uint16_t qtype, unsigned rcode, bool expire,
			 const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	uint8_t *wire = NULL;
	size_t n = 0;

	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	if (question) {
		ldns_rr *q = ldns_rr_new();

		ldns_rr_set_owner(q, ldns_dname_new_frm_str("example."));
		ldns_rr_set_type(q, qtype);
		ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
		ldns_rr_set_question(q, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	}
	for (size_t i = 0; rrs && rrs[i]; i++) {
		ldns_rr *r = NULL;

		if (ldns_rr_new_frm_str(&r, rrs[i], 3600, NULL, NULL) !=
		    LDNS_STATUS_OK) {
			fprintf(stderr, "bad record: %s\n", rrs[i]);
			exit(1);
		}
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, r);
	}
	if (ldns_pkt2wire(&wire, p, &n) != LDNS_STATUS_OK || n + 19 > cap) {
		fprintf(stderr, "cannot render a message\n");
		exit(1);
	}
	memcpy(out, wire, n);
	free(wire);
	ldns_pkt_free(p);
	if (expire) {
		static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0,
					       0, 8, 0, 9, 0, 4, 0, 0, 0x0e,
					       0x10 };
		memcpy(out + n, opt, sizeof(opt));
		n += sizeof(opt);
		dns_put16(out + 10, dns_get16(out + 10) + 1u);
	}
	return n;
}

struct xmsg {
	bool question;
	unsigned rcode;
	bool expire;
	const char *const *rrs;
};

/* fuzz_xfr's input: mode, mask, then the messages with their lengths. */
static int write_xfr(const char *dir, const char *name, unsigned mode,
		     uint16_t mask, const struct xmsg *m, size_t n)
{
	struct seed s = { .len = 0 };
	uint8_t hdr[3] = { (uint8_t)mode, (uint8_t)(mask >> 8), (uint8_t)mask };
	uint8_t msg[8192], len[2];

	put(&s, hdr, 3);
	for (size_t i = 0; i < n; i++) {
		size_t l = answer_msg(msg, sizeof(msg), 0x1234, m[i].question,
				      mode & 1 ? DNS_T_IXFR : DNS_T_AXFR,
				      m[i].rcode, m[i].expire, m[i].rrs);
		dns_put16(len, (unsigned)l);
		put(&s, len, 2);
		put(&s, msg, l);
	}
	return write_file(dir, name, s.b, s.len);
}

#define SOA(n) "example. 3600 IN SOA ns.example. host.example. " #n \
	" 3600 600 86400 300"

static int write_transfers(const char *dir)
{
	static const char *const axfr[] = {
		SOA(11), "example. 3600 IN NS ns.example.",
		"ns.example. 3600 IN A 192.0.2.1",
		"www.example. 3600 IN A 192.0.2.80",
		"www.example. 3600 IN AAAA 2001:db8::80",
		"example. 3600 IN MX 10 mail.example.",
		"mail.example. 3600 IN A 192.0.2.25",
		"alias.example. 3600 IN CNAME www.example.",
		"*.wild.example. 3600 IN TXT \"wild\"",
		"sub.example. 3600 IN NS ns.sub.example.",
		"ns.sub.example. 3600 IN A 192.0.2.53",
		"dn.example. 3600 IN DNAME example.net.",
		"_sip._udp.example. 3600 IN SRV 0 5 5060 www.example.",
		SOA(11), NULL };
	static const char *const part1[] = { SOA(11),
		"example. 3600 IN NS ns.example.",
		"ns.example. 3600 IN A 192.0.2.1", NULL };
	static const char *const part2[] = {
		"www.example. 3600 IN A 192.0.2.80",
		"www.example. 3600 IN TXT \"eleven\"", NULL };
	static const char *const part3[] = {
		"mail.example. 3600 IN A 192.0.2.25", SOA(11), NULL };
	static const char *const dnssec[] = { SOA(11),
		"example. 3600 IN NS ns.example.",
		"ns.example. 3600 IN A 192.0.2.1",
		"example. 3600 IN DNSKEY 257 3 13 "
		"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
		"example. 3600 IN RRSIG SOA 13 1 3600 20300101000000 "
		"20200101000000 12345 example. "
		"oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAw==",
		"www.example. 3600 IN A 192.0.2.80",
		"www.example. 3600 IN NSEC example. A RRSIG NSEC",
		"sub.example. 3600 IN NS ns.sub.example.",
		"sub.example. 3600 IN DS 12345 13 2 "
		"49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4F1C4B0F4F5A0DE7C0A5F5E5",
		SOA(11), NULL };
	/* IXFR from 10: 10 -> 11 -> 12 */
	static const char *const ixfr[] = { SOA(12),
		SOA(10), "www.example. 3600 IN A 192.0.2.80",
		SOA(11), "www.example. 3600 IN A 192.0.2.81",
		SOA(11), "www.example. 3600 IN TXT \"ten\"",
		SOA(12), "www.example. 3600 IN TXT \"twelve\"",
		"new.example. 3600 IN AAAA 2001:db8::12",
		SOA(12), NULL };
	static const char *const ixfr1[] = { SOA(12), SOA(10),
		"www.example. 3600 IN A 192.0.2.80", NULL };
	static const char *const ixfr2[] = { SOA(11),
		"www.example. 3600 IN A 192.0.2.81", SOA(11), NULL };
	static const char *const ixfr3[] = { "www.example. 3600 IN TXT \"ten\"",
		SOA(12), "www.example. 3600 IN TXT \"twelve\"", SOA(12),
		NULL };
	static const char *const uptodate[] = { SOA(10), NULL };
	static const char *const axfr_style[] = { SOA(12),
		"example. 3600 IN NS ns.example.",
		"ns.example. 3600 IN A 192.0.2.1", SOA(12), NULL };
	static const char *const outsync[] = { SOA(12), SOA(9),
		"www.example. 3600 IN A 192.0.2.80", SOA(12), SOA(12), NULL };
	static const char *const notours[] = { SOA(12), SOA(10),
		"nope.example. 3600 IN A 192.0.2.99", SOA(12), SOA(12), NULL };
	static const char *const outside[] = { SOA(11),
		"www.example.org. 3600 IN A 192.0.2.1", SOA(11), NULL };
	static const char *const noclose[] = { SOA(11),
		"www.example. 3600 IN A 192.0.2.80", NULL };
	int rc = 0;

#define X(...) ((const struct xmsg[]){ __VA_ARGS__ })
#define N(...) (sizeof((const struct xmsg[]){ __VA_ARGS__ }) / \
		sizeof(struct xmsg))
#define W(name, mode, mask, ...) \
	rc |= write_xfr(dir, name, mode, mask, X(__VA_ARGS__), N(__VA_ARGS__))
	W("axfr", 0, 0, { true, 0, true, axfr });
	W("axfr-three-messages", 0, 0, { true, 0, false, part1 },
	  { false, 0, false, part2 }, { false, 0, false, part3 });
	W("axfr-signed", 2, 0, { true, 0, false, part1 },
	  { true, 0, false, part2 }, { true, 0, false, part3 });
	W("axfr-signed-gap", 2, 2, { true, 0, false, part1 },
	  { false, 0, false, part2 }, { false, 0, false, part3 });
	W("axfr-signed-last-unsigned", 2, 4, { true, 0, false, part1 },
	  { false, 0, false, part2 }, { false, 0, false, part3 });
	W("axfr-badtime", 2 | 8, 0, { true, 0, false, axfr });
	W("axfr-dnssec", 0, 0, { true, 0, false, dnssec });
	W("axfr-limits", 4, 0, { true, 0, false, axfr });
	W("axfr-notauth", 0, 0, { true, 9, false, NULL });
	W("axfr-outside", 0, 0, { true, 0, false, outside });
	W("axfr-no-close", 0, 0, { true, 0, false, noclose });
	W("ixfr", 1, 0, { true, 0, true, ixfr });
	W("ixfr-signed", 3, 0, { true, 0, false, ixfr });
	W("ixfr-three-messages", 1, 0, { true, 0, false, ixfr1 },
	  { false, 0, false, ixfr2 }, { false, 0, false, ixfr3 });
	W("ixfr-up-to-date", 1, 0, { true, 0, false, uptodate });
	W("ixfr-axfr-style", 1, 0, { true, 0, false, axfr_style });
	W("ixfr-out-of-sync", 1, 0, { true, 0, false, outsync });
	W("ixfr-deletes-missing", 1, 0, { true, 0, false, notours });
	W("ixfr-refused", 1, 0, { true, 5, false, NULL });
#undef W
#undef N
#undef X
	/* framing: a length that runs past the end */
	uint8_t cut[] = { 0, 0, 0, 0x01, 0x00, 0x12, 0x34, 0x84, 0 };
	rc |= write_file(dir, "cut-short", cut, sizeof(cut));
	return rc;
}

/* ---- TSIG ------------------------------------------------------------------ */

/* fuzz_tsig's input: mode, time, then the messages with their lengths. */
static void tsig_head(struct seed *s, unsigned mode, uint32_t now)
{
	uint8_t h[5] = { (uint8_t)mode };

	dns_put32(h + 1, now);
	put(s, h, 5);
}

static void tsig_msg(struct seed *s, const uint8_t *m, size_t len)
{
	uint8_t l[2];

	dns_put16(l, (unsigned)len);
	put(s, l, 2);
	put(s, m, len);
}

static int write_tsig(const char *dir)
{
	static const char *const soa[] = { SOA(11), NULL };
	static const char *const recs[] = { "www.example. 3600 IN A 192.0.2.80",
					    "www.example. 3600 IN TXT \"x\"",
					    NULL };
	const uint32_t now = 1700000000u;
	uint8_t q[1024], a[1024], b[1024];
	struct h_query hq = { 0x5151, 0, "example.", DNS_T_SOA, 0, { 0 } };
	char name[64];
	int rc = 0;

	for (unsigned k = 0; k < FUZZ_TSIG_KEYS; k++) {
		struct tsig_key key;
		struct tsig_ctx cli, srv;
		struct seed s = { .len = 0 }, plain = { .len = 0 };
		char err[200];
		size_t ql, al, bl;

		if (tsig_key_init(&key, fuzz_tsig_keys[k].name, fuzz_tsig_keys[k].alg,
				  fuzz_tsig_keys[k].secret, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		ql = h_query_wire(&hq, q, sizeof(q));
		al = answer_msg(a, sizeof(a), 0x5151, true, DNS_T_SOA, 0, false,
				soa);
		bl = answer_msg(b, sizeof(b), 0x5151, false, DNS_T_SOA, 0,
				false, recs);
		/* plain messages: fuzz_tsig signs them itself */
		tsig_head(&plain, k, now);
		tsig_msg(&plain, q, ql);
		tsig_msg(&plain, a, al);
		tsig_msg(&plain, b, bl);
		snprintf(name, sizeof(name), "plain-%u", k);
		rc |= write_file(dir, name, plain.b, plain.len);
		/* signed: a request and a transfer of two answers */
		tsig_ctx_init(&cli, &key);
		tsig_ctx_init(&srv, NULL);
		if (tsig_sign(&cli, q, &ql, sizeof(q), now, 0) != 0)
			return 1;
		uint8_t qs[1024];
		size_t qsl = ql;

		memcpy(qs, q, ql);
		if (tsig_verify(&srv, &key, 1, q, &ql, now) != TSIG_OK ||
		    tsig_sign(&srv, a, &al, sizeof(a), now + 1, 0) != 0 ||
		    tsig_sign(&srv, b, &bl, sizeof(b), now + 2, 0) != 0)
			return 1;
		tsig_head(&s, k | 8, now);
		tsig_msg(&s, qs, qsl);
		tsig_msg(&s, a, al);
		tsig_msg(&s, b, bl);
		snprintf(name, sizeof(name), "signed-%u", k);
		rc |= write_file(dir, name, s.b, s.len);
		/* the same request at a time far off: BADTIME */
		struct seed late = { .len = 0 };

		tsig_head(&late, k, now + 3600);
		tsig_msg(&late, qs, qsl);
		snprintf(name, sizeof(name), "badtime-%u", k);
		rc |= write_file(dir, name, late.b, late.len);
		tsig_ctx_free(&cli);
		tsig_ctx_free(&srv);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s IMAGE_DIR QUERY_DIR XFR_DIR "
			"TSIG_DIR\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < 5; i++)
		mkdir(argv[i], 0755);
	return write_images(argv[1]) || write_queries(argv[2]) ||
	       write_transfers(argv[3]) || write_tsig(argv[4]) ? 1 : 0;
}
