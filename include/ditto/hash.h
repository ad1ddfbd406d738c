/* Keyed hashing: SipHash-1-3 for hash indexes whose seed is secret per image
 * or table, so query names cannot be chosen to collide. */
#ifndef DITTO_HASH_H
#define DITTO_HASH_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#define DITTO_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define DITTO_SIPROUND                                                        \
	do {                                                                  \
		v0 += v1; v1 = DITTO_ROTL(v1, 13); v1 ^= v0;                  \
		v0 = DITTO_ROTL(v0, 32);                                      \
		v2 += v3; v3 = DITTO_ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = DITTO_ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = DITTO_ROTL(v1, 17); v1 ^= v2;                  \
		v2 = DITTO_ROTL(v2, 32);                                      \
	} while (0)

/* SipHash with c compression and d finalization rounds. */
static inline uint64_t ditto_siphash(const uint64_t key[2], const void *data,
				     size_t len, int c, int d)
{
	const uint8_t *p = (const uint8_t *)data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t left = len & 7;
	const uint8_t *end = p + (len - left);

	for (; p != end; p += 8) {
		memcpy(&m, p, 8);
		v3 ^= m;
		for (int i = 0; i < c; i++)
			DITTO_SIPROUND;
		v0 ^= m;
	}
	/* The last 0-7 bytes as one little-endian word (little-endian hosts
	 * only, see image.h), read in whole words: a byte-wise copy into m
	 * costs a failed store-to-load forward and a mispredicted loop. */
	if (len >= 8) {
		memcpy(&m, end + left - 8, 8);	/* ends at the last byte */
		m = left ? m >> (64 - 8 * left) : 0;
	} else if (left >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + left - 4, 4);
		m = lo | (uint64_t)hi << (8 * (left - 4));
	} else if (left) {
		m = p[0] | (uint64_t)p[left / 2] << (8 * (left / 2)) |
		    (uint64_t)p[left - 1] << (8 * (left - 1));
	} else {
		m = 0;
	}
	b |= m;
	v3 ^= b;
	for (int i = 0; i < c; i++)
		DITTO_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < d; i++)
		DITTO_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The hash of a lowercase wire-format name in an image or zone table. */
static inline uint64_t ditto_name_hash(const uint64_t key[2],
				       const uint8_t *name, size_t len)
{
	return ditto_siphash(key, name, len, 1, 3);
}

#endif
