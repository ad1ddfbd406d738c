/* Unit tests for ditto-control's configuration (cconf): real files read
 * whole, every error naming its line, and the ACL decisions on NOTIFY and
 * transfers. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cconf.h"
#include "helpers.h"

static char dir[64];
static char path[128];

/* Write text to the test directory's node.yaml (made once per run). */
static const char *write_conf(const char *text)
{
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/ditto-test-cconf-XXXXXX");
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

/* cconf_load() of text written to a file, which is removed again. */
static int load(const char *text, struct cconf **c, char *err, size_t errlen)
{
	const char *p = write_conf(text);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	err[0] = 0;
	rc = cconf_load(p, c, err, errlen);
	unlink(p);
	return rc;
}

/* The configuration of a file that must load; NULL (and a failure) if it
 * does not. */
static struct cconf *load_ok_at(const char *text, int src_line)
{
	struct cconf *c = NULL;
	char err[512];
	int rc = load(text, &c, err, sizeof(err));
	bool ok = rc == 0 && c;

	if (!ok)
		printf("\n  line %d: rc %d, error \"%s\"\n", src_line, rc, err);
	CU_assertImplementation(ok, (unsigned)src_line, "the file loads",
				__FILE__, "", CU_FALSE);
	return c;
}

#define load_ok(text) load_ok_at((text), __LINE__)

/* The load fails with "<file>:<line>: " (or "<file>: " when line is 0) in
 * front of a message holding both words (NULL: not checked), and leaves
 * no configuration. */
static void expect_error_at(const char *text, unsigned line, const char *w1,
			    const char *w2, int src_line)
{
	static struct cconf sentinel;
	struct cconf *c = &sentinel;
	char err[512], want[256];
	int rc = load(text, &c, err, sizeof(err));
	bool ok;

	if (line)
		snprintf(want, sizeof(want), "%s:%u: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	ok = rc == -1 && !c && strncmp(err, want, strlen(want)) == 0 &&
	     (!w1 || strstr(err, w1)) && (!w2 || strstr(err, w2));
	if (!ok || getenv("DITTO_TEST_DUMP"))
		printf("\n  line %d: rc %d, out %s, error \"%s\"; want \"%s...\" "
		       "with '%s' and '%s'\n", src_line, rc,
		       c ? "set" : "NULL", err, want, w1 ? w1 : "",
		       w2 ? w2 : "");
	CU_assertImplementation(ok, (unsigned)src_line,
				"error with the line and the key", __FILE__,
				"", CU_FALSE);
	if (c != &sentinel)
		cconf_free(c);
}

#define expect_error(text, line, w1, w2)                                      \
	expect_error_at((text), (line), (w1), (w2), __LINE__)

/* Whether a peer at text ("address" or "address@port") signed with key
 * may do action for domain. */
static bool may(const struct cconf *c, const char *domain,
		enum cconf_action action, const char *peer,
		const struct tsig_key *key)
{
	const struct cconf_zone *z = cconf_zone_find(c, domain);
	struct cconf_addr a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse(peer, 40000, &a), 0);
	return cconf_allowed(z, action, (const struct sockaddr *)&a.ss, key);
}

static uint16_t port_of(const struct cconf_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* a is the address text (in the family it is written in) and port. */
static bool addr_is(const struct cconf_addr *a, const char *text,
		    uint16_t port)
{
	uint8_t want[16];

	if (inet_pton(AF_INET, text, want) == 1)
		return a->ss.ss_family == AF_INET &&
		       a->len == sizeof(struct sockaddr_in) &&
		       memcmp(&((const struct sockaddr_in *)&a->ss)->sin_addr,
			      want, 4) == 0 && port_of(a) == port;
	if (inet_pton(AF_INET6, text, want) == 1)
		return a->ss.ss_family == AF_INET6 &&
		       a->len == sizeof(struct sockaddr_in6) &&
		       memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
			      want, 16) == 0 && port_of(a) == port;
	return false;
}

/* 24 bytes of "secret" and the 4 bytes of "key2", in base64. */
#define SECRET1 "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
#define SECRET2 "a2V5Mg=="

/* Two keys, seven lines. */
#define KEYS								\
	"keys:\n"							\
	"  - id: k1\n"							\
	"    algorithm: hmac-sha256\n"					\
	"    secret: " SECRET1 "\n"					\
	"  - id: k2\n"							\
	"    algorithm: hmac-sha256\n"					\
	"    secret: " SECRET2 "\n"

/* One remote, three lines: zones after it start on line 4. */
#define REMOTE_P1 "remotes:\n  - id: p1\n    address: 192.0.2.1\n"

/* ---- the file as written ------------------------------------------------ */

static const char full[] =
	"node:\n"						/* 1 */
	"  identity: pop1.example.net\n"
	"  state-dir: /srv/ditto\n"
	"  management-addresses: [10.53.0.2, \"fd53::2\", \"10.0.0.1@5353\"]\n"
	"  control-socket: /run/d/control.sock\n"		/* 5 */
	"  socket-group: ditto\n"
	"  log-level: debug\n"
	"  metrics: 10.53.0.2@9153\n"
	"dataplane:\n"
	"  socket: /run/d/dp.sock\n"				/* 10 */
	"  service-addresses: [192.0.2.53]\n"
	"  workers: 4\n"
	"  tcp:\n"
	"    enabled: false\n"
	"control:\n"						/* 15 */
	"  timers:\n"
	"    refresh-min: 30\n"
	"    refresh-max: 7200\n"
	"    retry-min: 5\n"
	"    retry-max: 600\n"					/* 20 */
	"    expire-min: 3600\n"
	"    expire-max: 1209600\n"
	"    jitter-percent: 25\n"
	"  transfers-per-primary: 2\n"
	"  transfers-total: 16\n"				/* 25 */
	"  transfer-timeout: 300\n"
	"  tcp-timeout: 20\n"
	"  max-transfer-bytes: 2147483648\n"
	"  max-zone-records: 5000000\n"
	"  journal-max-bytes: 1048576\n"			/* 30 */
	"  notify-retries: 3\n"
	"keys:\n"
	"  - id: xfr-key\n"
	"    algorithm: hmac-sha256\n"
	"    secret: " SECRET1 "\n"				/* 35 */
	"  - id: Other.Key.\n"
	"    algorithm: hmac-sha512\n"
	"    secret: " SECRET2 "\n"
	"remotes:\n"
	"  - id: primary1\n"					/* 40 */
	"    address: [10.53.0.1, \"fd53::1@5353\"]\n"
	"    key: xfr-key\n"
	"    via: 10.53.0.2\n"
	"  - id: primary2\n"
	"    address: 10.53.0.3@5300\n"				/* 45 */
	"  - id: secondary1\n"
	"    address: \"fd53::9\"\n"
	"    key: other.key\n"
	"acls:\n"
	"  - id: from-primary\n"				/* 50 */
	"    address: [10.53.0.0/24, \"fd53::/64\", 10.53.0.9]\n"
	"    key: xfr-key\n"
	"    action: [notify, transfer]\n"
	"  - id: to-secondaries\n"
	"    address: \"fd53::9\"\n"				/* 55 */
	"    action: transfer\n"
	"    deny: false\n"
	"  - id: block\n"
	"    action: notify\n"
	"    deny: true\n"					/* 60 */
	"zones:\n"
	"  - domain: Example.COM\n"
	"    primaries: [primary1, primary2]\n"
	"    notify-from: [from-primary]\n"
	"    allow-transfer: [to-secondaries, from-primary]\n"	/* 65 */
	"    notify: [secondary1]\n"
	"    ixfr: false\n"
	"    expire-edns: false\n"
	"  - domain: example.net.\n"
	"    primaries: primary2\n";				/* 70 */

static void test_full_file_fills_every_field(void)
{
	static const uint8_t xfr_key[] = "\7xfr-key";
	static const uint8_t other_key[] = "\5other\3key";
	static const uint8_t example_com[] = "\7example\3com";
	struct cconf *c = load_ok(full);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->file, path);
	CU_ASSERT_STRING_EQUAL(c->identity, "pop1.example.net");
	CU_ASSERT_STRING_EQUAL(c->state_dir, "/srv/ditto");
	CU_ASSERT_STRING_EQUAL(c->control_socket, "/run/d/control.sock");
	CU_ASSERT_STRING_EQUAL(c->socket_group, "ditto");
	CU_ASSERT_STRING_EQUAL(c->dataplane_socket, "/run/d/dp.sock");
	CU_ASSERT_STRING_EQUAL(c->metrics, "10.53.0.2@9153");
	CU_ASSERT_EQUAL(c->log_level, LOG_DEBUG);
	CU_ASSERT_EQUAL_FATAL(c->n_listen, 3);
	CU_ASSERT(addr_is(&c->listen[0], "10.53.0.2", 53));
	CU_ASSERT(addr_is(&c->listen[1], "fd53::2", 53));
	CU_ASSERT(addr_is(&c->listen[2], "10.0.0.1", 5353));
	CU_ASSERT_STRING_EQUAL(c->listen[2].text, "10.0.0.1@5353");

	CU_ASSERT_EQUAL(c->timers.refresh_min, 30);
	CU_ASSERT_EQUAL(c->timers.refresh_max, 7200);
	CU_ASSERT_EQUAL(c->timers.retry_min, 5);
	CU_ASSERT_EQUAL(c->timers.retry_max, 600);
	CU_ASSERT_EQUAL(c->timers.expire_min, 3600);
	CU_ASSERT_EQUAL(c->timers.expire_max, 1209600);
	CU_ASSERT_EQUAL(c->timers.jitter_percent, 25);
	CU_ASSERT_EQUAL(c->transfers_per_primary, 2);
	CU_ASSERT_EQUAL(c->transfers_total, 16);
	CU_ASSERT_EQUAL(c->transfer_timeout, 300);
	CU_ASSERT_EQUAL(c->tcp_timeout, 20);
	CU_ASSERT_EQUAL(c->max_transfer_bytes, 2147483648ull);
	CU_ASSERT_EQUAL(c->max_zone_records, 5000000);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 1048576);
	CU_ASSERT_EQUAL(c->notify_retries, 3);

	CU_ASSERT_EQUAL_FATAL(c->n_keys, 2);
	CU_ASSERT_EQUAL(c->keys[0].name_len, sizeof(xfr_key));
	CU_ASSERT_EQUAL(memcmp(c->keys[0].name, xfr_key, sizeof(xfr_key)), 0);
	CU_ASSERT_EQUAL(c->keys[0].alg, TSIG_HMAC_SHA256);
	CU_ASSERT_EQUAL(c->keys[0].secret_len, 24);
	CU_ASSERT_EQUAL(memcmp(c->keys[0].secret, "secretsecret", 12), 0);
	CU_ASSERT_EQUAL(c->keys[1].name_len, sizeof(other_key));
	CU_ASSERT_EQUAL(memcmp(c->keys[1].name, other_key, sizeof(other_key)),
			0);
	CU_ASSERT_EQUAL(c->keys[1].alg, TSIG_HMAC_SHA512);
	CU_ASSERT_EQUAL(c->keys[1].secret_len, 4);

	CU_ASSERT_EQUAL_FATAL(c->n_remotes, 3);
	const struct cconf_remote *p1 = &c->remotes[0], *p2 = &c->remotes[1];
	const struct cconf_remote *s1 = &c->remotes[2];

	CU_ASSERT_STRING_EQUAL(p1->id, "primary1");
	CU_ASSERT_EQUAL_FATAL(p1->n_addrs, 2);
	CU_ASSERT(addr_is(&p1->addrs[0], "10.53.0.1", 53));
	CU_ASSERT(addr_is(&p1->addrs[1], "fd53::1", 5353));
	CU_ASSERT_STRING_EQUAL(p1->addrs[1].text, "fd53::1@5353");
	CU_ASSERT_PTR_EQUAL(p1->key, &c->keys[0]);
	CU_ASSERT_TRUE(p1->have_via);
	CU_ASSERT(addr_is(&p1->via, "10.53.0.2", 0));
	CU_ASSERT_STRING_EQUAL(p2->id, "primary2");
	CU_ASSERT_EQUAL_FATAL(p2->n_addrs, 1);
	CU_ASSERT(addr_is(&p2->addrs[0], "10.53.0.3", 5300));
	CU_ASSERT_PTR_NULL(p2->key);
	CU_ASSERT_FALSE(p2->have_via);
	CU_ASSERT_PTR_EQUAL(s1->key, &c->keys[1]);

	CU_ASSERT_EQUAL_FATAL(c->n_acls, 3);
	const struct cconf_acl *fp = &c->acls[0], *ts = &c->acls[1];
	const struct cconf_acl *bl = &c->acls[2];

	CU_ASSERT_STRING_EQUAL(fp->id, "from-primary");
	CU_ASSERT_EQUAL_FATAL(fp->n_prefixes, 3);
	CU_ASSERT_EQUAL(fp->prefixes[0].family, AF_INET);
	CU_ASSERT_EQUAL(fp->prefixes[0].bits, 24);
	CU_ASSERT_EQUAL(memcmp(fp->prefixes[0].addr, "\x0a\x35\x00\x00", 4), 0);
	CU_ASSERT_EQUAL(fp->prefixes[1].family, AF_INET6);
	CU_ASSERT_EQUAL(fp->prefixes[1].bits, 64);
	CU_ASSERT_EQUAL(memcmp(fp->prefixes[1].addr, "\xfd\x53", 2), 0);
	CU_ASSERT_EQUAL(fp->prefixes[2].bits, 32);
	CU_ASSERT_PTR_EQUAL(fp->key, &c->keys[0]);
	CU_ASSERT_EQUAL(fp->actions, CCONF_NOTIFY | CCONF_TRANSFER);
	CU_ASSERT_FALSE(fp->deny);
	CU_ASSERT_EQUAL(ts->n_prefixes, 1);
	CU_ASSERT_EQUAL(ts->prefixes[0].bits, 128);
	CU_ASSERT_EQUAL(ts->actions, CCONF_TRANSFER);
	CU_ASSERT_PTR_NULL(ts->key);
	CU_ASSERT_EQUAL(bl->n_prefixes, 0);
	CU_ASSERT_EQUAL(bl->actions, CCONF_NOTIFY);
	CU_ASSERT_TRUE(bl->deny);

	CU_ASSERT_EQUAL_FATAL(c->n_zones, 2);
	const struct cconf_zone *z = &c->zones[0];

	CU_ASSERT_STRING_EQUAL(z->domain, "example.com.");
	CU_ASSERT_EQUAL(z->wire_len, sizeof(example_com));
	CU_ASSERT_EQUAL(memcmp(z->wire, example_com, sizeof(example_com)), 0);
	CU_ASSERT_EQUAL(z->line, 62);
	CU_ASSERT_EQUAL_FATAL(z->n_primaries, 2);
	CU_ASSERT_PTR_EQUAL(z->primaries[0], p1);
	CU_ASSERT_PTR_EQUAL(z->primaries[1], p2);
	CU_ASSERT_EQUAL_FATAL(z->n_notify_from, 1);
	CU_ASSERT_PTR_EQUAL(z->notify_from[0], fp);
	CU_ASSERT_EQUAL_FATAL(z->n_allow_transfer, 2);
	CU_ASSERT_PTR_EQUAL(z->allow_transfer[0], ts);
	CU_ASSERT_PTR_EQUAL(z->allow_transfer[1], fp);
	CU_ASSERT_EQUAL_FATAL(z->n_notify, 1);
	CU_ASSERT_PTR_EQUAL(z->notify[0], s1);
	CU_ASSERT_FALSE(z->ixfr);
	CU_ASSERT_FALSE(z->expire_edns);

	z = &c->zones[1];
	CU_ASSERT_STRING_EQUAL(z->domain, "example.net.");
	CU_ASSERT_EQUAL(z->line, 69);
	CU_ASSERT_EQUAL_FATAL(z->n_primaries, 1);
	CU_ASSERT_PTR_EQUAL(z->primaries[0], p2);
	CU_ASSERT_PTR_NULL(z->notify_from);
	CU_ASSERT_EQUAL(z->n_notify_from, 0);
	CU_ASSERT_PTR_NULL(z->allow_transfer);
	CU_ASSERT_EQUAL(z->n_allow_transfer, 0);
	CU_ASSERT_PTR_NULL(z->notify);
	CU_ASSERT_EQUAL(z->n_notify, 0);
	CU_ASSERT_TRUE(z->ixfr);
	CU_ASSERT_TRUE(z->expire_edns);
	cconf_free(c);
}

