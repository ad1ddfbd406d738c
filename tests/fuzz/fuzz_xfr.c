/* Fuzz target: what a primary sends in a zone transfer, through
 * xfr_parse_stream(), the message checks and record stream that
 * xfr_transfer() runs on the connection. The input is a mode byte, a
 * 16-bit mask, then the messages, each after its 2-byte length as over
 * TCP:
 *   mode bit 0: IXFR from the current zone (example., serial 10), else AXFR
 *   mode bit 1: TSIG (hmac-sha256): each message is signed here as a
 *               primary signs it, but for those whose bit is set in the
 *               mask (bit i for message i, from the first)
 *   mode bit 2: tight limits (10 records, 600 bytes)
 *   mode bit 3: with bit 1, signed 1000 seconds in the past (BADTIME)
 * A transfer that succeeds must hold together: the new zone's SOA at the
 * serial reported; the difference sequences of an IXFR, or the difference
 * computed after an AXFR, replayed as a journal onto the current zone,
 * give the same zone (what a restart does); and a zone that compiles
 * gives an image that opens and answers well-formed responses.
 * DITTO_FUZZ_VERBOSE in the environment prints each transfer's outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contents.h"
#include "ditto/wire.h"
#include "fuzz.h"
#include "journal.h"
#include "tsig.h"
#include "xfr.h"

#define FUZZ_XFR_ID 0x1234
#define FUZZ_XFR_NOW 1700000000u
#define TSIG_ROOM 160		/* a TSIG record of the key, and to spare */

static const uint8_t apex[] = "\7example";

static const char *const current[] = {
	"example. 3600 IN SOA ns.example. host.example. 10 3600 600 86400 300",
	"example. 3600 IN NS ns.example.",
	"ns.example. 3600 IN A 192.0.2.1",
	"www.example. 3600 IN A 192.0.2.80",
	"www.example. 3600 IN TXT \"ten\"",
	NULL
};

static struct contents *cur_zone(void)
{
	static struct contents *c;

	if (!c)
		c = fuzz_contents("example.", current);
	return c;
}

static const struct tsig_key *xfr_key(void)
{
	static struct tsig_key k;
	static bool done;
	char err[200];

	if (!done && tsig_key_init(&k, "xfr-key", "hmac-sha256",
				   "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleQ==",
				   err, sizeof(err)) != 0)
		abort();
	done = true;
	return &k;
}

/* The messages signed as the primary would sign its answer to our request
 * (the request's MAC first in the chain), but for the masked ones; a
 * trailing piece that is no whole message is kept as it is. */
static uint8_t *sign_stream(const uint8_t *in, size_t len, bool ixfr,
			    uint16_t mask, uint64_t when, size_t *out_len)
{
	uint8_t req[2048];
	size_t rlen, off = 0, o = 0;
	struct tsig_ctx srv;
	uint8_t *out = malloc(len + (len / 2 + 1) * TSIG_ROOM);

	FUZZ_CHECK(out && xfr_request(apex, sizeof(apex), cur_zone(), ixfr,
				      false, xfr_key(), FUZZ_XFR_ID,
				      FUZZ_XFR_NOW, req, sizeof(req),
				      &rlen) == 0, "no request");
	tsig_ctx_init(&srv, NULL);
	FUZZ_CHECK(tsig_verify(&srv, xfr_key(), 1, req, &rlen, FUZZ_XFR_NOW) ==
		   TSIG_OK, "our own request does not verify");
	for (unsigned k = 0; off + 2 <= len; k++) {
		size_t n = dns_get16(in + off), mlen = n;

		if (n > len - off - 2)
			break;
		memcpy(out + o + 2, in + off + 2, n);
		if (k >= 16 || !(mask >> k & 1))
			(void)tsig_sign(&srv, out + o + 2, &mlen,
					n + TSIG_ROOM, when, 0);
		dns_put16(out + o, (unsigned)mlen);
		o += 2 + mlen;
		off += 2 + n;
	}
	memcpy(out + o, in + off, len - off);
	*out_len = o + len - off;
	tsig_ctx_free(&srv);
	return out;
}

/* The same records, TTLs included. */
static bool same_zone(const struct contents *a, struct contents *b)
{
	struct ditto_wire_rr rr;
	size_t pos = 0;
	uint32_t ttl;

	if (contents_count(a) != contents_count(b))
		return false;
	while (contents_next(a, &pos, &rr) == 1)
		if (!contents_has(b, &rr, &ttl) || ttl != rr.ttl)
			return false;
	return true;
}

