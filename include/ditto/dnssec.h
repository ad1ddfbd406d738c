/* DNSSEC helpers shared by the compiler and the answer engine: SHA-1 and
 * the NSEC3 hash of a name (RFC 5155 5), canonical name order (RFC 4034
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

/* Canonical order of two lowercase wire names: <0, 0, >0. */
int ditto_name_canon_cmp(const uint8_t *a, const uint8_t *b);

/* The first 8 bytes of a name's canonical sort key below its top skip
 * labels (the apex's): labels from the top down, each followed by a 0,
 * bytes 0 and 1 written as 1 1 and 1 2, zero-padded. Keys that differ
 * order their names as ditto_name_canon_cmp() does; equal keys decide
 * nothing. */
void ditto_canon_prefix(const uint8_t *name, unsigned skip, uint8_t out[8]);

/* base32hex (RFC 4648 7, either case) of n bytes into out; returns the
 * bytes decoded or -1 when the text is not base32hex without padding. */
int ditto_base32hex_decode(const uint8_t *text, size_t n, uint8_t *out,
			   size_t cap);

#endif
