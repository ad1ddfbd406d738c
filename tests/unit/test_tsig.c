/* Unit tests for TSIG (RFC 8945): signatures that independent
 * implementations made or checked (dnspython and Knot vectors, ldns live),
 * the key, MAC, time and truncation checks, transfers with unsigned
 * messages, and malformed records refused without a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <ldns/ldns.h>

#include "ditto/wire.h"
#include "helpers.h"
#include "rng.h"
#include "tsig.h"

/* ---- vectors -------------------------------------------------------------- */

struct key_text {
	const char *name, *alg, *secret;
};

/* A signed query and the signed answer to it; the bodies are the
 * messages' lengths without their TSIG record. */
struct dp_exchange {
	struct key_text key;
	const char *query;
	size_t query_body;
	const char *response;
	size_t response_body;
};

struct dp_msg {
	bool is_signed;
	size_t body;
	const char *hex;
};

/* A transfer: the AXFR query and the messages of the answer; an unsigned
 * message stands for repeat of them in a row. */
struct dp_transfer {
	struct key_text key;
	const char *query;
	size_t query_body;
	size_t n;
	unsigned repeat;
	struct dp_msg msgs[4];
};

/*
 * Made with python3-dnspython 2.3 (Debian 12) by dns.message.make_query()
 * + use_tsig() + to_wire() for the queries and make_response() + to_wire()
 * for the answers (to_wire(multi=True, tsig_ctx=...) for transfers), with
 * time.time() pinned so the query is signed at T0, the answer at T0 + 1
 * and message j of a transfer at T0 + 1 + j. Each was also read back with
 * dns.message.from_wire(keyring=...), which verified it. An unsigned
 * message of a transfer went into the digest as dnspython's own reader
 * puts it there: tsig_ctx.update(wire). The truncated MACs were cut by
 * hand (dnspython signs the standard algorithms at full length) and the
 * answers signed with request_mac set to the cut MAC.
 */
#define T0 1700000000ull
/* Generated with dnspython 2.3.0 at time signed 1700000000. */
/* hmac-md5.sig-alg.reg.int: secret 16 bytes */
static const struct dp_exchange dp_md5 = {
	.key = { "key-md5.ditto.test.", "hmac-md5.sig-alg.reg.int",
		 "J59mibtz7qnqhn3tJp6MZA==" },
	.query =
		"100001000001000000000001076578616d706c6503636f6d00000600"
		"01076b65792d6d643505646974746f04746573740000fa00ff000000"
		"00003a08686d61632d6d6435077369672d616c670372656703696e74"
		"0000006553f100012c00104be41596c84ddf3d9c6c567e44a5d11510"
		"0000000000",
	.query_body = 29,
	.response =
		"100085000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c076b6579"
		"2d6d643505646974746f04746573740000fa00ff00000000003a0868"
		"6d61632d6d6435077369672d616c670372656703696e740000006553"
		"f101012c00102da7e88cd2b3df4978c0394e838c20e6100000000000",
	.response_body = 80,
};

/* hmac-sha1: secret 20 bytes */
static const struct dp_exchange dp_sha1 = {
	.key = { "key-sha1.ditto.test.", "hmac-sha1",
		 "SXst3GfBddpTgkeSC5b0jX+Woyc=" },
	.query =
		"100101000001000000000001076578616d706c6503636f6d00000600"
		"01086b65792d7368613105646974746f04746573740000fa00ff0000"
		"0000002f09686d61632d736861310000006553f100012c00141066b1"
		"3a783cd215a9c1d9aad735933d72b2d0ef100100000000",
	.query_body = 29,
	.response =
		"100185000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c086b6579"
		"2d7368613105646974746f04746573740000fa00ff00000000002f09"
		"686d61632d736861310000006553f101012c0014b8fc411f4aeb0778"
		"2e5e92306b7826237ae71112100100000000",
	.response_body = 80,
};

/* hmac-sha224: secret 28 bytes */
static const struct dp_exchange dp_sha224 = {
	.key = { "key-sha224.ditto.test.", "hmac-sha224",
		 "kxRurXYAPvFPfM3OX4lV2reoKO5b1QtlaOUl1w==" },
	.query =
		"100201000001000000000001076578616d706c6503636f6d00000600"
		"010a6b65792d73686132323405646974746f04746573740000fa00ff"
		"0000000000390b686d61632d7368613232340000006553f100012c00"
		"1c75ef7ee92682e891fdadbbd52e00dd5e04c62bc989c3bb6395e530"
		"c4100200000000",
	.query_body = 29,
	.response =
		"100285000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c0a6b6579"
		"2d73686132323405646974746f04746573740000fa00ff0000000000"
		"390b686d61632d7368613232340000006553f101012c001c62e87645"
		"6cc7da70456f523e731b028c1fcc953dc00623c7e36bd34110020000"
		"0000",
	.response_body = 80,
};

/* hmac-sha256: secret 100 bytes */
static const struct dp_exchange dp_sha256 = {
	.key = { "key-sha256.ditto.test.", "hmac-sha256",
		 "GvxoRJjALIOZc78/+GzieJ9VFGDNrJAZQGMPG8jKf8ri+DsJOp+oLyAL"
		 "4uqOqKzKDwcm1N+2fZBKMyM2Xh1qdKVQQ/zOVUVnImyU20X/wKgzVGPn"
		 "GFRtgDvG5vMDwiibHZJ7dQ==" },
	.query =
		"100301000001000000000001076578616d706c6503636f6d00000600"
		"010a6b65792d73686132353605646974746f04746573740000fa00ff"
		"00000000003d0b686d61632d7368613235360000006553f100012c00"
		"20b653f72ea531ee65cdf36e786a70501068f72bdc4e61a473a5e0c9"
		"65dbb521d2100300000000",
	.query_body = 29,
	.response =
		"100385000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c0a6b6579"
		"2d73686132353605646974746f04746573740000fa00ff0000000000"
		"3d0b686d61632d7368613235360000006553f101012c0020bd65f6bf"
		"e2a9abfe4ab820b3f13a3cab4cc89588f4fc9bf6cb9914502816641c"
		"100300000000",
	.response_body = 80,
};

/* hmac-sha384: secret 48 bytes */
static const struct dp_exchange dp_sha384 = {
	.key = { "key-sha384.ditto.test.", "hmac-sha384",
		 "dt/JSytdgWRzb2XvE3v/ekDBXxpJuiEwWGZy2PJL5hIb6HaxX7EB1TOk"
		 "RjbR1ocx" },
	.query =
		"100401000001000000000001076578616d706c6503636f6d00000600"
		"010a6b65792d73686133383405646974746f04746573740000fa00ff"
		"00000000004d0b686d61632d7368613338340000006553f100012c00"
		"303bee6a2e7db28a4e9832b72f92b7230bfffd64c24f0f81108d520c"
		"7bd09234036fdb8532735f4d449a104b064e088fb1100400000000",
	.query_body = 29,
	.response =
		"100485000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c0a6b6579"
		"2d73686133383405646974746f04746573740000fa00ff0000000000"
		"4d0b686d61632d7368613338340000006553f101012c0030858397bf"
		"dc65256c070a7ae553a0c5dc15bbf71c56a8ad9dd6f88bd6c11cab1a"
		"b3b99c453957fccd9913c68af107b698100400000000",
	.response_body = 80,
};

/* hmac-sha512: secret 64 bytes */
static const struct dp_exchange dp_sha512 = {
	.key = { "key-sha512.ditto.test.", "hmac-sha512",
		 "1BECqgr0iWlNLr0zznivsJLUkFFoReDHy9g1HYC7t74q0QsRwvMqFbqx"
		 "rfOVj4T04jfDooLctH/GCbrcWkqK7A==" },
	.query =
		"100501000001000000000001076578616d706c6503636f6d00000600"
		"010a6b65792d73686135313205646974746f04746573740000fa00ff"
		"00000000005d0b686d61632d7368613531320000006553f100012c00"
		"40b627a36a4ec4af9b1d56fd241e5e99517bb184d4ff05311b1cd287"
		"3e320950e4564dba41df2214bc3fbaed8718b5025f2befc0f43a40ad"
		"d43c2c5e2822338466100500000000",
	.query_body = 29,
	.response =
		"100585000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c0a6b6579"
		"2d73686135313205646974746f04746573740000fa00ff0000000000"
		"5d0b686d61632d7368613531320000006553f101012c00401c65ff09"
		"7f863cdce0e21df5812bffd8014cb6833dff1bb96fbaa6fbdb1c640c"
		"05b3b92226841eecb8fd1c530ff4e57ef8ededc0719e5bf8b5984d0f"
		"43766e84100500000000",
	.response_body = 80,
};

/* hmac-sha256: the TSIG owner compressed to a pointer at the question */
static const struct dp_exchange dp_cmp = {
	.key = { "xfr.example.com.", "hmac-sha256",
		 "RtciT/1epc32mMRYtht5s6LjUPtKT+UCOrryfHfLTo8=" },
	.query =
		"200001000001000000000001076578616d706c6503636f6d00000600"
		"0103786672c00c00fa00ff00000000003d0b686d61632d7368613235"
		"360000006553f100012c002038e6b06bb9d352d2f1c8b578209c22d3"
		"0ab5a9aeb5102b66d1b5e0ea78fe9543200000000000",
	.query_body = 29,
};

