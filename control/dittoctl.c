/* dittoctl: the operator's tool, over the two processes' Unix sockets.
 *
 *   dittoctl [--config FILE] [--control-socket PATH] [--dataplane-socket PATH]
 *            [--json] [--timeout SECONDS] COMMAND [ARGS]
 *
 * Tables for people, --json for programs (the processes' answers, as they
 * gave them). Exit status: 0 done (health: announce the node), 1 refused,
 * unreachable or unhealthy (health: withdraw it), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsock.h"
#include "report.h"
#include "yconf.h"

#define DEFAULT_CONTROL "/run/ditto/control.sock"
#define DEFAULT_DATAPLANE "/run/ditto/dataplane.sock"

static const char *ctl_sock = DEFAULT_CONTROL, *dp_sock = DEFAULT_DATAPLANE;
static bool as_json;
static int timeout_ms = 10000;

static void usage(FILE *f)
{
	fputs("usage: dittoctl [--config FILE] [--control-socket PATH] "
	      "[--dataplane-socket PATH]\n"
	      "                [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
	      "commands:\n"
	      "  status                    both processes\n"
	      "  zone-list                 every zone, one line each\n"
	      "  zone-status [ZONE]        every detail of one zone (or all)\n"
	      "  zone-refresh ZONE         ask the primaries now\n"
	      "  zone-retransfer ZONE      transfer the whole zone again (AXFR)\n"
	      "  zone-notify ZONE          NOTIFY the zone's downstreams\n"
	      "  zone-add ZONE --primaries ID[,ID...] [--notify-from ACL,...]\n"
	      "           [--allow-transfer ACL,...] [--notify ID,...] [--no-ixfr]\n"
	      "           [--no-expire-edns]  add a zone now (kept across "
	      "restarts)\n"
	      "  zone-remove ZONE          remove a zone added with zone-add\n"
	      "  reload                    both processes read the "
	      "configuration again (each\n"
	      "                            refuses a bad one whole)\n"
	      "  stats [--prometheus]      counters of both processes\n"
	      "  health [--max-expired N]  exit 0 when the node should be "
	      "announced\n", f);
}

/* The socket paths from the node's YAML file. */
static int read_config(const char *path)
{
	char err[512];
	struct ynode *root = yconf_load(path, err, sizeof(err));
	const struct ynode *v;
	static char c[4096], d[4096];

	if (!root) {
		fprintf(stderr, "dittoctl: %s\n", err);
		return -1;
	}
	v = yconf_get(yconf_get(root, "node"), "control-socket");
	if (v && v->kind == Y_SCALAR) {
		snprintf(c, sizeof(c), "%s", v->str);
		ctl_sock = c;
	}
	v = yconf_get(yconf_get(root, "dataplane"), "socket");
	if (v && v->kind == Y_SCALAR) {
		snprintf(d, sizeof(d), "%s", v->str);
		dp_sock = d;
	}
	yconf_free(root);
	return 0;
}

/* One request; the answer, or NULL with the reason printed. */
static json_object *call(const char *sock, const char *who, const char *cmd,
			 const char *zone)
{
	char err[600];
	json_object *req = jsock_cmd(cmd, zone);
	json_object *o = jsock_call(sock, req, timeout_ms, err, sizeof(err));

	json_object_put(req);
	if (!o)
		fprintf(stderr, "dittoctl: %s: %s\n", who, err);
	return o;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Two processes' answers as one object (null where one did not answer). */
static void print_pair(const char *ka, json_object *a, const char *kb,
		       json_object *b)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, ka, json_object_get(a));
	json_object_object_add(o, kb, json_object_get(b));
	print_json(o);
	json_object_put(o);
}

static const char *duration(long long s, char *buf, size_t cap)
{
	if (s < 0)
		snprintf(buf, cap, "-");
	else if (s < 120)
		snprintf(buf, cap, "%llds", s);
	else if (s < 7200)
		snprintf(buf, cap, "%lldm%02llds", s / 60, s % 60);
	else if (s < 172800)
		snprintf(buf, cap, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, cap, "%lldd%02lldh", s / 86400, s / 3600 % 24);
	return buf;
}

