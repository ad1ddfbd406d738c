/* TSIG's HMACs through OpenSSL 3's EVP_MAC interface. */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tsig-crypto.h"

struct tsig_hmac {
	EVP_MAC_CTX *ctx;
	bool failed;	/* an update failed: the MAC must not be trusted */
};

static const struct {
	const char *digest;	/* OpenSSL's name for the hash */
	size_t size;
} hashes[] = {
	[TSIG_HMAC_MD5] = { "MD5", 16 },
	[TSIG_HMAC_SHA1] = { "SHA1", 20 },
	[TSIG_HMAC_SHA224] = { "SHA224", 28 },
	[TSIG_HMAC_SHA256] = { "SHA256", 32 },
	[TSIG_HMAC_SHA384] = { "SHA384", 48 },
	[TSIG_HMAC_SHA512] = { "SHA512", 64 },
};

size_t tsig_hmac_size(enum tsig_alg alg)
{
	if ((size_t)alg >= sizeof(hashes) / sizeof(hashes[0]))
		return 0;
	return hashes[alg].size;
}

struct tsig_hmac *tsig_hmac_new(const struct tsig_key *key)
{
	struct tsig_hmac *h = NULL;
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];

	if (tsig_hmac_size(key->alg) == 0 || key->secret_len == 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (!mac)
		goto fail;
	h->ctx = EVP_MAC_CTX_new(mac);
	if (!h->ctx)
		goto fail;
	/* OSSL_PARAM takes a non-const pointer but only reads the name. */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			(char *)(uintptr_t)hashes[key->alg].digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(h->ctx, key->secret, key->secret_len, params))
		goto fail;
	/* The context keeps its own reference to the algorithm. */
	EVP_MAC_free(mac);
	return h;
fail:
	EVP_MAC_free(mac);
	tsig_hmac_free(h);
	return NULL;
}

void tsig_hmac_update(struct tsig_hmac *h, const void *data, size_t len)
{
	if (len && !EVP_MAC_update(h->ctx, data, len))
		h->failed = true;
}

int tsig_hmac_final(struct tsig_hmac *h, uint8_t *mac)
{
	size_t out = 0;
	int rc = -1;

	if (!h->failed && EVP_MAC_final(h->ctx, mac, &out, TSIG_MAX_MAC) &&
	    out == EVP_MAC_CTX_get_mac_size(h->ctx))
		rc = 0;
	tsig_hmac_free(h);
	return rc;
}

void tsig_hmac_free(struct tsig_hmac *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	free(h);
}

bool tsig_mac_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
