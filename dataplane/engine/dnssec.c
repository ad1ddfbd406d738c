/* SHA-1 (FIPS 180-4), the NSEC3 hash (RFC 5155 5), canonical name order
 * (RFC 4034 6.1) and base32hex (RFC 4648 7). Plain C: the answer path
 * hashes a next closer name per NSEC3 denial, with no allocation and no
 * library state. */
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "ditto/dnssec.h"
#include "ditto/image.h"
#include "ditto/wire.h"

struct sha1 {
	uint32_t h[5];
	uint8_t buf[64];
	size_t fill;
	uint64_t total;
};

static inline uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

#if defined(__x86_64__)
/* The same compression with the SHA extensions (sha1rnds4 and friends):
 * four rounds an instruction, several times faster than the plain one. */
#define SHA1_STEP(g, f)                                                       \
	do {                                                                  \
		e = _mm_sha1nexte_epu32(prev, w[g]);                          \
		prev = abcd;                                                  \
		abcd = _mm_sha1rnds4_epu32(abcd, e, f);                        \
	} while (0)

__attribute__((target("sha,sse4.1,ssse3")))
static void sha1_block_ni(uint32_t h[5], const uint8_t *p)
{
	const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL,
					     0x08090a0b0c0d0e0fLL);
	__m128i w[20], abcd, e, prev, abcd0, e0;

	for (int i = 0; i < 4; i++)
		w[i] = _mm_shuffle_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)),
			bswap);
	for (int i = 4; i < 20; i++)
		w[i] = _mm_sha1msg2_epu32(
			_mm_xor_si128(_mm_sha1msg1_epu32(w[i - 4], w[i - 3]),
				      w[i - 2]),
			w[i - 1]);
	abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(void *)h),
				 0x1b);
	e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
	abcd0 = abcd;
	e = _mm_add_epi32(e0, w[0]);
	prev = abcd;
	abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
	SHA1_STEP(1, 0); SHA1_STEP(2, 0); SHA1_STEP(3, 0); SHA1_STEP(4, 0);
	SHA1_STEP(5, 1); SHA1_STEP(6, 1); SHA1_STEP(7, 1); SHA1_STEP(8, 1);
	SHA1_STEP(9, 1);
	SHA1_STEP(10, 2); SHA1_STEP(11, 2); SHA1_STEP(12, 2); SHA1_STEP(13, 2);
	SHA1_STEP(14, 2);
	SHA1_STEP(15, 3); SHA1_STEP(16, 3); SHA1_STEP(17, 3); SHA1_STEP(18, 3);
	SHA1_STEP(19, 3);
	e = _mm_sha1nexte_epu32(prev, e0);
	abcd = _mm_add_epi32(abcd, abcd0);
	_mm_storeu_si128((__m128i *)(void *)h, _mm_shuffle_epi32(abcd, 0x1b));
	h[4] = (uint32_t)_mm_extract_epi32(e, 3);
}

static void (*sha1_compress)(uint32_t h[5], const uint8_t *p) = sha1_block;

__attribute__((constructor)) static void sha1_pick(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) &&
	    __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) &&
	    (c & bit_SSSE3))
		sha1_compress = sha1_block_ni;
}
#else
#define sha1_compress sha1_block
#endif

/* Which compression runs: "sha-ni" or "c" (for tests and benchmarks). */
const char *ditto_sha1_impl(void)
{
#if defined(__x86_64__)
	return sha1_compress == sha1_block_ni ? "sha-ni" : "c";
#else
	return "c";
#endif
}

void ditto_sha1_force_portable(void)
{
#if defined(__x86_64__)
	sha1_compress = sha1_block;
#endif
}

static void sha1_init(struct sha1 *s)
{
	static const uint32_t iv[5] = { 0x67452301, 0xefcdab89, 0x98badcfe,
					0x10325476, 0xc3d2e1f0 };

	memcpy(s->h, iv, sizeof(iv));
	s->fill = 0;
	s->total = 0;
}

static void sha1_update(struct sha1 *s, const uint8_t *p, size_t n)
{
	s->total += n;
	if (s->fill) {
		size_t k = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->buf + s->fill, p, k);
		s->fill += k;
		p += k;
		n -= k;
		if (s->fill < 64)
			return;
		sha1_compress(s->h, s->buf);
		s->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha1_compress(s->h, p);
	memcpy(s->buf, p, n);
	s->fill = n;
}

static void sha1_final(struct sha1 *s, uint8_t out[DITTO_SHA1_LEN])
{
	uint64_t bits = s->total * 8;
	uint8_t pad[72] = { 0x80 };
	size_t k = s->fill < 56 ? 56 - s->fill : 120 - s->fill;

	for (int i = 0; i < 8; i++)
		pad[k + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(s, pad, k + 8);
	for (int i = 0; i < 5; i++)
		dns_put32(out + 4 * i, s->h[i]);
}

void ditto_sha1(const void *data, size_t len, uint8_t out[DITTO_SHA1_LEN])
{
	struct sha1 s;

	sha1_init(&s);
	sha1_update(&s, data, len);
	sha1_final(&s, out);
}

void ditto_nsec3_hash(const uint8_t *name, size_t len, const uint8_t *salt,
		      size_t salt_len, unsigned iterations,
		      uint8_t out[DITTO_SHA1_LEN])
{
	struct sha1 s;

	sha1_init(&s);
	sha1_update(&s, name, len);
	sha1_update(&s, salt, salt_len);
	sha1_final(&s, out);
	for (unsigned i = 0; i < iterations; i++) {
		sha1_init(&s);
		sha1_update(&s, out, DITTO_SHA1_LEN);
		sha1_update(&s, salt, salt_len);
		sha1_final(&s, out);
	}
}

size_t ditto_canon_key(const uint8_t *name, unsigned skip, uint8_t *out,
		       size_t cap)
{
	const uint8_t *lab[DITTO_MAX_LABELS + 1];
	unsigned n = 0;
	size_t o = 0;

	for (; *name && n <= DITTO_MAX_LABELS; name += 1u + *name)
		lab[n++] = name;
	for (unsigned d = skip + 1; d <= n && o < cap; d++) {
		const uint8_t *l = lab[n - d];
		for (unsigned i = 1; i <= l[0] && o < cap; i++) {
			if (l[i] <= 1) {
				out[o++] = 1;
				if (o < cap)
					out[o++] = (uint8_t)(l[i] + 1);
			} else {
				out[o++] = l[i];
			}
		}
		if (o < cap)
			out[o++] = 0;
	}
	return o;
}

void ditto_canon_prefix(const uint8_t *name, unsigned skip, uint8_t out[8])
{
	memset(out, 0, 8);
	ditto_canon_key(name, skip, out, 8);
}

int ditto_base32hex_decode(const uint8_t *text, size_t n, uint8_t *out,
			   size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = text[i];
		unsigned v;
		if (ch >= '0' && ch <= '9')
			v = (unsigned)(ch - '0');
		else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'v')
			v = (unsigned)((ch | 0x20) - 'a' + 10);
		else
			return -1;
		acc = acc << 5 | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Whole bytes only: what is left must be padding bits of zero. */
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return -1;
	return (int)o;
}
