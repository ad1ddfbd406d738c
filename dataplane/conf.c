/* The dataplane's part of the node configuration (node: and dataplane:).
 * Other top-level sections belong to ditto-control and are left to it. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "dp.h"
#include "yconf.h"

static int copy_str(const struct ynode *n, const char *file, const char *key,
		    char *dst, size_t cap, char *err, size_t errlen)
{
	const char *s = NULL;

	if (yconf_str(n, file, key, &s, err, errlen) < 0)
		return -1;
	if (!s)
		return 0;
	if (strlen(s) >= cap || (cap > 1 && !*s)) {
		snprintf(err, errlen, "%s:%u: %s: %s", file, n->line, key,
			 *s ? "too long" : "must not be empty");
		return -1;
	}
	snprintf(dst, cap, "%s", s);
	return 0;
}

static int get_uint(const struct ynode *sec, const char *file,
		    const char *key, uint64_t min, uint64_t max,
		    unsigned *out, char *err, size_t errlen)
{
	uint64_t v = *out;

	if (yconf_uint(yconf_get(sec, key), file, key, min, max, &v, err,
		       errlen) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void defaults(struct dp_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/ditto");
	snprintf(c->socket, sizeof(c->socket), "/run/ditto/dataplane.sock");
	snprintf(c->port_name, sizeof(c->port_name), "0");
	snprintf(c->exception_if, sizeof(c->exception_if), "ditto0");
	c->workers = 1;
	c->service.port = 53;
	c->edns_size = DITTO_EDNS_DEFAULT;
	c->mbufs = 16383;
	c->rx_desc = 1024;
	c->tx_desc = 1024;
	c->socket_clients = 32;
	c->socket_request_max = 64u << 10;
	c->tcp = true;
	c->tcp_max_conns = 1024;
	c->tcp_max_conns_per_client = 64;
	c->tcp_idle_timeout_ms = 10000;
	c->tcp_max_conn_time_ms = 120000;
	c->tcp_max_queries = 0;
	c->cookies = true;
	c->rrl = (struct rrl_cfg){ .enabled = false, .rate = 20, .slip = 2,
				   .window = 15, .v4_bits = 24, .v6_bits = 56,
				   .table_size = 65536 };
}



static const char *const dp_keys[] = {
	"socket", "socket-group", "socket-clients", "socket-request-max",
	"port", "workers", "service-addresses",
	"service-port", "edns-size", "exception-interface", "idle-sleep-us",
	"mbufs", "rx-descriptors", "tx-descriptors", "tcp", "rrl", "cookies",
	NULL
};

static const char *const cookie_keys[] = {
	"enabled", "secret", "previous-secret", NULL
};

/* 32 hexadecimal digits (an optional 0x before them) into 16 bytes. */
static int secret_hex(const struct ynode *n, const char *path,
		      const char *key, uint8_t out[16], bool *set, char *err,
		      size_t errlen)
{
	const char *s = NULL;

	if (yconf_str(n, path, key, &s, err, errlen) < 0)
		return -1;
	if (!s)
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			goto bad;
		out[i] = (uint8_t)v;
	}
	if (s[32] == 0) {
		*set = true;
		return 0;
	}
bad:
	snprintf(err, errlen, "%s:%u: %s: 16 bytes as 32 hexadecimal digits "
		 "(the same on every node of the service)", path, n->line, key);
	return -1;
}

static const char *const rrl_keys[] = {
	"enabled", "responses-per-second", "slip", "window",
	"ipv4-prefix-length", "ipv6-prefix-length", "exempt", "table-size",
	NULL
};

static const char *const tcp_keys[] = {
	"enabled", "max-connections", "max-connections-per-client",
	"idle-timeout-ms", "max-connection-time-ms",
	"max-queries-per-connection", NULL
};

