/* Shared pieces of the fuzz targets (see fuzz.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "compile.h"
#include "contents.h"
#include "ditto/wire.h"
#include "fuzz.h"
#include "sample_zone.h"

static void release_free(void *mem, size_t size)
{
	(void)size;
	free(mem);
}

int fuzz_open_copy(const uint8_t *bytes, size_t size, struct ditto_image **out)
{
	char err[256];
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	if (size)
		memcpy(copy, bytes, size);
	int rc = ditto_image_open(copy, size, release_free, out, err,
				  sizeof(err));
	if (rc < 0)
		free(copy);
	return rc;
}

static struct ditto_image *compile_or_die(const char *text)
{
	struct ditto_compile_opts opts = { .default_ttl = 3600 };
	struct ditto_compiled c;
	struct ditto_image *img;

	memset(&c, 0, sizeof(c));
	if (ditto_compile_text(text, strlen(text), "sample", &opts, &c) < 0) {
		fprintf(stderr, "sample zone does not compile: %s\n",
			c.first_error);
		abort();
	}
	if (fuzz_open_copy(c.image, c.size, &img) < 0) {
		fprintf(stderr, "sample image does not open\n");
		abort();
	}
	ditto_compiled_free(&c);
	return img;
}

const struct ditto_zone_table *fuzz_sample_table(void)
{
	static struct ditto_zone_table *t;

	if (!t) {
		const char *texts[] = { sample_zone_example(),
					sample_zone_child(),
					sample_zone_negttl() };
		t = ditto_zone_table_new();
		for (int i = 0; i < 5; i++) {
			char *text = i >= 3 ? sample_zone_signed(i == 4) : NULL;
			if (i >= 3 && !text)
				abort();
			struct ditto_zone_table *n = ditto_zone_table_with(
				t, compile_or_die(i < 3 ? texts[i] : text), NULL);
			free(text);
			ditto_zone_table_free(t);
			t = n;
		}
	}
	return t;	/* lives as long as the process */
}

static void die(const char *why, const uint8_t *q, size_t qlen,
		const uint8_t *r, size_t rlen)
{
	fprintf(stderr, "fuzz invariant broken: %s\nquery:", why);
	for (size_t i = 0; i < qlen; i++)
		fprintf(stderr, " %02x", q[i]);
	fprintf(stderr, "\nresponse:");
	for (size_t i = 0; i < rlen; i++)
		fprintf(stderr, " %02x", r[i]);
	fprintf(stderr, "\n");
	abort();
}

static void check(const uint8_t *q, size_t qlen, const uint8_t *r, size_t len,
		  size_t cap, bool parse)
{
	if (len > cap)
		die("response longer than its buffer", q, qlen, r, cap);
	if (len == 0)
		return;
	if (len < DNS_HDR_LEN)
		die("response shorter than a header", q, qlen, r, len);
	if (!(dns_get16(r + 2) & DNS_F_QR))
		die("QR clear in a response", q, qlen, r, len);
	if (qlen >= 2 && memcmp(q, r, 2) != 0)
		die("response ID differs from the query's", q, qlen, r, len);
	ldns_pkt *p = NULL;
	if (parse && ldns_wire2pkt(&p, r, len) != LDNS_STATUS_OK)
		die("response does not parse", q, qlen, r, len);
	ldns_pkt_free(p);
}

