/* Writes the fuzz seed corpora: images of the sample zones, one query per
 * answering rule and a few malformed ones. Run by the build (seeds that
 * follow the current image format) and by hand to refresh
 * tests/fuzz/corpus:
 *   fuzz_mkcorpus tests/fuzz/corpus/image tests/fuzz/corpus/answer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ditto/wire.h"
#include "helpers.h"
#include "sample_zone.h"

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

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s IMAGE_DIR QUERY_DIR\n", argv[0]);
		return 2;
	}
	mkdir(argv[1], 0755);
	mkdir(argv[2], 0755);
	return write_images(argv[1]) || write_queries(argv[2]) ? 1 : 0;
}
