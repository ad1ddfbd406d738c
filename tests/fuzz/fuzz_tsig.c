/* Fuzz target: TSIG (RFC 8945) on arbitrary messages. The input is a mode
 * byte, a 32-bit time (now, seconds), then messages, each after a 2-byte
 * length. Mode: bits 0-2 the key of the round trips, bit 3 the client
 * reading the messages as they came, bits 4-6 the bit changed below.
 *
 * As received: the first message verified as a request against the key
 * list, and a failure answered as ditto-control answers it
 * (tsig_answer_failure); when it verifies, the messages after it verified
 * as the answers to it, by the client that sent it.
 *
 * Round trips, which must hold for every plain message (well formed to
 * its last byte, no TSIG): the first, signed as a request, verifies at
 * the server with the key it was signed with and comes back as it was,
 * and does not verify with one bit changed (but the id and the case of
 * letters, which TSIG does not see); the others, signed by that server as
 * the messages of a transfer, verify in turn at the client, up to the
 * first that is not plain; a BADTIME answer signed with the server's
 * clock reaches the client with that clock. Messages that are not plain
 * only must not crash anything.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ditto/wire.h"
#include "fuzz.h"
#include "tsig.h"
#include "tsig_keys.h"

#define MSG_MAX 65535
#define TSIG_ROOM 400		/* a TSIG record: two names, MAC, other */

#define N_KEYS FUZZ_TSIG_KEYS

static const struct tsig_key *keys(void)
{
	static struct tsig_key k[N_KEYS];
	static bool done;
	char err[200];

	for (size_t i = 0; !done && i < N_KEYS; i++)
		if (tsig_key_init(&k[i], fuzz_tsig_keys[i].name, fuzz_tsig_keys[i].alg,
				  fuzz_tsig_keys[i].secret, err, sizeof(err)) != 0)
			abort();
	done = true;
	return k;
}

/* A message of the input, and a copy to work on. */
struct in {
	const uint8_t *b;
	size_t len;
};

struct msg {
	uint8_t *b;
	size_t len;
};

/* An exactly sized copy (ASan sees overreads), or one with room to sign. */
static struct msg copy(const struct in *m, size_t room)
{
	struct msg c = { malloc(m->len + room ? m->len + room : 1), m->len };

	if (!c.b)
		abort();
	if (m->len)
		memcpy(c.b, m->b, m->len);
	return c;
}

/* Well formed to the last byte, and no TSIG in it: signed, it must
 * verify. */
static bool plain(const struct in *m)
{
	struct tsig_ctx c;
	struct msg x = copy(m, 0);

	tsig_ctx_init(&c, NULL);
	bool r = tsig_verify(&c, keys(), N_KEYS, x.b, &x.len, 0) ==
		 TSIG_UNSIGNED;
	tsig_ctx_free(&c);
	free(x.b);
	return r;
}

/* As received: a request at the server, and the answers at its client. */
static void received(const struct in *m, size_t n, uint64_t now)
{
	const struct tsig_key *k = keys();
	struct tsig_ctx srv;
	struct msg req = copy(&m[0], 0);

	tsig_ctx_init(&srv, NULL);
	enum tsig_result r = tsig_verify(&srv, k, N_KEYS, req.b, &req.len, now);

	if (getenv("DITTO_FUZZ_VERBOSE"))
		fprintf(stderr, "request as received: %s\n", tsig_result_str(r));

	FUZZ_CHECK(r == TSIG_OK || r == TSIG_BADTIME ? req.len < m[0].len
						     : req.len == m[0].len,
		   "the TSIG record stripped when it should not be, or not");
	if (r == TSIG_BADKEY || r == TSIG_BADSIG || r == TSIG_BADTIME) {
		/* The NOTAUTH answer, as ditto-control makes it. */
		uint8_t resp[DNS_HDR_LEN + TSIG_ROOM + 600];
		size_t len = DNS_HDR_LEN;

		memset(resp, 0, DNS_HDR_LEN);
		if (m[0].len >= 2)
			memcpy(resp, m[0].b, 2);
		dns_put16(resp + 2, DNS_F_QR | 9);
		tsig_answer_failure(&srv, r, resp, &len, sizeof(resp), m[0].b,
				    m[0].len, now);
		FUZZ_CHECK(len <= sizeof(resp), "the answer ran past its buffer");
	}
	if (r == TSIG_OK) {
		/* The client that signed it is where the server is now. */
		struct tsig_ctx cli = srv;

		srv.running = NULL;
		for (size_t i = 1; i < n; i++) {
			struct msg a = copy(&m[i], 0);

			if (tsig_verify(&cli, NULL, 0, a.b, &a.len, now) ==
			    TSIG_UNSIGNED)
				(void)tsig_unsigned_ok(&cli);
			free(a.b);
		}
		tsig_ctx_free(&cli);
	}
	tsig_ctx_free(&srv);
	free(req.b);
}

/* Whether changing bit of the byte at pos is one that TSIG does not see:
 * the id (the digest takes the original id) or the case of a letter (the
 * TSIG names are compared in lowercase). */
static bool blind_change(const uint8_t *b, size_t pos, unsigned bit)
{
	return pos < 2 || (bit == 5 && isalpha(b[pos]));
}

/* The request signed with k, verified with one bit changed (which must
 * fail) and as it is (which must give it back). 0 with srv holding the
 * request's MAC, -1 when it cannot be signed or is not plain. */