/* ---- commands ------------------------------------------------------------ */

static int cmd_status(void)
{
	json_object *d = call(dp_sock, "dataplane", "status", NULL);
	json_object *c = call(ctl_sock, "control", "status", NULL);
	char up[32];

	if (as_json) {
		print_pair("dataplane", d, "control", c);
	} else {
		if (d) {
			json_object *p = jget(d, "port");

			printf("ditto-dataplane  %s  pid %lld  up %s\n",
			       jstr(d, "version", "?"), jint(d, "pid", 0),
			       duration(jint(d, "uptime", -1), up, sizeof(up)));
			printf("  port %s (%s) link %s %lld Mb/s, mtu %lld, "
			       "checksums %s\n", jstr(p, "name", "?"),
			       jstr(p, "driver", "?"), jstr(p, "link", "?"),
			       jint(p, "speed-mbps", 0), jint(p, "mtu", 0),
			       jget(p, "checksum-offload") &&
					       json_object_get_boolean(
						       jget(p, "checksum-offload")) ?
				       "offloaded" : "in software");
			printf("  %lld workers, %lld queues, %lld zones, "
			       "exception interface %s, TCP %s\n",
			       jint(d, "workers", 0), jint(d, "queues", 0),
			       jint(d, "zones", 0),
			       jstr(d, "exception-interface", "-"),
			       jget(d, "tcp") &&
					       json_object_get_boolean(jget(d, "tcp")) ?
				       "on" : "off");
		} else {
			printf("ditto-dataplane  not answering on %s\n", dp_sock);
		}
		if (c) {
			printf("ditto-control    %s  pid %lld  up %s\n",
			       jstr(c, "version", "?"), jint(c, "pid", 0),
			       duration(jint(c, "uptime", -1), up, sizeof(up)));
			printf("  %lld zones: %lld ok, %lld bootstrap, %lld "
			       "expired; %lld transfers running\n",
			       jint(c, "zones", 0), jint(c, "zones-ok", 0),
			       jint(c, "zones-bootstrap", 0),
			       jint(c, "zones-expired", 0),
			       jint(c, "transfers-running", 0));
		} else {
			printf("ditto-control    not answering on %s\n", ctl_sock);
		}
	}
	json_object_put(d);
	json_object_put(c);
	return d && c ? 0 : 1;
}

static int cmd_zone_list(void)
{
	json_object *c = call(ctl_sock, "control", "zone-list", NULL);
	json_object *d = call(dp_sock, "dataplane", "zone-list", NULL);
	json_object *map = d ? jsock_index(jget(d, "zones"), "zone") : NULL;
	json_object *zs = jget(c, "zones");
	char ex[32];

	if (!c) {
		json_object_put(d);
		return 1;
	}
	if (as_json) {
		print_pair("control", c, "dataplane", d);
	} else {
		printf("%-32s %-9s %10s %10s %10s %-9s %9s  %s\n", "ZONE",
		       "STATE", "SERIAL", "PRIMARY", "SERVED", "DNSSEC",
		       "EXPIRES", "LAST RESULT");
		for (size_t i = 0; zs && i < json_object_array_length(zs); i++) {
			json_object *z = json_object_array_get_idx(zs, i);
			json_object *dz = jget(map, jstr(z, "zone", ""));
			char serial[16] = "-", prim[16] = "-", served[16] = "-";

			if (jget(z, "serial"))
				snprintf(serial, sizeof(serial), "%lld",
					 jint(z, "serial", 0));
			if (jget(z, "primary-serial"))
				snprintf(prim, sizeof(prim), "%lld",
					 jint(z, "primary-serial", 0));
			if (dz)
				snprintf(served, sizeof(served), "%lld%s",
					 jint(dz, "serial", 0),
					 jget(dz, "expired") &&
							 json_object_get_boolean(
								 jget(dz, "expired")) ?
						 "!" : "");
			else if (!d)
				snprintf(served, sizeof(served), "?");
			printf("%-32s %-9s %10s %10s %10s %-9s %9s  %.60s\n",
			       jstr(z, "zone", "?"), jstr(z, "state", "?"),
			       serial, prim, served,
			       dz ? jstr(dz, "dnssec", "-") : "-",
			       duration(jget(z, "expires-in") ?
						jint(z, "expires-in", 0) : -1,
					ex, sizeof(ex)),
			       jstr(z, "last-result", ""));
		}
		if (!d)
			printf("(the dataplane did not answer: SERVED unknown)\n");
	}
	json_object_put(map);
	json_object_put(c);
	json_object_put(d);
	return d ? 0 : 1;
}

