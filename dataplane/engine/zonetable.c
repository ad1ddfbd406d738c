/* The table of zones a node serves: immutable, keyed by apex with a seeded
 * hash, replaced whole on every change (one pointer to swap under RCU). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ditto/hash.h"
#include "ditto/wire.h"
#include "engine.h"
#include "zonetable.h"

static size_t table_slots(size_t count)
{
	size_t s = 8;

	while (s < count * 2 + 1)
		s *= 2;
	return s;
}

static struct ditto_zone_table *table_build(struct ditto_image **zones,
					    size_t count, const uint64_t *seed)
{
	size_t slots = table_slots(count);
	struct ditto_zone_table *t = calloc(1, sizeof(*t) +
					      slots * sizeof(t->slots[0]));

	if (!t)
		return NULL;
	t->zones = malloc((count ? count : 1) * sizeof(*t->zones));
	if (!t->zones) {
		free(t);
		return NULL;
	}
	if (seed) {
		t->seed[0] = seed[0];
		t->seed[1] = seed[1];
	} else if (getrandom(t->seed, sizeof(t->seed), 0) != sizeof(t->seed)) {
		free(t->zones);
		free(t);
		return NULL;
	}
	ditto_index_key_init(&t->key, t->seed);
	t->count = count;
	t->mask = (uint32_t)(slots - 1);
	t->min_labels = 255;
	for (size_t i = 0; i <= t->mask; i++)
		t->slots[i].zone = UINT32_MAX;
	/* Deepest apex first, for the scan of small tables. */
	for (size_t i = 1; i < count; i++)
		for (size_t j = i; j > 0 && zones[j - 1]->hdr->apex_labels <
						    zones[j]->hdr->apex_labels;
		     j--) {
			struct ditto_image *tmp = zones[j];
			zones[j] = zones[j - 1];
			zones[j - 1] = tmp;
		}
	for (size_t i = 0; i < count; i++) {
		const struct ditto_image_hdr *h = zones[i]->hdr;
		uint64_t hv = ditto_index_hash(&t->key, h->apex, h->apex_len);
		size_t k = hv & t->mask;
		while (t->slots[k].zone != UINT32_MAX)
			k = (k + 1) & t->mask;
		t->slots[k].hash = (uint32_t)(hv >> 32);
		t->slots[k].zone = (uint32_t)i;
		t->zones[i] = zones[i];
		if (h->apex_labels < t->min_labels)
			t->min_labels = h->apex_labels;
		if (h->apex_labels > t->max_labels)
			t->max_labels = h->apex_labels;
	}
	return t;
}

struct ditto_zone_table *ditto_zone_table_new(void)
{
	return table_build(NULL, 0, NULL);
}

static ssize_t table_find(const struct ditto_zone_table *t, const uint8_t *apex,
			  size_t len)
{
	for (size_t i = 0; i < t->count; i++) {
		const struct ditto_image_hdr *h = t->zones[i]->hdr;
		if (h->apex_len == len && memcmp(h->apex, apex, len) == 0)
			return (ssize_t)i;
	}
	return -1;
}

struct ditto_zone_table *ditto_zone_table_with(const struct ditto_zone_table *t,
					       struct ditto_image *img,
					       struct ditto_image **old)
{
	const struct ditto_image_hdr *h = img->hdr;
	ssize_t at = table_find(t, h->apex, h->apex_len);
	size_t n = t->count + (at < 0);
	struct ditto_image **z = malloc(n * sizeof(*z));

	if (!z)
		return NULL;
	memcpy(z, t->zones, t->count * sizeof(*z));
	if (old)
		*old = at >= 0 ? t->zones[at] : NULL;
	z[at >= 0 ? (size_t)at : t->count] = img;
	struct ditto_zone_table *nt = table_build(z, n, t->seed);
	free(z);
	return nt;
}

struct ditto_zone_table *
ditto_zone_table_without(const struct ditto_zone_table *t, const uint8_t *apex,
			 size_t apex_len, struct ditto_image **old)
{
	ssize_t at = table_find(t, apex, apex_len);
	struct ditto_image **z = malloc((t->count ? t->count : 1) * sizeof(*z));
	size_t n = 0;

	if (!z)
		return NULL;
	for (size_t i = 0; i < t->count; i++)
		if ((ssize_t)i != at)
			z[n++] = t->zones[i];
	if (old)
		*old = at >= 0 ? t->zones[at] : NULL;
	struct ditto_zone_table *nt = table_build(z, n, t->seed);
	free(z);
	return nt;
}

void ditto_zone_table_free(struct ditto_zone_table *t)
{
	if (!t)
		return;
	free(t->zones);
	free(t);
}

size_t ditto_zone_table_count(const struct ditto_zone_table *t)
{
	return t->count;
}

struct ditto_image *ditto_zone_table_at(const struct ditto_zone_table *t,
					size_t i)
{
	return i < t->count ? t->zones[i] : NULL;
}

const struct ditto_image *ditto_zone_table_match(const struct ditto_zone_table *t,
						 const uint8_t *name, size_t len)
{
	uint8_t loff[DITTO_MAX_LABELS + 1];
	unsigned labels = 0;

	for (size_t off = 0; off < len && name[off]; off += 1u + name[off])
		loff[labels++] = (uint8_t)off;
	return zone_table_match_labels(t, name, len, loff, labels);
}