static void test_empty_file_takes_every_default(void)
{
	struct cconf *c = load_ok("");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->identity, "");
	CU_ASSERT_STRING_EQUAL(c->state_dir, "/var/lib/ditto");
	CU_ASSERT_STRING_EQUAL(c->control_socket, "/run/ditto/control.sock");
	CU_ASSERT_PTR_NULL(c->socket_group);
	CU_ASSERT_STRING_EQUAL(c->dataplane_socket,
			       "/run/ditto/dataplane.sock");
	CU_ASSERT_PTR_NULL(c->metrics);
	CU_ASSERT_EQUAL(c->log_level, LOG_INFO);
	/* no management address: ditto-control listens nowhere */
	CU_ASSERT_PTR_NULL(c->listen);
	CU_ASSERT_EQUAL(c->n_listen, 0);
	CU_ASSERT_EQUAL(c->timers.refresh_min, 2);
	CU_ASSERT_EQUAL(c->timers.refresh_max, 86400);
	CU_ASSERT_EQUAL(c->timers.retry_min, 1);
	CU_ASSERT_EQUAL(c->timers.retry_max, 3600);
	CU_ASSERT_EQUAL(c->timers.expire_min, 10);
	CU_ASSERT_EQUAL(c->timers.expire_max, 2419200);
	CU_ASSERT_EQUAL(c->timers.jitter_percent, 10);
	CU_ASSERT_EQUAL(c->transfers_per_primary, 4);
	CU_ASSERT_EQUAL(c->transfers_total, 64);
	CU_ASSERT_EQUAL(c->transfer_timeout, 120);
	CU_ASSERT_EQUAL(c->tcp_timeout, 10);
	CU_ASSERT_EQUAL(c->max_transfer_bytes, 1ull << 30);
	CU_ASSERT_EQUAL(c->max_zone_records, 10000000);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 16u << 20);
	CU_ASSERT_EQUAL(c->notify_retries, 5);
	CU_ASSERT_EQUAL(c->n_keys, 0);
	CU_ASSERT_EQUAL(c->n_remotes, 0);
	CU_ASSERT_EQUAL(c->n_acls, 0);
	CU_ASSERT_EQUAL(c->n_zones, 0);
	cconf_free(c);

	/* a timers: section with one key leaves the others alone */
	c = load_ok("control:\n  timers:\n    retry-max: 60\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->timers.retry_max, 60);
	CU_ASSERT_EQUAL(c->timers.retry_min, 1);
	CU_ASSERT_EQUAL(c->timers.refresh_max, 86400);
	cconf_free(c);
}