static int cmd_zone_status(const char *zone)
{
	json_object *c = call(ctl_sock, "control", "zone-status", zone);
	json_object *zs = jget(c, "zones");

	if (!c)
		return 1;
	if (as_json) {
		print_json(c);
	} else {
		for (size_t i = 0; zs && i < json_object_array_length(zs); i++) {
			json_object *z = json_object_array_get_idx(zs, i);

			if (i)
				putchar('\n');
			json_object_object_foreach(z, k, v) {
				const char *t = json_object_get_string(v);

				printf("%-20s %s\n", k, t ? t : "");
			}
		}
	}
	json_object_put(c);
	return 0;
}

static int cmd_simple(const char *cmd, const char *zone)
{
	json_object *c = call(ctl_sock, "control", cmd, zone);

	if (!c)
		return 1;
	if (as_json)
		print_json(c);
	else if (!strcmp(cmd, "zone-notify"))
		printf("%s: NOTIFY sent to %lld downstream address(es)\n", zone,
		       jint(c, "notified", 0));
	else if (!strcmp(cmd, "zone-remove"))
		printf("%s: removed\n", zone);

	else
		printf("%s: %s\n", zone, !strcmp(cmd, "zone-refresh") ?
				   "refresh started" :
				   "full transfer (AXFR) started");
	json_object_put(c);
	return 0;
}

static json_object *id_list(const char *text)
{
	json_object *a = json_object_new_array();
	char *copy = strdup(text), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save))
		json_object_array_add(a, json_object_new_string(t));
	free(copy);
	return a;
}

static int cmd_zone_add(int nargs, char **args)
{
	json_object *req = jsock_cmd("zone-add", args[0]), *o;
	char err[600];
	bool primaries = false;

	for (int i = 1; i < nargs; i++) {
		static const char *const lists[] = { "--primaries",
			"--notify-from", "--allow-transfer", "--notify", NULL };
		bool done = false;

		for (size_t k = 0; lists[k]; k++)
			if (!strcmp(args[i], lists[k]) && i + 1 < nargs) {
				json_object_object_add(req, lists[k] + 2,
						       id_list(args[++i]));
				primaries |= k == 0;
				done = true;
				break;
			}
		if (done)
			continue;
		if (!strcmp(args[i], "--no-ixfr"))
			json_object_object_add(req, "ixfr",
					       json_object_new_boolean(0));
		else if (!strcmp(args[i], "--no-expire-edns"))
			json_object_object_add(req, "expire-edns",
					       json_object_new_boolean(0));
		else {
			fprintf(stderr, "dittoctl: zone-add: unknown option "
				"'%s'\n", args[i]);
			json_object_put(req);
			return 2;
		}
	}
	if (!primaries) {
		fprintf(stderr, "dittoctl: zone-add needs --primaries\n");
		json_object_put(req);
		return 2;
	}
	o = jsock_call(ctl_sock, req, timeout_ms, err, sizeof(err));
	json_object_put(req);
	if (!o) {
		fprintf(stderr, "dittoctl: control: %s\n", err);
		return 1;
	}
	if (as_json)
		print_json(o);
	else
		printf("%s: added\n", args[0]);
	json_object_put(o);
	return 0;
}

