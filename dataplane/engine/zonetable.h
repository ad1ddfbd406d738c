/* The zone table's layout, shared by zonetable.c and the answer path. */
#ifndef DITTO_ZONETABLE_H
#define DITTO_ZONETABLE_H

#include <stdint.h>
#include <sys/types.h>

#include "ditto/hash.h"
#include "ditto/wire.h"

#include "engine.h"

struct ditto_zone_table {
	uint64_t seed[2];
	struct ditto_index_key key;	/* from seed: apexes hashed as an
					 * image's index hashes names */
	size_t count;
	uint32_t mask;
	uint8_t min_labels, max_labels;
	struct ditto_image **zones;
	struct {
		uint32_t hash;
		uint32_t zone;	/* index in zones, UINT32_MAX = empty */
	} slots[];
};

#define ZONE_TABLE_SCAN 8	/* up to this many zones, no hashing */

/* Longest match with the query name's label offsets already known:
 * loff[i] is the offset of label i (from the left) in name. Inline: it
 * is on every query's path. */

static inline const struct ditto_image *
zone_table_match_labels(const struct ditto_zone_table *t, const uint8_t *name,
			size_t len, const uint8_t *loff, unsigned labels)
{
	if (t->count == 0 || labels < t->min_labels)
		return NULL;
	if (t->count <= ZONE_TABLE_SCAN) {
		/* A few zones: compare suffixes, deepest apex first. */
		for (size_t i = 0; i < t->count; i++) {
			const struct ditto_image_hdr *h = t->zones[i]->hdr;
			if (h->apex_labels > labels)
				continue;
			size_t off = h->apex_labels == labels
					     ? 0
					     : loff[labels - h->apex_labels];
			if (h->apex_labels == 0)
				off = len - 1;
			if (len - off == h->apex_len &&
			    dns_bytes_eq(name + off, h->apex, h->apex_len))
				return t->zones[i];
		}
		return NULL;
	}
	unsigned top = labels < t->max_labels ? labels : t->max_labels;
	for (unsigned d = top + 1; d-- > t->min_labels;) {
		size_t off = d == 0 ? len - 1 : loff[labels - d];
		uint64_t hv = ditto_index_hash(&t->key, name + off, len - off);
		uint32_t tag = (uint32_t)(hv >> 32);
		for (uint32_t i = (uint32_t)hv & t->mask;; i = (i + 1) & t->mask) {
			uint32_t z = t->slots[i].zone;
			if (z == UINT32_MAX)
				break;
			const struct ditto_image_hdr *h = t->zones[z]->hdr;
			if (t->slots[i].hash == tag && h->apex_len == len - off &&
			    dns_bytes_eq(name + off, h->apex, h->apex_len))
				return t->zones[z];
		}
	}
	return NULL;
}

#endif
