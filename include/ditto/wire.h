/* DNS wire-format constants and small helpers shared by the compiler, the
 * image loader and the answer engine. */
#ifndef DITTO_WIRE_H
#define DITTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DNS_HDR_LEN = 12,
	DNS_CLASS_IN = 1,
	DNS_CLASS_CH = 3,
	DNS_CLASS_ANY = 255,

	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6,
	DNS_T_PTR = 12, DNS_T_HINFO = 13, DNS_T_MX = 15, DNS_T_TXT = 16,
	DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_NAPTR = 35, DNS_T_DNAME = 39,
	DNS_T_OPT = 41, DNS_T_DS = 43, DNS_T_RRSIG = 46, DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48, DNS_T_NSEC3 = 50, DNS_T_NSEC3PARAM = 51,
	DNS_T_SVCB = 64, DNS_T_HTTPS = 65,
	DNS_T_TKEY = 249, DNS_T_TSIG = 250, DNS_T_IXFR = 251,
	DNS_T_AXFR = 252, DNS_T_MAILB = 253, DNS_T_MAILA = 254,
	DNS_T_ANY = 255,

	DNS_OP_QUERY = 0,

	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3, DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5,
	DNS_R_YXDOMAIN = 6, DNS_R_NOTAUTH = 9, DNS_R_BADVERS = 16,

	DNS_EDNS_NSID = 3,
	DNS_EDNS_COOKIE = 10,
};

/* Header flag bits in the 16-bit flags word. */
#define DNS_F_QR	0x8000u
#define DNS_F_AA	0x0400u
#define DNS_F_TC	0x0200u
#define DNS_F_RD	0x0100u
#define DNS_F_RA	0x0080u
#define DNS_F_AD	0x0020u
#define DNS_F_CD	0x0010u
#define DNS_OPCODE(f)	(((f) >> 11) & 0xfu)
#define DNS_EDNS_DO	0x8000u

static inline uint16_t dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t dns_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void dns_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dns_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Types that exist only in messages, never as zone data (RFC 6895 3.1):
 * TYPE0, OPT and the Q/meta range 128-255 (TKEY, TSIG, IXFR, AXFR,
 * MAILB, MAILA, ANY and the unassigned rest). */
static inline bool dns_type_is_meta(uint16_t t)
{
	return t == 0 || t == DNS_T_OPT || (t >= 128 && t <= 255);
}

static inline uint8_t dns_lower(uint8_t c)
{
	return (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* Equality of two byte strings of the same length, inlined for the short
 * names of the hot path (no call, no over-read): whole words, the last
 * one overlapping the one before, so no byte loop and few branches. */
static inline bool dns_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y, d = 0;

	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			__builtin_memcpy(&x, a + i, 8);
			__builtin_memcpy(&y, b + i, 8);
			d |= x ^ y;
		}
		__builtin_memcpy(&x, a + n - 8, 8);
		__builtin_memcpy(&y, b + n - 8, 8);
		return (d | (x ^ y)) == 0;
	}
	if (n >= 4) {
		uint32_t u, v, s, t;
		__builtin_memcpy(&u, a, 4);
		__builtin_memcpy(&v, b, 4);
		__builtin_memcpy(&s, a + n - 4, 4);
		__builtin_memcpy(&t, b + n - 4, 4);
		return ((u ^ v) | (s ^ t)) == 0;
	}
	for (; n; n--, a++, b++)
		if (*a != *b)
			return false;
	return true;
}

/* Length of an uncompressed wire name starting at p (at most max bytes),
 * or 0 when it is malformed: a label over 63 bytes, a pointer or extended
 * label type, more than 255 bytes, or no end within max. */
size_t dns_name_len(const uint8_t *p, size_t max);

/* Past the name (compressed or not) at *pos in message p of len bytes:
 * true with *pos after it, or false when it is malformed or runs past
 * len. A pointer ends the name: where it points is not followed. */
static inline bool dns_skip_name(const uint8_t *p, size_t len, size_t *pos)
{
	for (;;) {
		if (*pos >= len)
			return false;
		uint8_t l = p[*pos];
		if ((l & 0xc0) == 0xc0) {
			*pos += 2;
			return *pos <= len;
		}
		if (l > 63)
			return false;
		*pos += 1u + l;
		if (l == 0)
			return true;
	}
}

/* Labels of a well-formed uncompressed wire name, root excluded. */
unsigned dns_name_labels(const uint8_t *name);

/* True when name (wire, lowercase) equals or is below parent (wire,
 * lowercase); both well-formed. */
bool dns_name_is_sub(const uint8_t *name, size_t len, const uint8_t *parent,
		     size_t parent_len);

/* Copy a wire name lowercased; returns its length. */
size_t dns_name_lower(uint8_t *dst, const uint8_t *src, size_t len);

/* Canonical (RFC 4034 6.1) ordering of two lowercase wire names. */
int dns_name_cmp(const uint8_t *a, const uint8_t *b);

/* Write a wire name as presentation text (escaped, trailing dot) into
 * buf of size cap; returns buf. */
char *dns_name_to_text(const uint8_t *name, char *buf, size_t cap);

#endif
