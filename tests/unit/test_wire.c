/* Unit tests for the wire-format name helpers and the keyed hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ditto/hash.h"
#include "ditto/wire.h"
#include "helpers.h"

static size_t wire(const char *text, uint8_t *out)
{
	return h_wire_name(text, out, 256);
}

static void test_name_len_accepts_root_and_plain_names(void)
{
	uint8_t n[256];

	CU_ASSERT_EQUAL(dns_name_len((const uint8_t *)"", 1), 1);
	wire("www.example.", n);
	CU_ASSERT_EQUAL(dns_name_len(n, sizeof(n)), 13);
	/* max exactly the name's length is enough */
	CU_ASSERT_EQUAL(dns_name_len(n, 13), 13);
}

static void test_name_len_refuses_name_without_end_within_max(void)
{
	uint8_t n[256];

	wire("www.example.", n);
	for (size_t max = 0; max < 13; max++)
		CU_ASSERT_EQUAL(dns_name_len(n, max), 0);
}

static void test_name_len_refuses_long_label_pointer_and_extended_label(void)
{
	uint8_t n[80] = { 64 };

	memset(n + 1, 'a', 64);
	n[65] = 0;
	CU_ASSERT_EQUAL(dns_name_len(n, sizeof(n)), 0);

	const uint8_t ptr[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c };
	CU_ASSERT_EQUAL(dns_name_len(ptr, sizeof(ptr)), 0);
	const uint8_t ext[] = { 0x41, 0, 0, 0 };
	CU_ASSERT_EQUAL(dns_name_len(ext, sizeof(ext)), 0);
}

static void test_name_len_accepts_255_and_refuses_256_bytes(void)
{
	uint8_t n[300];
	size_t o = 0;

	/* 3 labels of 63 + 1 of 61: 64*3 + 62 + 1 = 255 */
	for (int i = 0; i < 3; i++) {
		n[o++] = 63;
		memset(n + o, 'a', 63);
		o += 63;
	}
	n[o++] = 61;
	memset(n + o, 'b', 61);
	o += 61;
	n[o++] = 0;
	CU_ASSERT_EQUAL(o, 255);
	CU_ASSERT_EQUAL(dns_name_len(n, sizeof(n)), 255);

	n[o - 62] = 62;		/* one byte longer: 256 */
	memset(n + o - 61, 'b', 62);
	n[o] = 0;
	CU_ASSERT_EQUAL(dns_name_len(n, sizeof(n)), 0);
}

static void test_name_labels_counts_without_root(void)
{
	uint8_t n[256];

	CU_ASSERT_EQUAL(dns_name_labels((const uint8_t *)""), 0);
	wire("a.b.example.", n);
	CU_ASSERT_EQUAL(dns_name_labels(n), 3);
}

static void test_name_is_sub_respects_label_boundaries(void)
{
	uint8_t a[256], b[256], root = 0;
	size_t la, lb;

	la = wire("www.example.", a);
	lb = wire("example.", b);
	CU_ASSERT_TRUE(dns_name_is_sub(a, la, b, lb));
	CU_ASSERT_TRUE(dns_name_is_sub(b, lb, b, lb));
	CU_ASSERT_FALSE(dns_name_is_sub(b, lb, a, la));
	CU_ASSERT_TRUE(dns_name_is_sub(a, la, &root, 1));

	la = wire("notexample.", a);
	CU_ASSERT_FALSE(dns_name_is_sub(a, la, b, lb));
	/* same byte suffix but not on a label boundary */
	la = wire("x.aexample.", a);
	lb = wire("example.", b);
	CU_ASSERT_FALSE(dns_name_is_sub(a, la, b, lb));
	la = wire("www.example.net.", a);
	CU_ASSERT_FALSE(dns_name_is_sub(a, la, b, lb));
}

static void test_name_lower_lowercases_ascii_only(void)
{
	uint8_t in[256], out[256];
	size_t n = wire("WwW.ExAmPlE.", in);

	in[2] = 0xc4;		/* a non-ASCII byte stays as it is */
	CU_ASSERT_EQUAL(dns_name_lower(out, in, n), n);
	CU_ASSERT_EQUAL(out[1], 'w');
	CU_ASSERT_EQUAL(out[2], 0xc4);
	CU_ASSERT_EQUAL(memcmp(out + 5, "example", 7), 0);
	CU_ASSERT_EQUAL(out[0], 3);
	CU_ASSERT_EQUAL(out[4], 7);
}