static int read_rrl(struct dp_conf *c, const struct ynode *rrl,
		    const char *path, char *err, size_t errlen)
{
	struct rrl_cfg *r = &c->rrl;
	const struct ynode *ex = yconf_get(rrl, "exempt");

	if (yconf_only(rrl, path, "dataplane.rrl", rrl_keys, err, errlen) < 0 ||
	    yconf_bool(yconf_get(rrl, "enabled"), path, "enabled", &r->enabled,
		       err, errlen) < 0 ||
	    get_uint(rrl, path, "responses-per-second", 1, 1000000, &r->rate,
		     err, errlen) < 0 ||
	    get_uint(rrl, path, "slip", 0, 100, &r->slip, err, errlen) < 0 ||
	    get_uint(rrl, path, "window", 1, 3600, &r->window, err,
		     errlen) < 0 ||
	    get_uint(rrl, path, "ipv4-prefix-length", 8, 32, &r->v4_bits, err,
		     errlen) < 0 ||
	    get_uint(rrl, path, "ipv6-prefix-length", 16, 128, &r->v6_bits,
		     err, errlen) < 0 ||
	    get_uint(rrl, path, "table-size", 1024, 1u << 24, &r->table_size,
		     err, errlen) < 0)
		return -1;
	if (r->table_size & (r->table_size - 1)) {
		snprintf(err, errlen, "%s:%u: table-size: %u is not a power of "
			 "2", path, yconf_get(rrl, "table-size")->line,
			 r->table_size);
		return -1;
	}
	if (!ex)
		return 0;
	if (ex->kind == Y_MAP) {
		snprintf(err, errlen, "%s:%u: exempt: expected a list of "
			 "prefixes", path, ex->line);
		return -1;
	}
	size_t n = ex->kind == Y_SEQ ? ex->n : 1;

	for (size_t i = 0; i < n; i++) {
		const struct ynode *e = ex->kind == Y_SEQ ? ex->items[i] : ex;

		if (e->kind != Y_SCALAR || r->n_exempt >= RRL_MAX_EXEMPT ||
		    rrl_prefix_parse(e->str, &r->exempt[r->n_exempt]) < 0) {
			snprintf(err, errlen, "%s:%u: exempt: '%s' is not a "
				 "prefix like 192.0.2.0/24 (at most %d)", path,
				 e->line, e->kind == Y_SCALAR ? e->str : "?",
				 RRL_MAX_EXEMPT);
			return -1;
		}
		r->n_exempt++;
	}
	return 0;
}

/* Whether the address pkt_service_add() just added (the last of its family)
 * was there already: "2001:db8::53" and "2001:DB8:0::53" are one address,
 * and the TCP thread could not listen on it twice. */
static bool service_added_twice(const struct pkt_service *s, unsigned n4_before)
{
	if (s->n4 != n4_before) {
		for (unsigned i = 0; i + 1 < s->n4; i++)
			if (memcmp(s->v4[i], s->v4[s->n4 - 1], 4) == 0)
				return true;
		return false;
	}
	for (unsigned i = 0; i + 1 < s->n6; i++)
		if (memcmp(s->v6[i], s->v6[s->n6 - 1], 16) == 0)
			return true;
	return false;
}

static int read_service(struct dp_conf *c, const struct ynode *list,
			const char *f, char *err, size_t errlen)
{
	if (!list) {
		snprintf(err, errlen, "%s: dataplane.service-addresses: at "
			 "least one service address is needed", f);
		return -1;
	}
	if (list->kind == Y_SCALAR) {
		snprintf(err, errlen, "%s:%u: service-addresses: expected a "
			 "list, like [192.0.2.53, \"2001:db8::53\"]", f,
			 list->line);
		return -1;
	}
	if (list->kind != Y_SEQ || list->n == 0) {
		snprintf(err, errlen, "%s:%u: service-addresses: expected a "
			 "non-empty list of addresses", f, list->line);
		return -1;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *a = list->items[i];
		unsigned n4 = c->service.n4;

		if (a->kind != Y_SCALAR || c->n_service >= PKT_MAX_SERVICE * 2 ||
		    strlen(a->str) >= sizeof(c->service_text[0]) ||
		    pkt_service_add(&c->service, a->str) < 0) {
			snprintf(err, errlen, "%s:%u: service-addresses: '%s' "
				 "is not an IPv4 or IPv6 address (or more than "
				 "%u of a family)", f, a->line,
				 a->kind == Y_SCALAR ? a->str : "?",
				 PKT_MAX_SERVICE);
			return -1;
		}
		if (service_added_twice(&c->service, n4)) {
			snprintf(err, errlen, "%s:%u: service-addresses: %s is "
				 "listed twice", f, a->line, a->str);
			return -1;
		}
		snprintf(c->service_text[c->n_service++],
			 sizeof(c->service_text[0]), "%s", a->str);
	}
	return 0;
}

