/* Unit tests for the node configuration: the YAML reader (yconf) and the
 * dataplane's node:/dataplane: sections read from real files, every error
 * naming its line and key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "dp.h"
#include "helpers.h"
#include "yconf.h"

static char dir[64];
static char path[128];

/* Write text to the test directory's node.yaml (made once per run). */
static const char *write_conf(const char *text)
{
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/ditto-test-conf-XXXXXX");
		if (!mkdtemp(dir)) {
			dir[0] = 0;
			return NULL;
		}
		snprintf(path, sizeof(path), "%s/node.yaml", dir);
	}
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

/* dp_conf_load() of text written to a file, which is removed again. */
static int load(const char *text, struct dp_conf *c, char *err, size_t errlen)
{
	const char *p = write_conf(text);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	err[0] = 0;
	rc = dp_conf_load(p, c, err, errlen);
	unlink(p);
	return rc;
}

/* The load fails with "<file>:<line>: " (or "<file>: " when line is 0) in
 * front of a message holding both words (NULL: not checked). */
static void expect_error_at(const char *text, unsigned line, const char *w1,
			    const char *w2, int src_line)
{
	struct dp_conf c;
	char err[512], want[256];
	int rc = load(text, &c, err, sizeof(err));
	bool ok;

	if (line)
		snprintf(want, sizeof(want), "%s:%u: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	ok = rc == -1 && strncmp(err, want, strlen(want)) == 0 &&
	     (!w1 || strstr(err, w1)) && (!w2 || strstr(err, w2));
	if (!ok || getenv("DITTO_TEST_DUMP"))
		printf("\n  line %d: rc %d, error \"%s\"; want \"%s...\" with "
		       "'%s' and '%s'\n", src_line, rc, err, want,
		       w1 ? w1 : "", w2 ? w2 : "");
	CU_assertImplementation(ok, (unsigned)src_line,
				"error with the line and the key", __FILE__,
				"", CU_FALSE);
}

#define expect_error(text, line, w1, w2)                                      \
	expect_error_at((text), (line), (w1), (w2), __LINE__)

/* The smallest file the dataplane takes; every test file starts from it. */
#define MINIMAL "dataplane:\n  service-addresses: [192.0.2.53]\n"

static const char full[] =
	"# a node of the anycast cloud\n"		/* 1 */
	"node:\n"
	"  identity: pop1.example.net\n"
	"  state-dir: /srv/ditto/state\n"
	"  management-addresses: [192.0.2.10]\n"	/* 5 */
	"  control-socket: /run/ditto/control.sock\n"
	"  socket-group: ditto\n"
	"  log-level: debug\n"
	"  metrics: 192.0.2.10@9153\n"
	"dataplane:\n"					/* 10 */
	"  socket: /run/ditto/dp.sock\n"
	"  socket-group: dittoctl\n"
	"  port: \"0000:3b:00.0\"\n"
	"  workers: 4\n"
	"  service-addresses:\n"			/* 15 */
	"    - 192.0.2.53\n"
	"    - \"2001:db8::53\"\n"
	"    - 198.51.100.53\n"
	"  service-port: 5353\n"
	"  edns-size: 1400\n"				/* 20 */
	"  exception-interface: dtap0\n"
	"  idle-sleep-us: 50\n"
	"  mbufs: 65535\n"
	"  rx-descriptors: 2048\n"
	"  tx-descriptors: 4096\n"			/* 25 */
	"  tcp:\n"
	"    enabled: false\n"
	"    max-connections: 500\n"
	"    max-connections-per-client: 8\n"
	"    idle-timeout-ms: 3000\n"			/* 30 */
	"    max-connection-time-ms: 60000\n"
	"    max-queries-per-connection: 100\n"
	"control:\n"
	"  primaries: [{ address: 192.0.2.1, tsig: k1 }]\n"
	"zones:\n"					/* 35 */
	"  - name: example.\n"
	"    primaries: [p1]\n";

/* ---- the dataplane's sections --------------------------------------------- */

static void test_full_file_fills_every_field(void)
{
	static const uint8_t v4a[4] = { 192, 0, 2, 53 };
	static const uint8_t v4b[4] = { 198, 51, 100, 53 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };
	struct dp_conf c;
	char err[512];

	memset(&c, 0xa5, sizeof(c));	/* nothing left from before */
	CU_ASSERT_EQUAL_FATAL(load(full, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.file, path);
	CU_ASSERT_STRING_EQUAL(c.identity, "pop1.example.net");
	CU_ASSERT_STRING_EQUAL(c.state_dir, "/srv/ditto/state");
	CU_ASSERT_STRING_EQUAL(c.socket, "/run/ditto/dp.sock");
	CU_ASSERT_STRING_EQUAL(c.socket_group, "dittoctl");
	CU_ASSERT_STRING_EQUAL(c.port_name, "0000:3b:00.0");
	CU_ASSERT_EQUAL(c.workers, 4);
	CU_ASSERT_EQUAL(c.n_service, 3);
	CU_ASSERT_STRING_EQUAL(c.service_text[0], "192.0.2.53");
	CU_ASSERT_STRING_EQUAL(c.service_text[1], "2001:db8::53");
	CU_ASSERT_STRING_EQUAL(c.service_text[2], "198.51.100.53");
	CU_ASSERT_EQUAL(c.service.n4, 2);
	CU_ASSERT_EQUAL(c.service.n6, 1);
	CU_ASSERT_EQUAL(memcmp(c.service.v4[0], v4a, 4), 0);
	CU_ASSERT_EQUAL(memcmp(c.service.v4[1], v4b, 4), 0);
	CU_ASSERT_EQUAL(memcmp(c.service.v6[0], v6, 16), 0);
	CU_ASSERT_EQUAL(c.service.port, 5353);
	CU_ASSERT_EQUAL(c.edns_size, 1400);
	CU_ASSERT_STRING_EQUAL(c.exception_if, "dtap0");
	CU_ASSERT_EQUAL(c.idle_sleep_us, 50);
	CU_ASSERT_EQUAL(c.mbufs, 65535);
	CU_ASSERT_EQUAL(c.rx_desc, 2048);
	CU_ASSERT_EQUAL(c.tx_desc, 4096);
	CU_ASSERT_FALSE(c.tcp);
	CU_ASSERT_EQUAL(c.tcp_max_conns, 500);
	CU_ASSERT_EQUAL(c.tcp_max_conns_per_client, 8);
	CU_ASSERT_EQUAL(c.tcp_idle_timeout_ms, 3000);
	CU_ASSERT_EQUAL(c.tcp_max_conn_time_ms, 60000);
	CU_ASSERT_EQUAL(c.tcp_max_queries, 100);
}

static void test_absent_keys_take_defaults(void)
{
	static const uint8_t zero_mac[6];
	struct dp_conf c;
	char err[512];

	memset(&c, 0xa5, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(load(MINIMAL, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.identity, "");
	CU_ASSERT_STRING_EQUAL(c.state_dir, "/var/lib/ditto");
	CU_ASSERT_STRING_EQUAL(c.socket, "/run/ditto/dataplane.sock");
	CU_ASSERT_STRING_EQUAL(c.socket_group, "");
	CU_ASSERT_STRING_EQUAL(c.port_name, "0");
	CU_ASSERT_STRING_EQUAL(c.exception_if, "ditto0");
	CU_ASSERT_EQUAL(c.workers, 1);
	CU_ASSERT_EQUAL(c.n_service, 1);
	CU_ASSERT_EQUAL(c.service.n4, 1);
	CU_ASSERT_EQUAL(c.service.n6, 0);
	CU_ASSERT_EQUAL(c.service.port, 53);
	CU_ASSERT_EQUAL(memcmp(c.service.mac, zero_mac, 6), 0);
	CU_ASSERT_EQUAL(c.edns_size, DITTO_EDNS_DEFAULT);
	CU_ASSERT_EQUAL(c.idle_sleep_us, 0);
	CU_ASSERT_EQUAL(c.mbufs, 16383);
	CU_ASSERT_EQUAL(c.rx_desc, 1024);
	CU_ASSERT_EQUAL(c.tx_desc, 1024);
	CU_ASSERT_TRUE(c.tcp);
	CU_ASSERT_EQUAL(c.tcp_max_conns, 1024);
	CU_ASSERT_EQUAL(c.tcp_max_conns_per_client, 64);
	CU_ASSERT_EQUAL(c.tcp_idle_timeout_ms, 10000);
	CU_ASSERT_EQUAL(c.tcp_max_conn_time_ms, 120000);
	CU_ASSERT_EQUAL(c.tcp_max_queries, 0);

	/* a tcp: section with one key leaves the others at their defaults */
	CU_ASSERT_EQUAL_FATAL(load(MINIMAL "  tcp:\n    max-connections: 7\n",
				   &c, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(c.tcp);
	CU_ASSERT_EQUAL(c.tcp_max_conns, 7);
	CU_ASSERT_EQUAL(c.tcp_max_conns_per_client, 64);
}

static void test_sections_other_than_node_and_dataplane_are_ignored(void)
{
	struct dp_conf c;
	char err[512];

	CU_ASSERT_EQUAL(load("control:\n"
			     "  not-a-dataplane-key: 1\n"
			     "  workers: banana\n"
			     "zones:\n"
			     "  - name: example.\n"
			     "  - [nested, [lists]]\n"
			     "acls: just a string\n"
			     "future-section: { a: { b: { c: 1 } } }\n"
			     MINIMAL, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.workers, 1);
	if (err[0])
		printf("\n  %s\n", err);
}

static void test_unknown_key_in_dataplane_names_key_and_line(void)
{
	expect_error(MINIMAL "  workers: 2\n  worker-count: 4\n", 4,
		     "unknown key 'worker-count'", "dataplane");
	/* a node: key in the wrong section */
	expect_error(MINIMAL "  identity: x\n", 3, "unknown key 'identity'",
		     "dataplane");
	/* a key that differs only in case */
	expect_error(MINIMAL "  Workers: 2\n", 3, "'Workers'", NULL);
	/* the key's line, not its value's */
	expect_error(MINIMAL "  workerz:\n    - 2\n", 3, "unknown key 'workerz'",
		     NULL);
}

static void test_unknown_key_in_dataplane_tcp_names_key_and_line(void)
{
	expect_error(MINIMAL
		     "  tcp:\n"
		     "    enabled: true\n"
		     "    max-conns: 5\n", 5, "unknown key 'max-conns'",
		     "dataplane.tcp");
}

static void test_unknown_key_in_node_names_key_and_line(void)
{
	expect_error("node:\n"
		     "  identity: a\n"
		     "  hostname: b\n"
		     MINIMAL, 3, "unknown key 'hostname'", "in node");
}

static void test_keys_of_control_in_node_are_accepted(void)
{
	struct dp_conf c;
	char err[512];

	CU_ASSERT_EQUAL(load("node:\n"
			     "  management-addresses: [192.0.2.1, \"::1\"]\n"
			     "  control-socket: /run/c.sock\n"
			     "  socket-group: g\n"
			     "  log-level: info\n"
			     "  metrics: 127.0.0.1@9153\n"
			     MINIMAL, &c, err, sizeof(err)), 0);
	if (err[0])
		printf("\n  %s\n", err);
}

static void test_duplicate_key_names_both_lines(void)
{
	expect_error(MINIMAL
		     "  workers: 2\n"
		     "  edns-size: 1400\n"
		     "  workers: 3\n", 5, "duplicate key 'workers'",
		     "first on line 3");
	expect_error(MINIMAL
		     "  tcp:\n"
		     "    enabled: true\n"
		     "    enabled: false\n", 5, "duplicate key 'enabled'",
		     "first on line 4");
	expect_error(MINIMAL "dataplane:\n  workers: 2\n", 3,
		     "duplicate key 'dataplane'", "first on line 1");
	expect_error("node:\n  identity: a\n  identity: b\n" MINIMAL, 3,
		     "duplicate key 'identity'", "first on line 2");
}

static void test_number_out_of_range_names_key_line_and_range(void)
{
	static const struct {
		const char *line;
		const char *range;
	} bad[] = {
		{ "  workers: 0\n", "from 1 to 64" },
		{ "  workers: 65\n", "from 1 to 64" },
		{ "  service-port: 0\n", "from 1 to 65535" },
		{ "  service-port: 65536\n", "from 1 to 65535" },
		{ "  edns-size: 511\n", "from 512 to 65535" },
		{ "  edns-size: 65536\n", "from 512 to 65535" },
		{ "  idle-sleep-us: 100001\n", "from 0 to 100000" },
		{ "  mbufs: 1022\n", "from 1023 to 4194304" },
		{ "  rx-descriptors: 63\n", "from 64 to 16384" },
		{ "  tx-descriptors: 16385\n", "from 64 to 16384" },
		/* beyond 64 bits: not taken modulo anything */
		{ "  workers: 18446744073709551617\n", "from 1 to 64" },
		{ "  service-port: 4294967349\n", "from 1 to 65535" },
	};
	char text[512], key[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "%s", bad[i].line);
		snprintf(key, sizeof(key), "%.*s:", (int)strcspn(bad[i].line + 2,
			 ":"), bad[i].line + 2);
		expect_error(text, 3, key, bad[i].range);
	}
	expect_error(MINIMAL "  tcp:\n    max-connections: 0\n", 4,
		     "max-connections:", "from 1 to 1000000");
	expect_error(MINIMAL "  tcp:\n    idle-timeout-ms: 9\n", 4,
		     "idle-timeout-ms:", "from 10 to 3600000");
	expect_error(MINIMAL "  tcp:\n    max-connection-time-ms: 86400001\n",
		     4, "max-connection-time-ms:", "from 0 to 86400000");
}

static void test_numbers_at_the_ends_of_their_range_are_taken(void)
{
	struct dp_conf c;
	char err[512];

	CU_ASSERT_EQUAL_FATAL(load(MINIMAL
				   "  workers: 64\n"
				   "  service-port: 65535\n"
				   "  edns-size: 512\n"
				   "  idle-sleep-us: 0\n"
				   "  mbufs: 4194304\n"
				   "  rx-descriptors: 64\n"
				   "  tx-descriptors: 16384\n"
				   "  tcp:\n"
				   "    max-connections: 1\n"
				   "    max-connections-per-client: 0\n"
				   "    idle-timeout-ms: 10\n"
				   "    max-queries-per-connection: 1000000000\n",
				   &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.workers, 64);
	CU_ASSERT_EQUAL(c.service.port, 65535);
	CU_ASSERT_EQUAL(c.edns_size, 512);
	CU_ASSERT_EQUAL(c.mbufs, 1u << 22);
	CU_ASSERT_EQUAL(c.rx_desc, 64);
	CU_ASSERT_EQUAL(c.tx_desc, 16384);
	CU_ASSERT_EQUAL(c.tcp_max_conns, 1);
	CU_ASSERT_EQUAL(c.tcp_max_conns_per_client, 0);
	CU_ASSERT_EQUAL(c.tcp_idle_timeout_ms, 10);
	CU_ASSERT_EQUAL(c.tcp_max_queries, 1000000000);

	/* leading zeros are still decimal */
	CU_ASSERT_EQUAL_FATAL(load(MINIMAL "  workers: 010\n", &c, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.workers, 10);
}

static void test_value_that_is_not_a_number_is_refused(void)
{
	static const char *const bad[] = {
		"four", "-1", "+4", "1.5", "0x10", "4k", "\"\"", "[4]",
		"{ n: 4 }", "1e2", "~",
	};
	char text[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "  workers: %s\n", bad[i]);
		expect_error(text, 3, "workers:", "expected a whole number");
	}
	/* the error is on the value's line, not the key's */
	expect_error(MINIMAL "  tcp:\n    max-connections:\n      - 1\n", 5,
		     "max-connections:", "expected a whole number");
}

static void test_value_that_is_not_a_bool_is_refused(void)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	struct dp_conf c;
	char text[512], err[512];

	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), MINIMAL "  tcp:\n    enabled: %s\n",
			 no[i]);
		CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), 0);
		CU_ASSERT_FALSE(c.tcp);
		snprintf(text, sizeof(text), MINIMAL "  tcp:\n    enabled: %s\n",
			 yes[i]);
		CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), 0);
		CU_ASSERT_TRUE(c.tcp);
	}
	expect_error(MINIMAL "  tcp:\n    enabled: 1\n", 4, "enabled:",
		     "true or false");
	expect_error(MINIMAL "  tcp:\n    enabled: maybe\n", 4, "enabled:",
		     "true or false");
}