static void test_sections_of_the_dataplane_are_accepted(void)
{
	/* the dataplane's own full file (tests/unit/test_conf.c) */
	struct cconf *c = load_ok(
		"node:\n"
		"  identity: pop1.example.net\n"
		"  state-dir: /srv/ditto/state\n"
		"  management-addresses: [192.0.2.10]\n"
		"  control-socket: /run/ditto/control.sock\n"
		"  socket-group: ditto\n"
		"  log-level: debug\n"
		"  metrics: 192.0.2.10@9153\n"
		"dataplane:\n"
		"  socket: /run/ditto/dp.sock\n"
		"  socket-group: dittoctl\n"
		"  port: \"0000:3b:00.0\"\n"
		"  workers: 4\n"
		"  service-addresses:\n"
		"    - 192.0.2.53\n"
		"    - \"2001:db8::53\"\n"
		"  service-port: 5353\n"
		"  edns-size: 1400\n"
		"  exception-interface: dtap0\n"
		"  idle-sleep-us: 50\n"
		"  mbufs: 65535\n"
		"  rx-descriptors: 2048\n"
		"  tx-descriptors: 4096\n"
		"  tcp:\n"
		"    enabled: false\n"
		"    max-connections: 500\n"
		"    max-connections-per-client: 8\n"
		"    idle-timeout-ms: 3000\n"
		"    max-connection-time-ms: 60000\n"
		"    max-queries-per-connection: 100\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->dataplane_socket, "/run/ditto/dp.sock");
	CU_ASSERT_STRING_EQUAL(c->metrics, "192.0.2.10@9153");
	cconf_free(c);

	/* the dataplane's keys are its business, even ones it gains later */
	c = load_ok("dataplane:\n  future-key: { a: [1] }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->dataplane_socket,
			       "/run/ditto/dataplane.sock");
	cconf_free(c);
}

static void test_unknown_section_refused_with_its_line(void)
{
	expect_error("node:\n  identity: a\nprimaries:\n  - x\n", 3,
		     "unknown key 'primaries'", NULL);
	expect_error("zone:\n  - domain: a.test\n", 1, "unknown key 'zone'",
		     NULL);
	expect_error(REMOTE_P1 "Zones: []\n", 4, "'Zones'", NULL);
}

static void test_unknown_key_refused_in_every_map(void)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *want;
	} bad[] = {
		{ "node:\n  hostname: x\n", 2, "'hostname' in node" },
		{ "control:\n  transfers: 3\n", 2, "'transfers' in control" },
		{ "control:\n  timers:\n    refresh: 3\n", 3,
		  "'refresh' in control.timers" },
		{ "keys:\n  - id: k\n    algorithm: hmac-sha256\n"
		  "    secret: " SECRET1 "\n    comment: x\n", 5,
		  "'comment' in keys" },
		{ "remotes:\n  - id: p\n    address: 192.0.2.1\n    port: 53\n",
		  4, "'port' in remotes" },
		{ "acls:\n  - id: a\n    action: notify\n"
		  "    addresses: 10.0.0.1\n", 4, "'addresses' in acls" },
		{ REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		  "    master: p1\n", 7, "'master' in zones" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].text, bad[i].line, "unknown key",
			     bad[i].want);
}

static void test_section_of_the_wrong_kind_refused(void)
{
	expect_error("remotes:\n  id: p1\n", 2, "remotes:",
		     "expected a list of remotes");
	expect_error("zones: example.com\n", 1, "zones:",
		     "expected a list of zones");
	expect_error("keys:\n  - k1\n", 2, "keys:", "expected a mapping");
	expect_error("acls:\n  - [a]\n", 2, "acls:", "expected a mapping");
	expect_error("control: [1]\n", 1, "control:", "expected a mapping");
	expect_error("control:\n  timers: 5\n", 2, "control.timers:",
		     "expected a mapping");
	expect_error("node: pop1\n", 1, "node:", "expected a mapping");
	expect_error("dataplane: [192.0.2.53]\n", 1, "dataplane:",
		     "expected a mapping");
}

static void test_map_where_a_value_is_expected_refused(void)
{
	expect_error("node:\n  identity: { a: b }\n", 2, "identity:",
		     "expected a single value");
	expect_error("node:\n  log-level:\n    level: info\n", 3, "log-level:",
		     "expected a single value");
	expect_error("node:\n  metrics: { listen: 127.0.0.1@9153 }\n", 2,
		     "metrics:", "expected a single value");
	expect_error("node:\n  metrics: 10.0.0.1:9153\n", 2, "metrics:",
		     "not an address");
	expect_error("dataplane:\n  socket: [a, b]\n", 2, "socket:",
		     "expected a single value");
	expect_error("remotes:\n  - id: p\n    address: { ip: 192.0.2.1 }\n", 3,
		     "address:", "not a mapping");
	expect_error("remotes:\n  - id: p\n    address: [[192.0.2.1]]\n", 3,
		     "address:", "expected a single value, not a list");
	expect_error("remotes:\n  - id: { x: 1 }\n    address: 192.0.2.1\n", 2,
		     "id:", "expected a single value");
	expect_error(REMOTE_P1 "zones:\n  - domain: [a.test]\n"
		     "    primaries: p1\n", 5, "domain:",
		     "expected a single value");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries:\n"
		     "      - { id: p1 }\n", 7, "primaries:",
		     "expected a single value, not a mapping");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "    ixfr: { a: 1 }\n", 7, "ixfr:", "true or false");
	expect_error("control:\n  tcp-timeout: [5]\n", 2, "tcp-timeout:",
		     "expected a whole number");
	expect_error("acls:\n  - id: a\n    action: notify\n    key: [k1]\n", 4,
		     "key:", "expected a single value");
}

static void test_single_value_where_a_list_is_expected_is_one_item(void)
{
	struct cconf *c = load_ok(
		"node:\n"
		"  management-addresses: 10.53.0.2\n"
		REMOTE_P1
		"acls:\n"
		"  - id: a\n"
		"    address: 10.0.0.0/8\n"
		"    action: notify\n"
		"  - id: t\n"
		"    action: transfer\n"
		"zones:\n"
		"  - domain: a.test\n"
		"    primaries: p1\n"
		"    notify-from: a\n"
		"    allow-transfer: t\n"
		"    notify: p1\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->n_listen, 1);
	CU_ASSERT_EQUAL(c->remotes[0].n_addrs, 1);
	CU_ASSERT_EQUAL(c->acls[0].n_prefixes, 1);
	CU_ASSERT_EQUAL(c->acls[0].actions, CCONF_NOTIFY);
	CU_ASSERT_EQUAL(c->acls[1].n_prefixes, 0);
	CU_ASSERT_EQUAL(c->zones[0].n_primaries, 1);
	CU_ASSERT_EQUAL(c->zones[0].n_notify_from, 1);
	CU_ASSERT_EQUAL(c->zones[0].n_allow_transfer, 1);
	CU_ASSERT_EQUAL(c->zones[0].n_notify, 1);
	cconf_free(c);
}

static void test_empty_list_refused_where_it_would_mean_anything(void)
{
	struct cconf *c;

	expect_error("remotes:\n  - id: p\n    address: []\n", 3, "address:",
		     "at least 1 value");
	/* no address would be any address: say so by leaving it out */
	expect_error("acls:\n  - id: a\n    address: []\n    action: notify\n",
		     3, "address:", "at least 1 value");
	expect_error("acls:\n  - id: a\n    action: []\n", 3, "action:",
		     "at least 1 value");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: []\n",
		     6, "primaries:", "at least 1 value");
	/* no notify-from is the default, the primaries: not "nobody" */
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "    notify-from: []\n", 7, "notify-from:",
		     "at least 1 value");

	/* where empty means what absent means, it is taken */
	c = load_ok("node:\n  management-addresses: []\n" REMOTE_P1
		    "zones:\n  - domain: a.test\n    primaries: p1\n"
		    "    allow-transfer: []\n    notify: []\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->n_listen, 0);
	CU_ASSERT_EQUAL(c->zones[0].n_allow_transfer, 0);
	CU_ASSERT_EQUAL(c->zones[0].n_notify, 0);
	cconf_free(c);
}

static void test_required_setting_missing_names_the_item_line(void)
{
	expect_error("keys:\n  - id: k\n    algorithm: hmac-sha256\n", 2,
		     "keys:", "'secret' is required");
	expect_error("keys:\n  - id: k\n    secret: " SECRET1 "\n", 2, "keys:",
		     "'algorithm' is required");
	expect_error("keys:\n  - algorithm: hmac-sha256\n    secret: " SECRET1
		     "\n", 2, "keys:", "'id' is required");
	expect_error("remotes:\n  - id: p\n", 2, "remotes:",
		     "'address' is required");
	expect_error("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		     "  - address: 192.0.2.2\n", 4, "remotes:",
		     "'id' is required");
	expect_error("acls:\n  - id: a\n    address: 10.0.0.1\n", 2, "acls:",
		     "'action' is required");
	expect_error(REMOTE_P1 "zones:\n  - primaries: p1\n", 5, "zones:",
		     "'domain' is required");
	expect_error("remotes:\n  - id: \"\"\n    address: 192.0.2.1\n", 2,
		     "id:", "must not be empty");
}

static void test_zone_without_primaries_refused(void)
{
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    notify: p1\n", 5,
		     "zones:", "'primaries' is required");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "  - domain: b.test\n", 7, "zones:",
		     "'primaries' is required");
	/* a key with nothing after it is an empty value, not a list */
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries:\n"
		     "    ixfr: true\n", 6, "primaries:", "must not be empty");
}

/* ---- ids and references ---------------------------------------------------- */

