/* Zone contents: the records of one zone at one serial as ditto-control
 * keeps them, the source of every image it compiles. A transfer builds a
 * new contents (AXFR) or changes a copy (IXFR); the serving copy is never
 * touched until the new one has been verified and compiled.
 *
 * Records are kept in wire form, names uncompressed and in the case they
 * arrived in; two records are the same when their canonical forms (RFC 4034
 * §6.2: names in owner and rdata lowercased) are, which is how IXFR
 * deletions and duplicate additions are matched.
 */
#ifndef DITTO_CONTENTS_H
#define DITTO_CONTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"

struct contents;

struct soa_fields {
	uint32_t serial, refresh, retry, expire, minimum;
	uint32_t ttl;
};

/* An empty zone at apex (wire form). NULL when out of memory. */
struct contents *contents_new(const uint8_t *apex, size_t apex_len);
/* Contents are counted: contents_ref() takes another reference (for a
 * thread that reads them while the zone moves on), contents_free() drops
 * one and frees with the last. Only reading is safe while shared. */
struct contents *contents_ref(struct contents *c);
void contents_free(struct contents *c);
/* A copy to change, or NULL. */
struct contents *contents_clone(const struct contents *c);

/* Add a record: 0, 1 when the same record is there already (left as it
 * is, RFC 1995's "add" of an existing record), or a negative ditto_error:
 * DITTO_EINVAL for malformed rdata or an owner outside the zone,
 * DITTO_ELIMIT past max_records (0: no limit). */
int contents_add(struct contents *c, const struct ditto_wire_rr *rr,
		 size_t max_records);
/* Delete a record: 0, or DITTO_ENOENT when it is not there. */
int contents_delete(struct contents *c, const struct ditto_wire_rr *rr);

/* Whether the record is there (matched as contents_delete() does), and
 * *ttl its TTL when ttl is not NULL. Uses c's scratch space: one caller
 * at a time. */
bool contents_has(struct contents *c, const struct ditto_wire_rr *rr,
		  uint32_t *ttl);
size_t contents_count(const struct contents *c);
const uint8_t *contents_apex(const struct contents *c, size_t *len);
/* The apex SOA; false when there is none. */
bool contents_soa(const struct contents *c, struct soa_fields *soa);
/* The apex SOA record itself (for IXFR requests and AXFR answers). */
bool contents_soa_rr(const struct contents *c, struct ditto_wire_rr *rr);

/* Walk the records: *pos starts at 0; 1 and *rr filled, or 0 at the end. */
int contents_next(const struct contents *c, size_t *pos,
		  struct ditto_wire_rr *rr);

/* Compile into an image (apex as the origin). */
int contents_compile(const struct contents *c,
		     const struct ditto_compile_opts *opts,
		     struct ditto_compiled *out);

/* Persist: a private binary file (magic, version, apex, records,
 * checksum), written atomically. contents_load() validates every length
 * and the checksum, and refuses a file of another zone. */
int contents_save(const struct contents *c, const char *path);
int contents_load(const char *path, const uint8_t *apex, size_t apex_len,
		  struct contents **out, char *err, size_t errlen);

/* The SOA fields of an SOA record's rdata; false when it is malformed. */
bool soa_parse(const uint8_t *rdata, size_t rdlen, struct soa_fields *soa);

/* A record as contents and journals keep it: u8 owner length, owner,
 * u16 type, u16 class, u32 ttl, u16 rdlength, rdata. rr_put() writes one
 * at p (rr_size() bytes, owner_len <= 255 and rdlen <= 65535 checked by
 * the caller); rr_get() reads one back, pointing into p. */
static inline size_t rr_size(const struct ditto_wire_rr *rr)
{
	return 1 + rr->owner_len + 10 + rr->rdlen;
}

static inline void rr_put(uint8_t *p, const struct ditto_wire_rr *rr)
{
	p[0] = (uint8_t)rr->owner_len;
	__builtin_memcpy(p + 1, rr->owner, rr->owner_len);
	p += 1 + rr->owner_len;
	p[0] = (uint8_t)(rr->type >> 8);
	p[1] = (uint8_t)rr->type;
	p[2] = (uint8_t)(rr->rrclass >> 8);
	p[3] = (uint8_t)rr->rrclass;
	for (int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(rr->ttl >> (24 - 8 * i));
	p[8] = (uint8_t)(rr->rdlen >> 8);
	p[9] = (uint8_t)rr->rdlen;
	__builtin_memcpy(p + 10, rr->rdata, rr->rdlen);
}

static inline void rr_get(const uint8_t *p, struct ditto_wire_rr *rr)
{
	rr->owner_len = p[0];
	rr->owner = p + 1;
	p += 1 + rr->owner_len;
	rr->type = (uint16_t)(p[0] << 8 | p[1]);
	rr->rrclass = (uint16_t)(p[2] << 8 | p[3]);
	rr->ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		  (uint32_t)p[6] << 8 | p[7];
	rr->rdlen = (size_t)(p[8] << 8 | p[9]);
	rr->rdata = p + 10;
}

/* Serial arithmetic (RFC 1982): whether a is after b. */
static inline bool serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

#endif