/* AXFR, hmac-sha256: signed, signed, signed */
static const struct dp_transfer dp_axfr = {
	.key = { "key-axfr.ditto.test.", "hmac-sha256",
		 "rcVbcvoJC1UN+tCVx7sXA4qcsT97Bkq2SlzKrRRsq18=" },
	.query =
		"300001000001000000000001076578616d706c6503636f6d0000fc00"
		"01086b65792d6178667205646974746f04746573740000fa00ff0000"
		"0000003d0b686d61632d7368613235360000006553f100012c00206b"
		"6168afc20e2688e065a2876e9ed3cfb44111367203a12c7fd96551e3"
		"e9c336300000000000",
	.query_body = 29,
	.n = 3,
	.repeat = 1,
	.msgs = {
		{ true, 143,
			"300085000001000400000001076578616d706c6503636f6d"
			"0000fc0001c00c0006000100000e100027036e7331c00c0a"
			"686f73746d6173746572c00c78a3f17500001c2000000e10"
			"001275000000012c0468302d30c00c0001000100000e1000"
			"04c00002000468302d31c00c0001000100000e100004c000"
			"02010468302d32c00c0001000100000e100004c000020208"
			"6b65792d6178667205646974746f04746573740000fa00ff"
			"00000000003d0b686d61632d7368613235360000006553f1"
			"01012c002002adba8a4ecae96dfaeb0318f9ffdce1bcd024"
			"20f6f9f8db8df6d0984d096c1d300000000000" },
		{ true, 92,
			"300085000001000300000001076578616d706c6503636f6d"
			"0000fc00010468312d30c00c0001000100000e100004c000"
			"020a0468312d31c00c0001000100000e100004c000020b04"
			"68312d32c00c0001000100000e100004c000020c086b6579"
			"2d6178667205646974746f04746573740000fa00ff000000"
			"00003d0b686d61632d7368613235360000006553f102012c"
			"0020260756f83d391aa035a1fba5010a4798810e97a80017"
			"d989af62ba9edfe9fea9300000000000" },
		{ true, 143,
			"300085000001000400000001076578616d706c6503636f6d"
			"0000fc00010468322d30c00c0001000100000e100004c000"
			"02140468322d31c00c0001000100000e100004c000021504"
			"68322d32c00c0001000100000e100004c0000216c00c0006"
			"000100000e100027036e7331c00c0a686f73746d61737465"
			"72c00c78a3f17500001c2000000e10001275000000012c08"
			"6b65792d6178667205646974746f04746573740000fa00ff"
			"00000000003d0b686d61632d7368613235360000006553f1"
			"03012c00208ca17298ce7e38b45a73c2c01dc76dcc09dc1b"
			"0b985a12b8dcb007495f409b11300000000000" },
	},
};

/* AXFR, hmac-sha512: signed, unsigned, unsigned, signed */
static const struct dp_transfer dp_gap = {
	.key = { "key-gap.ditto.test.", "hmac-sha512",
		 "6RzbQadQy+2S5E0k2dfOYxiTtEE7NDaCSO6giOuT4ipjSO9cO77UqSWd"
		 "tosfoPYMAdl6vcaIiYdMbHa/+qxFSQ==" },
	.query =
		"300101000001000000000001076578616d706c6503636f6d0000fc00"
		"01076b65792d67617005646974746f04746573740000fa00ff000000"
		"00005d0b686d61632d7368613531320000006553f100012c0040b63e"
		"900f1df89ef0931ad25928d589904aacfbb77ed89026ed36d7fcc6fb"
		"3b1e54175f7dafe4e143d369f07f4315fcb97504601567011820e098"
		"d79d2d0b7faf300100000000",
	.query_body = 29,
	.n = 4,
	.repeat = 1,
	.msgs = {
		{ true, 143,
			"300185000001000400000001076578616d706c6503636f6d"
			"0000fc0001c00c0006000100000e100027036e7331c00c0a"
			"686f73746d6173746572c00c78a3f17500001c2000000e10"
			"001275000000012c0468302d30c00c0001000100000e1000"
			"04c00002000468302d31c00c0001000100000e100004c000"
			"02010468302d32c00c0001000100000e100004c000020207"
			"6b65792d67617005646974746f04746573740000fa00ff00"
			"000000005d0b686d61632d7368613531320000006553f101"
			"012c004015d3aeb12fd0de372955d067c3951434c8cd65d3"
			"9a276ed65ee5c7e3862a89d8a3b8baf694379d300e57fe84"
			"f6d2cd4d775b9aeb4e2e3b2bc69c16e10011fd8330010000"
			"0000" },
		{ false, 92,
			"300185000001000300000000076578616d706c6503636f6d"
			"0000fc00010468312d30c00c0001000100000e100004c000"
			"020a0468312d31c00c0001000100000e100004c000020b04"
			"68312d32c00c0001000100000e100004c000020c" },
		{ false, 92,
			"300185000001000300000000076578616d706c6503636f6d"
			"0000fc00010468322d30c00c0001000100000e100004c000"
			"02140468322d31c00c0001000100000e100004c000021504"
			"68322d32c00c0001000100000e100004c0000216" },
		{ true, 143,
			"300185000001000400000001076578616d706c6503636f6d"
			"0000fc00010468332d30c00c0001000100000e100004c000"
			"021e0468332d31c00c0001000100000e100004c000021f04"
			"68332d32c00c0001000100000e100004c0000220c00c0006"
			"000100000e100027036e7331c00c0a686f73746d61737465"
			"72c00c78a3f17500001c2000000e10001275000000012c07"
			"6b65792d67617005646974746f04746573740000fa00ff00"
			"000000005d0b686d61632d7368613531320000006553f104"
			"012c0040584ea5180d875bcf0e82041afebff2133c6e697e"
			"469988a160a7118ae07d84950c0627600744e6f75ae21798"
			"1154f28120194e1521a1a11538d59766aee1ea8030010000"
			"0000" },
	},
};

/* AXFR, hmac-sha1: signed, unsigned x99, signed */
static const struct dp_transfer dp_run = {
	.key = { "key-run.ditto.test.", "hmac-sha1",
		 "0cvxsCHCvx+VCo1bfveugX6EOMk=" },
	.query =
		"300201000001000000000001076578616d706c6503636f6d0000fc00"
		"01076b65792d72756e05646974746f04746573740000fa00ff000000"
		"00002f09686d61632d736861310000006553f100012c00145fbf54d8"
		"d801a04aedb02ac9e24ddc4eea8115c8300200000000",
	.query_body = 29,
	.n = 3,
	.repeat = 99,
	.msgs = {
		{ true, 143,
			"300285000001000400000001076578616d706c6503636f6d"
			"0000fc0001c00c0006000100000e100027036e7331c00c0a"
			"686f73746d6173746572c00c78a3f17500001c2000000e10"
			"001275000000012c0468302d30c00c0001000100000e1000"
			"04c00002000468302d31c00c0001000100000e100004c000"
			"02010468302d32c00c0001000100000e100004c000020207"
			"6b65792d72756e05646974746f04746573740000fa00ff00"
			"000000002f09686d61632d736861310000006553f101012c"
			"0014fc04c8b14868d53be1f552a90f97db6cc84b49873002"
			"00000000" },
		{ false, 92,
			"300285000001000300000000076578616d706c6503636f6d"
			"0000fc00010468312d30c00c0001000100000e100004c000"
			"020a0468312d31c00c0001000100000e100004c000020b04"
			"68312d32c00c0001000100000e100004c000020c" },
		{ true, 143,
			"300285000001000400000001076578616d706c6503636f6d"
			"0000fc00010468322d30c00c0001000100000e100004c000"
			"02140468322d31c00c0001000100000e100004c000021504"
			"68322d32c00c0001000100000e100004c0000216c00c0006"
			"000100000e100027036e7331c00c0a686f73746d61737465"
			"72c00c78a3f17500001c2000000e10001275000000012c07"
			"6b65792d72756e05646974746f04746573740000fa00ff00"
			"000000002f09686d61632d736861310000006553f103012c"
			"0014772dc2b0974d7c84eda223023dec6d2eff2fe3343002"
			"00000000" },
	},
};

/* hmac-sha512: query MAC cut to 32 bytes, the answer signed over it */
static const struct dp_exchange dp_tr512 = {
	.key = { "key-tr512.ditto.test.", "hmac-sha512",
		 "lzfc6yqiLDuwfoX/Qs4M5D7ZzCNqvaaHhbxwCxIaOnkZUxbNAYIEoZ/D"
		 "LfRycoYxxGRU3L3D6mRQ0qysXx9O3w==" },
	.query =
		"402001000001000000000001076578616d706c6503636f6d00000600"
		"01096b65792d747235313205646974746f04746573740000fa00ff00"
		"000000003d0b686d61632d7368613531320000006553f100012c0020"
		"32ccb96f11080ede55a63f7d96466e120a05e77b857d54d46a11aebb"
		"281e99c2402000000000",
	.query_body = 29,
	.response =
		"402081000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c096b6579"
		"2d747235313205646974746f04746573740000fa00ff00000000005d"
		"0b686d61632d7368613531320000006553f101012c0040d233224306"
		"b90f1a890c98a82e318ed50288333eae6ac575e142c9418b45c0b0f3"
		"6a8c714467931f3fe82d560c82b2fae83ac5a958c156d5482e067d8d"
		"54b255402000000000",
	.response_body = 80,
};

/* hmac-sha1: query MAC cut to 10 bytes, the answer signed over it */
static const struct dp_exchange dp_tr1 = {
	.key = { "key-tr1.ditto.test.", "hmac-sha1",
		 "k9YIromSRLhI1xmLCuS0mCWsDas=" },
	.query =
		"400a01000001000000000001076578616d706c6503636f6d00000600"
		"01076b65792d74723105646974746f04746573740000fa00ff000000"
		"00002509686d61632d736861310000006553f100012c000a7a66928a"
		"6dc8ec611f40400a00000000",
	.query_body = 29,
	.response =
		"400a81000001000100000001076578616d706c6503636f6d00000600"
		"01c00c0006000100000e100027036e7331c00c0a686f73746d617374"
		"6572c00c78a3f17500001c2000000e10001275000000012c076b6579"
		"2d74723105646974746f04746573740000fa00ff00000000002f0968"
		"6d61632d736861310000006553f101012c00147ad7081da55ed8657e"
		"1a14234a2cab734fda34f5400a00000000",
	.response_body = 80,
};