/* Both processes read the file again; each refuses it whole or applies
 * it. */
static int cmd_reload(void)
{
	json_object *c = call(ctl_sock, "control", "reload", NULL);
	json_object *d = call(dp_sock, "dataplane", "reload", NULL);

	if (as_json) {
		print_pair("control", c, "dataplane", d);
	} else {
		if (c)
			printf("control: configuration reloaded: %lld zones\n",
			       jint(c, "zones", 0));
		if (d)
			printf("dataplane: configuration reloaded: %s\n",
			       jstr(d, "applied", ""));
	}
	json_object_put(c);
	json_object_put(d);
	return c && d ? 0 : 1;
}

static void stats_row(const char *who, json_object *s)
{
	json_object *rc = jget(s, "rcode"), *dr = jget(s, "drops");
	long long drops = 0;

	json_object_object_foreach(dr, k, v) {
		(void)k;
		drops += json_object_get_int64(v);
	}
	printf("%-8s %12lld %12lld %12lld %10lld %10lld %10lld %8lld %8lld\n",
	       who, jint(s, "rx", 0), jint(s, "tx", 0), jint(s, "queries", 0),
	       jint(rc, "NOERROR", 0), jint(rc, "NXDOMAIN", 0),
	       jint(rc, "REFUSED", 0), jint(s, "truncated", 0), drops);
}

static int cmd_stats(bool prometheus)
{
	if (prometheus) {
		struct node_view v;
		char *text;
		int rc;

		node_view_fetch(&v, ctl_sock, dp_sock, timeout_ms);
		text = report_prometheus(&v);
		rc = v.dp_status && v.ctl_status && text ? 0 : 1;
		if (!v.dp_status)
			fprintf(stderr, "dittoctl: dataplane: %s\n", v.dp_err);
		if (!v.ctl_status)
			fprintf(stderr, "dittoctl: control: %s\n", v.ctl_err);
		if (text)
			fputs(text, stdout);
		free(text);
		node_view_free(&v);
		return rc;
	}
	json_object *d = call(dp_sock, "dataplane", "stats", NULL);
	json_object *c = call(ctl_sock, "control", "zone-list", NULL);

	if (as_json) {
		print_pair("dataplane", d, "control", c);
	} else {
		if (d) {
			json_object *ws = jget(d, "workers"), *t = jget(d, "tcp");
			json_object *e = jget(d, "exception");

			printf("%-8s %12s %12s %12s %10s %10s %10s %8s %8s\n",
			       "WORKER", "RX", "TX", "QUERIES", "NOERROR",
			       "NXDOMAIN", "REFUSED", "TC", "DROPS");
			for (size_t i = 0; ws && i < json_object_array_length(ws);
			     i++) {
				char name[24];

				snprintf(name, sizeof(name), "%zu", i);
				stats_row(name, json_object_array_get_idx(ws, i));
			}
			stats_row("total", jget(d, "total"));
			printf("\nqtypes:");
			json_object_object_foreach(jget(jget(d, "total"), "qtype"),
						   qk, qv)
				if (json_object_get_int64(qv))
					printf(" %s %lld", qk,
					       (long long)json_object_get_int64(qv));
			printf("\ndrops:");
			json_object_object_foreach(jget(jget(d, "total"), "drops"),
						   dk, dv)
				if (json_object_get_int64(dv))
					printf(" %s %lld", dk,
					       (long long)json_object_get_int64(dv));
			printf("\nexception path: %lld to the kernel, %lld from "
			       "it\n", jint(e, "to-kernel", 0),
			       jint(e, "from-kernel", 0));
			printf("rate limiting: %lld responses dropped, %lld "
			       "slipped (TC)\n",
			       jint(jget(d, "total"), "rrl-dropped", 0),
			       jint(jget(d, "total"), "rrl-slipped", 0));
			if (t)
				printf("tcp: %lld queries, %lld connections "
				       "accepted, %lld refused, %lld open\n",
				       jint(t, "queries", 0),
				       jint(t, "accepted", 0),
				       jint(t, "refused", 0), jint(t, "open", 0));
		}
		if (c) {
			json_object *zs = jget(c, "zones");
			long long ok = 0, failed = 0, axfr = 0, ixfr = 0;

			for (size_t i = 0; zs && i < json_object_array_length(zs);
			     i++) {
				json_object *z = json_object_array_get_idx(zs, i);

				ok += jint(z, "transfers-ok", 0);
				failed += jint(z, "transfers-failed", 0);
				axfr += jint(z, "axfr", 0);
				ixfr += jint(z, "ixfr", 0);
			}
			printf("transfers: %lld ok (%lld AXFR, %lld IXFR), "
			       "%lld failed\n", ok, axfr, ixfr, failed);
		}
	}
	json_object_put(d);
	json_object_put(c);
	return d && c ? 0 : 1;
}

