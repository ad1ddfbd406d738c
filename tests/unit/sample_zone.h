/* The sample zones the answer tests, the image tests and the fuzzers share:
 * one of each thing the answer engine handles. */
#ifndef DITTO_TEST_SAMPLE_ZONE_H
#define DITTO_TEST_SAMPLE_ZONE_H

#include <stdbool.h>
#include <stdint.h>

#include <ldns/ldns.h>

/* example.: CNAME chains, DNAME, wildcards, empty non-terminals, a
 * delegation with glue, MX/SRV/NS additional data, TXT RRsets of three
 * sizes (mid: about 320 bytes of response, big: about 850, huge: about
 * 2300). */
const char *sample_zone_example(void);

/* child.example., also delegated from example. */
const char *sample_zone_child(void);

/* negttl.test.: SOA TTL (60) below its MINIMUM (300). */
const char *sample_zone_negttl(void);

/* A zone to be signed (sample_sign), without $ORIGIN: ENTs, wildcards (one a
 * CNAME), CNAMEs (one dangling), a DNAME, an insecure delegation with glue,
 * a secure one with DS, and an ENT above an insecure delegation only. */
const char *sample_zone_signable(void);

/* Sign zone text (relative names below origin) with a fresh ECDSA P-256
 * key through ldns's signer: NSEC, or NSEC3 (SHA-1, no opt-out) with the
 * given iterations and salt. The signed zone as text (malloc'd), or NULL. */
char *sample_sign(const char *text, const char *origin, bool nsec3,
	     uint16_t iterations, const uint8_t *salt, uint8_t salt_len);
/* The same, as a parsed ldns zone to edit before printing (ldns_zone_print,
 * ldns_zone_deep_free). */
ldns_zone *sample_sign_zone(const char *text, const char *origin, bool nsec3,
		       uint16_t iterations, const uint8_t *salt,
		       uint8_t salt_len);

/* sample_zone_signable() signed, NSEC at s.test. or NSEC3 (3 iterations,
 * salt aabbccdd) at s3.test.: malloc'd text (for the fuzzers' table and
 * seeds), NULL when signing failed. */
char *sample_zone_signed(bool nsec3);

struct ditto_wire_rr;

/* A record from presentation text (absolute names) in wire form, in
 * static storage that the next 63 calls leave alone; NULL when ldns does
 * not read it. */
const struct ditto_wire_rr *sample_wire_rr(const char *text);

/* The long DNAME target of yx.example. (137 wire bytes). */
#define SAMPLE_YX_TARGET                                                     \
	"l1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."    \
	"l2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."    \
	"example."

#endif