static const struct dp_exchange *const dp_algs[] = {
	&dp_md5, &dp_sha1, &dp_sha224, &dp_sha256, &dp_sha384, &dp_sha512,
};

#define N_ALGS (sizeof(dp_algs) / sizeof(dp_algs[0]))

/* ---- helpers -------------------------------------------------------------- */

/* A message with room to sign it. */
struct msg {
	uint8_t b[65535];
	size_t len;
};

static void from_hex(struct msg *m, const char *hex)
{
	size_t n = strlen(hex) / 2;

	CU_ASSERT_FATAL(strlen(hex) % 2 == 0 && n <= sizeof(m->b));
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		CU_ASSERT_FATAL(sscanf(hex + 2 * i, "%2x", &v) == 1);
		m->b[i] = (uint8_t)v;
	}
	m->len = n;
}

/* The message as it was before it was signed: TSIG cut, ARCOUNT - 1. */
static void body_of(struct msg *m, const char *hex, size_t body)
{
	from_hex(m, hex);
	CU_ASSERT_FATAL(body < m->len && dns_get16(m->b + 10) > 0);
	m->len = body;
	dns_put16(m->b + 10, dns_get16(m->b + 10) - 1u);
}

static bool same(const struct msg *m, const char *hex)
{
	static struct msg want;

	from_hex(&want, hex);
	return m->len == want.len && memcmp(m->b, want.b, m->len) == 0;
}

static void key_of(const struct key_text *kt, struct tsig_key *k)
{
	char err[200];

	CU_ASSERT_FATAL(tsig_key_init(k, kt->name, kt->alg, kt->secret, err,
				      sizeof(err)) == 0);
}

/* tsig_verify() on an exact-size heap copy, so ASan sees any read past
 * the message; the copy's outcome is copied back. */
static enum tsig_result verify(struct tsig_ctx *c, const struct tsig_key *keys,
			       size_t nkeys, struct msg *m, uint64_t now)
{
	uint8_t *copy = malloc(m->len ? m->len : 1);
	enum tsig_result r;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, m->b, m->len);
	r = tsig_verify(c, keys, nkeys, copy, &m->len, now);
	memcpy(m->b, copy, m->len);
	free(copy);
	return r;
}

/* As a server: the dnspython query of e verified with its key. */
static void serve(const struct dp_exchange *e, struct tsig_key *k,
		  struct tsig_ctx *c, struct msg *q)
{
	key_of(&e->key, k);
	tsig_ctx_init(c, NULL);
	from_hex(q, e->query);
	CU_ASSERT_EQUAL_FATAL(verify(c, k, 1, q, T0), TSIG_OK);
}

/* As a client: the query of e signed by us, which must be dnspython's. */
static void ask(const struct key_text *kt, const char *query, size_t body,
		struct tsig_key *k, struct tsig_ctx *c)
{
	struct msg q;

	key_of(kt, k);
	tsig_ctx_init(c, k);
	body_of(&q, query, body);
	CU_ASSERT_EQUAL_FATAL(tsig_sign(c, q.b, &q.len, sizeof(q.b), T0, 0), 0);
	CU_ASSERT_FATAL(same(&q, query));
}

/* Offset of the MAC size field of the TSIG at `at` (owner uncompressed). */
static size_t mac_size_at(const struct msg *m, size_t at)
{
	size_t o = at + dns_name_len(m->b + at, m->len - at) + 10;

	return o + dns_name_len(m->b + o, m->len - o) + 8;
}

/* Rewrite the MAC of the TSIG at `at` to its first keep bytes, or longer
 * with zero bytes, keeping RDLENGTH right. */
static void set_mac_len(struct msg *m, size_t at, size_t keep)
{
	size_t sz = mac_size_at(m, at), rd = at + dns_name_len(m->b + at, 255) + 8;
	size_t old = dns_get16(m->b + sz), tail = m->len - (sz + 2 + old);
	uint8_t *mac = m->b + sz + 2;

	memmove(mac + keep, mac + old, tail);
	if (keep > old)
		memset(mac + old, 0, keep - old);
	dns_put16(m->b + sz, (unsigned)keep);
	dns_put16(m->b + rd, (unsigned)(dns_get16(m->b + rd) + keep - old));
	m->len = m->len - old + keep;
}

/* The TSIG record of a message, read by ldns. */
struct seen {
	bool ok;
	char owner[300], alg[300];
	uint64_t time;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	uint8_t other[8];
};

static uint64_t rdf48(const ldns_rdf *r)
{
	const uint8_t *p = ldns_rdf_data(r);

	return (uint64_t)dns_get16(p) << 32 | dns_get32(p + 2);
}

static struct seen ldns_tsig(const struct msg *m)
{
	struct seen s = { 0 };
	ldns_pkt *p = NULL;
	ldns_rr *t;

	if (ldns_wire2pkt(&p, m->b, m->len) != LDNS_STATUS_OK)
		return s;
	t = ldns_pkt_tsig(p);
	if (t && ldns_rr_rd_count(t) == 7) {
		char *o = ldns_rdf2str(ldns_rr_owner(t));
		char *a = ldns_rdf2str(ldns_rr_rdf(t, 0));
		const ldns_rdf *mac = ldns_rr_rdf(t, 3);
		const ldns_rdf *other = ldns_rr_rdf(t, 6);

		snprintf(s.owner, sizeof(s.owner), "%s", o);
		snprintf(s.alg, sizeof(s.alg), "%s", a);
		free(o);
		free(a);
		s.time = rdf48(ldns_rr_rdf(t, 1));
		s.fudge = ldns_rdf2native_int16(ldns_rr_rdf(t, 2));
		s.mac_len = dns_get16(ldns_rdf_data(mac));
		s.orig_id = ldns_rdf2native_int16(ldns_rr_rdf(t, 4));
		s.error = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
		s.other_len = dns_get16(ldns_rdf_data(other));
		if (s.other_len <= sizeof(s.other))
			memcpy(s.other, ldns_rdf_data(other) + 2, s.other_len);
		s.ok = true;
	}
	ldns_pkt_free(p);
	return s;
}

/* ---- keys ------------------------------------------------------------------ */

