/* Fuzz target: arbitrary bytes sent on control.sock, through
 * ditto-control's own ctl_accept() (control/ctl.c, linked as it is): the
 * line read, the JSON-c tokener, the field extraction and the dispatch,
 * and the status and zone-list answers of a server with two zones, one
 * serving and one still waiting for its first transfer. Every answer must
 * be one line of a JSON object with "ok".
 *
 * The commands that act (zone-add, zone-remove, reload, zone-refresh,
 * zone-retransfer, zone-notify) end here in stand-ins for the rest of the
 * process: what they do to zones, files and the dataplane is not fuzzed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "journal.h"
#include "server.h"

#define SEND_MAX 70000		/* past control.sock's 64 KiB request limit */

/* ---- stand-ins for the rest of ditto-control ----------------------------- */

int clog_level;

void clog_msg(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

bool log_ok(struct log_limit *l)
{
	(void)l;
	return false;
}

void zone_refresh_now(struct czone *z, bool axfr)
{
	z->refresh_wanted = true;
	z->force_axfr |= axfr;
}

unsigned notify_zone(struct server *s, struct czone *z)
{
	(void)s;
	(void)z;
	return 1;
}

int zone_add(struct server *s, json_object *spec, char *err, size_t errlen)
{
	(void)s;
	(void)spec;
	snprintf(err, errlen, "zone-add is not run in the fuzzer");
	return -1;
}

int zone_remove(struct server *s, const char *name, char *err, size_t errlen)
{
	(void)s;
	snprintf(err, errlen, "zone-remove %s is not run in the fuzzer", name);
	return -1;
}

int server_reload(struct server *s, char *err, size_t errlen)
{
	(void)s;
	snprintf(err, errlen, "reload is not run in the fuzzer");
	return -1;
}

/* ---- the server ------------------------------------------------------------ */

static const char conf_text[] =
	"remotes:\n"
	"  - id: primary1\n"
	"    address: 10.53.0.1\n"
	"zones:\n"
	"  - domain: example.\n"
	"    primaries: [primary1]\n"
	"  - domain: Bootstrap.Example.NET\n"
	"    primaries: [primary1]\n";

static const char *const example[] = {
	"example. 3600 IN SOA ns.example. host.example. 10 3600 600 86400 300",
	"example. 3600 IN NS ns.example.",
	"ns.example. 3600 IN A 192.0.2.1",
	NULL
};

static struct server *server(void)
{
	static struct server s;
	static struct czone z[2];
	static struct czone *zp[2] = { &z[0], &z[1] };
	char err[512];

	if (s.conf)
		return &s;
	if (cconf_load_text(conf_text, sizeof(conf_text) - 1, "fuzz.yaml",
			    &s.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	for (int i = 0; i < 2; i++) {
		z[i].conf = &s.conf->zones[i];
		snprintf(z[i].name, sizeof(z[i].name), "%s",
			 s.conf->zones[i].domain);
		z[i].source = z[i].primary_used = -1;
		z[i].primary_serial = -1;
	}
	z[0].contents = fuzz_contents("example.", example);
	z[0].journal = journal_new();
	z[0].serial = 10;
	z[0].state = ZS_OK;
	z[0].primary_used = 0;
	z[0].primary_serial = 10;
	z[0].expire_at = time(NULL) + 86400;
	snprintf(z[0].last_result, sizeof(z[0].last_result), "ok: AXFR 10");
	s.zones = zp;
	s.n_zones = 2;
	s.started = time(NULL);
	return &s;
}

/* The listening socket ctl_accept() takes connections from. */
static int listener(struct sockaddr_un *sa)
{
	static int fd = -1;
	static struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (fd < 0) {
		/* abstract: nothing left in the file system */
		snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
			 "ditto-fuzz-ctl-%d", (int)getpid());
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&addr,
				   sizeof(addr)) != 0 || listen(fd, 4) != 0)
			abort();
	}
	*sa = addr;
	return fd;
}

/* Every line of the answer is a JSON object with "ok". */
static void check_answer(char *buf, size_t len)
{
	FUZZ_CHECK(len > 0 && buf[len - 1] == '\n', "no answer line");
	buf[len - 1] = 0;
	FUZZ_CHECK(!memchr(buf, '\n', len - 1), "more than one answer line");
	json_object *o = json_tokener_parse(buf), *ok;

	FUZZ_CHECK(o && json_object_is_type(o, json_type_object) &&
			   json_object_object_get_ex(o, "ok", &ok) &&
			   json_object_is_type(ok, json_type_boolean),
		   "the answer is not a JSON object with \"ok\"");
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server *s = server();
	struct sockaddr_un sa;
	struct watch w = { .fd = listener(&sa) };
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = size < SEND_MAX ? size : SEND_MAX, got = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1);

	if (c < 0 || !buf ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	/* All of it before the server reads: the socket buffer holds it. */
	for (size_t off = 0; off < n;) {
		ssize_t r = send(c, data + off, n - off, MSG_NOSIGNAL);

		/* libFuzzer's timer (SIGALRM) may interrupt a call */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			abort();
		off += (size_t)r;
	}
	shutdown(c, SHUT_WR);
	ctl_accept(s, &w);
	fuzz_recv_all(c, &buf, &cap, &got);
	close(c);
	check_answer(buf, got);
	free(buf);
	return 0;
}