static void test_section_that_is_not_a_mapping_is_refused(void)
{
	expect_error(MINIMAL "  tcp: off\n", 3, "dataplane.tcp",
		     "expected a mapping");
	expect_error("dataplane: [192.0.2.53]\n", 1, "dataplane",
		     "expected a mapping");
	expect_error("node: pop1\n" MINIMAL, 1, "node", "expected a mapping");
}

static void test_string_setting_too_long_or_empty_is_refused(void)
{
	expect_error(MINIMAL "  exception-interface: abcdefghijklmnop\n", 3,
		     "exception-interface:", "too long");
	expect_error(MINIMAL "  socket: \"\"\n", 3, "socket:",
		     "must not be empty");
	expect_error(MINIMAL "  port: [0, 1]\n", 3, "port:",
		     "expected a single value");

	char text[600];
	snprintf(text, sizeof(text), "node:\n  identity: %0256d\n" MINIMAL, 0);
	expect_error(text, 2, "identity:", "too long");

	/* 15 bytes is the most an interface name holds */
	struct dp_conf c;
	char err[512];
	CU_ASSERT_EQUAL(load(MINIMAL "  exception-interface: abcdefghijklmno\n",
			     &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.exception_if, "abcdefghijklmno");
}

/* ---- service addresses ------------------------------------------------------ */

static void test_service_addresses_missing_is_refused(void)
{
	expect_error("dataplane:\n  workers: 2\n", 0, "service-addresses",
		     "at least one");
}

static void test_service_addresses_empty_is_refused(void)
{
	expect_error("dataplane:\n  workers: 2\n  service-addresses: []\n", 3,
		     "service-addresses:", "non-empty list");
	/* a key with no value is an empty scalar, not a list */
	expect_error("dataplane:\n  service-addresses:\n  workers: 2\n", 2,
		     "service-addresses:", "expected a list");
}

static void test_service_addresses_scalar_is_refused(void)
{
	expect_error("dataplane:\n  service-addresses: 192.0.2.53\n", 2,
		     "service-addresses:", "expected a list");
	expect_error("dataplane:\n  service-addresses: { a: 192.0.2.53 }\n", 2,
		     "service-addresses:", "non-empty list");
}

static void test_service_address_that_is_bad_is_refused_on_its_line(void)
{
	expect_error("dataplane:\n"
		     "  service-addresses:\n"
		     "    - 192.0.2.53\n"
		     "    - 192.0.2.300\n", 4, "service-addresses:",
		     "'192.0.2.300'");
	expect_error("dataplane:\n"
		     "  service-addresses: [192.0.2.53, ns1.example.net]\n", 2,
		     "service-addresses:", "'ns1.example.net'");
	expect_error("dataplane:\n"
		     "  service-addresses:\n"
		     "    - \"2001:db8::53/64\"\n", 3, "service-addresses:",
		     "2001:db8::53/64");
	expect_error("dataplane:\n"
		     "  service-addresses:\n"
		     "    - [192.0.2.53]\n", 3, "service-addresses:", NULL);
}

static void test_service_address_listed_twice_is_refused(void)
{
	expect_error("dataplane:\n"
		     "  service-addresses:\n"
		     "    - 192.0.2.53\n"
		     "    - \"2001:db8::53\"\n"
		     "    - 192.0.2.53\n", 5, "service-addresses:",
		     "listed twice");
	/* the same address written another way is still the same address */
	expect_error("dataplane:\n"
		     "  service-addresses:\n"
		     "    - \"2001:db8::53\"\n"
		     "    - \"2001:DB8:0:0::53\"\n", 4, "service-addresses:",
		     "listed twice");
}

static void test_more_than_16_service_addresses_of_a_family_are_refused(void)
{
	char text[2048];
	size_t o;
	struct dp_conf c;
	char err[512];

	o = (size_t)snprintf(text, sizeof(text),
			     "dataplane:\n  service-addresses:\n");
	for (unsigned i = 0; i < PKT_MAX_SERVICE; i++) {
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "    - 192.0.2.%u\n", i + 1);
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "    - \"2001:db8::%u\"\n", i + 1);
	}
	CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.n_service, 2 * PKT_MAX_SERVICE);
	snprintf(text + o, sizeof(text) - o, "    - 192.0.2.200\n");
	expect_error(text, 2 + 2 * PKT_MAX_SERVICE + 1, "'192.0.2.200'",
		     "more than 16");
}