static void test_alg_names_take_aliases_any_case_and_final_dot(void)
{
	static const struct {
		const char *name;
		enum tsig_alg alg;
	} ok[] = {
		{ "hmac-md5", TSIG_HMAC_MD5 },
		{ "HMAC-MD5.SIG-ALG.REG.INT.", TSIG_HMAC_MD5 },
		{ "hmac-md5.sig-alg.reg.int", TSIG_HMAC_MD5 },
		{ "hmac-sha1", TSIG_HMAC_SHA1 },
		{ "hmac-sha224.", TSIG_HMAC_SHA224 },
		{ "Hmac-Sha256", TSIG_HMAC_SHA256 },
		{ "hmac-sha384", TSIG_HMAC_SHA384 },
		{ "hmac-sha512.", TSIG_HMAC_SHA512 },
	};
	static const char *const bad[] = {
		"", ".", "hmac-sha256..", "hmac-sha256-128", "sha256", "gss-tsig",
		"hmac-md5.sig-alg", "hmac-sha2566",
	};
	enum tsig_alg alg;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		alg = (enum tsig_alg)-1;
		CU_ASSERT_EQUAL(tsig_alg_from_name(ok[i].name, &alg), 0);
		CU_ASSERT_EQUAL(alg, ok[i].alg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(tsig_alg_from_name(bad[i], &alg), -1);
	CU_ASSERT_STRING_EQUAL(tsig_alg_name(TSIG_HMAC_SHA256), "hmac-sha256");
	CU_ASSERT_STRING_EQUAL(tsig_alg_name(TSIG_HMAC_MD5), "hmac-md5");
	for (int a = TSIG_HMAC_MD5; a <= TSIG_HMAC_SHA512; a++) {
		CU_ASSERT_EQUAL(tsig_alg_from_name(tsig_alg_name(a), &alg), 0);
		CU_ASSERT_EQUAL(alg, (enum tsig_alg)a);
	}
}

static void test_key_name_is_lowercase_wire_form_with_text(void)
{
	struct tsig_key k;
	char err[200];

	CU_ASSERT_EQUAL(tsig_key_init(&k, "Xfr-Key.Example", "hmac-sha256",
				      "c2VjcmV0", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(k.name_len, 17);
	CU_ASSERT(memcmp(k.name, "\x07xfr-key\x07" "example", 17) == 0);
	CU_ASSERT_STRING_EQUAL(k.text, "xfr-key.example.");
	CU_ASSERT_EQUAL(k.alg, TSIG_HMAC_SHA256);
	CU_ASSERT_EQUAL(k.secret_len, 6);
	CU_ASSERT(memcmp(k.secret, "secret", 6) == 0);

	/* escapes: a dot inside a label, a byte in decimal */
	CU_ASSERT_EQUAL(tsig_key_init(&k, "a\\.b.\\099.", "hmac-sha1", "QQ==",
				      err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(k.name_len, 7);
	CU_ASSERT(memcmp(k.name, "\x03" "a.b\x01" "c", 7) == 0);
	CU_ASSERT_EQUAL(k.secret_len, 1);
}

static void test_key_init_refuses_malformed_names(void)
{
	char l64[80], long_name[300], err[200];
	struct tsig_key k;

	memset(l64, 'a', 64);
	l64[64] = 0;
	/* 3 labels of 63 and one of 62: 256 bytes with the root */
	char *p = long_name;
	for (int i = 0; i < 4; i++) {
		size_t n = i < 3 ? 63 : 62;

		memset(p, 'a', n);
		p += n;
		*p++ = '.';
	}
	p[-1] = 0;
	const char *bad[] = { "", ".", "a..b", ".a", l64, long_name, "a b",
			      "a\\", "a\\256", "tab\there" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CU_ASSERT_EQUAL(tsig_key_init(&k, bad[i], "hmac-sha256",
					      "c2VjcmV0", err, sizeof(err)), -1);
		CU_ASSERT(strstr(err, "name") != NULL);
	}
	long_name[strlen(long_name) - 1] = 0;	/* 255: the longest */
	CU_ASSERT_EQUAL(tsig_key_init(&k, long_name, "hmac-sha256", "c2VjcmV0",
				      err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(k.name_len, 255);
}

static void test_key_init_refuses_invalid_base64_and_empty_secret(void)
{
	static const char *const bad[] = {
		"", "c2VjcmV", "c2VjcmV0=", "c2Vj cmV0", "c2Vj\ncmV0", "====",
		"QQ=A", "Q===", "QR==", "QUI=QUI=", "c2VjcmV0!", "QUJ=",
	};
	struct tsig_key k;
	char err[200], big[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&k, 0x55, sizeof(k));
		CU_ASSERT_EQUAL(tsig_key_init(&k, "k.", "hmac-sha256", bad[i],
					      err, sizeof(err)), -1);
		CU_ASSERT(strstr(err, "secret") != NULL);
		/* nothing of a half-read key is left behind */
		CU_ASSERT_EQUAL(k.secret_len, 0);
		CU_ASSERT_EQUAL(k.secret[0], 0);
	}
	CU_ASSERT_EQUAL(tsig_key_init(&k, "k.", "hmac-sha9", "QQ==", err,
				      sizeof(err)), -1);
	CU_ASSERT(strstr(err, "algorithm") != NULL);

	/* 256 bytes is the most a key holds: 344 characters, 2 of padding */
	memset(big, 'A', 342);
	strcpy(big + 342, "==");
	CU_ASSERT_EQUAL(tsig_key_init(&k, "k.", "hmac-sha256", big, err,
				      sizeof(err)), 0);
	CU_ASSERT_EQUAL(k.secret_len, 256);
	memset(big, 'A', 344);
	strcpy(big + 344, "AAAA");
	CU_ASSERT_EQUAL(tsig_key_init(&k, "k.", "hmac-sha256", big, err,
				      sizeof(err)), -1);
}

/* ---- dnspython's signatures --------------------------------------------- */

static void test_query_signed_by_dnspython_verifies_for_every_algorithm(void)
{
	struct tsig_key keys[N_ALGS];
	struct tsig_ctx c;
	struct msg q;

	for (size_t i = 0; i < N_ALGS; i++)
		key_of(&dp_algs[i]->key, &keys[i]);
	for (size_t i = 0; i < N_ALGS; i++) {
		/* the server finds the key among all of them */
		tsig_ctx_init(&c, NULL);
		from_hex(&q, dp_algs[i]->query);
		CU_ASSERT_EQUAL(verify(&c, keys, N_ALGS, &q, T0), TSIG_OK);
		CU_ASSERT_PTR_EQUAL(c.key, &keys[i]);
		CU_ASSERT_EQUAL(q.len, dp_algs[i]->query_body);
		CU_ASSERT_EQUAL(dns_get16(q.b + 10), 0);
		CU_ASSERT_EQUAL(c.orig_id, dns_get16(q.b));
		CU_ASSERT_EQUAL(c.peer_time, T0);
		tsig_ctx_free(&c);
	}
}

static void test_response_we_sign_matches_dnspython_byte_for_byte(void)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		const struct dp_exchange *e = dp_algs[i];
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q, r;

		serve(e, &k, &c, &q);
		body_of(&r, e->response, e->response_body);
		CU_ASSERT_EQUAL(tsig_sign(&c, r.b, &r.len, sizeof(r.b), T0 + 1,
					  0), 0);
		CU_ASSERT(same(&r, e->response));
		tsig_ctx_free(&c);
	}
}

static void test_query_we_sign_matches_dnspython_byte_for_byte(void)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		struct tsig_key k;
		struct tsig_ctx c;

		ask(&dp_algs[i]->key, dp_algs[i]->query, dp_algs[i]->query_body,
		    &k, &c);
		CU_ASSERT_EQUAL(c.signed_count, 1);
		tsig_ctx_free(&c);
	}
}

static void test_response_signed_by_dnspython_verifies(void)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		const struct dp_exchange *e = dp_algs[i];
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg r;

		ask(&e->key, e->query, e->query_body, &k, &c);
		from_hex(&r, e->response);
		CU_ASSERT_EQUAL(verify(&c, NULL, 0, &r, T0 + 1), TSIG_OK);
		CU_ASSERT_EQUAL(r.len, e->response_body);
		CU_ASSERT_EQUAL(dns_get16(r.b + 10), 0);
		CU_ASSERT_EQUAL(c.peer_error, 0);
		tsig_ctx_free(&c);
	}
}

static void test_response_to_another_query_is_badsig(void)
{
	/* dnspython's sha256 answer, but to a query we signed differently */
	const struct dp_exchange *e = &dp_sha256;
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q, r;

	key_of(&e->key, &k);
	tsig_ctx_init(&c, &k);
	body_of(&q, e->query, e->query_body);
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, sizeof(q.b), T0 + 7, 0), 0);
	from_hex(&r, e->response);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &r, T0 + 1), TSIG_BADSIG);
	tsig_ctx_free(&c);
}

static void test_compressed_tsig_owner_is_accepted(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q, err;

	serve(&dp_cmp, &k, &c, &q);
	CU_ASSERT_EQUAL(q.len, dp_cmp.query_body);

	/* the error answer to it names the key in full */
	from_hex(&q, dp_cmp.query);
	err.len = dp_cmp.query_body;
	memcpy(err.b, q.b, err.len);
	dns_put16(err.b + 10, 0);
	CU_ASSERT_EQUAL(tsig_append_error(err.b, &err.len, sizeof(err.b), q.b,
					  q.len, T0, TSIG_ERR_BADSIG), 0);
	CU_ASSERT(memcmp(err.b + dp_cmp.query_body,
			 "\x03xfr\x07" "example\x03" "com\x00\x00\xfa", 19) == 0);
	tsig_ctx_free(&c);
}

/* ---- transfers ------------------------------------------------------------ */

/* Verify the messages of t as the client that sent its query; each must
 * give TSIG_OK (signed) or TSIG_UNSIGNED with tsig_unsigned_ok(). */
static void receive(const struct dp_transfer *t)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	ask(&t->key, t->query, t->query_body, &k, &c);
	for (size_t j = 0; j < t->n; j++) {
		const struct dp_msg *d = &t->msgs[j];

		for (unsigned n = 0; n < (d->is_signed ? 1 : t->repeat); n++) {
			from_hex(&m, d->hex);
			if (d->is_signed) {
				CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m,
						       T0 + 1 + j), TSIG_OK);
				CU_ASSERT_EQUAL(m.len, d->body);
				CU_ASSERT_EQUAL(c.unsigned_run, 0);
			} else {
				CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m,
						       T0 + 1 + j),
						TSIG_UNSIGNED);
				CU_ASSERT(tsig_unsigned_ok(&c));
			}
		}
	}
	tsig_ctx_free(&c);
}

static void test_transfer_signed_by_dnspython_verifies_message_by_message(void)
{
	receive(&dp_axfr);
}

static void test_unsigned_middle_messages_covered_by_next_signed(void)
{
	receive(&dp_gap);
}

static void test_ninety_nine_unsigned_messages_in_a_row_verify(void)
{
	receive(&dp_run);
}

static void test_transfer_we_sign_matches_dnspython_byte_for_byte(void)
{
	const struct dp_transfer *t = &dp_axfr;
	const struct dp_exchange e = {
		.key = t->key, .query = t->query, .query_body = t->query_body,
	};
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q, m;

	serve(&e, &k, &c, &q);
	for (size_t j = 0; j < t->n; j++) {
		body_of(&m, t->msgs[j].hex, t->msgs[j].body);
		CU_ASSERT_EQUAL(tsig_sign(&c, m.b, &m.len, sizeof(m.b),
					  T0 + 1 + j, 0), 0);
		CU_ASSERT(same(&m, t->msgs[j].hex));
	}
	CU_ASSERT_EQUAL(c.signed_count, 1 + t->n);
	tsig_ctx_free(&c);
}

/* The client's context after the query of dp_gap and its first answer. */
static void gap_started(struct tsig_key *k, struct tsig_ctx *c)
{
	struct msg m;

	ask(&dp_gap.key, dp_gap.query, dp_gap.query_body, k, c);
	from_hex(&m, dp_gap.msgs[0].hex);
	CU_ASSERT_EQUAL_FATAL(verify(c, NULL, 0, &m, T0 + 1), TSIG_OK);
}

static void test_altered_unsigned_message_fails_the_next_signed(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	gap_started(&k, &c);
	from_hex(&m, dp_gap.msgs[1].hex);
	m.b[m.len - 1] ^= 1;	/* the last address of the message */
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 2), TSIG_UNSIGNED);
	from_hex(&m, dp_gap.msgs[2].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 3), TSIG_UNSIGNED);
	from_hex(&m, dp_gap.msgs[3].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 4), TSIG_BADSIG);
	tsig_ctx_free(&c);
}

static void test_dropped_unsigned_message_fails_the_next_signed(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	gap_started(&k, &c);
	from_hex(&m, dp_gap.msgs[2].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 3), TSIG_UNSIGNED);
	from_hex(&m, dp_gap.msgs[3].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 4), TSIG_BADSIG);
	tsig_ctx_free(&c);
}

static void test_swapped_signed_messages_are_badsig(void)
{
	const struct dp_transfer *t = &dp_axfr;
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	ask(&t->key, t->query, t->query_body, &k, &c);
	from_hex(&m, t->msgs[0].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 1), TSIG_OK);
	from_hex(&m, t->msgs[2].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 3), TSIG_BADSIG);
	tsig_ctx_free(&c);
}

