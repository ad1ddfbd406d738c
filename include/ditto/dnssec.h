/* DNSSEC helpers shared by the compiler and the answer engine: SHA-1 and
 * the NSEC3 hash of a name (RFC 5155 5), canonical sort keys (RFC 4034
 * 6.1). No allocation. */
#ifndef DITTO_DNSSEC_H
#define DITTO_DNSSEC_H

#include <stddef.h>
#include <stdint.h>

#define DITTO_SHA1_LEN 20

void ditto_sha1(const void *data, size_t len, uint8_t out[DITTO_SHA1_LEN]);
/* The compression in use: "sha-ni" (x86 SHA extensions) or "c". */
const char *ditto_sha1_impl(void);
/* Use the plain C compression from now on (tests compare the two). */
void ditto_sha1_force_portable(void);

/* IH(salt, name, iterations) of a lowercase wire name. */
void ditto_nsec3_hash(const uint8_t *name, size_t len, const uint8_t *salt,
		      size_t salt_len, unsigned iterations,
		      uint8_t out[DITTO_SHA1_LEN]);

/* A lowercase wire name's canonical sort key below its top skip labels:
 * labels from the top down, each followed by a 0, bytes 0 and 1 inside
 * labels written as 1 1 and 1 2, so that memcmp() of keys (the shorter
 * first on a tie) is the canonical order of RFC 4034 6.1, dns_name_cmp().
 * At most cap bytes (2 * the name's length always suffice); returns the
 * bytes written. */
size_t ditto_canon_key(const uint8_t *name, unsigned skip, uint8_t *out,
		       size_t cap);

/* Its first 8 bytes, zero-padded: keys that differ order their names;
 * equal ones decide nothing. */
void ditto_canon_prefix(const uint8_t *name, unsigned skip, uint8_t out[8]);

/* base32hex (RFC 4648 7, either case) of n bytes into out; returns the
 * bytes decoded or -1 when the text is not base32hex without padding. */
int ditto_base32hex_decode(const uint8_t *text, size_t n, uint8_t *out,
			   size_t cap);

#endif
