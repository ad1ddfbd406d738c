/* cconf: ditto-control's part of the node's YAML configuration (keys,
 * remotes, ACLs, zones, timer bounds, limits), read and checked as a whole:
 * every error names its file and line, and a file with any error yields no
 * configuration at all.
 *
 * The schema (sections other than these, and dataplane:, are refused;
 * node: keys of the dataplane are accepted and ignored here):
 *
 *   node:
 *     identity: pop1.example.net
 *     state-dir: /var/lib/ditto             # default /var/lib/ditto
 *     management-addresses: [10.53.0.2, "fd53::2", "10.0.0.1@5353"]
 *                                           # listen here, UDP+TCP, port 53 unless @port
 *     control-socket: /run/ditto/control.sock
 *     socket-group: ditto                    # optional
 *     log-level: info                        # error|warning|notice|info|debug
 *     metrics: 10.53.0.2@9153               # Prometheus /metrics and /health over HTTP; port 9153 unless @port
 *   dataplane:
 *     socket: /run/ditto/dataplane.sock      # read here too: where to publish
 *   control:
 *     timers:                                # clamps on the SOA's values, seconds
 *       refresh-min: 2     refresh-max: 86400
 *       retry-min: 1       retry-max: 3600
 *       expire-min: 10     expire-max: 2419200
 *       jitter-percent: 10                   # 0..50
 *     transfers-per-primary: 4               # concurrent transfers to one primary
 *     transfers-total: 64
 *     transfer-timeout: 120                  # seconds, whole transfer
 *     tcp-timeout: 10                        # seconds of silence on a transfer or query
 *     max-transfer-bytes: 1073741824
 *     max-zone-records: 10000000
 *     journal-max-bytes: 16777216            # per zone
 *     notify-retries: 5
 *     max-zones: 100000                      # configured and added, in all
 *     tcp-connections: 64                    # on the management addresses
 *     tcp-connections-per-client: 8
 *     control-request-max: 65536             # bytes of one control.sock request
 *   keys:
 *     - id: xfr-key                          # the key's name on the wire, too
 *       algorithm: hmac-sha256               # hmac-md5|sha1|sha224|sha256|sha384|sha512
 *       secret: base64==
 *   remotes:
 *     - id: primary1
 *       address: [10.53.0.1, "fd53::1@5353"]  # one or a list; port 53 unless @port
 *       key: xfr-key                          # optional
 *       via: 10.53.0.2                        # optional source address
 *   acls:
 *     - id: from-primary
 *       address: [10.53.0.0/24, "fd53::/64", 10.53.0.9]   # prefixes or hosts
 *       key: xfr-key                          # optional: must also be signed with it
 *       action: [notify, transfer]            # one or a list
 *       deny: false                           # optional
 *   zones:
 *     - domain: example.com
 *       primaries: [primary1, primary2]       # remote ids, tried in order (required)
 *       notify-from: [from-primary]           # acl ids; default: the primaries' addresses and keys
 *       allow-transfer: [to-secondaries]      # acl ids; default: nobody
 *       notify: [secondary1]                  # remote ids to NOTIFY on a new serial
 *       ixfr: true                            # ask for IXFR (default true)
 *       expire-edns: true                     # ask primaries for EDNS EXPIRE (default true)
 *
 * Ids are unique per section; every reference must name a defined id; zone
 * domains are unique (compared case-insensitively, with or without the
 * trailing dot); min <= max for every timer pair.
 */
#ifndef DITTO_CCONF_H
#define DITTO_CCONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tsig.h"

#define CCONF_MAX_ADDRS 16	/* addresses of one remote or ACL */

/* An address with a port, as the socket API takes it. */
struct cconf_addr {
	struct sockaddr_storage ss;	/* AF_INET or AF_INET6, port set */
	socklen_t len;
	char text[64];			/* as written, for logs */
};

/* A prefix for ACLs: family, address bytes, prefix length. */
struct cconf_prefix {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t bits;
};

struct cconf_remote {
	char *id;
	struct cconf_addr addrs[CCONF_MAX_ADDRS];
	size_t n_addrs;
	const struct tsig_key *key;	/* NULL: unsigned */
	bool have_via;
	struct cconf_addr via;		/* port 0 */
};