static void test_duplicate_ids_refused_per_section(void)
{
	struct cconf *c;

	expect_error("remotes:\n"
		     "  - id: p\n"
		     "    address: 192.0.2.1\n"
		     "  - id: q\n"
		     "    address: 192.0.2.2\n"
		     "  - id: p\n"
		     "    address: 192.0.2.3\n", 6, "id: 'p'",
		     "already defined on line 2");
	expect_error("acls:\n"
		     "  - id: a\n"
		     "    action: notify\n"
		     "  - id: a\n"
		     "    action: transfer\n", 4, "id: 'a'",
		     "already defined on line 2");
	/* the first repetition in the file is named, with its first line */
	expect_error("acls:\n"
		     "  - id: a\n"
		     "    action: notify\n"
		     "  - id: b\n"
		     "    action: notify\n"
		     "  - id: b\n"
		     "    action: notify\n"
		     "  - id: a\n"
		     "    action: notify\n", 6, "'b'",
		     "already defined on line 4");

	/* ids other than names are compared as written */
	c = load_ok("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		    "  - id: P\n    address: 192.0.2.2\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->n_remotes, 2);
	cconf_free(c);
}

static void test_same_id_in_different_sections_is_fine(void)
{
	struct cconf *c = load_ok(
		"keys:\n  - id: x\n    algorithm: hmac-sha1\n"
		"    secret: " SECRET1 "\n"
		"remotes:\n  - id: x\n    address: 192.0.2.1\n    key: x\n"
		"acls:\n  - id: x\n    action: notify\n    key: x\n"
		"zones:\n  - domain: x\n    primaries: x\n"
		"    notify-from: x\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_EQUAL(c->remotes[0].key, &c->keys[0]);
	CU_ASSERT_PTR_EQUAL(c->acls[0].key, &c->keys[0]);
	CU_ASSERT_PTR_EQUAL(c->zones[0].primaries[0], &c->remotes[0]);
	CU_ASSERT_PTR_EQUAL(c->zones[0].notify_from[0], &c->acls[0]);
	cconf_free(c);
}

static void test_duplicate_key_name_refused_case_insensitively(void)
{
	/* a key's id is its name on the wire, where case does not count */
	expect_error("keys:\n"
		     "  - id: xfr-key\n"
		     "    algorithm: hmac-sha256\n"
		     "    secret: " SECRET1 "\n"
		     "  - id: XFR-Key.\n"
		     "    algorithm: hmac-sha512\n"
		     "    secret: " SECRET2 "\n", 5, "id: 'XFR-Key.'",
		     "already defined on line 2");
}

static void test_duplicate_zone_domain_refused_case_insensitively(void)
{
	expect_error(REMOTE_P1
		     "zones:\n"
		     "  - domain: example.com\n"		/* 5 */
		     "    primaries: p1\n"
		     "  - domain: example.net\n"
		     "    primaries: p1\n"
		     "  - domain: EXAMPLE.COM.\n"		/* 9 */
		     "    primaries: p1\n", 9, "domain: 'EXAMPLE.COM.'",
		     "already defined on line 5");
	expect_error(REMOTE_P1
		     "zones:\n"
		     "  - domain: Example.Net.\n"
		     "    primaries: p1\n"
		     "  - domain: example.net\n"
		     "    primaries: p1\n", 7, "'example.net'",
		     "already defined on line 5");
}

static void test_reference_to_unknown_remote_names_line(void)
{
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n"
		     "    primaries: [p1, p2]\n", 6, "primaries:",
		     "unknown remote 'p2'");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries:\n"
		     "      - p1\n      - p3\n", 8, "primaries:",
		     "unknown remote 'p3'");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "    notify: [secondary]\n", 7, "notify:",
		     "unknown remote 'secondary'");
	/* an ACL is not a remote */
	expect_error(REMOTE_P1 "acls:\n  - id: a\n    action: notify\n"
		     "zones:\n  - domain: a.test\n    primaries: a\n", 9,
		     "primaries:", "unknown remote 'a'");
}

static void test_reference_to_unknown_acl_names_line(void)
{
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "    notify-from: [nope]\n", 7, "notify-from:",
		     "unknown acl 'nope'");
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "    allow-transfer:\n      - p1\n", 8, "allow-transfer:",
		     "unknown acl 'p1'");
}

static void test_reference_to_unknown_key_names_line(void)
{
	struct cconf *c;

	expect_error(KEYS "remotes:\n  - id: p\n    address: 192.0.2.1\n"
		     "    key: k3\n", 11, "key:", "unknown key 'k3'");
	expect_error(KEYS "acls:\n  - id: a\n    action: notify\n"
		     "    key: xfr\n", 11, "key:", "unknown key 'xfr'");
	expect_error("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		     "    key: k1\n", 4, "key:", "unknown key 'k1'");

	/* keys are names: any case, with or without the dot */
	c = load_ok(KEYS "remotes:\n  - id: p\n    address: 192.0.2.1\n"
		    "    key: K2.\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_EQUAL(c->remotes[0].key, &c->keys[1]);
	cconf_free(c);
}

static void test_reference_listed_twice_refused(void)
{
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n"
		     "    primaries: [p1, p1]\n", 6, "primaries:",
		     "'p1' is listed twice");
	expect_error(REMOTE_P1 "acls:\n  - id: a\n    action: transfer\n"
		     "zones:\n  - domain: a.test\n    primaries: p1\n"
		     "    allow-transfer: [a, a]\n", 10, "allow-transfer:",
		     "'a' is listed twice");
}

static void test_acl_without_the_lists_action_refused(void)
{
	static const char acls[] =
		"acls:\n"
		"  - id: n\n"
		"    action: notify\n"
		"  - id: t\n"
		"    action: transfer\n";
	char text[512];

	snprintf(text, sizeof(text), "%s%szones:\n  - domain: a.test\n"
		 "    primaries: p1\n    allow-transfer: [t, n]\n", REMOTE_P1,
		 acls);
	expect_error(text, 12, "allow-transfer:",
		     "acl 'n' has no transfer action");
	snprintf(text, sizeof(text), "%s%szones:\n  - domain: a.test\n"
		 "    primaries: p1\n    notify-from: t\n", REMOTE_P1, acls);
	expect_error(text, 12, "notify-from:", "acl 't' has no notify action");
}

/* ---- names, addresses, prefixes ------------------------------------------ */

static void test_bad_domain_name_refused(void)
{
	static const struct {
		const char *domain;
		const char *why;
	} bad[] = {
		{ "a..b", "empty label" },
		{ ".a", "empty label" },
		{ "a.b..", "empty label" },
		{ "..", "empty label" },
		{ "\"a b.test\"", "a space" },
		{ "'a\\b.test'", "backslash" },
		{ "\"\"", "must not be empty" },
		{ "a234567890123456789012345678901234567890123456789012345678901234.test",
		  "longer than 63" },
		{ "\"caf\xc3\xa9.test\"", "beyond ASCII" },
	};
	char text[1024], label[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), REMOTE_P1 "zones:\n"
			 "  - domain: %s\n    primaries: p1\n", bad[i].domain);
		expect_error(text, 5, "domain:", bad[i].why);
	}
	/* four labels of 63 are 257 bytes on the wire */
	memset(label, 'a', 63);
	label[63] = 0;
	snprintf(text, sizeof(text), REMOTE_P1 "zones:\n  - domain: %s.%s.%s.%s\n"
		 "    primaries: p1\n", label, label, label, label);
	expect_error(text, 5, "domain:", "longer than 255 bytes");

	expect_error("keys:\n  - id: a..b\n    algorithm: hmac-sha256\n"
		     "    secret: " SECRET1 "\n", 2, "id: 'a..b'",
		     "not a key name");
}

static void test_longest_domain_name_taken(void)
{
	char text[1024], a[64], b[62];
	struct cconf *c;

	memset(a, 'a', 63);
	a[63] = 0;
	memset(b, 'B', 61);
	b[61] = 0;
	/* 3 * (1 + 63) + (1 + 61) + 1 = 255 */
	snprintf(text, sizeof(text), REMOTE_P1 "zones:\n  - domain: %s.%s.%s.%s.\n"
		 "    primaries: p1\n  - domain: .\n    primaries: p1\n", a, a, a,
		 b);
	c = load_ok(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->zones[0].wire_len, 255);
	CU_ASSERT_EQUAL(c->zones[0].wire[0], 63);
	CU_ASSERT_EQUAL(c->zones[0].wire[192], 61);
	CU_ASSERT_EQUAL(c->zones[0].wire[193], 'b');
	CU_ASSERT_EQUAL(c->zones[0].wire[254], 0);
	CU_ASSERT_EQUAL(strlen(c->zones[0].domain), 254);
	CU_ASSERT_EQUAL(c->zones[0].domain[253], '.');
	CU_ASSERT_EQUAL(c->zones[0].domain[200], 'b');
	/* the root zone, for a local copy of it (RFC 8806) */
	CU_ASSERT_STRING_EQUAL(c->zones[1].domain, ".");
	CU_ASSERT_EQUAL(c->zones[1].wire_len, 1);
	CU_ASSERT_EQUAL(c->zones[1].wire[0], 0);
	CU_ASSERT_PTR_EQUAL(cconf_zone_find(c, "."), &c->zones[1]);
	cconf_free(c);
}

static void test_address_with_port_parsed(void)
{
	struct cconf_addr a;

	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.53.0.1", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "10.53.0.1", 53));
	CU_ASSERT_STRING_EQUAL(a.text, "10.53.0.1");
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.53.0.1@5353", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "10.53.0.1", 5353));
	CU_ASSERT_STRING_EQUAL(a.text, "10.53.0.1@5353");
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("fd53::1@5353", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "fd53::1", 5353));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("fd53::1", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "fd53::1", 53));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("::", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "::", 53));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.0.0.1@1", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "10.0.0.1", 1));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.0.0.1@65535", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "10.0.0.1", 65535));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.0.0.1@00053", 1, &a), 0);
	CU_ASSERT(addr_is(&a, "10.0.0.1", 53));
	/* the default may be 0 (a source address); an explicit port not */
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.0.0.1", 0, &a), 0);
	CU_ASSERT(addr_is(&a, "10.0.0.1", 0));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("::ffff:10.0.0.1@7", 53, &a), 0);
	CU_ASSERT(addr_is(&a, "::ffff:10.0.0.1", 7));
}