void fuzz_answer_all(const struct ditto_zone_table *t, const uint8_t *q,
		     size_t qlen, bool parse)
{
	static const uint8_t nsid[] = "fuzz-node", ident[] = "fuzz-id";
	static const struct ditto_answer_cfg cfg = {
		.edns_max = DITTO_EDNS_DEFAULT,
		.nsid = nsid, .nsid_len = sizeof(nsid) - 1,
		.identity = ident, .identity_len = sizeof(ident) - 1,
	};
	struct ditto_answer_info info;
	size_t len;

	uint8_t *big = malloc(65535);
	len = ditto_answer(t, &cfg, q, qlen, big, 65535, 0, &info);
	check(q, qlen, big, len, 65535, parse);
	/* The burst path must give the very same bytes. */
	if (qlen <= 65535) {
		uint8_t *b = malloc(65535);
		struct ditto_query one = { .q = q, .qlen = (uint16_t)qlen,
					   .resp = b, .cap = 65535 };
		ditto_answer_burst(t, &cfg, &one, 1, 0);
		if (one.resp_len != len || memcmp(b, big, len) != 0)
			die("burst answer differs from the single answer", q,
			    qlen, b, one.resp_len);
		free(b);
	}
	len = ditto_answer(t, &cfg, q, qlen, big, 65535, DITTO_ANSWER_TCP,
			   &info);
	check(q, qlen, big, len, 65535, parse);
	free(big);

	uint8_t *small = malloc(512);	/* exact, so ASan sees overruns */
	len = ditto_answer(t, &cfg, q, qlen, small, 512, 0, &info);
	check(q, qlen, small, len, 512, parse);
	free(small);

	size_t cap = qlen > 1232 ? qlen : 1232;
	uint8_t *inplace = malloc(cap);
	memcpy(inplace, q, qlen);
	len = ditto_answer(t, &cfg, inplace, qlen, inplace, cap, 0, &info);
	check(q, qlen, inplace, len, cap, parse);
	free(inplace);
}

void fuzz_exercise_image(struct ditto_image *img, bool parse)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_MX, DNS_T_ANY,
					  DNS_T_DS };
	struct ditto_zone_table *t0 = ditto_zone_table_new();
	struct ditto_zone_table *t = ditto_zone_table_with(t0, img, NULL);
	uint32_t n = img->hdr->node_count;
	uint32_t step = n > 16 ? n / 16 : 1;
	uint8_t q[DNS_HDR_LEN + 2 + 256 + 4 + 11];

	ditto_zone_table_free(t0);
	for (uint32_t i = 0; i < n; i += step) {
		const struct ditto_node *node = &img->nodes[i];
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			int below = (int)(k & 1);
			size_t o = DNS_HDR_LEN;
			memset(q, 0, DNS_HDR_LEN);
			dns_put16(q, 0x4242);
			dns_put16(q + 4, 1);
			if (below && node->name_len + 2 <= 255) {
				memcpy(q + o, "\001z", 2);
				o += 2;
			}
			memcpy(q + o, img->names + node->name, node->name_len);
			o += node->name_len;
			dns_put16(q + o, types[k]);
			dns_put16(q + o + 2, DNS_CLASS_IN);
			o += 4;
			if (k >= 2) {	/* EDNS with DO */
				static const uint8_t opt[11] = {
					0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0 };
				memcpy(q + o, opt, sizeof(opt));
				o += sizeof(opt);
				dns_put16(q + 10, 1);
			}
			fuzz_answer_all(t, q, o, parse);
		}
	}
	ditto_zone_table_free(t);
}

void fuzz_fail(const char *why, const char *file, int line)
{
	fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, why);
	abort();
}

void fuzz_recv_all(int fd, char **buf, size_t *cap, size_t *got)
{
	for (;;) {
		if (*got == *cap) {
			*cap *= 2;
			*buf = realloc(*buf, *cap + 1);
			if (!*buf)
				abort();
		}
		ssize_t r = recv(fd, *buf + *got, *cap - *got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		*got += (size_t)r;
	}
}

/* A record from text; aborts when it does not parse. */
static const struct ditto_wire_rr *fuzz_rr(const char *text)
{
	const struct ditto_wire_rr *w = sample_wire_rr(text);

	if (!w) {
		fprintf(stderr, "fuzz: record does not parse: %s\n", text);
		abort();
	}
	return w;
}

struct contents *fuzz_contents(const char *apex, const char *const *records)
{
	uint8_t wire[255];
	ldns_rdf *a = ldns_dname_new_frm_str(apex);

	if (!a || ldns_rdf_size(a) > sizeof(wire))
		abort();
	size_t len = ldns_rdf_size(a);

	dns_name_lower(wire, ldns_rdf_data(a), len);
	ldns_rdf_deep_free(a);
	struct contents *c = contents_new(wire, len);

	for (size_t i = 0; c && records[i]; i++)
		if (contents_add(c, fuzz_rr(records[i]), 0) != 0) {
			fprintf(stderr, "fuzz: record refused: %s\n",
				records[i]);
			abort();
		}
	if (!c)
		abort();
	return c;
}
