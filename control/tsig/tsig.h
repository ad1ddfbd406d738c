/* TSIG (RFC 8945): keys, and signing and verifying DNS messages in wire
 * form, for single exchanges (SOA queries, NOTIFY) and for the many
 * messages of a zone transfer. The HMACs are OpenSSL's (tsig-openssl.c);
 * this file's callers never see OpenSSL.
 */
#ifndef DITTO_TSIG_H
#define DITTO_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tsig_alg {
	TSIG_HMAC_MD5,
	TSIG_HMAC_SHA1,
	TSIG_HMAC_SHA224,
	TSIG_HMAC_SHA256,
	TSIG_HMAC_SHA384,
	TSIG_HMAC_SHA512,
};

#define TSIG_MAX_MAC 64		/* SHA-512 */
#define TSIG_FUDGE 300		/* seconds, RFC 8945 §10 */

/* TSIG error field values (RFC 8945 §4.3, RFC 2845). */
#define TSIG_ERR_BADSIG 16
#define TSIG_ERR_BADKEY 17
#define TSIG_ERR_BADTIME 18
#define TSIG_ERR_BADTRUNC 22

struct tsig_key {
	uint8_t name[255];	/* wire form, lowercase */
	uint8_t name_len;
	char text[256];		/* presentation form with the dot, for logs */
	enum tsig_alg alg;
	uint8_t secret[256];
	size_t secret_len;
};

/* Outcome of a verification, for logs and for the answer to send back. */
enum tsig_result {
	TSIG_OK = 0,		/* signed and valid */
	TSIG_UNSIGNED,		/* no TSIG record (valid only where allowed) */
	TSIG_BADKEY,		/* unknown key name or algorithm */
	TSIG_BADSIG,		/* MAC does not verify, or is empty */
	TSIG_BADTIME,		/* outside time signed +- fudge */
	TSIG_BADTRUNC,		/* truncated MAC shorter than our policy
				 * (never: we take any truncation the RFC
				 * allows) */
	TSIG_FORMERR,		/* TSIG record malformed or not last, or its
				 * MAC longer than the hash or truncated
				 * below max(10, hash/2) (§5.2.2.1) */
	TSIG_PEER_ERROR,	/* the peer's TSIG carries an error (peer_error) */
};

/* The state of one signed conversation: a request and its response, or
 * every message of a transfer. Zero it with tsig_ctx_init(). */
struct tsig_ctx {
	const struct tsig_key *key;
	uint8_t mac[TSIG_MAX_MAC];	/* the previous MAC in the chain */
	size_t mac_len;			/* 0: none yet */
	unsigned signed_count;		/* messages with a TSIG so far, both
					 * ways: past the request and its
					 * first answer, timers only */
	unsigned unsigned_run;		/* messages since the last TSIG */
	void *running;			/* digest of unsigned messages so far */
	uint16_t peer_error;		/* error field of the last TSIG seen */
	uint64_t peer_time;		/* time signed of the last TSIG seen;
					 * the peer's clock (other data) when
					 * it answered BADTIME */
	uint16_t orig_id;		/* original id of the last TSIG seen */
};

/* "hmac-sha256", "hmac-md5.sig-alg.reg.int." and the like, any case. */
int tsig_alg_from_name(const char *name, enum tsig_alg *out);
const char *tsig_alg_name(enum tsig_alg alg);	/* "hmac-sha256" */

/* A key from its name (presentation form), algorithm name and base64
 * secret. 0, or -1 with the reason in err. */
int tsig_key_init(struct tsig_key *k, const char *name, const char *alg,
		  const char *secret_b64, char *err, size_t errlen);

void tsig_ctx_init(struct tsig_ctx *c, const struct tsig_key *key);
void tsig_ctx_free(struct tsig_ctx *c);

/*
 * Sign msg in place: append a TSIG record, ARCOUNT + 1. The first message
 * a client signs has no prior MAC; a response is signed over the request's
 * MAC (kept in c by tsig_verify), and each later message of a transfer
 * over the MAC before it. error is the TSIG error field (0 normally;
 * BADTIME responses carry the server's time as other data, RFC 8945
 * §5.2.3; such a response is signed at the request's time signed). error
 * BADKEY or BADSIG is refused: those answers are unsigned, see
 * tsig_append_error(). now is seconds since the epoch. 0, or -1 when cap
 * is too small (msg and c are then unchanged) or there is no key.
 */
int tsig_sign(struct tsig_ctx *c, uint8_t *msg, size_t *len, size_t cap,
	      uint64_t now, uint16_t error);

/*
 * The unsigned answer to a request whose TSIG failed with BADKEY or
 * BADSIG (RFC 8945 §5.2): a TSIG record with the request's key name and
 * algorithm, empty MAC and the error. msg must already be the response
 * (QR set, rcode NOTAUTH). 0 or -1.
 */
int tsig_append_error(uint8_t *msg, size_t *len, size_t cap,
		      const uint8_t *req, size_t req_len, uint64_t now,
		      uint16_t error);

/*
 * The TSIG part of the answer to a request whose verification gave r (one
 * of BADKEY, BADSIG, BADTIME; anything else adds nothing): BADTIME signed
 * with the key (RFC 8945 §5.2.3), the others unsigned with the error
 * (tsig_append_error). resp is the NOTAUTH answer, req the request as it
 * came (req_len before tsig_verify stripped anything).
 */
void tsig_answer_failure(struct tsig_ctx *c, enum tsig_result r,
			 uint8_t *resp, size_t *len, size_t cap,
			 const uint8_t *req, size_t req_len, uint64_t now);

/*
 * Verify msg and strip its TSIG record (len shrinks, ARCOUNT - 1). The
 * record is stripped whenever its MAC verified (TSIG_OK, TSIG_BADTIME,
 * and TSIG_PEER_ERROR for a signed error); otherwise msg is left as it
 * was, for tsig_append_error().
 *
 * Server side, a request: c->key NULL; the key is looked up by the
 * record's name and algorithm among keys[0..nkeys) and set in c (also
 * when the MAC then fails, for the logs). An unsigned request gives
 * TSIG_UNSIGNED and leaves c->key NULL. TSIG_BADTIME keeps the request's
 * MAC and time in c for the signed BADTIME answer (tsig_sign()).
 *
 * Client side, the responses to what c signed: c->key set; keys unused.
 * An unsigned error answer (empty MAC, error BADKEY or BADSIG) and a
 * signed one (BADTIME, BADTRUNC) give TSIG_PEER_ERROR with
 * c->peer_error. An unsigned message gives TSIG_UNSIGNED and is added to
 * the running digest (RFC 8945 §5.3.1: the messages of a transfer may be
 * unsigned, up to 99 in a row, the next signed one covering them); the
 * caller refuses an unsigned message where one must be signed (a single
 * response, the last message of a transfer, more than 99 in a row: see
 * tsig_unsigned_ok()).
 *
 * On success the MAC is kept in c for what follows. Returns a
 * tsig_result.
 */
enum tsig_result tsig_verify(struct tsig_ctx *c, const struct tsig_key *keys,
			     size_t nkeys, uint8_t *msg, size_t *len,
			     uint64_t now);

/* After tsig_verify() gave TSIG_UNSIGNED for a message of a transfer:
 * whether that message may stand unsigned, that is, a signed answer came
 * before it and it is at most the 99th unsigned one in a row. The last
 * message must be signed whatever this says. */
bool tsig_unsigned_ok(const struct tsig_ctx *c);

const char *tsig_result_str(enum tsig_result r);

#endif
