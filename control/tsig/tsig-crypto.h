/* The keyed hashes TSIG needs, between tsig.c (DNS messages) and
 * tsig-openssl.c (the only file that sees OpenSSL). Internal to
 * control/tsig. */
#ifndef DITTO_TSIG_CRYPTO_H
#define DITTO_TSIG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsig.h"

/* One HMAC being computed: fed piece by piece, as the digest of a TSIG
 * spans the prior MAC, whole messages and the TSIG variables. */
struct tsig_hmac;

/* Full output length of the algorithm's hash, in bytes. */
size_t tsig_hmac_size(enum tsig_alg alg);

/* A new HMAC under the key's secret and algorithm; NULL when OpenSSL
 * fails. */
struct tsig_hmac *tsig_hmac_new(const struct tsig_key *key);

void tsig_hmac_update(struct tsig_hmac *h, const void *data, size_t len);

/* Finish into mac (tsig_hmac_size() bytes) and free h. 0, or -1 when
 * OpenSSL failed at any step since tsig_hmac_new(). */
int tsig_hmac_final(struct tsig_hmac *h, uint8_t *mac);

/* Free an HMAC that will not be finished. NULL is fine. */
void tsig_hmac_free(struct tsig_hmac *h);

/* Equality of two MACs in time that does not depend on where they
 * differ. */
bool tsig_mac_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
