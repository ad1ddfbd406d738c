/* Keyed hashing for hash indexes whose seed is secret per image or table,
 * so names cannot be chosen to collide: SipHash-1-3, and NH for an image's
 * index (ditto_index_hash). */
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

/* The last 1 to 7 bytes of a message as one little-endian word
 * (little-endian hosts only, see image.h), read by loads of their own
 * sizes: a byte-wise copy into a word costs a failed store-to-load
 * forward and a mispredicted loop. */
static inline uint64_t ditto_tail7(const uint8_t *p, size_t left)
{
	if (left >= 4) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + left - 4, 4);
		return lo | (uint64_t)hi << (8 * (left - 4));
	}
	return p[0] | (uint64_t)p[left / 2] << (8 * (left / 2)) |
	       (uint64_t)p[left - 1] << (8 * (left - 1));
}

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
	/* The last 0-7 bytes as one little-endian word. */
	if (len >= 8) {
		memcpy(&m, end + left - 8, 8);	/* ends at the last byte */
		m = left ? m >> (64 - 8 * left) : 0;
	} else {
		m = left ? ditto_tail7(p, left) : 0;
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

/* The hash of a lowercase wire-format name in the control process's own
 * name sets (images and the zone table use ditto_index_hash). */
static inline uint64_t ditto_name_hash(const uint64_t key[2],
				       const uint8_t *name, size_t len)
{
	return ditto_siphash(key, name, len, 1, 3);
}

/*
 * The hash of an image's INDEX (format version 2): NH, the universal hash
 * of UMAC (RFC 4418 §5), over 64-bit words, then a keyed multiply-fold.
 *
 * The name (at most 255 bytes) is read as 16-byte chunks, the last one
 * zero-padded; chunk i adds (a + K[2i]) * (b + K[2i+1]) to a 128-bit sum,
 * a and b its two little-endian words, all mod 2^64 and the product in
 * 128 bits. For a random key two different names of the same length
 * collide in that sum with probability 2^-64 at most; for names of
 * different lengths the length enters the fold, and no bound is claimed.
 * The 128-bit sum (lo, hi) and the length then go through one more keyed
 * multiply, folded to 64 bits:
 * (lo ^ K[32] ^ len << 56) * (hi ^ K[33]), high half xor low half. The 34
 * key words are drawn from the image's 128-bit seed with SipHash-2-4
 * (ditto_index_key_init), once when an image is compiled or opened.
 *
 * Why not SipHash as before: SipHash-1-3 cost about 165 instructions a
 * name, some 10 ns of a query. What the index needs is that the names of
 * a zone (chosen before the compiler draws the seed) cannot be made to
 * collide, which a universal hash with a secret key gives; NH is not a
 * pseudorandom function as SipHash is, which the index does not need.
 */
#define DITTO_INDEX_KEY_WORDS 34

struct ditto_index_key {
	uint64_t k[DITTO_INDEX_KEY_WORDS];
};

static inline void ditto_index_key_init(struct ditto_index_key *key,
					const uint64_t seed[2])
{
	for (uint64_t i = 0; i < DITTO_INDEX_KEY_WORDS; i++) {
		uint8_t w[8];

		for (unsigned b = 0; b < 8; b++)	/* little-endian */
			w[b] = (uint8_t)(i >> (8 * b));
		key->k[i] = ditto_siphash(seed, w, sizeof(w), 2, 4);
	}
}

static inline uint64_t ditto_index_hash(const struct ditto_index_key *key,
					const uint8_t *name, size_t len)
{
	typedef unsigned __int128 u128;
	const uint64_t *k = key->k;
	u128 acc = 0;
	uint64_t a, b;
	size_t i = 0;

	for (; i + 16 <= len; i += 16, k += 2) {
		memcpy(&a, name + i, 8);
		memcpy(&b, name + i + 8, 8);
		acc += (u128)(a + k[0]) * (b + k[1]);
	}
	size_t left = len - i;	/* 0 to 15 bytes in the last chunk */
	if (left) {
		if (len >= 16) {
			/* The 16 bytes that end the name, shifted down to
			 * the ones not yet summed. */
			uint64_t w0, w1;
			memcpy(&w0, name + len - 16, 8);
			memcpy(&w1, name + len - 8, 8);
			u128 t = ((u128)w1 << 64 | w0) >> (8 * (16 - left));
			a = (uint64_t)t;
			b = (uint64_t)(t >> 64);
		} else if (left >= 8) {
			memcpy(&a, name, 8);
			b = left > 8 ? ditto_tail7(name + 8, left - 8) : 0;
		} else {
			a = ditto_tail7(name, left);
			b = 0;
		}
		acc += (u128)(a + k[0]) * (b + k[1]);
	}
	uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64);
	u128 f = (u128)(lo ^ key->k[32] ^ (uint64_t)len << 56) *
		 (hi ^ key->k[33]);
	return (uint64_t)f ^ (uint64_t)(f >> 64);
}

#endif