int dp_conf_load(const char *path, struct dp_conf *c, char *err,
		 size_t errlen)
{
	struct ynode *root;
	const struct ynode *node, *dp, *tcp;
	int rc = -1;
	unsigned port = 53;

	defaults(c);
	snprintf(c->file, sizeof(c->file), "%s", path);
	root = yconf_load(path, err, errlen);
	if (!root)
		return -1;
	node = yconf_get(root, "node");
	dp = yconf_get(root, "dataplane");
	if (!dp) {
		snprintf(err, errlen, "%s: no dataplane: section", path);
		goto out;
	}
	if (yconf_only(node, path, "node", yconf_node_keys, err, errlen) < 0 ||
	    yconf_only(dp, path, "dataplane", dp_keys, err, errlen) < 0)
		goto out;
	if (copy_str(yconf_get(node, "identity"), path, "identity",
		     c->identity, sizeof(c->identity), err, errlen) < 0 ||
	    copy_str(yconf_get(node, "state-dir"), path, "state-dir",
		     c->state_dir, sizeof(c->state_dir), err, errlen) < 0 ||
	    copy_str(yconf_get(dp, "socket"), path, "socket", c->socket,
		     sizeof(c->socket), err, errlen) < 0 ||
	    copy_str(yconf_get(dp, "socket-group"), path, "socket-group",
		     c->socket_group, sizeof(c->socket_group), err,
		     errlen) < 0 ||
	    copy_str(yconf_get(dp, "port"), path, "port", c->port_name,
		     sizeof(c->port_name), err, errlen) < 0 ||
	    copy_str(yconf_get(dp, "exception-interface"), path,
		     "exception-interface", c->exception_if,
		     sizeof(c->exception_if), err, errlen) < 0)
		goto out;
	if (strlen(c->identity) > 255) {
		snprintf(err, errlen, "%s: identity: at most 255 bytes", path);
		goto out;
	}
	if (get_uint(dp, path, "workers", 1, DP_MAX_WORKERS, &c->workers,
		     err, errlen) < 0 ||
	    get_uint(dp, path, "service-port", 1, 65535, &port, err,
		     errlen) < 0 ||
	    get_uint(dp, path, "edns-size", 512, 65535, &c->edns_size, err,
		     errlen) < 0 ||
	    get_uint(dp, path, "idle-sleep-us", 0, 100000, &c->idle_sleep_us,
		     err, errlen) < 0 ||
	    get_uint(dp, path, "mbufs", 1023, 1u << 22, &c->mbufs, err,
		     errlen) < 0 ||
	    get_uint(dp, path, "rx-descriptors", 64, 16384, &c->rx_desc, err,
		     errlen) < 0 ||
	    get_uint(dp, path, "tx-descriptors", 64, 16384, &c->tx_desc, err,
		     errlen) < 0)
		goto out;
	c->service.port = (uint16_t)port;
	if (read_service(c, yconf_get(dp, "service-addresses"), path, err,
			 errlen) < 0)
		goto out;
	if (get_uint(dp, path, "socket-clients", 1, 1024, &c->socket_clients,
		     err, errlen) < 0 ||
	    get_uint(dp, path, "socket-request-max", 1024, 64u << 20,
		     &c->socket_request_max, err, errlen) < 0)
		goto out;
	tcp = yconf_get(dp, "tcp");
	if (yconf_only(tcp, path, "dataplane.tcp", tcp_keys, err, errlen) < 0 ||
	    yconf_bool(yconf_get(tcp, "enabled"), path, "enabled", &c->tcp,
		       err, errlen) < 0 ||
	    get_uint(tcp, path, "max-connections", 1, 1000000,
		     &c->tcp_max_conns, err, errlen) < 0 ||
	    get_uint(tcp, path, "max-connections-per-client", 0, 1000000,
		     &c->tcp_max_conns_per_client, err, errlen) < 0 ||
	    get_uint(tcp, path, "idle-timeout-ms", 10, 3600000,
		     &c->tcp_idle_timeout_ms, err, errlen) < 0 ||
	    get_uint(tcp, path, "max-connection-time-ms", 0, 86400000,
		     &c->tcp_max_conn_time_ms, err, errlen) < 0 ||
	    get_uint(tcp, path, "max-queries-per-connection", 0, 1000000000,
		     &c->tcp_max_queries, err, errlen) < 0)
		goto out;
	if (read_rrl(c, yconf_get(dp, "rrl"), path, err, errlen) < 0)
		goto out;
	const struct ynode *ck = yconf_get(dp, "cookies");

	if (yconf_only(ck, path, "dataplane.cookies", cookie_keys, err,
		       errlen) < 0 ||
	    yconf_bool(yconf_get(ck, "enabled"), path, "enabled", &c->cookies,
		       err, errlen) < 0 ||
	    secret_hex(yconf_get(ck, "secret"), path, "secret",
		       c->cookie_secret, &c->cookie_secret_set, err,
		       errlen) < 0 ||
	    secret_hex(yconf_get(ck, "previous-secret"), path,
		       "previous-secret", c->cookie_previous,
		       &c->cookie_previous_set, err, errlen) < 0)
		goto out;
	if (!c->cookie_secret_set &&
	    getrandom(c->cookie_secret, 16, 0) != 16) {
		snprintf(err, errlen, "%s: no random cookie secret", path);
		goto out;
	}
	rc = 0;
out:
	yconf_free(root);
	return rc;
}
