/* The keys fuzz_tsig verifies with, and mkcorpus signs its seeds with:
 * every HMAC of RFC 8945, and one name under two algorithms (the
 * algorithm decides too). Index i of a seed is index i here. */
#ifndef DITTO_FUZZ_TSIG_KEYS_H
#define DITTO_FUZZ_TSIG_KEYS_H

static const struct {
	const char *name, *alg, *secret;
} fuzz_tsig_keys[] = {
	{ "k-md5.", "hmac-md5", "J59mibtz7qnqhn3tJp6MZA==" },
	{ "k-sha1.", "hmac-sha1", "SXst3GfBddpTgkeSC5b0jX+Woyc=" },
	{ "k-sha224.", "hmac-sha224", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2Vj" },
	{ "key-axfr.ditto.test.", "hmac-sha256",
	  "rcVbcvoJC1UN+tCVx7sXA4qcsT97Bkq2SlzKrRRsq18=" },
	{ "k-sha384.", "hmac-sha384", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" },
	{ "k-sha512.", "hmac-sha512",
	  "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleQ==" },
	{ "shared.", "hmac-sha1", "c2hhcmVkLXNoYTE=" },
	{ "shared.", "hmac-sha256", "c2hhcmVkLXNoYTI1Ng==" },
};

#define FUZZ_TSIG_KEYS (sizeof(fuzz_tsig_keys) / sizeof(fuzz_tsig_keys[0]))

#endif