static void test_bad_address_refused(void)
{
	static const char *const bad[] = {
		"10.0.0.1@70000", "10.0.0.1@65536", "10.0.0.1@0", "10.0.0.1@",
		"@53", "not-an-ip", "10.0.0.256", "10.0.0", "10.0.0.1:53",
		"[fd53::1]@53", "fd53::1%eth0", "10.0.0.1@+53", "10.0.0.1@ 53",
		"10.0.0.1@53@53", "", " 10.0.0.1", "10.0.0.1@0x35",
		"10.0.0.1@99999999999999999999", "fd53:::1", "10.0.0.0/24",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1111:2222@53",
	};
	struct cconf_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cconf_addr_parse(bad[i], 53, &a) != -1)
			printf("\n  '%s' was taken\n", bad[i]);
		CU_ASSERT_EQUAL(cconf_addr_parse(bad[i], 53, &a), -1);
	}
	expect_error("remotes:\n  - id: p\n    address: [192.0.2.1, "
		     "10.0.0.1@70000]\n", 3, "address: '10.0.0.1@70000'",
		     "not an IPv4 or IPv6 address");
	expect_error("remotes:\n  - id: p\n    address:\n      - 192.0.2.1\n"
		     "      - not-an-ip\n", 5, "address: 'not-an-ip'", NULL);
	expect_error("node:\n  management-addresses: [\"fd53::1@0\"]\n", 2,
		     "management-addresses: 'fd53::1@0'", NULL);
}

static void test_bad_prefix_refused(void)
{
	static const struct {
		const char *addr;
		const char *why;
	} bad[] = {
		{ "10.0.0.0/33", "0 to 32" },
		{ "\"fd53::/129\"", "0 to 128" },
		{ "not-an-ip", "not an IPv4 or IPv6" },
		{ "10.0.0.1/24", "bits set beyond the prefix length" },
		{ "\"fd53::1/64\"", "bits set beyond the prefix length" },
		{ "10.0.0.1@53", "not ports" },
		{ "10.0.0.0/", "0 to 32" },
		{ "/24", "not an IPv4 or IPv6" },
		{ "10.0.0.0/-1", "0 to 32" },
		{ "10.0.0.0/8/8", "not an IPv4 or IPv6" },
		{ "10.0.0.0/ 8", "0 to 32" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "acls:\n  - id: a\n    action: notify\n"
			 "    address:\n      - 10.0.0.0/8\n      - %s\n",
			 bad[i].addr);
		expect_error(text, 6, "address:", bad[i].why);
	}
}

static void test_more_than_16_addresses_refused(void)
{
	char text[2048];
	size_t o;
	struct cconf *c;

	o = (size_t)snprintf(text, sizeof(text),
			     "remotes:\n  - id: p\n    address:\n");
	for (unsigned i = 0; i < CCONF_MAX_ADDRS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "      - 192.0.2.%u\n", i + 1);
	c = load_ok(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->remotes[0].n_addrs, CCONF_MAX_ADDRS);
	cconf_free(c);
	snprintf(text + o, sizeof(text) - o, "      - \"2001:db8::1\"\n");
	expect_error(text, 3 + CCONF_MAX_ADDRS + 1, "address:",
		     "more than 16 values");
}

static void test_via_is_a_source_address_without_port(void)
{
	struct cconf *c;

	c = load_ok("remotes:\n  - id: p\n    address: [192.0.2.1, \"fd53::1\"]\n"
		    "    via: \"fd53::2\"\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(c->remotes[0].have_via);
	CU_ASSERT(addr_is(&c->remotes[0].via, "fd53::2", 0));
	cconf_free(c);

	expect_error("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		     "    via: 192.0.2.2@53\n", 4, "via:", "takes no port");
	expect_error("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		     "    via: \"fd53::2\"\n", 4, "via:",
		     "no address of remote 'p' is of the family");
	expect_error("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		     "    via: eth0\n", 4, "via: 'eth0'", "not an IPv4");
}

static void test_management_address_listed_twice_refused(void)
{
	struct cconf *c;

	expect_error("node:\n  management-addresses:\n    - 10.0.0.1\n"
		     "    - \"fd53::1\"\n    - 10.0.0.1@53\n", 5,
		     "management-addresses:", "listed twice");
	expect_error("node:\n  management-addresses: [\"fd53::1\", "
		     "\"FD53:0::1\"]\n", 2, "management-addresses:",
		     "listed twice");
	/* the same address on two ports is two sockets */
	c = load_ok("node:\n  management-addresses: [10.0.0.1, 10.0.0.1@5353]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->n_listen, 2);
	cconf_free(c);
}

/* ---- numbers and words ------------------------------------------------------ */

static void test_timer_min_above_max_refused_on_the_written_line(void)
{
	struct cconf *c;

	expect_error("control:\n  timers:\n    refresh-max: 100\n"
		     "    refresh-min: 200\n", 4, "refresh-min: 200",
		     "more than refresh-max 100");
	/* against a default: the line of the one written */
	expect_error("control:\n  timers:\n    retry-min: 4000\n", 3,
		     "retry-min: 4000", "more than retry-max 3600");
	expect_error("control:\n  timers:\n    jitter-percent: 5\n"
		     "    expire-max: 5\n", 4, "expire-min: 10",
		     "more than expire-max 5");

	c = load_ok("control:\n  timers:\n    refresh-min: 60\n"
		    "    refresh-max: 60\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->timers.refresh_min, 60);
	CU_ASSERT_EQUAL(c->timers.refresh_max, 60);
	cconf_free(c);
}

static void test_number_out_of_range_refused(void)
{
	static const struct {
		const char *line;
		const char *range;
	} bad[] = {
		{ "transfers-per-primary: 0", "from 1 to 1024" },
		{ "transfers-per-primary: 1025", "from 1 to 1024" },
		{ "transfers-total: 0", "from 1 to 65536" },
		{ "transfers-total: 65537", "from 1 to 65536" },
		{ "transfer-timeout: 0", "from 1 to 86400" },
		{ "transfer-timeout: 86401", "from 1 to 86400" },
		{ "tcp-timeout: 0", "from 1 to 3600" },
		{ "tcp-timeout: 3601", "from 1 to 3600" },
		{ "max-transfer-bytes: 65534", "from 65535 to 1844674407370955" },
		{ "max-transfer-bytes: 18446744073709551616", "from 65535" },
		{ "max-zone-records: 0", "from 1 to 4294967295" },
		{ "max-zone-records: 4294967296", "from 1 to 4294967295" },
		{ "journal-max-bytes: 1000", "from 65535" },
		{ "notify-retries: 101", "from 0 to 100" },
		{ "notify-retries: -1", "from 0 to 100" },
		{ "tcp-timeout: ten", "from 1 to 3600" },
	};
	static const struct {
		const char *line;
		const char *range;
	} timers[] = {
		{ "refresh-min: 0", "from 1 to 2147483647" },
		{ "retry-max: 2147483648", "from 1 to 2147483647" },
		{ "expire-max: 4294967296", "from 1 to 2147483647" },
		{ "jitter-percent: 51", "from 0 to 50" },
	};
	char text[256], key[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "control:\n  timers: {}\n"
			 "  %s\n", bad[i].line);
		snprintf(key, sizeof(key), "%.*s:",
			 (int)strcspn(bad[i].line, ":"), bad[i].line);
		expect_error(text, 3, key, bad[i].range);
	}
	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
		snprintf(text, sizeof(text), "control:\n  timers:\n    %s\n",
			 timers[i].line);
		snprintf(key, sizeof(key), "%.*s:",
			 (int)strcspn(timers[i].line, ":"), timers[i].line);
		expect_error(text, 3, key, timers[i].range);
	}
}

static void test_numbers_at_the_ends_of_their_range_taken(void)
{
	struct cconf *c;

	c = load_ok("control:\n"
		    "  timers:\n"
		    "    refresh-min: 1\n"
		    "    refresh-max: 2147483647\n"
		    "    retry-min: 1\n"
		    "    retry-max: 1\n"
		    "    jitter-percent: 50\n"
		    "  transfers-per-primary: 1024\n"
		    "  transfers-total: 65536\n"
		    "  transfer-timeout: 86400\n"
		    "  tcp-timeout: 1\n"
		    "  max-transfer-bytes: 18446744073709551615\n"
		    "  max-zone-records: 4294967295\n"
		    "  journal-max-bytes: 65535\n"
		    "  notify-retries: 0\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->timers.refresh_min, 1);
	CU_ASSERT_EQUAL(c->timers.refresh_max, 2147483647u);
	CU_ASSERT_EQUAL(c->timers.retry_max, 1);
	CU_ASSERT_EQUAL(c->timers.jitter_percent, 50);
	CU_ASSERT_EQUAL(c->transfers_per_primary, 1024);
	CU_ASSERT_EQUAL(c->transfers_total, 65536);
	CU_ASSERT_EQUAL(c->transfer_timeout, 86400);
	CU_ASSERT_EQUAL(c->tcp_timeout, 1);
	CU_ASSERT_EQUAL(c->max_transfer_bytes, UINT64_MAX);
	CU_ASSERT_EQUAL(c->max_zone_records, 4294967295u);
	CU_ASSERT_EQUAL(c->journal_max_bytes, 65535);
	CU_ASSERT_EQUAL(c->notify_retries, 0);
	cconf_free(c);
}

static void test_unknown_action_refused(void)
{
	expect_error("acls:\n  - id: a\n    action: [notify, query]\n", 3,
		     "action:", "unknown action 'query'");
	expect_error("acls:\n  - id: a\n    action:\n      - transfer\n"
		     "      - Notify\n", 5, "action:", "unknown action 'Notify'");
}

static void test_log_level_names_map_to_syslog(void)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	char text[64];

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct cconf *c;

		snprintf(text, sizeof(text), "node:\n  log-level: %s\n",
			 levels[i].name);
		c = load_ok(text);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->log_level, levels[i].level);
		cconf_free(c);
	}
}

static void test_bad_log_level_refused(void)
{
	expect_error("node:\n  log-level: verbose\n", 2, "log-level: 'verbose'",
		     "error, warning, notice, info, debug");
	expect_error("node:\n  log-level: INFO\n", 2, "log-level: 'INFO'", NULL);
	expect_error("node:\n  log-level: 7\n", 2, "log-level: '7'", NULL);
	expect_error("node:\n  log-level: \"\"\n", 2, "log-level:",
		     "must not be empty");
}

static void test_bad_key_refused_on_the_offending_line(void)
{
	struct cconf *c;

	expect_error("keys:\n  - id: k\n    algorithm: hmac-sha3\n"
		     "    secret: " SECRET1 "\n", 3, "algorithm:",
		     "unknown algorithm 'hmac-sha3'");
	expect_error("keys:\n  - id: k\n    algorithm: hmac-sha256\n"
		     "    secret: \"not base64!\"\n", 4, "secret:", "not base64");
	expect_error("keys:\n  - id: k\n    algorithm: hmac-sha256\n"
		     "    secret: [" SECRET1 "]\n", 4, "secret:",
		     "expected a single value");

	/* algorithm names as RFC 8945 writes them, in any case */
	c = load_ok("keys:\n  - id: k\n    algorithm: HMAC-SHA384\n"
		    "    secret: " SECRET1 "\n"
		    "  - id: m\n    algorithm: hmac-md5.sig-alg.reg.int.\n"
		    "    secret: " SECRET2 "\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->keys[0].alg, TSIG_HMAC_SHA384);
	CU_ASSERT_EQUAL(c->keys[1].alg, TSIG_HMAC_MD5);
	cconf_free(c);
}

static void test_text_setting_empty_or_too_long_refused(void)
{
	char text[1024], long_path[200];
	struct cconf *c;

	/* sun_path holds 107 bytes and the NUL */
	memset(long_path, 'x', sizeof(long_path));
	long_path[0] = '/';
	long_path[107] = 0;
	snprintf(text, sizeof(text), "node:\n  control-socket: %s\n"
		 "dataplane:\n  socket: %s\n", long_path, long_path);
	c = load_ok(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(strlen(c->control_socket), 107);
	cconf_free(c);

	long_path[107] = 'x';
	long_path[108] = 0;
	snprintf(text, sizeof(text), "node:\n  control-socket: %s\n", long_path);
	expect_error(text, 2, "control-socket:", "longer than 107 bytes");
	snprintf(text, sizeof(text), "dataplane:\n  socket: %s\n", long_path);
	expect_error(text, 2, "socket:", "longer than 107 bytes");
	snprintf(text, sizeof(text), "node:\n  identity: %0256d\n", 0);
	expect_error(text, 2, "identity:", "longer than 255 bytes");
	expect_error("node:\n  identity: \"\"\n", 2, "identity:",
		     "must not be empty");
	expect_error("node:\n  state-dir:\n", 2, "state-dir:",
		     "must not be empty");
}

/* ---- who may NOTIFY and transfer ---------------------------------------- */

/* Two keys, a primary that signs (IPv4 and IPv6) and one that does not. */
static const char primaries_conf[] =
	KEYS
	"remotes:\n"
	"  - id: signed\n"
	"    address: [192.0.2.1@5300, \"2001:db8::1\"]\n"
	"    key: k1\n"
	"  - id: plain\n"
	"    address: 198.51.100.7\n"
	"  - id: downstream\n"
	"    address: 203.0.113.9\n"
	"zones:\n"
	"  - domain: example.com\n"
	"    primaries: [signed, plain]\n"
	"    notify: downstream\n";

static void test_notify_from_default_is_the_primaries(void)
{
	struct cconf *c = load_ok(primaries_conf);
	const struct tsig_key *k1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	k1 = cconf_key_find(c, "k1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k1);
	/* any address of a primary, from any port */
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.1", k1));
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.1@5300",
			   k1));
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY, "2001:db8::1", k1));
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY, "198.51.100.7",
			   NULL));
	/* nobody else: not a neighbour, not a downstream secondary */
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.2", k1));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "2001:db8::2",
			    k1));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "198.51.100.8",
			    NULL));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "203.0.113.9",
			    NULL));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "::", NULL));
	cconf_free(c);
}