static void test_hundredth_unsigned_message_refused(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	gap_started(&k, &c);
	for (int n = 1; n <= 100; n++) {
		from_hex(&m, dp_gap.msgs[1].hex);
		CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 2), TSIG_UNSIGNED);
		CU_ASSERT_EQUAL(tsig_unsigned_ok(&c), n <= 99);
	}
	tsig_ctx_free(&c);
}

static void test_unsigned_first_answer_is_refused(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	ask(&dp_gap.key, dp_gap.query, dp_gap.query_body, &k, &c);
	from_hex(&m, dp_gap.msgs[1].hex);
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, T0 + 1), TSIG_UNSIGNED);
	CU_ASSERT_FALSE(tsig_unsigned_ok(&c));
	tsig_ctx_free(&c);
}

/* ---- truncation (RFC 8945 §5.2.2.1) ---------------------------------------- */

static void test_truncated_mac_at_minimum_verifies_and_answer_signs_over_it(void)
{
	const struct dp_exchange *const tr[] = { &dp_tr512, &dp_tr1 };
	const size_t keep[] = { 32, 10 };

	for (size_t i = 0; i < 2; i++) {
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q, r;

		serve(tr[i], &k, &c, &q);
		CU_ASSERT_EQUAL(c.mac_len, keep[i]);
		body_of(&r, tr[i]->response, tr[i]->response_body);
		CU_ASSERT_EQUAL(tsig_sign(&c, r.b, &r.len, sizeof(r.b), T0 + 1,
					  0), 0);
		CU_ASSERT(same(&r, tr[i]->response));
		tsig_ctx_free(&c);
	}
}

/* The query of e with its MAC cut or stretched to mac_len, verified. */
static enum tsig_result with_mac_len(const struct dp_exchange *e,
				     size_t mac_len)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;
	enum tsig_result r;

	key_of(&e->key, &k);
	tsig_ctx_init(&c, NULL);
	from_hex(&q, e->query);
	set_mac_len(&q, e->query_body, mac_len);
	r = verify(&c, &k, 1, &q, T0);
	tsig_ctx_free(&c);
	return r;
}

static void test_truncated_mac_below_minimum_is_refused(void)
{
	/* max(10, hash / 2): FORMERR below it (RFC 8945 §5.2.2.1 rule 3) */
	static const size_t min[N_ALGS] = { 10, 10, 14, 16, 24, 32 };

	for (size_t i = 0; i < N_ALGS; i++) {
		CU_ASSERT_EQUAL(with_mac_len(dp_algs[i], min[i]), TSIG_OK);
		CU_ASSERT_EQUAL(with_mac_len(dp_algs[i], min[i] - 1),
				TSIG_FORMERR);
		CU_ASSERT_EQUAL(with_mac_len(dp_algs[i], 1), TSIG_FORMERR);
	}
	CU_ASSERT_EQUAL(with_mac_len(&dp_tr512, 31), TSIG_FORMERR);
	CU_ASSERT_EQUAL(with_mac_len(&dp_tr1, 9), TSIG_FORMERR);
}

static void test_mac_longer_than_the_hash_is_formerr(void)
{
	static const size_t full[N_ALGS] = { 16, 20, 28, 32, 48, 64 };

	for (size_t i = 0; i < N_ALGS; i++)
		CU_ASSERT_EQUAL(with_mac_len(dp_algs[i], full[i] + 1),
				TSIG_FORMERR);
}

static void test_empty_mac_in_a_request_is_badsig(void)
{
	for (size_t i = 0; i < N_ALGS; i++)
		CU_ASSERT_EQUAL(with_mac_len(dp_algs[i], 0), TSIG_BADSIG);
}

/* ---- key, MAC and time checks (RFC 8945 §5.2) ------------------------------ */

static void test_flipped_mac_byte_is_badsig(void)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		const struct dp_exchange *e = dp_algs[i];
		struct tsig_key k;
		struct msg q, orig;
		size_t mac;

		key_of(&e->key, &k);
		from_hex(&orig, e->query);
		mac = mac_size_at(&orig, e->query_body) + 2;
		for (size_t b = 0; b < dns_get16(orig.b + mac - 2); b++) {
			struct tsig_ctx c;

			tsig_ctx_init(&c, NULL);
			q = orig;
			q.b[mac + b] ^= 0x80;
			CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_BADSIG);
			/* left as it was, for the unsigned error answer */
			CU_ASSERT_EQUAL(q.len, orig.len);
			CU_ASSERT_EQUAL(c.mac_len, 0);
			tsig_ctx_free(&c);
		}
	}
}

static void test_flipped_message_or_variable_byte_is_badsig(void)
{
	const struct dp_exchange *e = &dp_sha256;
	struct tsig_key k;
	struct msg orig;

	key_of(&e->key, &k);
	from_hex(&orig, e->query);
	size_t sz = mac_size_at(&orig, e->query_body);
	/* flags, question name, qtype; key name case does not count */
	const size_t at[] = { 2, 3, 13, 27, sz - 8, sz - 3, sz - 1,
			      orig.len - 4, orig.len - 3 };

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct tsig_ctx c;
		struct msg q = orig;

		tsig_ctx_init(&c, NULL);
		q.b[at[i]] ^= 0x01;
		CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_BADSIG);
		tsig_ctx_free(&c);
	}
}

static void test_key_name_case_does_not_matter(void)
{
	const struct dp_exchange *e = &dp_sha256;
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;

	key_of(&e->key, &k);
	tsig_ctx_init(&c, NULL);
	from_hex(&q, e->query);
	q.b[e->query_body + 1] = 'K';	/* "key-sha256" -> "Key-sha256" */
	CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_OK);
	tsig_ctx_free(&c);
}

static void test_new_id_verifies_through_original_id(void)
{
	/* a forwarder changed the id (RFC 8945 §4.3.2, §5.5) */
	const struct dp_exchange *e = &dp_sha1;
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;

	key_of(&e->key, &k);
	tsig_ctx_init(&c, NULL);
	from_hex(&q, e->query);
	uint16_t id = dns_get16(q.b);
	dns_put16(q.b, 0xbeef);
	CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_OK);
	CU_ASSERT_EQUAL(c.orig_id, id);
	tsig_ctx_free(&c);
}

static void test_time_outside_fudge_is_badtime(void)
{
	static const struct {
		int64_t skew;
		enum tsig_result r;
	} at[] = {
		{ 0, TSIG_OK }, { 300, TSIG_OK }, { -300, TSIG_OK },
		{ 301, TSIG_BADTIME }, { -301, TSIG_BADTIME },
		{ 100000, TSIG_BADTIME }, { -(int64_t)T0, TSIG_BADTIME },
	};
	const struct dp_exchange *e = &dp_sha384;

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q;

		key_of(&e->key, &k);
		tsig_ctx_init(&c, NULL);
		from_hex(&q, e->query);
		CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0 + at[i].skew),
				at[i].r);
		/* verified either way: stripped, MAC kept to sign over */
		CU_ASSERT_EQUAL(q.len, e->query_body);
		CU_ASSERT_EQUAL(c.mac_len, 48);
		CU_ASSERT_EQUAL(c.peer_time, T0);
		tsig_ctx_free(&c);
	}
}

static void test_forged_time_is_badsig_not_badtime(void)
{
	/* the time is under the MAC: a changed one never gets a signed
	 * BADTIME answer */
	const struct dp_exchange *e = &dp_sha384;
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;

	key_of(&e->key, &k);
	tsig_ctx_init(&c, NULL);
	from_hex(&q, e->query);
	size_t t = mac_size_at(&q, e->query_body) - 8;
	q.b[t + 3] ^= 0x10;
	CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_BADSIG);
	tsig_ctx_free(&c);
}

static void test_badtime_answer_signed_at_request_time_with_server_clock(void)
{
	const struct dp_exchange *e = &dp_sha256;
	const uint64_t server = T0 + 1000;
	struct tsig_key sk, ck;
	struct tsig_ctx s, c;
	struct msg q, r;
	struct seen t;

	/* the client signs at T0; the server's clock says T0 + 1000 */
	ask(&e->key, e->query, e->query_body, &ck, &c);
	key_of(&e->key, &sk);
	tsig_ctx_init(&s, NULL);
	from_hex(&q, e->query);
	CU_ASSERT_EQUAL(verify(&s, &sk, 1, &q, server), TSIG_BADTIME);

	body_of(&r, e->response, e->response_body);
	dns_put16(r.b + 2, (dns_get16(r.b + 2) & ~0xfu) | DNS_R_NOTAUTH);
	CU_ASSERT_EQUAL(tsig_sign(&s, r.b, &r.len, sizeof(r.b), server,
				  TSIG_ERR_BADTIME), 0);
	t = ldns_tsig(&r);
	CU_ASSERT(t.ok);
	CU_ASSERT_EQUAL(t.error, TSIG_ERR_BADTIME);
	CU_ASSERT_EQUAL(t.time, T0);
	CU_ASSERT_EQUAL(t.mac_len, 32);
	CU_ASSERT_EQUAL(t.other_len, 6);
	CU_ASSERT(memcmp(t.other, "\x00\x00\x65\x53\xf4\xe8", 6) == 0);

	/* the client checks the MAC and reads the server's clock */
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &r, T0 + 1), TSIG_PEER_ERROR);
	CU_ASSERT_EQUAL(c.peer_error, TSIG_ERR_BADTIME);
	CU_ASSERT_EQUAL(c.peer_time, server);
	CU_ASSERT_EQUAL(r.len, e->response_body);
	tsig_ctx_free(&s);
	tsig_ctx_free(&c);
}

