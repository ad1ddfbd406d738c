/* Fuzz target: arbitrary bytes as the node's YAML configuration, read as
 * each process reads it: ditto-control's sections (cconf_load_text), the
 * dataplane's (dp_conf_load, from a memfd: it takes a path), and the same
 * bytes as the file of zones added at run time beside a sample
 * configuration (cconf_load_with, which takes paths too). A configuration
 * that loads must answer for what it holds: every zone found by its
 * domain, every key by its name, and the ACL checks run for an address
 * of each family.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cconf.h"
#include "dp.h"
#include "fuzz.h"

static const char sample[] =
	"node:\n"
	"  identity: fuzz1\n"
	"dataplane:\n"
	"  service-addresses: [192.0.2.53]\n"
	"keys:\n"
	"  - id: xfr-key\n"
	"    algorithm: hmac-sha256\n"
	"    secret: c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleQ==\n"
	"remotes:\n"
	"  - id: primary1\n"
	"    address: [10.53.0.1, \"fd53::1@5353\"]\n"
	"    key: xfr-key\n"
	"acls:\n"
	"  - id: from-primary\n"
	"    address: [10.53.0.0/24, \"fd53::/64\"]\n"
	"    key: xfr-key\n"
	"    action: [notify, transfer]\n"
	"zones:\n"
	"  - domain: example.com\n"
	"    primaries: [primary1]\n";

/* A memfd holding text, and its path for the loaders; the fd stays open
 * for the process. */
struct mfile {
	int fd;
	char path[64];
};

static void mfile_set(struct mfile *m, const char *name, const void *text,
		      size_t len)
{
	if (!m->path[0]) {
		m->fd = memfd_create(name, MFD_CLOEXEC);
		if (m->fd < 0)
			abort();
		snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
	}
	if (ftruncate(m->fd, 0) != 0 ||
	    pwrite(m->fd, text, len, 0) != (ssize_t)len)
		abort();
}

static void exercise(const struct cconf *c)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET, "10.53.0.1", &v4.sin_addr);
	inet_pton(AF_INET6, "fd53::1", &v6.sin6_addr);
	for (size_t i = 0; i < c->n_zones; i++) {
		const struct cconf_zone *z = &c->zones[i];

		FUZZ_CHECK(cconf_zone_find(c, z->domain) == z,
			   "a zone is not found by its domain");
		for (unsigned a = CCONF_NOTIFY; a <= CCONF_TRANSFER; a++) {
			for (size_t k = 0; k <= c->n_keys; k++) {
				const struct tsig_key *key =
					k < c->n_keys ? &c->keys[k] : NULL;

				(void)cconf_allowed(z, (enum cconf_action)a,
						    (struct sockaddr *)&v4, key);
				(void)cconf_allowed(z, (enum cconf_action)a,
						    (struct sockaddr *)&v6, key);
			}
		}
	}
	/* By its name as logged, when that is as it could be written: ids
	 * take no escapes, which the presentation form adds to "()" and
	 * the like. */
	for (size_t k = 0; k < c->n_keys; k++)
		FUZZ_CHECK(strchr(c->keys[k].text, '\\') ||
				   cconf_key_find(c, c->keys[k].text) ==
					   &c->keys[k],
			   "a key is not found by its name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mfile input, base;
	struct cconf *c;
	struct dp_conf *dp = malloc(sizeof(*dp));
	char err[1024];
	/* An exact copy: the parsers take a length, not a terminator. */
	char *text = malloc(size ? size : 1);

	if (!dp || !text)
		abort();
	if (size)
		memcpy(text, data, size);
	if (cconf_load_text(text, size, "fuzz.yaml", &c, err,
			    sizeof(err)) == 0) {
		exercise(c);
		cconf_free(c);
	} else {
		FUZZ_CHECK(!c && err[0], "refused without a reason");
	}

	mfile_set(&input, "fuzz-conf", data, size);
	if (dp_conf_load(input.path, dp, err, sizeof(err)) != 0)
		FUZZ_CHECK(err[0], "refused without a reason");

	if (!base.path[0])
		mfile_set(&base, "fuzz-conf-base", sample, sizeof(sample) - 1);
	if (cconf_load_with(base.path, input.path, &c, err,
			    sizeof(err)) == 0) {
		FUZZ_CHECK(c->n_zones >= 1, "the configuration's zone is lost");
		exercise(c);
		cconf_free(c);
	} else {
		FUZZ_CHECK(!c && err[0], "refused without a reason");
	}
	free(text);
	free(dp);
	return 0;
}
