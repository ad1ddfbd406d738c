/* The zone table's layout, shared by zonetable.c and the answer path. */
#ifndef DITTO_ZONETABLE_H
#define DITTO_ZONETABLE_H

#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

struct ditto_zone_table {
	uint64_t seed[2];
	size_t count;
	uint32_t mask;
	uint8_t min_labels, max_labels;
	struct ditto_image **zones;
	struct {
		uint32_t hash;
		uint32_t zone;	/* index in zones, UINT32_MAX = empty */
	} slots[];
};

/* Longest match with the query name's label offsets already known:
 * loff[i] is the offset of label i (from the left) in name. */
const struct ditto_image *
zone_table_match_labels(const struct ditto_zone_table *t, const uint8_t *name,
			size_t len, const uint8_t *loff, unsigned labels);

#endif
