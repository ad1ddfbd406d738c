/* The compiler's working model of a zone: records as read from master
 * files, interned owner names, and the messages it reports. Internal to
 * control/zone. */
#ifndef DITTO_ZONE_H
#define DITTO_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compile.h"

/* One record, compactly: the rdata stays in wire form in an arena. */
struct zrec {
	uint32_t owner;		/* name id in the name set, later node index */
	uint32_t rdata;		/* offset in zone.rdata */
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
	uint16_t file;		/* index in zone.files */
	uint16_t dropped;	/* left out of the image (occluded, duplicate) */
};

/* Interned lowercase wire names: ids are offsets of entries
 * [u32 node index][u8 len][name...] in data. */
struct nameset_slot {
	uint32_t off;		/* 0 = empty, else offset + 1 */
	uint32_t hash;		/* the name's hash (low bits), so that probes
				 * and growth need not read or hash names */
};

struct nameset {
	uint8_t *data;
	size_t len, cap;
	struct nameset_slot *table;	/* open addressing */
	size_t mask, count;
	uint64_t key[2];
};

struct zone {
	const struct ditto_compile_opts *opts;
	struct ditto_compiled *out;
	struct ditto_compile_limits limits;
	uint8_t apex[256];
	size_t apex_len;
	bool have_apex;
	struct nameset names;
	struct zrec *recs;
	size_t nrec, caprec;
	uint8_t *rdata;
	size_t rdlen, rdcap;
	char *files[64];
	unsigned nfiles;
};

int nameset_init(struct nameset *s);
void nameset_free(struct nameset *s);
/* Intern a lowercase wire name; returns its id or a negative error. */
int64_t nameset_add(struct nameset *s, const uint8_t *name, size_t len);
/* The id of a name, or -1. */
int64_t nameset_find(const struct nameset *s, const uint8_t *name, size_t len);
static inline const uint8_t *nameset_name(const struct nameset *s, uint32_t id,
					  size_t *len)
{
	*len = s->data[id + 4];
	return s->data + id + 5;
}
/* The node index stored with a name (set by the compiler). */
static inline uint32_t nameset_get_node(const struct nameset *s, uint32_t id)
{
	uint32_t v;
	memcpy(&v, s->data + id, 4);
	return v;
}
static inline void nameset_set_node(struct nameset *s, uint32_t id, uint32_t v)
{
	memcpy(s->data + id, &v, 4);
}

/* Read a master file into z (records, apex). */
int zone_parse_file(struct zone *z, const char *path);
int zone_parse_text(struct zone *z, const char *text, size_t len,
		    const char *name);
/* Take records in wire form from a source (see compile.h). */
int zone_parse_records(struct zone *z, ditto_rr_source next, void *arg,
		       const char *name);

/* Report a problem at a record (file/line may be 0). Errors count toward
 * refusal; the first one is kept in out->first_error. */
void zone_error(struct zone *z, const struct zrec *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void zone_warn(struct zone *z, const struct zrec *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