static void test_unknown_key_is_badkey(void)
{
	const struct dp_exchange *e = &dp_sha1;
	struct tsig_key keys[3];
	struct tsig_ctx c;
	struct msg q, orig;

	/* same name, other algorithm; other name, same algorithm */
	key_of(&(struct key_text){ e->key.name, "hmac-sha256", e->key.secret },
	       &keys[0]);
	key_of(&(struct key_text){ "key-sha1.ditto.test2.", "hmac-sha1",
				   e->key.secret }, &keys[1]);
	key_of(&(struct key_text){ "ditto.test.", "hmac-sha1", e->key.secret },
	       &keys[2]);
	from_hex(&orig, e->query);
	q = orig;
	tsig_ctx_init(&c, NULL);
	CU_ASSERT_EQUAL(verify(&c, keys, 3, &q, T0), TSIG_BADKEY);
	CU_ASSERT_PTR_NULL(c.key);
	CU_ASSERT(q.len == orig.len && memcmp(q.b, orig.b, q.len) == 0);
	q = orig;
	CU_ASSERT_EQUAL(verify(&c, NULL, 0, &q, T0), TSIG_BADKEY);

	/* an algorithm we do not know, under the right key name */
	key_of(&e->key, &keys[0]);
	q = orig;
	size_t alg = e->query_body + dns_name_len(q.b + e->query_body, 255) + 10;
	q.b[alg + 9] = '2';	/* "hmac-sha2" */
	CU_ASSERT_EQUAL(verify(&c, keys, 1, &q, T0), TSIG_BADKEY);
	tsig_ctx_free(&c);
}

static void test_key_and_mac_errors_are_answered_unsigned(void)
{
	static const uint16_t errors[] = { TSIG_ERR_BADKEY, TSIG_ERR_BADSIG };
	const struct dp_exchange *e = &dp_sha512;

	for (size_t i = 0; i < 2; i++) {
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q, r;
		struct seen t;

		from_hex(&q, e->query);
		body_of(&r, e->response, e->response_body);
		dns_put16(r.b + 2, (dns_get16(r.b + 2) & ~0xfu) | DNS_R_NOTAUTH);
		CU_ASSERT_EQUAL(tsig_append_error(r.b, &r.len, sizeof(r.b), q.b,
						  q.len, T0 + 5, errors[i]), 0);
		CU_ASSERT_EQUAL(dns_get16(r.b + 10), 1);
		t = ldns_tsig(&r);
		CU_ASSERT(t.ok);
		CU_ASSERT_STRING_EQUAL(t.owner, "key-sha512.ditto.test.");
		CU_ASSERT_STRING_EQUAL(t.alg, "hmac-sha512.");
		CU_ASSERT_EQUAL(t.time, T0 + 5);
		CU_ASSERT_EQUAL(t.fudge, TSIG_FUDGE);
		CU_ASSERT_EQUAL(t.mac_len, 0);
		CU_ASSERT_EQUAL(t.orig_id, dns_get16(r.b));
		CU_ASSERT_EQUAL(t.error, errors[i]);
		CU_ASSERT_EQUAL(t.other_len, 0);

		/* the client hears the error; nothing verified, so kept */
		ask(&e->key, e->query, e->query_body, &k, &c);
		size_t len = r.len;
		CU_ASSERT_EQUAL(verify(&c, NULL, 0, &r, T0 + 5),
				TSIG_PEER_ERROR);
		CU_ASSERT_EQUAL(c.peer_error, errors[i]);
		CU_ASSERT_EQUAL(r.len, len);
		tsig_ctx_free(&c);
	}
}

static void test_append_error_refuses_request_without_good_tsig(void)
{
	struct msg q, r;

	body_of(&q, dp_sha1.query, dp_sha1.query_body);
	r = q;
	CU_ASSERT_EQUAL(tsig_append_error(r.b, &r.len, sizeof(r.b), q.b, q.len,
					  T0, TSIG_ERR_BADKEY), -1);
	CU_ASSERT_EQUAL(r.len, q.len);
	from_hex(&q, dp_sha1.query);
	q.len--;
	CU_ASSERT_EQUAL(tsig_append_error(r.b, &r.len, sizeof(r.b), q.b, q.len,
					  T0, TSIG_ERR_BADKEY), -1);
	/* and no room */
	from_hex(&q, dp_sha1.query);
	CU_ASSERT_EQUAL(tsig_append_error(r.b, &r.len, r.len + 10, q.b, q.len,
					  T0, TSIG_ERR_BADKEY), -1);
	CU_ASSERT_EQUAL(r.len, dp_sha1.query_body);
}

static void test_sign_refuses_key_and_mac_errors_and_no_key(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;

	body_of(&q, dp_sha1.query, dp_sha1.query_body);
	tsig_ctx_init(&c, NULL);
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, sizeof(q.b), T0, 0), -1);
	key_of(&dp_sha1.key, &k);
	tsig_ctx_init(&c, &k);
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, sizeof(q.b), T0,
				  TSIG_ERR_BADSIG), -1);
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, sizeof(q.b), T0,
				  TSIG_ERR_BADKEY), -1);
	CU_ASSERT_EQUAL(q.len, dp_sha1.query_body);
	CU_ASSERT_EQUAL(c.signed_count, 0);
}

static void test_sign_without_room_changes_nothing(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q, orig;
	size_t full;

	key_of(&dp_sha1.key, &k);
	tsig_ctx_init(&c, &k);
	from_hex(&q, dp_sha1.query);
	full = q.len;
	body_of(&orig, dp_sha1.query, dp_sha1.query_body);
	q = orig;
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, full - 1, T0, 0), -1);
	CU_ASSERT(q.len == orig.len && memcmp(q.b, orig.b, q.len) == 0);
	CU_ASSERT_EQUAL(c.mac_len, 0);
	CU_ASSERT_EQUAL(c.signed_count, 0);
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, full, T0, 0), 0);
	CU_ASSERT(same(&q, dp_sha1.query));

	/* nor past the largest message */
	q = orig;
	q.len = 65535 - 40;
	CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, sizeof(q.b), T0, 0), -1);
	CU_ASSERT_EQUAL(q.len, 65535 - 40);
}

static void test_unsigned_request_is_unsigned_and_leaves_no_key(void)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;

	key_of(&dp_sha1.key, &k);
	tsig_ctx_init(&c, NULL);
	body_of(&q, dp_sha1.query, dp_sha1.query_body);
	CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_UNSIGNED);
	CU_ASSERT_PTR_NULL(c.key);
	CU_ASSERT_PTR_NULL(c.running);
	CU_ASSERT_EQUAL(q.len, dp_sha1.query_body);
}

/* ---- malformed messages ---------------------------------------------------- */

/* The sha256 query verified by a server after change() altered it. */
static enum tsig_result served_after(void (*change)(struct msg *q, size_t at))
{
	const struct dp_exchange *e = &dp_sha256;
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;
	enum tsig_result r;

	key_of(&e->key, &k);
	tsig_ctx_init(&c, NULL);
	from_hex(&q, e->query);
	change(&q, e->query_body);
	r = verify(&c, &k, 1, &q, T0);
	tsig_ctx_free(&c);
	return r;
}

static void add_a_after(struct msg *q, size_t at)
{
	static const uint8_t a[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60,
				     0, 4, 192, 0, 2, 1 };

	(void)at;
	memcpy(q->b + q->len, a, sizeof(a));
	q->len += sizeof(a);
	dns_put16(q->b + 10, dns_get16(q->b + 10) + 1u);
}

static void tsig_twice(struct msg *q, size_t at)
{
	size_t n = q->len - at;

	memcpy(q->b + q->len, q->b + at, n);
	q->len += n;
	dns_put16(q->b + 10, 2);
}

static void tsig_as_answer(struct msg *q, size_t at)
{
	(void)at;
	dns_put16(q->b + 6, 1);
	dns_put16(q->b + 10, 0);
}

static void tsig_as_authority(struct msg *q, size_t at)
{
	(void)at;
	dns_put16(q->b + 8, 1);
	dns_put16(q->b + 10, 0);
}

static void arcount_zero(struct msg *q, size_t at)
{
	(void)at;
	dns_put16(q->b + 10, 0);
}

static void arcount_two(struct msg *q, size_t at)
{
	(void)at;
	dns_put16(q->b + 10, 2);
}

static void trailing_byte(struct msg *q, size_t at)
{
	(void)at;
	q->b[q->len++] = 0;
}

/* RDLENGTH of the TSIG, one more or one less than its rdata. */
static void rdlen_plus(struct msg *q, size_t at)
{
	size_t rd = at + dns_name_len(q->b + at, 255) + 8;

	dns_put16(q->b + rd, dns_get16(q->b + rd) + 1u);
}

static void rdlen_minus(struct msg *q, size_t at)
{
	size_t rd = at + dns_name_len(q->b + at, 255) + 8;

	dns_put16(q->b + rd, dns_get16(q->b + rd) - 1u);
}

static void mac_size_huge(struct msg *q, size_t at)
{
	dns_put16(q->b + mac_size_at(q, at), 0xffff);
}

static void mac_size_past_rdata(struct msg *q, size_t at)
{
	size_t sz = mac_size_at(q, at);

	/* fits the message but leaves no room for the fields after it */
	dns_put16(q->b + sz, dns_get16(q->b + sz) + 3u);
}

static void other_len_one(struct msg *q, size_t at)
{
	(void)at;
	dns_put16(q->b + q->len - 2, 1);
}

static void other_len_short(struct msg *q, size_t at)
{
	/* two bytes of other data that the length does not count */
	size_t rd = at + dns_name_len(q->b + at, 255) + 8;

	q->b[q->len++] = 0xaa;
	q->b[q->len++] = 0xbb;
	dns_put16(q->b + rd, dns_get16(q->b + rd) + 2u);
}

static void class_in(struct msg *q, size_t at)
{
	dns_put16(q->b + at + dns_name_len(q->b + at, 255) + 2, DNS_CLASS_IN);
}

static void ttl_one(struct msg *q, size_t at)
{
	q->b[at + dns_name_len(q->b + at, 255) + 7] = 1;
}

static void alg_name_unterminated(struct msg *q, size_t at)
{
	size_t alg = at + dns_name_len(q->b + at, 255) + 10;

	q->b[alg] = 63;		/* "hmac-sha256" claims 63 bytes */
}

