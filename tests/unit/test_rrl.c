/* Response rate limiting: accounts, debt, slip, prefixes, classes, names,
 * exemptions, driven by a clock of the test's own. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <string.h>

#include "helpers.h"
#include "rrl.h"

static struct rrl_cfg cfg(unsigned rate, unsigned slip, unsigned window)
{
	struct rrl_cfg c = { .enabled = true, .rate = rate, .slip = slip,
			     .window = window, .v4_bits = 24, .v6_bits = 56,
			     .table_size = 4096 };
	return c;
}

static const uint8_t NAME[] = "\3www\7example\3com";

static void v4(const char *text, uint8_t *a)
{
	CU_ASSERT_FATAL(inet_pton(AF_INET, text, a) == 1);
}

/* n responses at second now: how many passed, dropped, slipped. */
static void burst(struct rrl_table *t, const struct rrl_cfg *c,
		  const uint8_t *addr, bool v6, enum rrl_class cls,
		  const uint8_t *name, size_t name_len, unsigned n,
		  uint32_t now, unsigned out[3])
{
	out[0] = out[1] = out[2] = 0;
	for (unsigned i = 0; i < n; i++)
		out[rrl_check(t, c, addr, v6, cls, name, name_len, now)]++;
}

static void test_rate_then_slip_and_drop(void)
{
	struct rrl_table *t = rrl_new(4096);
	struct rrl_cfg c = cfg(10, 2, 5);
	uint8_t a[4];
	unsigned r[3];

	CU_ASSERT_FATAL(t != NULL);
	v4("192.0.2.7", a);
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 100, 1000, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 10);	/* the rate */
	CU_ASSERT_EQUAL(r[RRL_SLIP], 45);	/* every second limited one */
	CU_ASSERT_EQUAL(r[RRL_DROP], 45);
	/* Deep in debt (floor: window x rate = 50): one second's credit
	 * does not bring it back. */
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 1, 1001, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 0);
	/* After the window the account is whole again. */
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 10, 1010, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 10);
	/* slip 0: never TC; slip 1: every limited one TC. */
	c.slip = 0;
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 20, 2000, r);
	CU_ASSERT(r[RRL_PASS] == 10 && r[RRL_SLIP] == 0 && r[RRL_DROP] == 10);
	c.slip = 1;
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 20, 3000, r);
	CU_ASSERT(r[RRL_PASS] == 10 && r[RRL_SLIP] == 10 && r[RRL_DROP] == 0);
	rrl_free(t);
}

/* A steady client below the rate is never limited. */
static void test_steady_client_below_the_rate(void)
{
	struct rrl_table *t = rrl_new(4096);
	struct rrl_cfg c = cfg(20, 2, 15);
	uint8_t a[4];
	unsigned r[3], passed = 0;

	v4("198.51.100.1", a);
	for (uint32_t s = 0; s < 60; s++) {
		burst(t, &c, a, false, RRL_NXDOMAIN, NULL, 0, 19, 500 + s, r);
		passed += r[RRL_PASS];
	}
	CU_ASSERT_EQUAL(passed, 60 * 19);
	rrl_free(t);
}

static void test_prefixes_classes_names_and_exemptions(void)
{
	struct rrl_table *t = rrl_new(4096);
	struct rrl_cfg c = cfg(5, 0, 1);
	uint8_t a[4], b[4], d[4], six[16], six2[16];
	static const uint8_t UPPER[] = "\3WWW\7Example\3COM";
	static const uint8_t OTHER[] = "\4mail\7example\3com";
	unsigned r[3];

	v4("192.0.2.1", a);
	v4("192.0.2.200", b);		/* the same /24 */
	v4("192.0.3.1", d);		/* another */
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 5, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 5);
	burst(t, &c, b, false, RRL_ANSWER, NAME, sizeof(NAME), 1, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 0);	/* its /24's account */
	burst(t, &c, b, false, RRL_ANSWER, UPPER, sizeof(UPPER), 1, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 0);	/* names in any case */
	burst(t, &c, d, false, RRL_ANSWER, NAME, sizeof(NAME), 5, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 5);	/* another /24 */
	burst(t, &c, a, false, RRL_ANSWER, OTHER, sizeof(OTHER), 5, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 5);	/* another name */
	burst(t, &c, a, false, RRL_NXDOMAIN, NAME, sizeof(NAME), 5, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 5);	/* another class */
	/* NXDOMAINs share one account per prefix whatever the name. */
	burst(t, &c, a, false, RRL_NXDOMAIN, OTHER, sizeof(OTHER), 1, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 0);
	/* IPv6: /56. */
	CU_ASSERT_FATAL(inet_pton(AF_INET6, "2001:db8:0:100::1", six) == 1);
	CU_ASSERT_FATAL(inet_pton(AF_INET6, "2001:db8:0:1ff::9", six2) == 1);
	burst(t, &c, six, true, RRL_ERROR, NULL, 0, 5, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 5);
	burst(t, &c, six2, true, RRL_ERROR, NULL, 0, 1, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 0);
	CU_ASSERT_FATAL(inet_pton(AF_INET6, "2001:db8:0:200::1", six2) == 1);
	burst(t, &c, six2, true, RRL_ERROR, NULL, 0, 1, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 1);
	/* Exempt prefixes are never limited. */
	CU_ASSERT_EQUAL(rrl_prefix_parse("192.0.2.0/25", &c.exempt[0]), 0);
	c.n_exempt = 1;
	burst(t, &c, a, false, RRL_ANSWER, NAME, sizeof(NAME), 100, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 100);
	burst(t, &c, b, false, RRL_ANSWER, NAME, sizeof(NAME), 1, 10, r);
	CU_ASSERT_EQUAL(r[RRL_PASS], 0);	/* .200 is outside the /25 */
	rrl_free(t);
}

static void test_prefix_parse(void)
{
	struct rrl_prefix p;

	CU_ASSERT(rrl_prefix_parse("10.0.0.0/8", &p) == 0 && !p.v6 &&
		  p.bits == 8);
	CU_ASSERT(rrl_prefix_parse("2001:db8::/32", &p) == 0 && p.v6 &&
		  p.bits == 32);
	CU_ASSERT(rrl_prefix_parse("192.0.2.1", &p) == 0 && p.bits == 32);
	CU_ASSERT(rrl_prefix_parse("::1", &p) == 0 && p.bits == 128);
	CU_ASSERT(rrl_prefix_parse("10.0.0.0/33", &p) < 0);
	CU_ASSERT(rrl_prefix_parse("10.0.0.0/", &p) < 0);
	CU_ASSERT(rrl_prefix_parse("10.0.0/8", &p) < 0);
	CU_ASSERT(rrl_prefix_parse("host/8", &p) < 0);
	CU_ASSERT(rrl_prefix_parse("", &p) < 0);
	CU_ASSERT(rrl_new(1000) == NULL);	/* not a power of 2 */
}

int main(void)
{
	static const struct h_test tests[] = {
		{ "rate, then slip and drop, debt and window", test_rate_then_slip_and_drop },
		{ "a steady client below the rate", test_steady_client_below_the_rate },
		{ "prefixes, classes, names, exemptions", test_prefixes_classes_names_and_exemptions },
		{ "prefixes parsed", test_prefix_parse },
	};

	return h_run("rrl", tests, sizeof(tests) / sizeof(tests[0]));
}
