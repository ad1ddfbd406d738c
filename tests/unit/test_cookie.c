/* DNS cookies (RFC 7873, RFC 9018): server cookies against the RFC's test
 * vector and one minted by Knot DNS 3.2.6 (mod-cookies, same secret),
 * cookies in answers, validation under rotation, age limits, malformed
 * options, BADCOOKIE. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <string.h>

#include "ditto/wire.h"
#include "helpers.h"

static void hex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		CU_ASSERT_FATAL(sscanf(h + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
}

static void secret_of(const char *h, uint64_t key[2])
{
	uint8_t b[16];

	hex(h, b, 16);
	key[0] = key[1] = 0;
	for (int i = 0; i < 8; i++) {
		key[0] |= (uint64_t)b[i] << (8 * i);
		key[1] |= (uint64_t)b[8 + i] << (8 * i);
	}
}

static void test_vectors(void)
{
	static const struct {
		const char *secret, *client_cookie, *ip, *server_cookie;
		uint32_t ts;
	} v[] = {
		/* RFC 9018 Appendix A.1 */
		{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
		  "198.51.100.100", "010000005cf79f111f8130c3eee29480",
		  1559731985 },
		/* Knot DNS 3.2.6 mod-cookies, secret 0x0001...0f, asked by
		 * kdig +cookie=2464c4abcf10c957 from 127.0.0.1 */
		{ "000102030405060708090a0b0c0d0e0f", "2464c4abcf10c957",
		  "127.0.0.1", "010000006b1028292aeb9d031b61ca88",
		  0x6b102829 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t key[2];
		uint8_t cc[8], ip[16], want[16], got[16];
		struct ditto_client cl = { .addr = ip, .addr_len = 4,
					   .now = v[i].ts };

		secret_of(v[i].secret, key);
		hex(v[i].client_cookie, cc, 8);
		hex(v[i].server_cookie, want, 16);
		CU_ASSERT_FATAL(inet_pton(AF_INET, v[i].ip, ip) == 1);
		ditto_server_cookie(key, cc, &cl, v[i].ts, got);
		CU_ASSERT(memcmp(got, want, 16) == 0);
	}
}

static struct ditto_zone_table *table(void)
{
	static struct ditto_zone_table *t;

	if (!t)
		t = h_table(h_image("$ORIGIN example.com.\n$TTL 300\n"
				    "@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
				    "ns A 192.0.2.1\nwww A 192.0.2.80\n",
				    NULL), NULL);
	return t;
}

static struct ditto_cookie_cfg ck;
static struct ditto_answer_cfg cfg;
static uint8_t addr[4] = { 192, 0, 2, 10 };
static struct ditto_client client = { .addr = addr, .addr_len = 4,
				      .now = 1700000000 };

/* Ask for www.example.com A with a COOKIE option of len bytes. */
static size_t ask(const uint8_t *cookie, size_t len, uint8_t *resp,
		  struct ditto_answer_info *info)
{
	uint8_t opt[4 + 64], q[512];
	struct h_query hq = { .id = 7, .qname = "www.example.com",
			      .qtype = DNS_T_A,
			      .edns = { .on = true, .payload = 1232,
					.options = opt,
					.options_len = 4 + len } };
	size_t qlen;

	dns_put16(opt, DNS_EDNS_COOKIE);
	dns_put16(opt + 2, (unsigned)len);
	memcpy(opt + 4, cookie, len);
	qlen = h_query_wire(&hq, q, sizeof(q));
	return ditto_answer_client(table(), &cfg, &client, q, qlen, resp, 1232,
				   0, info);
}

/* The COOKIE option of a response, or NULL. */
static const uint8_t *cookie_of(uint8_t *resp, size_t len, uint16_t *clen)
{
	struct h_resp r = { .wire = resp, .len = len };
	struct h_opt o;

	if (!h_opt(&r, &o) || !o.present)
		return NULL;
	return h_opt_option(&o, DNS_EDNS_COOKIE, clen);
}

static void setup(void)
{
	secret_of("000102030405060708090a0b0c0d0e0f", ck.secret);
	ck.have_previous = false;
	cfg = *h_cfg_default();
	cfg.cookies = &ck;
}