static void owner_extended_label(struct msg *q, size_t at)
{
	q->b[at] = 0x41;
}

static void test_malformed_tsig_records_are_formerr(void)
{
	static const struct {
		const char *what;
		void (*change)(struct msg *, size_t);
	} cases[] = {
		{ "a record after the TSIG", add_a_after },
		{ "two TSIGs", tsig_twice },
		{ "TSIG in the answer section", tsig_as_answer },
		{ "TSIG in the authority section", tsig_as_authority },
		{ "ARCOUNT 0 with the TSIG bytes after", arcount_zero },
		{ "ARCOUNT 2 with one record", arcount_two },
		{ "a byte after the TSIG", trailing_byte },
		{ "RDLENGTH past the message", rdlen_plus },
		{ "RDLENGTH short of the rdata", rdlen_minus },
		{ "MAC size 65535", mac_size_huge },
		{ "MAC size past the rdata", mac_size_past_rdata },
		{ "other len past the rdata", other_len_one },
		{ "other data past other len", other_len_short },
		{ "class IN", class_in },
		{ "TTL 1", ttl_one },
		{ "algorithm name past the rdata", alg_name_unterminated },
		{ "extended label type in the owner", owner_extended_label },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tsig_result r = served_after(cases[i].change);

		if (r != TSIG_FORMERR)
			printf("\n  %s: %s\n", cases[i].what,
			       tsig_result_str(r));
		CU_ASSERT_EQUAL(r, TSIG_FORMERR);
	}
}

static void test_every_truncation_of_a_signed_message_is_formerr(void)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		struct tsig_key k;
		struct msg full, q;

		key_of(&dp_algs[i]->key, &k);
		from_hex(&full, dp_algs[i]->query);
		for (size_t n = 0; n < full.len; n++) {
			struct tsig_ctx c;

			tsig_ctx_init(&c, NULL);
			memcpy(q.b, full.b, n);
			q.len = n;
			CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, T0), TSIG_FORMERR);
			tsig_ctx_free(&c);
		}
	}
}

/* The owner of dp_cmp's TSIG is "\3xfr" then a pointer to the question
 * name at 12; point it elsewhere. */
static enum tsig_result cmp_owner_pointing_at(size_t to)
{
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg q;
	enum tsig_result r;

	key_of(&dp_cmp.key, &k);
	tsig_ctx_init(&c, NULL);
	from_hex(&q, dp_cmp.query);
	CU_ASSERT_FATAL(q.b[dp_cmp.query_body + 4] == 0xc0 &&
			q.b[dp_cmp.query_body + 5] == 12);
	dns_put16(q.b + dp_cmp.query_body + 4, 0xc000u | (unsigned)to);
	r = verify(&c, &k, 1, &q, T0);
	tsig_ctx_free(&c);
	return r;
}

static void test_compression_loops_and_forward_pointers_are_formerr(void)
{
	size_t own = dp_cmp.query_body;

	CU_ASSERT_EQUAL(cmp_owner_pointing_at(12), TSIG_OK);
	/* to its own start: "xfr" then the same pointer again, forever */
	CU_ASSERT_EQUAL(cmp_owner_pointing_at(own), TSIG_FORMERR);
	/* to itself */
	CU_ASSERT_EQUAL(cmp_owner_pointing_at(own + 4), TSIG_FORMERR);
	/* forward, into the rdata */
	CU_ASSERT_EQUAL(cmp_owner_pointing_at(own + 16), TSIG_FORMERR);
	/* past the message */
	CU_ASSERT_EQUAL(cmp_owner_pointing_at(0x3fff), TSIG_FORMERR);
	/* into the header: a name of nonsense, but one that ends */
	CU_ASSERT_NOT_EQUAL(cmp_owner_pointing_at(3), TSIG_OK);
	/* to "com": another name, a key we do not have */
	CU_ASSERT_EQUAL(cmp_owner_pointing_at(20), TSIG_BADKEY);
}

static void test_two_pointers_pointing_at_each_other_are_formerr(void)
{
	/* The question name is a pointer to the TSIG owner, whose pointer
	 * leads back to the question: a loop through two names. */
	static const uint8_t m0[] = {
		0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1,
		0xc0, 18, 0, 6, 0, 1,			/* question at 12 */
		1, 'a', 0xc0, 12,			/* owner at 18 */
		0, 250, 0, 255, 0, 0, 0, 0, 0, 22,	/* TSIG ANY 0 */
		4, 'h', 'm', 'a', 'c', 0,		/* not even known */
		0, 0, 0x65, 0x53, 0xf1, 0, 1, 44,	/* time, fudge */
		0, 0, 0x12, 0x34, 0, 0, 0, 0,		/* no MAC */
	};
	struct tsig_ctx c;
	struct tsig_key k;
	struct msg m;

	key_of(&dp_sha1.key, &k);
	tsig_ctx_init(&c, NULL);
	memcpy(m.b, m0, sizeof(m0));
	m.len = sizeof(m0);
	CU_ASSERT_EQUAL(verify(&c, &k, 1, &m, T0), TSIG_FORMERR);
	/* the same with the owner's pointer at the question's start is a
	 * loop through one name */
	m.b[21] = 18;
	CU_ASSERT_EQUAL(verify(&c, &k, 1, &m, T0), TSIG_FORMERR);
	tsig_ctx_free(&c);
}

static void test_random_mutations_never_crash(void)
{
	const char *const sources[] = {
		dp_md5.query, dp_sha256.response, dp_cmp.query, dp_tr1.query,
		dp_gap.msgs[0].hex, dp_gap.msgs[1].hex, dp_axfr.msgs[2].hex,
	};
	struct tsig_key keys[N_ALGS + 2];
	uint64_t rng = 0x7469736967ull;
	unsigned counts[TSIG_PEER_ERROR + 1] = { 0 };

	for (size_t i = 0; i < N_ALGS; i++)
		key_of(&dp_algs[i]->key, &keys[i]);
	key_of(&dp_cmp.key, &keys[N_ALGS]);
	key_of(&dp_gap.key, &keys[N_ALGS + 1]);
	for (unsigned n = 0; n < 20000; n++) {
		struct msg m;
		struct tsig_ctx c;
		size_t src = rng_next(&rng) % (sizeof(sources) / sizeof(*sources));
		unsigned flips = 1 + rng_next(&rng) % 4;

		from_hex(&m, sources[src]);
		for (unsigned f = 0; f < flips; f++) {
			size_t at = rng_next(&rng) % m.len;
			uint64_t v = rng_next(&rng);

			/* mostly near the TSIG at the end, where lengths are */
			if (v & 1)
				at = m.len - 1 - at % (m.len < 40 ? m.len : 40);
			m.b[at] = (v & 6) ? (uint8_t)(v >> 8) : m.b[at] ^ 0xff;
		}
		if (rng_next(&rng) % 4 == 0)
			m.len -= rng_next(&rng) % m.len;
		size_t len = m.len;
		bool as_client = rng_next(&rng) & 1;

		tsig_ctx_init(&c, as_client ? &keys[rng_next(&rng) % N_ALGS]
					    : NULL);
		if (as_client) {
			c.mac_len = 32;
			c.signed_count = 1 + rng_next(&rng) % 3;
		}
		enum tsig_result r = verify(&c, keys, N_ALGS + 2, &m, T0);
		CU_ASSERT(r >= TSIG_OK && r <= TSIG_PEER_ERROR);
		CU_ASSERT(m.len <= len);
		if (r != TSIG_OK && r != TSIG_BADTIME && r != TSIG_PEER_ERROR)
			CU_ASSERT_EQUAL(m.len, len);
		counts[r]++;
		tsig_ctx_free(&c);
	}
	/* the mutations reached the checks, not only the parser */
	CU_ASSERT(counts[TSIG_FORMERR] > 1000);
	CU_ASSERT(counts[TSIG_BADSIG] > 100);
	CU_ASSERT(counts[TSIG_BADKEY] > 100);
}

/* ---- ldns, live ------------------------------------------------------------ */

/* What ldns 1.8 signs, by the names it takes: it has no hmac-sha224 and
 * knows hmac-sha384 only misspelt, so those two rest on dnspython. */
static const struct {
	const char *name;
	const struct dp_exchange *e;	/* for the key */
} ldns_algs[] = {
	{ "hmac-md5.sig-alg.reg.int.", &dp_md5 },
	{ "hmac-sha1.", &dp_sha1 },
	{ "hmac-sha256.", &dp_sha256 },
	{ "hmac-sha512.", &dp_sha512 },
};

#define N_LDNS (sizeof(ldns_algs) / sizeof(ldns_algs[0]))

static void pkt_to_msg(ldns_pkt *p, struct msg *m)
{
	uint8_t *w = NULL;
	size_t n = 0;

	CU_ASSERT_FATAL(ldns_pkt2wire(&w, p, &n) == LDNS_STATUS_OK &&
			n <= sizeof(m->b));
	memcpy(m->b, w, n);
	m->len = n;
	free(w);
}

static ldns_rdf *mac_rdf(const uint8_t *mac, size_t len)
{
	uint8_t copy[TSIG_MAX_MAC];

	memcpy(copy, mac, len);
	return ldns_native2rdf_int16_data(len, copy);
}

/* A query for example.com SOA, or an answer to `mac` (one after `mac` in
 * a transfer, timers only), with an A record `n`, signed by ldns now. */