static void test_name_cmp_follows_rfc4034_canonical_order(void)
{
	/* RFC 4034 section 6.1, lowercased. */
	static const uint8_t names[][32] = {
		{ 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 8, 'y', 'l', 'j', 'k', 'j', 'l', 'j', 'k', 1, 'a', 7, 'e',
		  'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 1, 'z', 1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 4, 'z', 'a', 'b', 'c', 1, 'a', 7, 'e', 'x', 'a', 'm', 'p',
		  'l', 'e', 0 },
		{ 1, 'z', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 1, 0x01, 1, 'z', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 1, '*', 1, 'z', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		{ 1, 0xc8, 1, 'z', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
	};
	size_t n = sizeof(names) / sizeof(names[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c = dns_name_cmp(names[i], names[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;
			CU_ASSERT_EQUAL((c > 0) - (c < 0), want);
		}
	CU_ASSERT_TRUE(dns_name_cmp((const uint8_t *)"", names[0]) < 0);
}

static void test_name_to_text_escapes_special_bytes(void)
{
	char buf[256];
	uint8_t n[256];

	CU_ASSERT_STRING_EQUAL(dns_name_to_text((const uint8_t *)"", buf,
						sizeof(buf)), ".");
	wire("www.example.", n);
	CU_ASSERT_STRING_EQUAL(dns_name_to_text(n, buf, sizeof(buf)),
			       "www.example.");
	const uint8_t odd[] = { 3, 'a', '.', 'b', 2, ' ', 0xff, 0 };
	CU_ASSERT_STRING_EQUAL(dns_name_to_text(odd, buf, sizeof(buf)),
			       "a\\.b.\\032\\255.");
}

static void test_name_to_text_never_writes_past_cap(void)
{
	uint8_t n[256];

	wire("a-rather-long-label.with.several.labels.example.", n);
	for (size_t cap = 1; cap < 24; cap++) {
		char *buf = malloc(cap);	/* exact size for ASan */
		dns_name_to_text(n, buf, cap);
		CU_ASSERT_TRUE(memchr(buf, 0, cap) != NULL);
		free(buf);
	}
}

static void test_get_put_round_trip_network_order(void)
{
	uint8_t b[4];

	dns_put16(b, 0xabcd);
	CU_ASSERT_EQUAL(b[0], 0xab);
	CU_ASSERT_EQUAL(b[1], 0xcd);
	CU_ASSERT_EQUAL(dns_get16(b), 0xabcd);
	dns_put32(b, 0x01020304u);
	CU_ASSERT_EQUAL(b[0], 1);
	CU_ASSERT_EQUAL(b[3], 4);
	CU_ASSERT_EQUAL(dns_get32(b), 0x01020304u);
	dns_put32(b, 0xffffffffu);
	CU_ASSERT_EQUAL(dns_get32(b), 0xffffffffu);
}

static void test_siphash24_matches_reference_vectors(void)
{
	/* SipHash reference implementation (vectors.h, vectors_sip64):
	 * key 00..0f, message 00..len-1, first 16 lengths. */
	static const uint64_t want[16] = {
		0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL,
		0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
		0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
		0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
		0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL,
		0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
		0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL,
		0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
	};
	uint8_t k[16], msg[16];
	uint64_t key[2];

	for (int i = 0; i < 16; i++)
		k[i] = msg[i] = (uint8_t)i;
	memcpy(key, k, sizeof(key));	/* little-endian host */
	for (size_t len = 0; len < 16; len++) {
		uint64_t h = ditto_siphash(key, msg, len, 2, 4);
		if (h != want[len])
			printf("\n  len %zu: got %016llx want %016llx\n", len,
			       (unsigned long long)h,
			       (unsigned long long)want[len]);
		CU_ASSERT_EQUAL(h, want[len]);
	}
}

static void test_name_hash_is_keyed_siphash13(void)
{
	const uint64_t k1[2] = { 1, 2 }, k2[2] = { 1, 3 };
	uint8_t n[256];
	size_t len = wire("www.example.", n);

	CU_ASSERT_EQUAL(ditto_name_hash(k1, n, len),
			ditto_siphash(k1, n, len, 1, 3));
	CU_ASSERT_NOT_EQUAL(ditto_name_hash(k1, n, len),
			    ditto_name_hash(k2, n, len));
	CU_ASSERT_NOT_EQUAL(ditto_name_hash(k1, n, len),
			    ditto_name_hash(k1, n, len - 1));
}

/* The index hash as its comment in hash.h states it, a byte at a time:
 * zero-padded 16-byte chunks, NH over their little-endian words, the
 * keyed fold with the length. */
static uint64_t index_hash_by_the_book(const struct ditto_index_key *key,
				       const uint8_t *p, size_t len)
{
	typedef unsigned __int128 u128;
	u128 acc = 0;

	for (size_t c = 0; c * 16 < len; c++) {
		uint8_t chunk[16] = { 0 };
		size_t n = len - c * 16 < 16 ? len - c * 16 : 16;
		uint64_t a = 0, b = 0;

		memcpy(chunk, p + c * 16, n);
		for (int i = 7; i >= 0; i--) {
			a = a << 8 | chunk[i];
			b = b << 8 | chunk[8 + i];
		}
		acc += (u128)(a + key->k[2 * c]) * (b + key->k[2 * c + 1]);
	}
	uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64);
	u128 f = (u128)(lo ^ key->k[32] ^ (uint64_t)len << 56) *
		 (hi ^ key->k[33]);
	return (uint64_t)f ^ (uint64_t)(f >> 64);
}

static void test_index_hash_matches_its_definition_at_every_length(void)
{
	const uint64_t seed[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	struct ditto_index_key key;
	uint8_t buf[256 + 8];
	uint64_t x = 88172645463325252ULL;
	unsigned bad = 0;

	ditto_index_key_init(&key, seed);
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	/* Every length a name can have, at every alignment: the fast path's
	 * tail loads must give the zero-padded chunk. */
	for (size_t len = 0; len <= DITTO_MAX_NAME; len++)
		for (size_t at = 0; at < 8; at++)
			if (ditto_index_hash(&key, buf + at, len) !=
			    index_hash_by_the_book(&key, buf + at, len) &&
			    bad++ < 5)
				printf("\n  length %zu at %zu differs\n", len, at);
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_index_hash_key_is_siphash24_of_the_word_number(void)
{
	const uint64_t seed[2] = { 7, 9 };
	struct ditto_index_key key;

	ditto_index_key_init(&key, seed);
	for (unsigned i = 0; i < DITTO_INDEX_KEY_WORDS; i++) {
		uint8_t w[8] = { (uint8_t)i };
		CU_ASSERT_EQUAL(key.k[i], ditto_siphash(seed, w, 8, 2, 4));
	}
}

static void test_index_hash_depends_on_key_length_and_every_byte(void)
{
	const uint64_t s1[2] = { 1, 2 }, s2[2] = { 1, 3 };
	struct ditto_index_key k1, k2;
	uint8_t n[256];
	size_t len = wire("www.example.", n);

	ditto_index_key_init(&k1, s1);
	ditto_index_key_init(&k2, s2);
	uint64_t h = ditto_index_hash(&k1, n, len);
	CU_ASSERT_NOT_EQUAL(h, ditto_index_hash(&k2, n, len));
	/* A zero byte more is another name (the length is in the fold). */
	n[len] = 0;
	CU_ASSERT_NOT_EQUAL(h, ditto_index_hash(&k1, n, len + 1));
	for (size_t i = 0; i < len; i++) {
		n[i] ^= 0x20;
		CU_ASSERT_NOT_EQUAL(h, ditto_index_hash(&k1, n, len));
		n[i] ^= 0x20;
	}
}

/* 100000 names of one shape, as a large zone has them, into an index of
 * 2^18 slots (the compiler's load): probe runs stay short (21 with this
 * seed when written; random placement gives some tens at this load). */
static void test_index_hash_spreads_similar_names(void)
{
	const uint64_t seed[2] = { 0x5eed, 0xc0ffee };
	struct ditto_index_key key;
	enum { SLOTS = 1 << 18, NAMES = 100000 };
	uint8_t *used = calloc(SLOTS, 1);
	unsigned longest = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(used);
	ditto_index_key_init(&key, seed);
	for (unsigned i = 0; i < NAMES; i++) {
		char text[64];
		uint8_t n[256];
		snprintf(text, sizeof(text), "host%u.region-%u.bench.example.",
			 i, i % 500);
		size_t len = wire(text, n);
		unsigned k = (unsigned)ditto_index_hash(&key, n, len) &
			     (SLOTS - 1), probes = 1;
		while (used[k]) {
			k = (k + 1) & (SLOTS - 1);
			probes++;
		}
		used[k] = 1;
		if (probes > longest)
			longest = probes;
	}
	free(used);
	if (longest > 64)
		printf("\n  longest probe %u\n", longest);
	CU_ASSERT_TRUE(longest <= 64);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_name_len_accepts_root_and_plain_names),
		T(test_name_len_refuses_name_without_end_within_max),
		T(test_name_len_refuses_long_label_pointer_and_extended_label),
		T(test_name_len_accepts_255_and_refuses_256_bytes),
		T(test_name_labels_counts_without_root),
		T(test_name_is_sub_respects_label_boundaries),
		T(test_name_lower_lowercases_ascii_only),
		T(test_name_cmp_follows_rfc4034_canonical_order),
		T(test_name_to_text_escapes_special_bytes),
		T(test_name_to_text_never_writes_past_cap),
		T(test_get_put_round_trip_network_order),
		T(test_siphash24_matches_reference_vectors),
		T(test_name_hash_is_keyed_siphash13),
		T(test_index_hash_matches_its_definition_at_every_length),
		T(test_index_hash_key_is_siphash24_of_the_word_number),
		T(test_index_hash_depends_on_key_length_and_every_byte),
		T(test_index_hash_spreads_similar_names),
#undef T
	};
	return h_run("wire", tests, sizeof(tests) / sizeof(tests[0]));
}