static int request_trip(const struct in *m, const struct tsig_key *k,
			struct tsig_ctx *cli, struct tsig_ctx *srv,
			uint64_t now, unsigned bit, size_t flip)
{
	struct msg req = copy(m, TSIG_ROOM);
	struct tsig_ctx chk;
	int rc = -1;

	if (tsig_sign(cli, req.b, &req.len, m->len + TSIG_ROOM, now, 0) != 0 ||
	    !plain(m))
		goto out;

	struct in was = { req.b, req.len };
	struct msg bad = copy(&was, 0);
	size_t pos = flip % bad.len;

	bad.b[pos] ^= (uint8_t)(1u << bit);
	tsig_ctx_init(&chk, NULL);
	FUZZ_CHECK(blind_change(req.b, pos, bit) ||
		   tsig_verify(&chk, keys(), N_KEYS, bad.b, &bad.len, now) !=
			   TSIG_OK,
		   "a request with a bit changed verifies");
	tsig_ctx_free(&chk);
	free(bad.b);

	FUZZ_CHECK(tsig_verify(srv, keys(), N_KEYS, req.b, &req.len, now) ==
			   TSIG_OK && srv->key == k,
		   "a request we signed does not verify");
	FUZZ_CHECK(req.len == m->len && memcmp(req.b, m->b, req.len) == 0,
		   "the request verified is not the message signed");
	rc = 0;
	if (getenv("DITTO_FUZZ_VERBOSE"))
		fprintf(stderr, "request signed with %s: verified\n", k->text);
out:
	free(req.b);
	return rc;
}

static void round_trips(const struct in *m, size_t n, unsigned mode,
			uint64_t now, size_t flip)
{
	const struct tsig_key *k = &keys()[mode & 7];
	struct tsig_ctx cli, srv;

	tsig_ctx_init(&cli, k);
	tsig_ctx_init(&srv, NULL);
	if (request_trip(&m[0], k, &cli, &srv, now, (mode >> 4) & 7,
			 flip) < 0)
		goto out;

	/* The answers, as the messages of a transfer: each plain one
	 * verifies; the chain ends at one that is not. */
	for (size_t i = 1; i < n; i++) {
		struct msg a = copy(&m[i], TSIG_ROOM);
		bool ok = plain(&m[i]);

		if (ok && tsig_sign(&srv, a.b, &a.len, m[i].len + TSIG_ROOM,
				    now + i, 0) == 0) {
			enum tsig_result r = tsig_verify(&cli, NULL, 0, a.b,
							 &a.len, now);

			FUZZ_CHECK(r == TSIG_OK,
				   "an answer we signed does not verify");
			if (getenv("DITTO_FUZZ_VERBOSE"))
				fprintf(stderr, "answer %zu signed: verified\n",
					i);
			FUZZ_CHECK(a.len == m[i].len &&
					   memcmp(a.b, m[i].b, a.len) == 0,
				   "the answer verified is not the message "
				   "signed");
		} else {
			ok = false;
		}
		free(a.b);
		if (!ok)
			break;
	}

	/* A BADTIME answer, signed with the server's clock beside. */
	if (n > 1 && plain(&m[1])) {
		struct tsig_ctx s2, c2;
		struct msg q = copy(&m[0], TSIG_ROOM), a = copy(&m[1], TSIG_ROOM);

		tsig_ctx_init(&c2, k);
		tsig_ctx_init(&s2, NULL);
		if (tsig_sign(&c2, q.b, &q.len, m[0].len + TSIG_ROOM, now, 0) ==
			    0 &&
		    tsig_verify(&s2, keys(), N_KEYS, q.b, &q.len, now + 1000) ==
			    TSIG_BADTIME &&
		    tsig_sign(&s2, a.b, &a.len, m[1].len + TSIG_ROOM,
			      now + 1000, TSIG_ERR_BADTIME) == 0) {
			enum tsig_result r = tsig_verify(&c2, NULL, 0, a.b,
							 &a.len, now);

			FUZZ_CHECK(r == TSIG_PEER_ERROR &&
					   c2.peer_error == TSIG_ERR_BADTIME &&
					   c2.peer_time == now + 1000,
				   "a signed BADTIME answer is not seen as one");
		}
		tsig_ctx_free(&s2);
		tsig_ctx_free(&c2);
		free(q.b);
		free(a.b);
	}

	/* The client reading what came, after its request. */
	if (mode & 8) {
		struct tsig_ctx c3;
		struct msg q = copy(&m[0], TSIG_ROOM);

		tsig_ctx_init(&c3, k);
		if (tsig_sign(&c3, q.b, &q.len, m[0].len + TSIG_ROOM, now, 0) ==
		    0)
			for (size_t i = 1; i < n; i++) {
				struct msg a = copy(&m[i], 0);

				if (tsig_verify(&c3, NULL, 0, a.b, &a.len,
						now) == TSIG_UNSIGNED)
					(void)tsig_unsigned_ok(&c3);
				free(a.b);
			}
		tsig_ctx_free(&c3);
		free(q.b);
	}
out:
	tsig_ctx_free(&cli);
	tsig_ctx_free(&srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in m[64];
	size_t n = 0, off = 5, flip = 0;

	if (size < 5)
		return 0;
	unsigned mode = data[0];
	uint64_t now = dns_get32(data + 1);

	while (n < 64 && off + 2 <= size) {
		size_t len = dns_get16(data + off);

		if (len > size - off - 2 || len > MSG_MAX - TSIG_ROOM)
			break;
		m[n++] = (struct in){ data + off + 2, len };
		off += 2 + len;
	}
	if (n == 0)
		return 0;
	for (size_t i = 0; i < size; i++)
		flip = flip * 31 + data[i];
	received(m, n, now);
	round_trips(m, n, mode, now, flip);
	return 0;
}