static void test_notify_from_default_requires_the_primarys_key(void)
{
	struct cconf *c = load_ok(primaries_conf);
	const struct tsig_key *k1, *k2;
	struct tsig_key copy;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	k1 = cconf_key_find(c, "k1");
	k2 = cconf_key_find(c, "k2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k2);
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.1", NULL));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.1", k2));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "2001:db8::1",
			    NULL));
	/* the same key from another copy of the configuration */
	memcpy(&copy, k1, sizeof(copy));
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.1", &copy));
	/* same name, other secret: not the primary's key */
	copy.secret[0] ^= 1;
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY, "192.0.2.1",
			    &copy));
	/* a primary without a key takes NOTIFY signed or not */
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY, "198.51.100.7", k2));
	cconf_free(c);
}

static void test_notify_from_list_replaces_the_default(void)
{
	struct cconf *c = load_ok(
		REMOTE_P1
		"acls:\n"
		"  - id: other\n"
		"    address: 198.51.100.0/24\n"
		"    action: notify\n"
		"zones:\n"
		"  - domain: a.test\n"
		"    primaries: p1\n"
		"    notify-from: other\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(may(c, "a.test", CCONF_NOTIFY, "192.0.2.1", NULL));
	CU_ASSERT_TRUE(may(c, "a.test", CCONF_NOTIFY, "198.51.100.1", NULL));
	/* an ACL for NOTIFY does not let anyone transfer */
	CU_ASSERT_FALSE(may(c, "a.test", CCONF_TRANSFER, "198.51.100.1",
			    NULL));
	cconf_free(c);
}

static void test_allow_transfer_default_is_nobody(void)
{
	struct cconf *c = load_ok(primaries_conf);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* not even the primaries or the secondaries we NOTIFY */
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_TRANSFER, "192.0.2.1",
			    cconf_key_find(c, "k1")));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_TRANSFER, "198.51.100.7",
			    NULL));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_TRANSFER, "203.0.113.9",
			    NULL));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_TRANSFER, "127.0.0.1",
			    NULL));
	cconf_free(c);
}

static void test_acl_prefix_edges(void)
{
	struct cconf *c = load_ok(
		REMOTE_P1
		"acls:\n"
		"  - { id: v4-all, address: 0.0.0.0/0, action: transfer }\n"
		"  - { id: v6-all, address: \"::/0\", action: transfer }\n"
		"  - { id: host32, address: 192.0.2.1/32, action: transfer }\n"
		"  - { id: host128, address: \"2001:db8::1/128\", "
		"action: transfer }\n"
		"  - { id: net23, address: 10.0.2.0/23, action: transfer }\n"
		"  - { id: net61, address: \"2001:db8:0:8::/61\", "
		"action: transfer }\n"
		"zones:\n"
		"  - { domain: v4-all, primaries: p1, allow-transfer: v4-all }\n"
		"  - { domain: v6-all, primaries: p1, allow-transfer: v6-all }\n"
		"  - { domain: host32, primaries: p1, allow-transfer: host32 }\n"
		"  - { domain: host128, primaries: p1, allow-transfer: host128 }\n"
		"  - { domain: net23, primaries: p1, allow-transfer: net23 }\n"
		"  - { domain: net61, primaries: p1, allow-transfer: net61 }\n");
	const enum cconf_action t = CCONF_TRANSFER;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* /0 is every address of its family, and none of the other */
	CU_ASSERT_TRUE(may(c, "v4-all", t, "0.0.0.0", NULL));
	CU_ASSERT_TRUE(may(c, "v4-all", t, "255.255.255.255", NULL));
	CU_ASSERT_FALSE(may(c, "v4-all", t, "2001:db8::1", NULL));
	CU_ASSERT_TRUE(may(c, "v6-all", t, "::", NULL));
	CU_ASSERT_TRUE(may(c, "v6-all", t,
			   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL));
	CU_ASSERT_FALSE(may(c, "v6-all", t, "192.0.2.1", NULL));
	/* /32 and /128: that one address */
	CU_ASSERT_TRUE(may(c, "host32", t, "192.0.2.1", NULL));
	CU_ASSERT_FALSE(may(c, "host32", t, "192.0.2.0", NULL));
	CU_ASSERT_FALSE(may(c, "host32", t, "192.0.2.2", NULL));
	CU_ASSERT_FALSE(may(c, "host32", t, "193.0.2.1", NULL));
	CU_ASSERT_TRUE(may(c, "host128", t, "2001:db8::1", NULL));
	CU_ASSERT_FALSE(may(c, "host128", t, "2001:db8::", NULL));
	CU_ASSERT_FALSE(may(c, "host128", t, "2001:db8::2", NULL));
	CU_ASSERT_FALSE(may(c, "host128", t, "2001:db8::1:1", NULL));
	/* /23: 10.0.2.0 to 10.0.3.255, the boundary inside a byte */
	CU_ASSERT_TRUE(may(c, "net23", t, "10.0.2.0", NULL));
	CU_ASSERT_TRUE(may(c, "net23", t, "10.0.3.255", NULL));
	CU_ASSERT_FALSE(may(c, "net23", t, "10.0.1.255", NULL));
	CU_ASSERT_FALSE(may(c, "net23", t, "10.0.4.0", NULL));
	CU_ASSERT_FALSE(may(c, "net23", t, "11.0.2.0", NULL));
	/* /61: 2001:db8:0:8:: to 2001:db8:0:f:ffff:... */
	CU_ASSERT_TRUE(may(c, "net61", t, "2001:db8:0:8::", NULL));
	CU_ASSERT_TRUE(may(c, "net61", t, "2001:db8:0:f:ffff:ffff:ffff:ffff",
			   NULL));
	CU_ASSERT_FALSE(may(c, "net61", t, "2001:db8:0:7:ffff:ffff:ffff:ffff",
			    NULL));
	CU_ASSERT_FALSE(may(c, "net61", t, "2001:db8:0:10::", NULL));
	cconf_free(c);
}

