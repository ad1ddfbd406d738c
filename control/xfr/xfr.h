/* Talking DNS to a primary: SOA queries over UDP (TCP when truncated) and
 * zone transfers (AXFR, RFC 5936; IXFR, RFC 1995) over TCP, blocking with
 * deadlines, every message checked against TSIG when the primary has a key
 * and against the limits before anything is believed. The result of a
 * transfer is a complete new zone contents or an error sentence: nothing a
 * caller serves is touched here.
 */
#ifndef DITTO_XFR_H
#define DITTO_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "contents.h"
#include "journal.h"
#include "tsig.h"

struct xfr_peer {
	const struct sockaddr *addr;
	socklen_t addr_len;
	const struct sockaddr *src;	/* source address (port 0), or NULL */
	socklen_t src_len;
	const struct tsig_key *key;	/* NULL: unsigned */
	const char *text;		/* for messages: "primary1 10.53.0.1@53" */
};

struct xfr_limits {
	uint64_t max_bytes;		/* of all messages; 0: no limit */
	uint64_t max_records;		/* of the resulting zone; 0: none */
	unsigned timeout_ms;		/* the whole transfer */
	unsigned io_timeout_ms;		/* silence on the connection */
};

enum xfr_kind { XFR_NONE, XFR_AXFR, XFR_IXFR };

struct xfr_result {
	struct contents *zone;		/* the new contents; NULL: none */
	enum xfr_kind kind;		/* how it came (IXFR may answer AXFR-style) */
	bool up_to_date;		/* IXFR answered with our own serial */
	uint32_t serial;
	int64_t expire;			/* EDNS EXPIRE of the primary, or -1 */
	uint64_t bytes, messages, records;
	unsigned diffs;			/* IXFR: difference sequences applied */
	struct jdiff **seqs;		/* IXFR: those sequences, in order */
	bool fallback;			/* the IXFR failed in a way that AXFR may mend */
	char error[512];
};

/* The primary's serial for the zone: 0 and *serial (and *expire, -1 when
 * absent) set, or a negative ditto_error with the reason in err. */
int xfr_soa_query(const struct xfr_peer *p, const uint8_t *apex,
		  size_t apex_len, bool want_expire, unsigned timeout_ms,
		  uint32_t *serial, int64_t *expire, char *err, size_t errlen);

/* Transfer the zone: IXFR from cur when ixfr and cur is not NULL, else
 * AXFR. 0 with res->zone (or res->up_to_date), or a negative ditto_error
 * with res->error; res->fallback says whether an AXFR is worth trying. */
int xfr_transfer(const struct xfr_peer *p, const uint8_t *apex,
		 size_t apex_len, const struct contents *cur, bool ixfr,
		 bool want_expire, const struct xfr_limits *lim,
		 struct xfr_result *res);

/* The request xfr_transfer() sends for apex (IXFR from cur's SOA when
 * ixfr and cur has one, else AXFR), with the given id, signed with key
 * at now (seconds since the epoch) when key is set. 0 with the message in
 * req (*len bytes, no TCP length), or a negative ditto_error. */
int xfr_request(const uint8_t *apex, size_t apex_len,
		const struct contents *cur, bool ixfr, bool want_expire,
		const struct tsig_key *key, uint16_t id, uint64_t now,
		uint8_t *req, size_t cap, size_t *len);

/* What xfr_transfer() does with the primary's answer, without a socket
 * (for tests and fuzzing): msgs holds the messages as they came over
 * TCP, each after its 2-byte length, answering the request that
 * xfr_request() makes of the same arguments (want_expire false); their
 * TSIG times are checked against now. The same checks, record stream and
 * result as xfr_transfer(); bytes after the closing SOA are ignored, as
 * the connection's would be. */
int xfr_parse_stream(const uint8_t *apex, size_t apex_len,
		     const struct contents *cur, bool ixfr,
		     const struct tsig_key *key, uint16_t id, uint64_t now,
		     const uint8_t *msgs, size_t len,
		     const struct xfr_limits *lim, struct xfr_result *res);

/* Frees the zone and the sequences still held. */
void xfr_result_free(struct xfr_result *res);

#endif