/* ---- the file as a whole ------------------------------------------------------ */

static void test_missing_dataplane_section_is_refused(void)
{
	expect_error("node:\n  identity: x\n", 0, "no dataplane: section",
		     NULL);
}

static void test_yaml_syntax_error_names_its_line(void)
{
	expect_error(MINIMAL "  workers: 4: 5\n", 3, NULL, NULL);
	expect_error(MINIMAL "  workers: 4\n  edns-size: [1232\n", 5, NULL,
		     NULL);
	expect_error(MINIMAL "  workers: \"4\n", 4, NULL, NULL);
}

static void test_anchors_and_aliases_are_refused(void)
{
	expect_error("dataplane: &dp\n  service-addresses: [192.0.2.53]\n", 1,
		     "anchors are not allowed", NULL);
	expect_error(MINIMAL "  workers: &w 4\n", 3, "anchors are not allowed",
		     NULL);
	expect_error("dataplane:\n  service-addresses: &s [192.0.2.53]\n", 2,
		     "anchors are not allowed", NULL);
	expect_error(MINIMAL "  workers: *w\n", 3, "aliases are not allowed",
		     NULL);
	expect_error("x: &a 4\n" MINIMAL "  workers: *a\n", 1,
		     "anchors are not allowed", NULL);
	expect_error(MINIMAL "  <<: *base\n", 3, "aliases are not allowed",
		     NULL);
	expect_error(MINIMAL "  &k workers: 2\n", 3, "a key must be plain text",
		     NULL);
}