enum cconf_action { CCONF_NOTIFY = 1, CCONF_TRANSFER = 2 };

struct cconf_acl {
	char *id;
	struct cconf_prefix prefixes[CCONF_MAX_ADDRS];
	size_t n_prefixes;		/* 0: any address */
	const struct tsig_key *key;	/* NULL: no key required */
	unsigned actions;		/* CCONF_NOTIFY | CCONF_TRANSFER */
	bool deny;
};

struct cconf_zone {
	char *domain;			/* presentation, lowercase, trailing dot */
	uint8_t wire[255];		/* the same in wire form */
	uint8_t wire_len;
	const struct cconf_remote **primaries;
	size_t n_primaries;
	const struct cconf_acl **notify_from;	/* NULL with n 0: the default */
	size_t n_notify_from;
	const struct cconf_acl **allow_transfer;
	size_t n_allow_transfer;
	const struct cconf_remote **notify;
	size_t n_notify;
	bool ixfr;
	bool expire_edns;
	bool added;			/* from the file of zones added at run
					 * time, not the configuration */
	unsigned line;			/* where the zone is defined */
};

struct cconf_timers {
	uint32_t refresh_min, refresh_max;
	uint32_t retry_min, retry_max;
	uint32_t expire_min, expire_max;
	unsigned jitter_percent;
};

struct cconf {
	char *file;
	char *identity;			/* "" when absent */
	char *state_dir;
	char *control_socket;
	char *socket_group;		/* NULL when absent */
	char *dataplane_socket;
	char *metrics;			/* NULL when absent */
	struct cconf_addr metrics_addr;	/* the same, parsed */
	int log_level;			/* syslog priority: LOG_ERR..LOG_DEBUG */
	struct cconf_addr *listen;	/* management addresses, port set */
	size_t n_listen;

	struct cconf_timers timers;
	unsigned transfers_per_primary;
	unsigned transfers_total;
	unsigned transfer_timeout;	/* seconds */
	unsigned tcp_timeout;		/* seconds */
	uint64_t max_transfer_bytes;
	uint64_t max_zone_records;
	uint64_t journal_max_bytes;
	unsigned notify_retries;
	unsigned max_zones;		/* configured and added at run time */
	unsigned tcp_connections;	/* management TCP, in all */
	unsigned tcp_connections_per_client;
	unsigned control_request_max;	/* bytes of one control.sock line */

	struct tsig_key *keys;
	size_t n_keys;
	struct cconf_remote *remotes;
	size_t n_remotes;
	struct cconf_acl *acls;
	size_t n_acls;
	struct cconf_zone *zones;
	size_t n_zones;
};

/* Read and check path. 0 and *out allocated, or -1 with
 * "file:line: what" in err and *out NULL. */
int cconf_load(const char *path, struct cconf **out, char *err, size_t errlen);
/* The same, with the zones of the file added (zones added at run time:
 * a YAML or JSON file holding only "zones:", in the same form, their
 * references to the configuration's remotes and ACLs, none already in
 * the configuration). A missing added file adds nothing. */
int cconf_load_with(const char *path, const char *added, struct cconf **out,
		    char *err, size_t errlen);
/* The same from text in memory (name stands for the file in messages),
 * with no added zones. */
int cconf_load_text(const char *text, size_t len, const char *name,
		    struct cconf **out, char *err, size_t errlen);
void cconf_free(struct cconf *c);

/* Lookups; NULL when absent. domain in presentation form, any case, with
 * or without the trailing dot. */
const struct cconf_zone *cconf_zone_find(const struct cconf *c,
					 const char *domain);
const struct tsig_key *cconf_key_find(const struct cconf *c, const char *id);

/* Whether from (signed with key, NULL when unsigned) may do action for
 * zone: the first ACL of the zone's list (or of the default) whose address
 * and key match decides, deny or allow; none matching denies. */
bool cconf_allowed(const struct cconf_zone *z, enum cconf_action action,
		   const struct sockaddr *from, const struct tsig_key *key);

/* "host@port" or "host" (default_port) into an address; 0 or -1. */
int cconf_addr_parse(const char *text, uint16_t default_port,
		     struct cconf_addr *out);

#endif