static void test_first_matching_acl_decides_deny_or_allow(void)
{
	struct cconf *c = load_ok(
		KEYS
		REMOTE_P1
		"acls:\n"
		"  - id: deny-one\n"
		"    address: [10.0.0.5, \"fd53::5\"]\n"
		"    action: transfer\n"
		"    deny: true\n"
		"  - id: allow-net\n"
		"    address: [10.0.0.0/24, \"fd53::/64\"]\n"
		"    action: transfer\n"
		"  - id: deny-k1\n"
		"    key: k1\n"
		"    action: transfer\n"
		"    deny: true\n"
		"  - id: allow-all\n"
		"    action: transfer\n"
		"zones:\n"
		"  - domain: deny-first\n"
		"    primaries: p1\n"
		"    allow-transfer: [deny-one, allow-net]\n"
		"  - domain: allow-first\n"
		"    primaries: p1\n"
		"    allow-transfer: [allow-net, deny-one]\n"
		"  - domain: keyed-deny\n"
		"    primaries: p1\n"
		"    allow-transfer: [deny-k1, allow-all]\n");
	const enum cconf_action t = CCONF_TRANSFER;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(may(c, "deny-first", t, "10.0.0.5", NULL));
	CU_ASSERT_FALSE(may(c, "deny-first", t, "fd53::5", NULL));
	CU_ASSERT_TRUE(may(c, "deny-first", t, "10.0.0.6", NULL));
	CU_ASSERT_TRUE(may(c, "deny-first", t, "fd53::6", NULL));
	/* matching none denies */
	CU_ASSERT_FALSE(may(c, "deny-first", t, "10.0.1.1", NULL));
	CU_ASSERT_TRUE(may(c, "allow-first", t, "10.0.0.5", NULL));
	CU_ASSERT_TRUE(may(c, "allow-first", t, "fd53::5", NULL));
	/* a deny entry with a key matches only messages signed with it */
	CU_ASSERT_FALSE(may(c, "keyed-deny", t, "192.0.2.99",
			    cconf_key_find(c, "k1")));
	CU_ASSERT_TRUE(may(c, "keyed-deny", t, "192.0.2.99",
			   cconf_key_find(c, "k2")));
	CU_ASSERT_TRUE(may(c, "keyed-deny", t, "192.0.2.99", NULL));
	cconf_free(c);
}

static void test_acl_key_must_match(void)
{
	struct cconf *c = load_ok(
		KEYS
		REMOTE_P1
		"acls:\n"
		"  - id: need-k1\n"
		"    address: 10.0.0.0/8\n"
		"    key: k1\n"
		"    action: [notify, transfer]\n"
		"  - id: any-key\n"
		"    address: 10.0.0.0/8\n"
		"    action: transfer\n"
		"zones:\n"
		"  - domain: keyed\n"
		"    primaries: p1\n"
		"    notify-from: need-k1\n"
		"    allow-transfer: need-k1\n"
		"  - domain: unkeyed\n"
		"    primaries: p1\n"
		"    allow-transfer: any-key\n");
	const struct tsig_key *k1, *k2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	k1 = cconf_key_find(c, "k1");
	k2 = cconf_key_find(c, "k2");
	CU_ASSERT_TRUE(may(c, "keyed", CCONF_TRANSFER, "10.1.2.3", k1));
	CU_ASSERT_TRUE(may(c, "keyed", CCONF_NOTIFY, "10.1.2.3", k1));
	CU_ASSERT_FALSE(may(c, "keyed", CCONF_TRANSFER, "10.1.2.3", NULL));
	CU_ASSERT_FALSE(may(c, "keyed", CCONF_TRANSFER, "10.1.2.3", k2));
	CU_ASSERT_FALSE(may(c, "keyed", CCONF_NOTIFY, "10.1.2.3", k2));
	/* the right key from the wrong address is still refused */
	CU_ASSERT_FALSE(may(c, "keyed", CCONF_TRANSFER, "11.1.2.3", k1));
	/* no key required: signed or not */
	CU_ASSERT_TRUE(may(c, "unkeyed", CCONF_TRANSFER, "10.1.2.3", NULL));
	CU_ASSERT_TRUE(may(c, "unkeyed", CCONF_TRANSFER, "10.1.2.3", k2));
	cconf_free(c);
}

static void test_ipv4_mapped_peer_matches_ipv4_acl(void)
{
	struct cconf *c = load_ok(primaries_conf);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* a dual-stack socket reports an IPv4 primary this way */
	CU_ASSERT_TRUE(may(c, "example.com", CCONF_NOTIFY,
			   "::ffff:198.51.100.7", NULL));
	CU_ASSERT_FALSE(may(c, "example.com", CCONF_NOTIFY,
			    "::ffff:198.51.100.8", NULL));
	cconf_free(c);

	c = load_ok(REMOTE_P1 "acls:\n  - id: net\n    address: 10.0.0.0/8\n"
		    "    action: transfer\nzones:\n  - domain: a.test\n"
		    "    primaries: p1\n    allow-transfer: net\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(may(c, "a.test", CCONF_TRANSFER, "::ffff:10.9.9.9",
			   NULL));
	CU_ASSERT_FALSE(may(c, "a.test", CCONF_TRANSFER, "::10.9.9.9", NULL));
	cconf_free(c);
}

static void test_unknown_family_or_action_is_refused(void)
{
	struct cconf *c = load_ok(REMOTE_P1 "acls:\n  - id: all\n"
				  "    action: [notify, transfer]\n"
				  "zones:\n  - domain: a.test\n"
				  "    primaries: p1\n    notify-from: all\n"
				  "    allow-transfer: all\n");
	struct sockaddr_storage unix_peer = { .ss_family = AF_UNIX };
	struct cconf_addr a;
	const struct cconf_zone *z;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	z = cconf_zone_find(c, "a.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_FALSE(cconf_allowed(z, CCONF_TRANSFER,
				      (const struct sockaddr *)&unix_peer,
				      NULL));
	CU_ASSERT_EQUAL_FATAL(cconf_addr_parse("10.0.0.1", 53, &a), 0);
	CU_ASSERT_TRUE(cconf_allowed(z, CCONF_TRANSFER,
				     (const struct sockaddr *)&a.ss, NULL));
	CU_ASSERT_FALSE(cconf_allowed(z, (enum cconf_action)3,
				      (const struct sockaddr *)&a.ss, NULL));
	cconf_free(c);
}

/* ---- lookups ---------------------------------------------------------------- */

static void test_zone_find_ignores_case_and_trailing_dot(void)
{
	struct cconf *c = load_ok(full);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_EQUAL(cconf_zone_find(c, "example.com"), &c->zones[0]);
	CU_ASSERT_PTR_EQUAL(cconf_zone_find(c, "EXAMPLE.com."), &c->zones[0]);
	CU_ASSERT_PTR_EQUAL(cconf_zone_find(c, "Example.NET"), &c->zones[1]);
	CU_ASSERT_PTR_NULL(cconf_zone_find(c, "example.org"));
	CU_ASSERT_PTR_NULL(cconf_zone_find(c, "www.example.com"));
	CU_ASSERT_PTR_NULL(cconf_zone_find(c, "com"));
	CU_ASSERT_PTR_NULL(cconf_zone_find(c, "example..com"));
	CU_ASSERT_PTR_NULL(cconf_zone_find(c, ""));
	cconf_free(c);
}

static void test_key_find_ignores_case_and_trailing_dot(void)
{
	struct cconf *c = load_ok(full);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_EQUAL(cconf_key_find(c, "xfr-key"), &c->keys[0]);
	CU_ASSERT_PTR_EQUAL(cconf_key_find(c, "XFR-KEY."), &c->keys[0]);
	CU_ASSERT_PTR_EQUAL(cconf_key_find(c, "other.key"), &c->keys[1]);
	CU_ASSERT_PTR_NULL(cconf_key_find(c, "other"));
	CU_ASSERT_PTR_NULL(cconf_key_find(c, "primary1"));
	cconf_free(c);
}