static void test_answers_carry_and_check_cookies(void)
{
	static const uint8_t cc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t resp[1232], got[24], bad[24];
	struct ditto_answer_info info;
	const uint8_t *c;
	uint16_t clen;
	size_t n;

	setup();
	/* A client cookie alone: the answer, and a server cookie. */
	n = ask(cc, 8, resp, &info);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(resp[3] & 0xf, DNS_R_NOERROR);
	CU_ASSERT_EQUAL(dns_get16(resp + 6), 1);
	CU_ASSERT((info.flags & DITTO_INFO_COOKIE) &&
		  !(info.flags & DITTO_INFO_COOKIE_OK));
	c = cookie_of(resp, n, &clen);
	CU_ASSERT_FATAL(c != NULL && clen == 24);
	CU_ASSERT(memcmp(c, cc, 8) == 0 && c[8] == 1 &&
		  dns_get32(c + 12) == client.now);
	memcpy(got, c, 24);
	/* Sent back: valid. */
	ask(got, 24, resp, &info);
	CU_ASSERT(info.flags & DITTO_INFO_COOKIE_OK);
	/* After a rotation the old secret is still taken... */
	ck.previous[0] = ck.secret[0];
	ck.previous[1] = ck.secret[1];
	ck.have_previous = true;
	secret_of("ffeeddccbbaa99887766554433221100", ck.secret);
	ask(got, 24, resp, &info);
	CU_ASSERT(info.flags & DITTO_INFO_COOKIE_OK);
	c = cookie_of(resp, ask(got, 24, resp, &info), &clen);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(memcmp(c + 8, got + 8, 16) != 0);	/* a new one, new secret */
	/* ...and forgotten with the next. */
	ck.have_previous = false;
	ask(got, 24, resp, &info);
	CU_ASSERT(!(info.flags & DITTO_INFO_COOKIE_OK));
	setup();
	/* Another client address, a changed hash, an old or future time. */
	addr[3] = 11;
	ask(got, 24, resp, &info);
	CU_ASSERT(!(info.flags & DITTO_INFO_COOKIE_OK));
	addr[3] = 10;
	memcpy(bad, got, 24);
	bad[23] ^= 1;
	ask(bad, 24, resp, &info);
	CU_ASSERT(!(info.flags & DITTO_INFO_COOKIE_OK));
	client.now += 3601;
	ask(got, 24, resp, &info);
	CU_ASSERT(!(info.flags & DITTO_INFO_COOKIE_OK));
	client.now -= 3601 + 301;
	ask(got, 24, resp, &info);
	CU_ASSERT(!(info.flags & DITTO_INFO_COOKIE_OK));
	client.now += 301;
	ask(got, 24, resp, &info);
	CU_ASSERT(info.flags & DITTO_INFO_COOKIE_OK);
	/* A server cookie of another form (an unknown version, another
	 * length within the limits) is not ours but not malformed. */
	memcpy(bad, got, 24);
	bad[8] = 2;
	n = ask(bad, 24, resp, &info);
	CU_ASSERT(n > 0 && (resp[3] & 0xf) == DNS_R_NOERROR &&
		  !(info.flags & DITTO_INFO_COOKIE_OK));
	n = ask(got, 16, resp, &info);
	CU_ASSERT(n > 0 && (resp[3] & 0xf) == DNS_R_NOERROR);
}

static void test_malformed_cookies_are_formerr(void)
{
	static const uint8_t junk[41] = { 0 };
	static const size_t lens[] = { 0, 1, 7, 9, 15, 41 };
	uint8_t resp[1232];
	struct ditto_answer_info info;

	setup();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = ask(junk, lens[i], resp, &info);

		CU_ASSERT(n > 0 && (resp[3] & 0xf) == DNS_R_FORMERR);
	}
}

static void test_off_and_badcookie(void)
{
	static const uint8_t cc[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	uint8_t resp[1232];
	struct ditto_answer_info info;
	uint16_t clen;
	size_t n;

	setup();
	cfg.cookies = NULL;	/* off: no COOKIE back */
	n = ask(cc, 8, resp, &info);
	CU_ASSERT(n > 0 && cookie_of(resp, n, &clen) == NULL);
	setup();
	n = ask(cc, 8, resp, &info);
	CU_ASSERT_FATAL(n > 0 && dns_get16(resp + 6) == 1);
	n = ditto_answer_to_badcookie(resp, n);
	CU_ASSERT_FATAL(n > 0);
	struct h_resp r = { .wire = resp, .len = n };
	struct h_opt o;

	/* BADCOOKIE is 23: 7 in the header, 1 in the OPT's extended rcode;
	 * the question, no answer, the cookie. */
	CU_ASSERT_EQUAL(resp[3] & 0xf, 23 & 0xf);
	CU_ASSERT(h_opt(&r, &o) && o.present && o.ext_rcode == 1);
	CU_ASSERT(dns_get16(resp + 4) == 1 && dns_get16(resp + 6) == 0 &&
		  dns_get16(resp + 8) == 0 && dns_get16(resp + 10) == 1);
	const uint8_t *c = h_opt_option(&o, DNS_EDNS_COOKIE, &clen);

	CU_ASSERT(c && clen == 24 && memcmp(c, cc, 8) == 0);
	/* An answer without a cookie is left alone. */
	cfg.cookies = NULL;
	n = ask(cc, 8, resp, &info);
	CU_ASSERT_EQUAL(ditto_answer_to_badcookie(resp, n), 0);
	CU_ASSERT_EQUAL(dns_get16(resp + 6), 1);
}

int main(void)
{
	static const struct h_test tests[] = {
		{ "server cookies: RFC 9018 and Knot DNS vectors", test_vectors },
		{ "answers carry and check cookies", test_answers_carry_and_check_cookies },
		{ "malformed cookies are FORMERR", test_malformed_cookies_are_formerr },
		{ "cookies off, and BADCOOKIE", test_off_and_badcookie },
	};

	return h_run("cookie", tests, sizeof(tests) / sizeof(tests[0]));
}