/* The journal replayed onto a copy of the current zone gives zone. */
static void check_replay(struct journal *j, const struct contents *zone,
			 uint32_t serial)
{
	struct contents *c = contents_clone(cur_zone());
	uint32_t reached = 0;
	char err[512];

	FUZZ_CHECK(j && c, "out of memory");
	FUZZ_CHECK(journal_replay(j, 10, c, &reached, err, sizeof(err)) == 0,
		   "the journal of a transfer does not replay");
	FUZZ_CHECK(reached == serial, "the journal replays to another serial");
	FUZZ_CHECK(same_zone(zone, c),
		   "the journal replayed is not the zone transferred");
	contents_free(c);
	journal_free(j);
}

static void check_zone(struct xfr_result *res)
{
	struct soa_fields f;

	FUZZ_CHECK(contents_soa(res->zone, &f) && f.serial == res->serial,
		   "the zone transferred has no SOA of the serial reported");
	FUZZ_CHECK(res->records == contents_count(res->zone),
		   "records reported are not the zone's");
	if (res->kind == XFR_IXFR) {
		struct journal *j = journal_new();

		for (unsigned i = 0; j && i < res->diffs; i++) {
			struct journal *n = journal_with(j, res->seqs[i],
							 SIZE_MAX);
			res->seqs[i] = NULL;
			journal_free(j);
			j = n;
		}
		check_replay(j, res->zone, res->serial);
	} else if (serial_gt(res->serial, 10)) {
		bool too_big;
		struct jdiff *d = jdiff_between(cur_zone(), res->zone,
						SIZE_MAX, &too_big);

		FUZZ_CHECK(d, "no difference between the zones");
		check_replay(journal_with(NULL, d, SIZE_MAX), res->zone,
			     res->serial);
	}

	struct ditto_compile_opts opts = { 0 };
	struct ditto_compiled out;
	struct ditto_image *img;

	if (contents_compile(res->zone, &opts, &out) == 0) {
		FUZZ_CHECK(fuzz_open_copy(out.image, out.size, &img) == 0,
			   "the image of a transferred zone does not open");
		fuzz_exercise_image(img, true);
		ditto_image_free(img);
	}
	ditto_compiled_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xfr_limits lim = { 0 };
	struct xfr_result res;
	uint8_t *signed_msgs = NULL;

	if (size < 3)
		return 0;
	const uint8_t *msgs = data + 3;
	size_t len = size - 3;
	unsigned mode = data[0];
	bool ixfr = mode & 1;
	const struct tsig_key *key = mode & 2 ? xfr_key() : NULL;

	if (mode & 4)
		lim = (struct xfr_limits){ .max_records = 10,
					   .max_bytes = 600 };
	if (key) {
		signed_msgs = sign_stream(msgs, len, ixfr, dns_get16(data + 1),
					  FUZZ_XFR_NOW - (mode & 8 ? 1000 : 0),
					  &len);
		msgs = signed_msgs;
	}
	int rc = xfr_parse_stream(apex, sizeof(apex), cur_zone(), ixfr, key,
				  FUZZ_XFR_ID, FUZZ_XFR_NOW, msgs, len, &lim,
				  &res);

	if (getenv("DITTO_FUZZ_VERBOSE"))
		fprintf(stderr, "%s %s: rc %d, %s%s, serial %u, %llu records, "
			"%u diffs, %llu messages%s%s\n", ixfr ? "IXFR" : "AXFR",
			key ? "signed" : "unsigned", rc,
			res.kind == XFR_IXFR ? "IXFR" :
			res.kind == XFR_AXFR ? "AXFR" : "-",
			res.up_to_date ? " up to date" : "", res.serial,
			(unsigned long long)res.records, res.diffs,
			(unsigned long long)res.messages, rc ? ": " : "",
			rc ? res.error : "");
	if (rc == 0) {
		FUZZ_CHECK(res.zone || (ixfr && res.up_to_date),
			   "a transfer that succeeded with no zone");
		if (res.zone)
			check_zone(&res);
	} else {
		FUZZ_CHECK(!res.zone && res.error[0],
			   "a failed transfer with a zone or no reason");
	}
	xfr_result_free(&res);
	free(signed_msgs);
	return 0;
}
