/* The master file reader's fast path: the common record types parsed
 * straight from entry text into wire form, reading exactly what ldns's
 * ldns_rr_new_frm_str() reads; every other entry is left to ldns.
 * Internal to control/zone. */
#ifndef DITTO_RRTEXT_H
#define DITTO_RRTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRTEXT_RDATA_MAX 65535

/* What an entry is read against: the same three things ldns is given.
 * Names are in wire form; NULL when there is none yet. */
struct rrtext_ctx {
	const uint8_t *origin;	/* $ORIGIN, absolute */
	size_t origin_len;
	const uint8_t *prev;	/* the previous owner */
	size_t prev_len;
	uint32_t default_ttl;	/* $TTL; 0 stands for ldns's default, 3600 */
};

/* One record in wire form. */
struct rrtext_rr {
	uint8_t owner[255];	/* absolute, case as written */
	size_t owner_len;
	bool owner_given;	/* the entry named its owner (or @), which
				 * becomes the previous owner, as in ldns */
	uint16_t type;
	uint32_t ttl;
	size_t rdlen;
	uint8_t rdata[RRTEXT_RDATA_MAX];	/* uncompressed, case kept */
};

/* Read one entry (a record line with parentheses and comments already
 * taken out, as parse.c joins them). True when rr holds the record, class
 * IN, as ldns would read it; false when the entry is not one the fast path
 * reads in full, valid or not: ldns must parse it and report its errors. */
bool rrtext_parse(const char *entry, const struct rrtext_ctx *ctx,
		  struct rrtext_rr *rr);

#endif