static void test_tags_are_refused(void)
{
	expect_error(MINIMAL "  workers: !!int 4\n", 3, "tags are not allowed",
		     NULL);
	expect_error(MINIMAL "  tcp: !!map { enabled: true }\n", 3,
		     "tags are not allowed", NULL);
	expect_error("dataplane:\n  service-addresses: !x [192.0.2.53]\n", 2,
		     "tags are not allowed", NULL);
	expect_error(MINIMAL "  !!str workers: 2\n", 3,
		     "a key must be plain text", NULL);
}

static void test_file_that_is_a_list_is_refused(void)
{
	expect_error("- dataplane:\n    service-addresses: [192.0.2.53]\n", 1,
		     "must be a mapping", NULL);
	expect_error("just text\n", 1, "must be a mapping", NULL);
}

static void test_nonexistent_file_is_refused(void)
{
	struct dp_conf c;
	char err[512], p[200];

	CU_ASSERT_PTR_NOT_NULL_FATAL(write_conf(""));
	unlink(path);
	snprintf(p, sizeof(p), "%s/no-such.yaml", dir);
	CU_ASSERT_EQUAL(dp_conf_load(p, &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, p));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	/* a directory is not a configuration file either */
	CU_ASSERT_EQUAL(dp_conf_load(dir, &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
}

static void test_empty_file_is_refused_for_lack_of_dataplane(void)
{
	expect_error("", 0, "no dataplane: section", NULL);
	expect_error("# nothing here yet\n\n", 0, "no dataplane: section",
		     NULL);
}

/* ---- yconf itself --------------------------------------------------------------- */

static void test_yconf_tree_keeps_lines_of_keys_and_values(void)
{
	static const char text[] = "a: 1\n"
				   "b:\n"
				   "  - x\n"
				   "  - { c: y }\n"
				   "\n"
				   "d:\n"
				   "  e: \"z\"\n";
	char err[256];
	struct ynode *root = yconf_parse(text, strlen(text), "t", err,
					 sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL(root->kind, Y_MAP);
	CU_ASSERT_EQUAL(root->n, 3);
	CU_ASSERT_EQUAL(root->key_lines[0], 1);
	CU_ASSERT_EQUAL(root->key_lines[2], 6);

	const struct ynode *b = yconf_get(root, "b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->kind, Y_SEQ);
	CU_ASSERT_EQUAL(b->n, 2);
	CU_ASSERT_EQUAL(b->line, 3);
	CU_ASSERT_STRING_EQUAL(b->items[0]->str, "x");
	CU_ASSERT_EQUAL(b->items[1]->line, 4);
	CU_ASSERT_STRING_EQUAL(yconf_get(b->items[1], "c")->str, "y");

	const struct ynode *e = yconf_get(yconf_get(root, "d"), "e");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->line, 7);
	CU_ASSERT_STRING_EQUAL(e->str, "z");
	CU_ASSERT_PTR_NULL(yconf_get(root, "missing"));
	CU_ASSERT_PTR_NULL(yconf_get(b, "x"));	/* not a map */
	yconf_free(root);
}

static void test_yconf_readers_leave_output_alone_when_node_missing(void)
{
	uint64_t u = 77;
	bool b = true;
	const char *s = "kept";
	char err[64] = "";

	CU_ASSERT_EQUAL(yconf_uint(NULL, "f", "k", 0, 10, &u, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(yconf_bool(NULL, "f", "k", &b, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(yconf_str(NULL, "f", "k", &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(u, 77);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_STRING_EQUAL(s, "kept");
	CU_ASSERT_EQUAL(yconf_only(NULL, "f", "s", (const char *const[]){ NULL },
				   err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
}

static void test_yconf_uint_refuses_numbers_beyond_64_bits(void)
{
	static const char text[] = "max: 18446744073709551615\n"
				   "over: 18446744073709551616\n";
	char err[256] = "";
	uint64_t v = 0;
	struct ynode *root = yconf_parse(text, strlen(text), "t", err,
					 sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL(yconf_uint(yconf_get(root, "max"), "t", "max", 0,
				   UINT64_MAX, &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	v = 5;
	CU_ASSERT_EQUAL(yconf_uint(yconf_get(root, "over"), "t", "over", 0,
				   UINT64_MAX, &v, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(v, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t:2: over: expected a whole"));
	yconf_free(root);
}

static void test_yconf_refuses_second_document(void)
{
	static const char text[] = "a: 1\n---\nb: 2\n";
	char err[256];
	struct ynode *root = yconf_parse(text, strlen(text), "t", err,
					 sizeof(err));

	CU_ASSERT_PTR_NULL(root);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t:2: only one YAML document"));
	yconf_free(root);
}

static void test_yconf_refuses_deep_nesting(void)
{
	char text[400], err[256];
	size_t o = 0;
	struct ynode *root;

	/* 32 levels below the top mapping are fine, 33 are not */
	for (int i = 0; i < 32; i++)
		text[o++] = '[';
	for (int i = 0; i < 32; i++)
		text[o++] = ']';
	snprintf(text + o, sizeof(text) - o, "\n");
	char doc[500];
	snprintf(doc, sizeof(doc), "a: %s", text);
	root = yconf_parse(doc, strlen(doc), "t", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(root);
	yconf_free(root);

	snprintf(doc, sizeof(doc), "a: [%s]", text);
	root = yconf_parse(doc, strlen(doc), "t", err, sizeof(err));
	CU_ASSERT_PTR_NULL(root);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nested too deeply"));
	yconf_free(root);
}

static void test_yconf_refuses_key_that_is_not_plain_text(void)
{
	static const char text[] = "a: 1\n? [x, y]\n: 2\n";
	char err[256];
	struct ynode *root = yconf_parse(text, strlen(text), "t", err,
					 sizeof(err));

	CU_ASSERT_PTR_NULL(root);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t:2: a key must be plain text"));
	yconf_free(root);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_full_file_fills_every_field),
		T(test_absent_keys_take_defaults),
		T(test_sections_other_than_node_and_dataplane_are_ignored),
		T(test_unknown_key_in_dataplane_names_key_and_line),
		T(test_unknown_key_in_dataplane_tcp_names_key_and_line),
		T(test_unknown_key_in_node_names_key_and_line),
		T(test_keys_of_control_in_node_are_accepted),
		T(test_duplicate_key_names_both_lines),
		T(test_number_out_of_range_names_key_line_and_range),
		T(test_numbers_at_the_ends_of_their_range_are_taken),
		T(test_value_that_is_not_a_number_is_refused),
		T(test_value_that_is_not_a_bool_is_refused),
		T(test_section_that_is_not_a_mapping_is_refused),
		T(test_string_setting_too_long_or_empty_is_refused),
		T(test_service_addresses_missing_is_refused),
		T(test_service_addresses_empty_is_refused),
		T(test_service_addresses_scalar_is_refused),
		T(test_service_address_that_is_bad_is_refused_on_its_line),
		T(test_service_address_listed_twice_is_refused),
		T(test_more_than_16_service_addresses_of_a_family_are_refused),
		T(test_missing_dataplane_section_is_refused),
		T(test_yaml_syntax_error_names_its_line),
		T(test_anchors_and_aliases_are_refused),
		T(test_tags_are_refused),
		T(test_file_that_is_a_list_is_refused),
		T(test_nonexistent_file_is_refused),
		T(test_empty_file_is_refused_for_lack_of_dataplane),
		T(test_yconf_tree_keeps_lines_of_keys_and_values),
		T(test_yconf_readers_leave_output_alone_when_node_missing),
		T(test_yconf_uint_refuses_numbers_beyond_64_bits),
		T(test_yconf_refuses_second_document),
		T(test_yconf_refuses_deep_nesting),
		T(test_yconf_refuses_key_that_is_not_plain_text),
#undef T
	};
	int rc = h_run("conf", tests, sizeof(tests) / sizeof(tests[0]));

	if (dir[0]) {
		unlink(path);
		rmdir(dir);
	}
	return rc;
}