static void ldns_signed(const char *alg, const struct key_text *kt,
			uint16_t id, const uint8_t *mac, size_t mac_len,
			bool timers_only, unsigned n, struct msg *m)
{
	ldns_pkt *p = NULL;
	ldns_rdf *prior = mac ? mac_rdf(mac, mac_len) : NULL;
	ldns_rr *rr = NULL;
	char text[80];

	CU_ASSERT_FATAL(ldns_pkt_query_new_frm_str(&p, "example.com.",
			LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0) == LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	if (mac) {
		ldns_pkt_set_qr(p, true);
		snprintf(text, sizeof(text), "h%u.example.com. 60 IN A 192.0.2.%u",
			 n, n);
		CU_ASSERT_FATAL(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) ==
				LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	CU_ASSERT_FATAL(ldns_pkt_tsig_sign_next(p, kt->name, kt->secret,
			TSIG_FUDGE, alg, prior, timers_only) == LDNS_STATUS_OK);
	pkt_to_msg(p, m);
	ldns_rdf_deep_free(prior);
	ldns_pkt_free(p);
}

/* Whether ldns verifies m as signed over the MAC before it. */
static bool ldns_verifies(const struct msg *m, const struct key_text *kt,
			  const uint8_t *prior, size_t prior_len,
			  bool timers_only)
{
	ldns_rdf *mac = prior ? mac_rdf(prior, prior_len) : NULL;
	ldns_pkt *p = NULL;
	bool ok;

	ok = ldns_wire2pkt(&p, m->b, m->len) == LDNS_STATUS_OK &&
	     ldns_pkt_tsig_verify_next(p, m->b, m->len, kt->name, kt->secret,
				       mac, timers_only);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(mac);
	return ok;
}

/* The verified query made into an answer: QR and AA, record n added. */
static void answer_of(struct msg *m, unsigned n)
{
	const uint8_t a[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
			      192, 0, 2, (uint8_t)n };

	dns_put16(m->b + 2, dns_get16(m->b + 2) | DNS_F_QR | DNS_F_AA);
	memcpy(m->b + m->len, a, sizeof(a));
	m->len += sizeof(a);
	dns_put16(m->b + 6, dns_get16(m->b + 6) + 1u);
}

static void test_query_signed_by_ldns_verifies(void)
{
	for (size_t i = 0; i < N_LDNS; i++) {
		const struct key_text *kt = &ldns_algs[i].e->key;
		uint64_t now = (uint64_t)time(NULL);
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q;

		key_of(kt, &k);
		tsig_ctx_init(&c, NULL);
		ldns_signed(ldns_algs[i].name, kt, 0x5151, NULL, 0, false, 0,
			    &q);
		CU_ASSERT_EQUAL(verify(&c, &k, 1, &q, now), TSIG_OK);
		CU_ASSERT_EQUAL(dns_get16(q.b + 10), 0);
		tsig_ctx_free(&c);
	}
}

static void test_response_we_sign_verifies_in_ldns(void)
{
	for (size_t i = 0; i < N_LDNS; i++) {
		const struct key_text *kt = &ldns_algs[i].e->key;
		uint64_t now = (uint64_t)time(NULL);
		uint8_t req[TSIG_MAX_MAC];
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg m;
		size_t req_len;

		key_of(kt, &k);
		tsig_ctx_init(&c, NULL);
		ldns_signed(ldns_algs[i].name, kt, 0x5152, NULL, 0, false, 0,
			    &m);
		CU_ASSERT_EQUAL_FATAL(verify(&c, &k, 1, &m, now), TSIG_OK);
		memcpy(req, c.mac, c.mac_len);
		req_len = c.mac_len;
		answer_of(&m, 1);
		CU_ASSERT_EQUAL(tsig_sign(&c, m.b, &m.len, sizeof(m.b), now, 0),
				0);
		CU_ASSERT(ldns_verifies(&m, kt, req, req_len, false));
		/* and ldns is no pushover: a changed answer fails */
		m.b[13] ^= 1;
		CU_ASSERT_FALSE(ldns_verifies(&m, kt, req, req_len, false));
		tsig_ctx_free(&c);
	}
}

static void test_transfer_we_sign_verifies_in_ldns(void)
{
	for (size_t i = 0; i < N_LDNS; i++) {
		const struct key_text *kt = &ldns_algs[i].e->key;
		uint64_t now = (uint64_t)time(NULL);
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q, m;

		key_of(kt, &k);
		tsig_ctx_init(&c, NULL);
		ldns_signed(ldns_algs[i].name, kt, 0x5153, NULL, 0, false, 0,
			    &q);
		CU_ASSERT_EQUAL_FATAL(verify(&c, &k, 1, &q, now), TSIG_OK);
		for (unsigned j = 0; j < 4; j++) {
			uint8_t prior[TSIG_MAX_MAC];
			size_t prior_len = c.mac_len;

			memcpy(prior, c.mac, prior_len);
			m = q;
			answer_of(&m, j);
			CU_ASSERT_EQUAL(tsig_sign(&c, m.b, &m.len, sizeof(m.b),
						  now, 0), 0);
			CU_ASSERT(ldns_verifies(&m, kt, prior, prior_len,
						j > 0));
		}
		tsig_ctx_free(&c);
	}
}

static void test_transfer_signed_by_ldns_verifies(void)
{
	for (size_t i = 0; i < N_LDNS; i++) {
		const struct key_text *kt = &ldns_algs[i].e->key;
		uint64_t now = (uint64_t)time(NULL);
		struct tsig_key k;
		struct tsig_ctx c;
		struct msg q, m;

		key_of(kt, &k);
		tsig_ctx_init(&c, &k);
		body_of(&q, ldns_algs[i].e->query, ldns_algs[i].e->query_body);
		CU_ASSERT_EQUAL(tsig_sign(&c, q.b, &q.len, sizeof(q.b), now, 0),
				0);
		for (unsigned j = 0; j < 4; j++) {
			ldns_signed(ldns_algs[i].name, kt, dns_get16(q.b),
				    c.mac, c.mac_len, j > 0, j, &m);
			CU_ASSERT_EQUAL(verify(&c, NULL, 0, &m, now), TSIG_OK);
		}
		CU_ASSERT_EQUAL(c.signed_count, 5);
		tsig_ctx_free(&c);
	}
}

static void test_badtime_answer_we_sign_verifies_in_ldns(void)
{
	const struct key_text *kt = &dp_sha256.key;
	uint64_t now = (uint64_t)time(NULL);
	uint8_t req[TSIG_MAX_MAC];
	struct tsig_key k;
	struct tsig_ctx c;
	struct msg m;

	key_of(kt, &k);
	tsig_ctx_init(&c, NULL);
	ldns_signed("hmac-sha256.", kt, 0x5154, NULL, 0, false, 0, &m);
	CU_ASSERT_EQUAL_FATAL(verify(&c, &k, 1, &m, now + 3600),
			      TSIG_BADTIME);
	memcpy(req, c.mac, c.mac_len);
	answer_of(&m, 1);
	CU_ASSERT_EQUAL(tsig_sign(&c, m.b, &m.len, sizeof(m.b), now + 3600,
				  TSIG_ERR_BADTIME), 0);
	/* ldns digests error and other data: the server's time is covered */
	CU_ASSERT(ldns_verifies(&m, kt, req, 32, false));
	m.b[m.len - 1] ^= 1;
	CU_ASSERT_FALSE(ldns_verifies(&m, kt, req, 32, false));
	tsig_ctx_free(&c);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_alg_names_take_aliases_any_case_and_final_dot),
		T(test_key_name_is_lowercase_wire_form_with_text),
		T(test_key_init_refuses_malformed_names),
		T(test_key_init_refuses_invalid_base64_and_empty_secret),
		T(test_query_signed_by_dnspython_verifies_for_every_algorithm),
		T(test_response_we_sign_matches_dnspython_byte_for_byte),
		T(test_query_we_sign_matches_dnspython_byte_for_byte),
		T(test_response_signed_by_dnspython_verifies),
		T(test_response_to_another_query_is_badsig),
		T(test_compressed_tsig_owner_is_accepted),
		T(test_transfer_signed_by_dnspython_verifies_message_by_message),
		T(test_unsigned_middle_messages_covered_by_next_signed),
		T(test_ninety_nine_unsigned_messages_in_a_row_verify),
		T(test_transfer_we_sign_matches_dnspython_byte_for_byte),
		T(test_altered_unsigned_message_fails_the_next_signed),
		T(test_dropped_unsigned_message_fails_the_next_signed),
		T(test_swapped_signed_messages_are_badsig),
		T(test_hundredth_unsigned_message_refused),
		T(test_unsigned_first_answer_is_refused),
		T(test_truncated_mac_at_minimum_verifies_and_answer_signs_over_it),
		T(test_truncated_mac_below_minimum_is_refused),
		T(test_mac_longer_than_the_hash_is_formerr),
		T(test_empty_mac_in_a_request_is_badsig),
		T(test_flipped_mac_byte_is_badsig),
		T(test_flipped_message_or_variable_byte_is_badsig),
		T(test_key_name_case_does_not_matter),
		T(test_new_id_verifies_through_original_id),
		T(test_time_outside_fudge_is_badtime),
		T(test_forged_time_is_badsig_not_badtime),
		T(test_badtime_answer_signed_at_request_time_with_server_clock),
		T(test_unknown_key_is_badkey),
		T(test_key_and_mac_errors_are_answered_unsigned),
		T(test_append_error_refuses_request_without_good_tsig),
		T(test_sign_refuses_key_and_mac_errors_and_no_key),
		T(test_sign_without_room_changes_nothing),
		T(test_unsigned_request_is_unsigned_and_leaves_no_key),
		T(test_malformed_tsig_records_are_formerr),
		T(test_every_truncation_of_a_signed_message_is_formerr),
		T(test_compression_loops_and_forward_pointers_are_formerr),
		T(test_two_pointers_pointing_at_each_other_are_formerr),
		T(test_random_mutations_never_crash),
		T(test_query_signed_by_ldns_verifies),
		T(test_response_we_sign_verifies_in_ldns),
		T(test_transfer_we_sign_verifies_in_ldns),
		T(test_transfer_signed_by_ldns_verifies),
		T(test_badtime_answer_we_sign_verifies_in_ldns),
#undef T
	};
	return h_run("tsig", tests, sizeof(tests) / sizeof(tests[0]));
}