static int cmd_health(unsigned max_bad)
{
	struct node_view v;
	char why[700];
	bool ok;

	node_view_fetch(&v, ctl_sock, dp_sock, timeout_ms < 3000 ? timeout_ms
								   : 3000);
	ok = report_health(&v, max_bad, why, sizeof(why));
	if (as_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "healthy", json_object_new_boolean(ok));
		json_object_object_add(o, "reason", json_object_new_string(why));
		print_json(o);
		json_object_put(o);
	} else {
		puts(why);
	}
	node_view_free(&v);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control-socket", required_argument, NULL, 'C' },
		{ "dataplane-socket", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *csock = NULL, *dsock = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'C': csock = optarg; break;
		case 'D': dsock = optarg; break;
		case 'j': as_json = true; break;
		case 't': {
			char *end;
			double t = strtod(optarg, &end);

			if (*end || t <= 0 || t > 3600) {
				fprintf(stderr, "dittoctl: --timeout: seconds, "
					"not '%s'\n", optarg);
				return 2;
			}
			timeout_ms = (int)(t * 1000);
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config && read_config(config) < 0)
		return 2;
	if (csock)
		ctl_sock = csock;
	if (dsock)
		dp_sock = dsock;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	char **args = argv + optind;

	if (!strcmp(cmd, "status") && nargs == 0)
		return cmd_status();
	if (!strcmp(cmd, "zone-list") && nargs == 0)
		return cmd_zone_list();
	if (!strcmp(cmd, "zone-status") && nargs <= 1)
		return cmd_zone_status(nargs ? args[0] : NULL);
	if ((!strcmp(cmd, "zone-refresh") || !strcmp(cmd, "zone-retransfer") ||
	     !strcmp(cmd, "zone-notify") || !strcmp(cmd, "zone-remove")) &&
	    nargs == 1)
		return cmd_simple(cmd, args[0]);
	if (!strcmp(cmd, "reload") && nargs == 0)
		return cmd_reload();
	if (!strcmp(cmd, "zone-add") && nargs >= 1)
		return cmd_zone_add(nargs, args);
	if (!strcmp(cmd, "stats") && nargs == 0)
		return cmd_stats(false);
	if (!strcmp(cmd, "stats") && nargs == 1 &&
	    !strcmp(args[0], "--prometheus"))
		return cmd_stats(true);
	if (!strcmp(cmd, "health")) {
		unsigned long max_bad = 0;

		if (nargs == 2 && !strcmp(args[0], "--max-expired")) {
			char *end;

			errno = 0;
			max_bad = strtoul(args[1], &end, 10);
			if (*end || !*args[1] || errno || max_bad > 1000000) {
				fprintf(stderr, "dittoctl: --max-expired: a "
					"count, not '%s'\n", args[1]);
				return 2;
			}
		} else if (nargs != 0) {
			usage(stderr);
			return 2;
		}
		return cmd_health((unsigned)max_bad);
	}
	fprintf(stderr, "dittoctl: unknown command or wrong arguments: %s\n",
		cmd);
	usage(stderr);
	return 2;
}