static void test_many_zones_with_their_own_remotes_load(void)
{
	enum { N = 5000 };
	size_t cap = (size_t)N * 120 + 256, o = 0;
	char *text = malloc(cap);
	struct cconf *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	o += (size_t)snprintf(text + o, cap - o, "remotes:\n");
	/* written in descending order, so that the index has sorting to do */
	for (unsigned i = N; i-- > 0;)
		o += (size_t)snprintf(text + o, cap - o, "  - id: r%u\n"
				      "    address: 10.%u.%u.1\n", i, i >> 8,
				      i & 255);
	o += (size_t)snprintf(text + o, cap - o, "zones:\n");
	for (unsigned i = 0; i < N; i++)
		o += (size_t)snprintf(text + o, cap - o, "  - domain: z%u.test\n"
				      "    primaries: r%u\n", i, i);
	c = load_ok(text);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c) {
		const struct cconf_zone *z = cconf_zone_find(c, "Z1234.test");

		CU_ASSERT_PTR_NOT_NULL(z);
		if (z)
			CU_ASSERT_STRING_EQUAL(z->primaries[0]->id, "r1234");
		z = cconf_zone_find(c, "z0.test");
		CU_ASSERT(z && !strcmp(z->primaries[0]->id, "r0"));
		z = cconf_zone_find(c, "z4999.test");
		CU_ASSERT(z && !strcmp(z->primaries[0]->id, "r4999"));
		cconf_free(c);
	}
	/* and a repeated domain at the very end is still found */
	snprintf(text + o, cap - o, "  - domain: Z17.TEST.\n    primaries: r3\n");
	expect_error(text, 1 + 2 * N + 1 + 2 * N + 1, "'Z17.TEST.'",
		     NULL);
	free(text);
}

/* ---- the file as a whole ------------------------------------------------------ */

static void test_error_leaves_no_configuration(void)
{
	struct cconf sentinel, *c = &sentinel;
	char text[4096], err[16];

	/* everything read and allocated, then an error in the last zone */
	snprintf(text, sizeof(text), "%s    notify: nobody\n", full);
	expect_error(text, 71, "notify:", "unknown remote 'nobody'");

	/* a short error buffer gets the start of the message */
	CU_ASSERT_EQUAL(load(text, &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(strlen(err), sizeof(err) - 1);
	CU_ASSERT_EQUAL(strncmp(err, path, sizeof(err) - 1), 0);
}

static void test_yaml_error_names_its_line(void)
{
	expect_error(REMOTE_P1 "zones:\n  - domain: a.test\n"
		     "    primaries: [p1\n", 7, NULL, NULL);
	expect_error("keys: &k\n  - id: a\n", 1, "anchors are not allowed",
		     NULL);
	expect_error("node:\n  identity: a\n  identity: b\n", 3,
		     "duplicate key 'identity'", "first on line 2");
	expect_error("- node\n", 1, "must be a mapping", NULL);
}

static void test_nonexistent_file_refused(void)
{
	struct cconf sentinel, *c = &sentinel;
	char err[256];

	CU_ASSERT_EQUAL(cconf_load("/nonexistent/ditto.yaml", &c, err,
				   sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/ditto.yaml: "));
}

/* The limits of control: and max-zones, counted with the added zones. */
static void test_limits_and_max_zones(void)
{
	struct cconf *c = load_ok(
		"control:\n  max-zones: 2\n  tcp-connections: 10\n"
		"  tcp-connections-per-client: 3\n  control-request-max: 4096\n"
		"remotes:\n  - { id: p, address: 192.0.2.1 }\n"
		"zones:\n  - { domain: a.example, primaries: [p] }\n"
		"  - { domain: b.example, primaries: [p] }\n");

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(c->max_zones == 2 && c->tcp_connections == 10 &&
		  c->tcp_connections_per_client == 3 &&
		  c->control_request_max == 4096);
	cconf_free(c);
	c = load_ok("remotes:\n  - { id: p, address: 192.0.2.1 }\n");
	CU_ASSERT(c && c->max_zones == 100000 && c->tcp_connections == 64 &&
		  c->tcp_connections_per_client == 8 &&
		  c->control_request_max == 65536);
	cconf_free(c);
	char err[512];

	c = NULL;
	CU_ASSERT(load("control:\n  max-zones: 1\n"
		       "remotes:\n  - { id: p, address: 192.0.2.1 }\n"
		       "zones:\n  - { domain: a.example, primaries: [p] }\n"
		       "  - { domain: b.example, primaries: [p] }\n", &c, err,
		       sizeof(err)) < 0);
	CU_ASSERT(c == NULL && strstr(err, "2 zones, more than control: "
				      "max-zones (1)"));
	expect_error("control:\n  control-request-max: 10\n", 2,
		     "control-request-max", NULL);
}

/* Zones added at run time, from their own file beside the configuration. */
static void test_zones_added_at_run_time(void)
{
	static const char base[] =
		"remotes:\n"
		"  - { id: p1, address: 192.0.2.1 }\n"
		"acls:\n"
		"  - { id: down, address: 192.0.2.9, action: transfer }\n"
		"zones:\n"
		"  - { domain: example.com, primaries: [p1] }\n";
	char added[300], err[512];
	const char *p = write_conf(base);
	struct cconf *c = NULL;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	snprintf(added, sizeof(added), "%s.added", p);
	/* Missing: nothing added. */
	unlink(added);
	CU_ASSERT_EQUAL(cconf_load_with(p, added, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c ? c->n_zones : 0, 1);
	cconf_free(c);
	/* JSON (as ditto-control writes it) with references. */
	f = fopen(added, "w");
	fputs("{\"zones\": [{\"domain\": \"Added.Example.\", \"primaries\": "
	      "[\"p1\"], \"allow-transfer\": [\"down\"], \"ixfr\": false}]}\n",
	      f);
	fclose(f);
	c = NULL;
	CU_ASSERT_EQUAL(cconf_load_with(p, added, &c, err, sizeof(err)), 0);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->n_zones, 2);
	const struct cconf_zone *z = cconf_zone_find(c, "added.example");

	CU_ASSERT(z && z->added && !z->ixfr && z->n_allow_transfer == 1 &&
		  z->primaries[0] == &c->remotes[0]);
	CU_ASSERT(!c->zones[0].added);
	cconf_free(c);
	/* Errors name the added file and its line, and nothing loads. */
	static const struct {
		const char *text, *words;
	} bad[] = {
		{ "zones:\n  - { domain: a.example, primaries: [nope] }\n",
		  ".added:2: primaries: unknown remote 'nope'" },
		{ "zones:\n  - { domain: example.com, primaries: [p1] }\n",
		  ".added:2: domain: example.com is in the configuration" },
		{ "zones:\n  - { domain: b.example, primaries: [p1] }\n"
		  "  - { domain: B.example., primaries: [p1] }\n",
		  ".added:3: domain: B.example. is added twice" },
		{ "remotes: []\n", ".added:1: unknown key 'remotes'" },
		{ "zones: {}\n", "expected a list" },
		{ "zones:\n  - { domain: c.example, primaries: [p1], x: 1 }\n",
		  "unknown key 'x'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(added, "w");
		fputs(bad[i].text, f);
		fclose(f);
		c = NULL;
		err[0] = 0;
		CU_ASSERT(cconf_load_with(p, added, &c, err, sizeof(err)) < 0);
		CU_ASSERT(c == NULL);
		if (!strstr(err, bad[i].words))
			printf("\n  case %zu: \"%s\"\n", i, err);
		CU_ASSERT(strstr(err, bad[i].words) != NULL);
	}
	unlink(added);
	unlink(p);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_full_file_fills_every_field),
		T(test_empty_file_takes_every_default),
		T(test_sections_of_the_dataplane_are_accepted),
		T(test_unknown_section_refused_with_its_line),
		T(test_unknown_key_refused_in_every_map),
		T(test_section_of_the_wrong_kind_refused),
		T(test_map_where_a_value_is_expected_refused),
		T(test_single_value_where_a_list_is_expected_is_one_item),
		T(test_empty_list_refused_where_it_would_mean_anything),
		T(test_required_setting_missing_names_the_item_line),
		T(test_zone_without_primaries_refused),
		T(test_duplicate_ids_refused_per_section),
		T(test_same_id_in_different_sections_is_fine),
		T(test_duplicate_key_name_refused_case_insensitively),
		T(test_duplicate_zone_domain_refused_case_insensitively),
		T(test_reference_to_unknown_remote_names_line),
		T(test_reference_to_unknown_acl_names_line),
		T(test_reference_to_unknown_key_names_line),
		T(test_reference_listed_twice_refused),
		T(test_acl_without_the_lists_action_refused),
		T(test_bad_domain_name_refused),
		T(test_longest_domain_name_taken),
		T(test_address_with_port_parsed),
		T(test_bad_address_refused),
		T(test_bad_prefix_refused),
		T(test_more_than_16_addresses_refused),
		T(test_via_is_a_source_address_without_port),
		T(test_management_address_listed_twice_refused),
		T(test_timer_min_above_max_refused_on_the_written_line),
		T(test_number_out_of_range_refused),
		T(test_numbers_at_the_ends_of_their_range_taken),
		T(test_unknown_action_refused),
		T(test_log_level_names_map_to_syslog),
		T(test_bad_log_level_refused),
		T(test_bad_key_refused_on_the_offending_line),
		T(test_text_setting_empty_or_too_long_refused),
		T(test_notify_from_default_is_the_primaries),
		T(test_notify_from_default_requires_the_primarys_key),
		T(test_notify_from_list_replaces_the_default),
		T(test_allow_transfer_default_is_nobody),
		T(test_acl_prefix_edges),
		T(test_first_matching_acl_decides_deny_or_allow),
		T(test_acl_key_must_match),
		T(test_ipv4_mapped_peer_matches_ipv4_acl),
		T(test_unknown_family_or_action_is_refused),
		T(test_zone_find_ignores_case_and_trailing_dot),
		T(test_key_find_ignores_case_and_trailing_dot),
		T(test_many_zones_with_their_own_remotes_load),
		T(test_error_leaves_no_configuration),
		T(test_yaml_error_names_its_line),
		T(test_nonexistent_file_refused),
		T(test_zones_added_at_run_time),
		T(test_limits_and_max_zones),
#undef T
	};
	int rc = h_run("cconf", tests, sizeof(tests) / sizeof(tests[0]));

	if (dir[0]) {
		unlink(path);
		rmdir(dir);
	}
	return rc;
}
