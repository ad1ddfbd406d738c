/* cconf: ditto-control's sections of the node configuration, read from the
 * yconf tree and checked as a whole (the schema is in cconf.h). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/un.h>
#include <syslog.h>

#include "cconf.h"
#include "ditto/wire.h"
#include "yconf.h"

#define NAME_MAX_WIRE 255
#define LABEL_MAX 63
#define LISTEN_MAX 64		/* management addresses */
#define TEXT_MAX 255		/* identity, group and metrics settings */
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
/* SOA timers are 32-bit, but RFC 2181 §8 keeps time values below 2^31. */
#define TIMER_MAX 2147483647u
/* A byte budget smaller than one DNS message over TCP could hold nothing. */
#define BYTES_MIN 65535u
#define NOT_FOUND ((size_t)-1)

/* The sections that are lists of items with an id, in the order they are
 * read: each may refer only to the ones before it. */
enum sec { SEC_KEYS, SEC_REMOTES, SEC_ACLS, SEC_ZONES, SEC_COUNT };

struct load {
	struct cconf *c;
	const struct ynode *root;
	const char *file;
	char *err;
	size_t errlen;
	bool oom;
	/* Each section's item indices sorted by id, for the duplicate check
	 * and for resolving references: a node with 100k zones, each with
	 * its own remote, must not take quadratic time to load. */
	size_t *order[SEC_COUNT];
	size_t n[SEC_COUNT];
};

struct section {
	const char *name;		/* top-level key: "remotes" */
	const char *what;		/* one item, for messages: "remote" */
	const char *id_key;		/* "id", or "domain" for zones */
	bool id_is_name;		/* ids are domain names (keys, zones) */
	const char *const *known;	/* the keys an item may have */
	int (*read)(struct load *l, const struct ynode *m, size_t i,
		    const struct ynode *id);
	/* The id of item i as compared: names in lowercase wire form, so
	 * that case and the trailing dot do not matter; others as written. */
	void (*id_of)(const struct cconf *c, size_t i, const uint8_t **p,
		      size_t *len);
};

static const struct section sections[SEC_COUNT];

/* One value, or the values of a list, of a setting that takes either. */
struct ylist {
	const struct ynode *const *items;
	size_t n;
	const struct ynode *one;	/* a value written without a list */
};

static int fail(struct load *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct load *l, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int o;

	if (line)
		o = snprintf(l->err, l->errlen, "%s:%u: ", l->file, line);
	else
		o = snprintf(l->err, l->errlen, "%s: ", l->file);
	if (o < 0 || (size_t)o >= l->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(l->err + o, l->errlen - (size_t)o, fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct load *l)
{
	return fail(l, 0, "out of memory");
}

/* ---- names, addresses, prefixes ------------------------------------------ */

/* A domain name in presentation form (trailing dot optional, no escapes:
 * nothing a configuration needs) into lowercase wire form. NULL, or why it
 * is not a name. */
static const char *name_parse(const char *text, uint8_t *wire, uint8_t *len)
{
	const char *p = text;
	size_t o = 0;

	if (!strcmp(text, ".")) {
		wire[0] = 0;
		*len = 1;
		return NULL;
	}
	if (!*text)
		return "it is empty";
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 0)
			return "it has an empty label";
		if (n > LABEL_MAX)
			return "it has a label longer than 63 bytes";
		if (o + 1 + n + 1 > NAME_MAX_WIRE)
			return "it is longer than 255 bytes";
		wire[o++] = (uint8_t)n;
		for (size_t i = 0; i < n; i++) {
			uint8_t ch = (uint8_t)p[i];

			if (ch <= ' ' || ch >= 0x7f || ch == '\\')
				return "it has a space, a control character, "
				       "a backslash or a byte beyond ASCII";
			wire[o++] = dns_lower(ch);
		}
		p += n;
		if (*p == '.')
			p++;
	}
	wire[o++] = 0;
	*len = (uint8_t)o;
	return NULL;
}

/* A name already checked by name_parse() in lowercase with its dot. */
static char *name_text(const char *text)
{
	size_t n = strlen(text);
	char *s = malloc(n + 2);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (char)dns_lower((uint8_t)text[i]);
	if (s[n - 1] != '.')
		s[n++] = '.';
	s[n] = '\0';
	return s;
}

/* Digits only, at most max: no sign, space or hex, as in the rest of the
 * file (yconf_uint). */
static int decimal(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* The host part of text, up to the separator sep or the end, into host. */
static int host_part(const char *text, int sep, char *host, size_t cap,
		     const char **rest)
{
	const char *s = strrchr(text, sep);
	size_t n = s ? (size_t)(s - text) : strlen(text);

	if (n == 0 || n >= cap)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	*rest = s ? s + 1 : NULL;
	return 0;
}

int cconf_addr_parse(const char *text, uint16_t default_port,
		     struct cconf_addr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_text;
	unsigned long port = default_port;
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(out->text) ||
	    host_part(text, '@', host, sizeof(host), &port_text) < 0)
		return -1;
	/* An explicit port must be one a peer can use; only the default
	 * may be 0 (a source address). */
	if (port_text && (decimal(port_text, 65535, &port) < 0 || port == 0))
		return -1;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sin6);
	} else {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	snprintf(out->text, sizeof(out->text), "%s", text);
	return 0;
}

/* addr with every bit after the first bits cleared: both what a prefix
 * must look like and how an address is compared with one. */
static void mask_bits(uint8_t *out, const uint8_t *addr, size_t len,
		      unsigned bits)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = bits > 8 * i ? bits - 8 * (unsigned)i : 0;

		out[i] = keep >= 8 ? addr[i] : (uint8_t)(addr[i] & (0xff00 >> keep));
	}
}

/* "address/bits" or a host address into a prefix. NULL, or why not. */
static const char *prefix_parse(const char *text, struct cconf_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	uint8_t masked[16];
	const char *bits_text;
	unsigned long bits, max;
	size_t len;

	memset(p, 0, sizeof(*p));
	if (strchr(text, '@'))
		return "an ACL matches addresses, not ports";
	if (host_part(text, '/', host, sizeof(host), &bits_text) < 0)
		return "not an IPv4 or IPv6 address or prefix";
	if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
		len = 4;
	} else if (inet_pton(AF_INET6, host, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
		len = 16;
	} else {
		return "not an IPv4 or IPv6 address or prefix";
	}
	bits = max;
	if (bits_text && decimal(bits_text, max, &bits) < 0)
		return max == 32 ? "an IPv4 prefix length is 0 to 32" :
				   "an IPv6 prefix length is 0 to 128";
	p->bits = (uint8_t)bits;
	/* 10.53.0.1/24 is more likely a typo than a way to say
	 * 10.53.0.0/24: refuse it, as BIND does. */
	mask_bits(masked, p->addr, len, p->bits);
	if (memcmp(masked, p->addr, len) != 0)
		return "it has address bits set beyond the prefix length";
	return NULL;
}

/* The family and bytes of a peer's address. An IPv4-mapped IPv6 address
 * counts as the IPv4 one: a dual-stack socket reports IPv4 peers so. */
static int addr_bytes(const struct sockaddr *sa, uint8_t *out, size_t *len)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		memcpy(out, &s->sin_addr, 4);
		*len = 4;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			memcpy(out, s->sin6_addr.s6_addr + 12, 4);
			*len = 4;
			return AF_INET;
		}
		memcpy(out, &s->sin6_addr, 16);
		*len = 16;
		return AF_INET6;
	}
	return -1;
}

/* ---- reading values ------------------------------------------------------- */

static int need(struct load *l, const struct ynode *m, const char *section,
		const char *key)
{
	if (yconf_get(m, key))
		return 0;
	return fail(l, m->line, "%s: '%s' is required", section, key);
}

/* A setting that is one non-empty piece of text; *out untouched when the
 * setting is absent. */
static int get_text(struct load *l, const struct ynode *n, const char *key,
		    const char **out)
{
	const char *s = NULL;

	if (yconf_str(n, l->file, key, &s, l->err, l->errlen) < 0)
		return -1;
	if (!s)
		return 0;
	if (!*s)
		return fail(l, n->line, "%s: must not be empty", key);
	*out = s;
	return 0;
}

/* A text setting of sec copied into *out; def (NULL: stays NULL) when
 * absent. */
static int set_text(struct load *l, const struct ynode *sec, const char *key,
		    const char *def, size_t max, char **out)
{
	const struct ynode *n = yconf_get(sec, key);
	const char *s = def;

	if (get_text(l, n, key, &s) < 0)
		return -1;
	if (n && strlen(s) > max)
		return fail(l, n->line, "%s: longer than %zu bytes", key, max);
	if (s && !(*out = strdup(s)))
		return oom(l);
	return 0;
}

static int get_u32(struct load *l, const struct ynode *sec, const char *key,
		   uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = *out;

	if (yconf_uint(yconf_get(sec, key), l->file, key, min, max, &v,
		       l->err, l->errlen) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int get_u64(struct load *l, const struct ynode *sec, const char *key,
		   uint64_t min, uint64_t max, uint64_t *out)
{
	return yconf_uint(yconf_get(sec, key), l->file, key, min, max, out,
			  l->err, l->errlen);
}

/* The values of a setting that takes one value or a list of them, each a
 * non-empty piece of text, min to max of them. */
static int list_of(struct load *l, const struct ynode *n, const char *key,
		   size_t min, size_t max, struct ylist *li)
{
	li->n = 0;
	li->items = NULL;
	if (n->kind == Y_MAP)
		return fail(l, n->line, "%s: expected one value or a list of "
			    "them, not a mapping", key);
	if (n->kind == Y_SCALAR) {
		li->one = n;
		li->items = &li->one;
		li->n = 1;
	} else {
		li->items = (const struct ynode *const *)n->items;
		li->n = n->n;
	}
	if (li->n < min)
		return fail(l, n->line, "%s: expected at least %zu value%s",
			    key, min, min == 1 ? "" : "s");
	if (li->n > max)
		return fail(l, li->items[max]->line, "%s: more than %zu values",
			    key, max);
	for (size_t i = 0; i < li->n; i++) {
		const struct ynode *v = li->items[i];

		if (v->kind != Y_SCALAR)
			return fail(l, v->line, "%s: expected a single value, "
				    "not a %s", key,
				    v->kind == Y_MAP ? "mapping" : "list");
		if (!*v->str)
			return fail(l, v->line, "%s: a value must not be empty",
				    key);
	}
	return 0;
}

static int addr_item(struct load *l, const struct ynode *n, const char *key,
		     uint16_t port, struct cconf_addr *out)
{
	if (cconf_addr_parse(n->str, port, out) == 0)
		return 0;
	return fail(l, n->line, "%s: '%s' is not an IPv4 or IPv6 address "
		    "(with @port from 1 to 65535, or none)", key, n->str);
}

static bool same_addr(const struct cconf_addr *a, const struct cconf_addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* ---- ids and references --------------------------------------------------- */

static int id_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	return r ? r : (an > bn) - (an < bn);
}

/* text in the form the section compares ids; false when it cannot be
 * the id of any item (a key or zone that is not a name). */
static bool id_bytes(const struct section *s, const char *text,
		     uint8_t *wire, const uint8_t **p, size_t *len)
{
	uint8_t n;

	if (!s->id_is_name) {
		*p = (const uint8_t *)text;
		*len = strlen(text);
		return true;
	}
	if (name_parse(text, wire, &n))
		return false;
	*p = wire;
	*len = n;
	return true;
}

struct order_ctx {
	const struct cconf *c;
	const struct section *s;
};

/* By id, then by place in the file, so the first of equal ids comes
 * first. */
static int order_cmp(const void *a, const void *b, void *arg)
{
	const struct order_ctx *x = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const uint8_t *p, *q;
	size_t pn, qn;
	int r;

	x->s->id_of(x->c, i, &p, &pn);
	x->s->id_of(x->c, j, &q, &qn);
	r = id_cmp(p, pn, q, qn);
	return r ? r : (i > j) - (i < j);
}

/* Sort the section's items by id and refuse an id defined twice, naming
 * the earliest repetition in the file and where the id was first seen. */
static int sort_ids(struct load *l, enum sec which, const struct ynode *sec)
{
	const struct section *s = &sections[which];
	struct order_ctx x = { l->c, s };
	size_t n = sec ? sec->n : 0, *o, start = 0, dup = NOT_FOUND, first = 0;

	if (!n)
		return 0;
	o = malloc(n * sizeof(*o));
	if (!o)
		return oom(l);
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	qsort_r(o, n, sizeof(*o), order_cmp, &x);
	l->order[which] = o;
	l->n[which] = n;
	for (size_t k = 1; k < n; k++) {
		const uint8_t *p, *q;
		size_t pn, qn;

		s->id_of(l->c, o[start], &p, &pn);
		s->id_of(l->c, o[k], &q, &qn);
		if (id_cmp(p, pn, q, qn) != 0) {
			start = k;
			continue;
		}
		if (dup == NOT_FOUND || o[k] < dup) {
			dup = o[k];
			first = o[start];
		}
	}
	if (dup != NOT_FOUND) {
		const struct ynode *a = yconf_get(sec->items[dup], s->id_key);
		const struct ynode *b = yconf_get(sec->items[first], s->id_key);

		return fail(l, a->line, "%s: '%s' is already defined on line %u",
			    s->id_key, a->str, b->line);
	}
	return 0;
}

/* The index of the item of an earlier section whose id is text. */
static size_t ref_find(const struct load *l, enum sec which, const char *text)
{
	const struct section *s = &sections[which];
	const size_t *o = l->order[which];
	uint8_t wire[NAME_MAX_WIRE];
	const uint8_t *p, *q;
	size_t pn, qn, lo = 0, hi = l->n[which];

	if (!id_bytes(s, text, wire, &p, &pn))
		return NOT_FOUND;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r;

		s->id_of(l->c, o[mid], &q, &qn);
		r = id_cmp(p, pn, q, qn);
		if (r == 0)
			return o[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NOT_FOUND;
}

/* The same for a loaded configuration, which keeps no sorted index. */
static size_t id_find(const struct cconf *c, enum sec which, size_t n,
		      const char *text)
{
	const struct section *s = &sections[which];
	uint8_t wire[NAME_MAX_WIRE];
	const uint8_t *p, *q;
	size_t pn, qn;

	if (!id_bytes(s, text, wire, &p, &pn))
		return NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		s->id_of(c, i, &q, &qn);
		if (id_cmp(p, pn, q, qn) == 0)
			return i;
	}
	return NOT_FOUND;
}

static int ref_item(struct load *l, const struct ynode *n, const char *key,
		    enum sec which, size_t *idx)
{
	*idx = ref_find(l, which, n->str);
	if (*idx != NOT_FOUND)
		return 0;
	return fail(l, n->line, "%s: unknown %s '%s'", key,
		    sections[which].what, n->str);
}

static int key_ref(struct load *l, const struct ynode *n,
		   const struct tsig_key **out)
{
	const char *id = NULL;
	size_t i;

	if (get_text(l, n, "key", &id) < 0)
		return -1;
	if (!id)
		return 0;
	if (ref_item(l, n, "key", SEC_KEYS, &i) < 0)
		return -1;
	*out = &l->c->keys[i];
	return 0;
}

static const char *action_name(unsigned action)
{
	return action == CCONF_NOTIFY ? "notify" : "transfer";
}

/* The items of section which named by a zone's list (one id, or a list),
 * none twice; ACLs must have the action the list is for. *idx is
 * allocated. */
static int read_refs(struct load *l, const struct ynode *n, const char *key,
		     size_t min, enum sec which, unsigned action, size_t **idx,
		     size_t *count)
{
	struct ylist li;
	size_t *x;

	*idx = NULL;
	*count = 0;
	if (!n)
		return 0;
	if (list_of(l, n, key, min, SIZE_MAX, &li) < 0)
		return -1;
	if (!li.n)
		return 0;
	x = calloc(li.n, sizeof(*x));
	if (!x)
		return oom(l);
	for (size_t i = 0; i < li.n; i++) {
		const struct ynode *v = li.items[i];

		if (ref_item(l, v, key, which, &x[i]) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (x[j] == x[i]) {
				fail(l, v->line, "%s: '%s' is listed twice",
				     key, v->str);
				goto fail;
			}
		}
		if (which == SEC_ACLS && !(l->c->acls[x[i]].actions & action)) {
			fail(l, v->line, "%s: acl '%s' has no %s action", key,
			     v->str, action_name(action));
			goto fail;
		}
	}
	*idx = x;
	*count = li.n;
	return 0;
fail:
	free(x);
	return -1;
}

static int remote_refs(struct load *l, const struct ynode *n, const char *key,
		       size_t min, const struct cconf_remote ***out,
		       size_t *count)
{
	size_t *idx, k;

	if (read_refs(l, n, key, min, SEC_REMOTES, 0, &idx, &k) < 0)
		return -1;
	if (k && !(*out = calloc(k, sizeof(**out)))) {
		free(idx);
		return oom(l);
	}
	for (size_t i = 0; i < k; i++)
		(*out)[i] = &l->c->remotes[idx[i]];
	*count = k;
	free(idx);
	return 0;
}

static int acl_refs(struct load *l, const struct ynode *n, const char *key,
		    size_t min, unsigned action, const struct cconf_acl ***out,
		    size_t *count)
{
	size_t *idx, k;

	if (read_refs(l, n, key, min, SEC_ACLS, action, &idx, &k) < 0)
		return -1;
	if (k && !(*out = calloc(k, sizeof(**out)))) {
		free(idx);
		return oom(l);
	}
	for (size_t i = 0; i < k; i++)
		(*out)[i] = &l->c->acls[idx[i]];
	*count = k;
	free(idx);
	return 0;
}

/* ---- node:, dataplane:, control: ----------------------------------------- */


static int read_log_level(struct load *l, const struct ynode *n)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	const char *s = NULL;

	if (get_text(l, n, "log-level", &s) < 0)
		return -1;
	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!strcmp(s, levels[i].name)) {
			l->c->log_level = levels[i].level;
			return 0;
		}
	}
	return fail(l, n->line, "log-level: '%s' is not one of error, "
		    "warning, notice, info, debug", s);
}

static int read_listen(struct load *l, const struct ynode *n)
{
	const char *key = "management-addresses";
	struct cconf *c = l->c;
	struct ylist li;

	if (!n)
		return 0;
	if (list_of(l, n, key, 0, LISTEN_MAX, &li) < 0)
		return -1;
	if (!li.n)
		return 0;
	c->listen = calloc(li.n, sizeof(*c->listen));
	if (!c->listen)
		return oom(l);
	for (size_t i = 0; i < li.n; i++) {
		if (addr_item(l, li.items[i], key, 53, &c->listen[i]) < 0)
			return -1;
		/* the second socket could not be bound */
		for (size_t j = 0; j < i; j++)
			if (same_addr(&c->listen[j], &c->listen[i]))
				return fail(l, li.items[i]->line,
					    "%s: %s is listed twice", key,
					    li.items[i]->str);
	}
	c->n_listen = li.n;
	return 0;
}

static int read_node(struct load *l)
{
	const struct ynode *node = yconf_get(l->root, "node");
	struct cconf *c = l->c;

	if (yconf_only(node, l->file, "node", yconf_node_keys, l->err,
		       l->errlen) < 0 ||
	    set_text(l, node, "identity", "", TEXT_MAX, &c->identity) < 0 ||
	    set_text(l, node, "state-dir", "/var/lib/ditto", PATH_MAX - 1,
		     &c->state_dir) < 0 ||
	    set_text(l, node, "control-socket", "/run/ditto/control.sock",
		     SUN_PATH_MAX, &c->control_socket) < 0 ||
	    set_text(l, node, "socket-group", NULL, TEXT_MAX,
		     &c->socket_group) < 0 ||
	    set_text(l, node, "metrics", NULL, TEXT_MAX,
		     &c->metrics) < 0 ||
	    read_log_level(l, yconf_get(node, "log-level")) < 0 ||
	    read_listen(l, yconf_get(node, "management-addresses")) < 0)
		return -1;
	if (c->metrics && cconf_addr_parse(c->metrics, 9153,
					   &c->metrics_addr) < 0)
		return fail(l, yconf_get(node, "metrics")->line,
			    "node: metrics: '%s' is not an address with an "
			    "optional @port (default 9153)", c->metrics);
	return 0;
}

/* Only the socket is ditto-control's business here; the dataplane checks
 * the rest of its section itself, so a key it gains is no error here. */
static int read_dataplane(struct load *l)
{
	const struct ynode *dp = yconf_get(l->root, "dataplane");

	if (dp && dp->kind != Y_MAP)
		return fail(l, dp->line, "dataplane: expected a mapping of "
			    "settings");
	return set_text(l, dp, "socket", "/run/ditto/dataplane.sock",
			SUN_PATH_MAX, &l->c->dataplane_socket);
}

static const char *const control_keys[] = {
	"timers", "transfers-per-primary", "transfers-total",
	"transfer-timeout", "tcp-timeout", "max-transfer-bytes",
	"max-zone-records", "journal-max-bytes", "notify-retries",
	"max-zones", "tcp-connections", "tcp-connections-per-client",
	"control-request-max", NULL
};

static const char *const timer_keys[] = {
	"refresh-min", "refresh-max", "retry-min", "retry-max", "expire-min",
	"expire-max", "jitter-percent", NULL
};

static int read_timers(struct load *l, const struct ynode *timers)
{
	struct cconf_timers *t = &l->c->timers;
	const struct {
		const char *min_key, *max_key;
		uint32_t *min, *max;
	} pairs[] = {
		{ "refresh-min", "refresh-max", &t->refresh_min, &t->refresh_max },
		{ "retry-min", "retry-max", &t->retry_min, &t->retry_max },
		{ "expire-min", "expire-max", &t->expire_min, &t->expire_max },
	};

	if (yconf_only(timers, l->file, "control.timers", timer_keys, l->err,
		       l->errlen) < 0 ||
	    get_u32(l, timers, "jitter-percent", 0, 50,
		    &t->jitter_percent) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct ynode *n;

		if (get_u32(l, timers, pairs[i].min_key, 1, TIMER_MAX,
			    pairs[i].min) < 0 ||
		    get_u32(l, timers, pairs[i].max_key, 1, TIMER_MAX,
			    pairs[i].max) < 0)
			return -1;
		if (*pairs[i].min <= *pairs[i].max)
			continue;
		/* the defaults are in order, so one of the two is written */
		n = yconf_get(timers, pairs[i].min_key);
		if (!n)
			n = yconf_get(timers, pairs[i].max_key);
		return fail(l, n ? n->line : 0, "%s: %u is more than %s %u",
			    pairs[i].min_key, *pairs[i].min, pairs[i].max_key,
			    *pairs[i].max);
	}
	return 0;
}

static int read_control(struct load *l)
{
	const struct ynode *ctl = yconf_get(l->root, "control");
	struct cconf *c = l->c;

	if (yconf_only(ctl, l->file, "control", control_keys, l->err,
		       l->errlen) < 0 ||
	    read_timers(l, yconf_get(ctl, "timers")) < 0 ||
	    get_u32(l, ctl, "transfers-per-primary", 1, 1024,
		    &c->transfers_per_primary) < 0 ||
	    get_u32(l, ctl, "transfers-total", 1, 65536,
		    &c->transfers_total) < 0 ||
	    get_u32(l, ctl, "transfer-timeout", 1, 86400,
		    &c->transfer_timeout) < 0 ||
	    get_u32(l, ctl, "tcp-timeout", 1, 3600, &c->tcp_timeout) < 0 ||
	    get_u64(l, ctl, "max-transfer-bytes", BYTES_MIN, UINT64_MAX,
		    &c->max_transfer_bytes) < 0 ||
	    get_u64(l, ctl, "max-zone-records", 1, UINT32_MAX,
		    &c->max_zone_records) < 0 ||
	    get_u64(l, ctl, "journal-max-bytes", BYTES_MIN, UINT64_MAX,
		    &c->journal_max_bytes) < 0 ||
	    get_u32(l, ctl, "notify-retries", 0, 100, &c->notify_retries) < 0 ||
	    get_u32(l, ctl, "max-zones", 1, 10000000, &c->max_zones) < 0 ||
	    get_u32(l, ctl, "tcp-connections", 1, 65536,
		    &c->tcp_connections) < 0 ||
	    get_u32(l, ctl, "tcp-connections-per-client", 1, 65536,
		    &c->tcp_connections_per_client) < 0 ||
	    get_u32(l, ctl, "control-request-max", 1024, 1u << 26,
		    &c->control_request_max) < 0)
		return -1;
	return 0;
}

/* ---- keys:, remotes:, acls:, zones: -------------------------------------- */

static const char *const key_keys[] = { "id", "algorithm", "secret", NULL };

static int read_key(struct load *l, const struct ynode *m, size_t i,
		    const struct ynode *id)
{
	const struct ynode *alg = yconf_get(m, "algorithm");
	const struct ynode *secret = yconf_get(m, "secret");
	const char *alg_text = NULL, *secret_text = NULL, *why;
	uint8_t wire[NAME_MAX_WIRE], len;
	enum tsig_alg a;
	char terr[256];

	why = name_parse(id->str, wire, &len);
	if (why)
		return fail(l, id->line, "id: '%s' is not a key name: %s",
			    id->str, why);
	if (need(l, m, "keys", "algorithm") < 0 ||
	    need(l, m, "keys", "secret") < 0 ||
	    get_text(l, alg, "algorithm", &alg_text) < 0 ||
	    get_text(l, secret, "secret", &secret_text) < 0)
		return -1;
	if (tsig_alg_from_name(alg_text, &a) < 0)
		return fail(l, alg->line, "algorithm: unknown algorithm '%s' "
			    "(hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, "
			    "hmac-sha384 or hmac-sha512)", alg_text);
	terr[0] = '\0';
	if (tsig_key_init(&l->c->keys[i], id->str, alg_text, secret_text,
			  terr, sizeof(terr)) < 0)
		return fail(l, secret->line, "secret: %s",
			    terr[0] ? terr : "not a usable key");
	return 0;
}

static const char *const remote_keys[] = {
	"id", "address", "key", "via", NULL
};

static int read_remote(struct load *l, const struct ynode *m, size_t i,
		       const struct ynode *id)
{
	struct cconf_remote *r = &l->c->remotes[i];
	const struct ynode *via = yconf_get(m, "via");
	const char *via_text = NULL;
	struct ylist li;

	r->id = strdup(id->str);
	if (!r->id)
		return oom(l);
	if (need(l, m, "remotes", "address") < 0 ||
	    list_of(l, yconf_get(m, "address"), "address", 1, CCONF_MAX_ADDRS,
		    &li) < 0)
		return -1;
	for (size_t j = 0; j < li.n; j++)
		if (addr_item(l, li.items[j], "address", 53, &r->addrs[j]) < 0)
			return -1;
	r->n_addrs = li.n;
	if (key_ref(l, yconf_get(m, "key"), &r->key) < 0 ||
	    get_text(l, via, "via", &via_text) < 0)
		return -1;
	if (!via_text)
		return 0;
	if (strchr(via_text, '@'))
		return fail(l, via->line, "via: a source address takes no port");
	if (addr_item(l, via, "via", 0, &r->via) < 0)
		return -1;
	r->have_via = true;
	for (size_t j = 0; j < r->n_addrs; j++)
		if (r->addrs[j].ss.ss_family == r->via.ss.ss_family)
			return 0;
	return fail(l, via->line, "via: no address of remote '%s' is of the "
		    "family of %s", r->id, via->str);
}

static const char *const acl_keys[] = {
	"id", "address", "key", "action", "deny", NULL
};

static int read_acl(struct load *l, const struct ynode *m, size_t i,
		    const struct ynode *id)
{
	struct cconf_acl *a = &l->c->acls[i];
	const struct ynode *addr = yconf_get(m, "address");
	struct ylist li;

	a->id = strdup(id->str);
	if (!a->id)
		return oom(l);
	/* absent means any address; an empty list would say the same by
	 * accident, so list_of() refuses it */
	if (addr) {
		if (list_of(l, addr, "address", 1, CCONF_MAX_ADDRS, &li) < 0)
			return -1;
		for (size_t j = 0; j < li.n; j++) {
			const char *why = prefix_parse(li.items[j]->str,
						       &a->prefixes[j]);

			if (why)
				return fail(l, li.items[j]->line,
					    "address: '%s': %s",
					    li.items[j]->str, why);
		}
		a->n_prefixes = li.n;
	}
	if (need(l, m, "acls", "action") < 0 ||
	    list_of(l, yconf_get(m, "action"), "action", 1, SIZE_MAX, &li) < 0)
		return -1;
	for (size_t j = 0; j < li.n; j++) {
		const char *s = li.items[j]->str;

		if (!strcmp(s, "notify"))
			a->actions |= CCONF_NOTIFY;
		else if (!strcmp(s, "transfer"))
			a->actions |= CCONF_TRANSFER;
		else
			return fail(l, li.items[j]->line, "action: unknown "
				    "action '%s' (notify or transfer)", s);
	}
	if (key_ref(l, yconf_get(m, "key"), &a->key) < 0 ||
	    yconf_bool(yconf_get(m, "deny"), l->file, "deny", &a->deny,
		       l->err, l->errlen) < 0)
		return -1;
	return 0;
}

static const char *const zone_keys[] = {
	"domain", "primaries", "notify-from", "allow-transfer", "notify",
	"ixfr", "expire-edns", NULL
};

static int read_zone(struct load *l, const struct ynode *m, size_t i,
		     const struct ynode *domain)
{
	struct cconf_zone *z = &l->c->zones[i];
	const char *why = name_parse(domain->str, z->wire, &z->wire_len);

	z->line = m->line;
	z->ixfr = true;
	z->expire_edns = true;
	if (why)
		return fail(l, domain->line, "domain: '%s' is not a domain "
			    "name: %s", domain->str, why);
	z->domain = name_text(domain->str);
	if (!z->domain)
		return oom(l);
	/* an explicit empty notify-from would read as the default, which
	 * is the opposite of what it seems to say */
	if (need(l, m, "zones", "primaries") < 0 ||
	    remote_refs(l, yconf_get(m, "primaries"), "primaries", 1,
			&z->primaries, &z->n_primaries) < 0 ||
	    acl_refs(l, yconf_get(m, "notify-from"), "notify-from", 1,
		     CCONF_NOTIFY, &z->notify_from, &z->n_notify_from) < 0 ||
	    acl_refs(l, yconf_get(m, "allow-transfer"), "allow-transfer", 0,
		     CCONF_TRANSFER, &z->allow_transfer,
		     &z->n_allow_transfer) < 0 ||
	    remote_refs(l, yconf_get(m, "notify"), "notify", 0, &z->notify,
			&z->n_notify) < 0 ||
	    yconf_bool(yconf_get(m, "ixfr"), l->file, "ixfr", &z->ixfr,
		       l->err, l->errlen) < 0 ||
	    yconf_bool(yconf_get(m, "expire-edns"), l->file, "expire-edns",
		       &z->expire_edns, l->err, l->errlen) < 0)
		return -1;
	return 0;
}

static void key_id(const struct cconf *c, size_t i, const uint8_t **p,
		   size_t *len)
{
	*p = c->keys[i].name;
	*len = c->keys[i].name_len;
}

static void remote_id(const struct cconf *c, size_t i, const uint8_t **p,
		      size_t *len)
{
	*p = (const uint8_t *)c->remotes[i].id;
	*len = strlen(c->remotes[i].id);
}

static void acl_id(const struct cconf *c, size_t i, const uint8_t **p,
		   size_t *len)
{
	*p = (const uint8_t *)c->acls[i].id;
	*len = strlen(c->acls[i].id);
}

static void zone_id(const struct cconf *c, size_t i, const uint8_t **p,
		    size_t *len)
{
	*p = c->zones[i].wire;
	*len = c->zones[i].wire_len;
}

static const struct section sections[SEC_COUNT] = {
	[SEC_KEYS] = { "keys", "key", "id", true, key_keys, read_key,
		       key_id },
	[SEC_REMOTES] = { "remotes", "remote", "id", false, remote_keys,
			  read_remote, remote_id },
	[SEC_ACLS] = { "acls", "acl", "id", false, acl_keys, read_acl,
		       acl_id },
	[SEC_ZONES] = { "zones", "zone", "domain", true, zone_keys,
			read_zone, zone_id },
};

/* The array for a section's items, zeroed so that one read halfway frees
 * cleanly; read_section() refuses a section that is not a list. */
static void *new_array(struct load *l, enum sec which, size_t size,
		       size_t *n)
{
	const struct ynode *sec = yconf_get(l->root, sections[which].name);
	void *p;

	*n = 0;
	if (!sec || sec->kind != Y_SEQ || !sec->n)
		return NULL;
	p = calloc(sec->n, size);
	if (p)
		*n = sec->n;
	else
		l->oom = true;
	return p;
}

static int read_section(struct load *l, enum sec which)
{
	const struct section *s = &sections[which];
	const struct ynode *sec = yconf_get(l->root, s->name);

	if (!sec)
		return 0;
	if (sec->kind != Y_SEQ)
		return fail(l, sec->line, "%s: expected a list of %ss", s->name,
			    s->what);
	for (size_t i = 0; i < sec->n; i++) {
		const struct ynode *m = sec->items[i], *id;
		const char *text = NULL;

		if (yconf_only(m, l->file, s->name, s->known, l->err,
			       l->errlen) < 0 ||
		    need(l, m, s->name, s->id_key) < 0)
			return -1;
		id = yconf_get(m, s->id_key);
		if (get_text(l, id, s->id_key, &text) < 0 ||
		    s->read(l, m, i, id) < 0)
			return -1;
	}
	return sort_ids(l, which, sec);
}

static const char *const top_keys[] = {
	"node", "dataplane", "control", "keys", "remotes", "acls", "zones",
	NULL
};

static void defaults(struct cconf *c)
{
	c->log_level = LOG_INFO;
	c->timers = (struct cconf_timers){
		.refresh_min = 2, .refresh_max = 86400,
		.retry_min = 1, .retry_max = 3600,
		.expire_min = 10, .expire_max = 2419200,
		.jitter_percent = 10,
	};
	c->transfers_per_primary = 4;
	c->transfers_total = 64;
	c->transfer_timeout = 120;
	c->tcp_timeout = 10;
	c->max_transfer_bytes = 1ull << 30;
	c->max_zone_records = 10000000;
	c->journal_max_bytes = 16u << 20;
	c->notify_retries = 5;
	c->max_zones = 100000;
	c->tcp_connections = 64;
	c->tcp_connections_per_client = 8;
	c->control_request_max = 65536;
}

/* The zones of the file of zones added at run time, after the
 * configuration's own: same keys and checks, references to the
 * configuration's remotes and ACLs, no domain twice in either. */
static int read_added(struct load *l, const char *path)
{
	const struct section *s = &sections[SEC_ZONES];
	struct ynode *root;
	const struct ynode *sec;
	struct cconf *c = l->c;
	size_t base = c->n_zones;
	static const char *const top[] = { "zones", NULL };
	int rc = -1;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	root = yconf_load(path, l->err, l->errlen);
	if (!root)
		return -1;
	l->file = path;
	l->root = root;
	sec = yconf_get(root, "zones");
	if (yconf_only(root, path, "the top level", top, l->err, l->errlen) < 0)
		goto out;
	if (!sec) {
		rc = 0;
		goto out;
	}
	if (sec->kind != Y_SEQ) {
		rc = fail(l, sec->line, "zones: expected a list of zones");
		goto out;
	}
	struct cconf_zone *z = realloc(c->zones, (base + sec->n + 1) *
						      sizeof(*z));

	if (!z) {
		rc = oom(l);
		goto out;
	}
	memset(z + base, 0, (sec->n + 1) * sizeof(*z));
	c->zones = z;
	for (size_t i = 0; i < sec->n; i++) {
		const struct ynode *m = sec->items[i], *id;
		const char *text = NULL;

		if (yconf_only(m, path, "zones", s->known, l->err,
			       l->errlen) < 0 ||
		    need(l, m, "zones", "domain") < 0)
			goto out;
		id = yconf_get(m, "domain");
		if (get_text(l, id, "domain", &text) < 0)
			goto out;
		c->n_zones = base + i + 1;
		if (read_zone(l, m, base + i, id) < 0)
			goto out;
		c->zones[base + i].added = true;
		if (ref_find(l, SEC_ZONES, text) != NOT_FOUND) {
			rc = fail(l, id->line, "domain: %s is in the "
				  "configuration file already", text);
			goto out;
		}
		for (size_t k = base; k < base + i; k++)
			if (strcmp(c->zones[k].domain,
				   c->zones[base + i].domain) == 0) {
				rc = fail(l, id->line, "domain: %s is added "
					  "twice", text);
				goto out;
			}
	}
	rc = 0;
out:
	yconf_free(root);
	l->root = NULL;
	return rc;
}

int cconf_load(const char *path, struct cconf **out, char *err, size_t errlen)
{
	return cconf_load_with(path, NULL, out, err, errlen);
}

/* The configuration from its tree (which this frees), path naming it in
 * messages; and the added zones from the file added, when not NULL. */
static int load_tree(struct ynode *root, const char *path, const char *added,
		     struct cconf **out, char *err, size_t errlen)
{
	struct load l = { .file = path, .err = err, .errlen = errlen };
	struct cconf *c;
	int rc = -1;

	*out = NULL;
	if (!root)
		return -1;
	l.root = root;
	c = calloc(1, sizeof(*c));
	if (!c) {
		oom(&l);
		goto out;
	}
	l.c = c;
	defaults(c);
	c->file = strdup(path);
	if (!c->file) {
		oom(&l);
		goto out;
	}
	if (yconf_only(root, path, "the top level", top_keys, err,
		       errlen) < 0 ||
	    read_node(&l) < 0 || read_dataplane(&l) < 0 ||
	    read_control(&l) < 0)
		goto out;
	c->keys = new_array(&l, SEC_KEYS, sizeof(*c->keys), &c->n_keys);
	c->remotes = new_array(&l, SEC_REMOTES, sizeof(*c->remotes),
			       &c->n_remotes);
	c->acls = new_array(&l, SEC_ACLS, sizeof(*c->acls), &c->n_acls);
	c->zones = new_array(&l, SEC_ZONES, sizeof(*c->zones), &c->n_zones);
	if (l.oom) {
		oom(&l);
		goto out;
	}
	for (int s = 0; s < SEC_COUNT; s++)
		if (read_section(&l, (enum sec)s) < 0)
			goto out;
	if (added && read_added(&l, added) < 0)
		goto out;
	if (c->n_zones > c->max_zones) {
		snprintf(err, errlen, "%s: %zu zones%s, more than control: "
			 "max-zones (%u)", path, c->n_zones,
			 added ? " with those added at run time" : "",
			 c->max_zones);
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	for (int s = 0; s < SEC_COUNT; s++)
		free(l.order[s]);
	cconf_free(c);
	yconf_free(root);
	return rc;
}

int cconf_load_with(const char *path, const char *added, struct cconf **out,
		    char *err, size_t errlen)
{
	return load_tree(yconf_load(path, err, errlen), path, added, out, err,
			 errlen);
}

int cconf_load_text(const char *text, size_t len, const char *name,
		    struct cconf **out, char *err, size_t errlen)
{
	return load_tree(yconf_parse(text, len, name, err, errlen), name, NULL,
			 out, err, errlen);
}

void cconf_free(struct cconf *c)
{
	if (!c)
		return;
	free(c->file);
	free(c->identity);
	free(c->state_dir);
	free(c->control_socket);
	free(c->socket_group);
	free(c->dataplane_socket);
	free(c->metrics);
	free(c->listen);
	/* the secrets should not outlive the configuration in freed memory */
	if (c->keys)
		explicit_bzero(c->keys, c->n_keys * sizeof(*c->keys));
	free(c->keys);
	for (size_t i = 0; i < c->n_remotes; i++)
		free(c->remotes[i].id);
	free(c->remotes);
	for (size_t i = 0; i < c->n_acls; i++)
		free(c->acls[i].id);
	free(c->acls);
	for (size_t i = 0; i < c->n_zones; i++) {
		struct cconf_zone *z = &c->zones[i];

		free(z->domain);
		free(z->primaries);
		free(z->notify_from);
		free(z->allow_transfer);
		free(z->notify);
	}
	free(c->zones);
	free(c);
}

/* ---- lookups and access --------------------------------------------------- */

const struct cconf_zone *cconf_zone_find(const struct cconf *c,
					 const char *domain)
{
	size_t i = id_find(c, SEC_ZONES, c->n_zones, domain);

	return i == NOT_FOUND ? NULL : &c->zones[i];
}

const struct tsig_key *cconf_key_find(const struct cconf *c, const char *id)
{
	size_t i = id_find(c, SEC_KEYS, c->n_keys, id);

	return i == NOT_FOUND ? NULL : &c->keys[i];
}

/* Whether a message signed with got (NULL: unsigned) meets a requirement
 * of want (NULL: none). By value, not only by pointer: the key a request
 * was verified with may come from another copy of the configuration. */
static bool key_matches(const struct tsig_key *want,
			const struct tsig_key *got)
{
	if (!want || want == got)
		return true;
	return got && got->alg == want->alg &&
	       got->name_len == want->name_len &&
	       memcmp(got->name, want->name, want->name_len) == 0 &&
	       got->secret_len == want->secret_len &&
	       memcmp(got->secret, want->secret, want->secret_len) == 0;
}

static bool prefix_has(const struct cconf_prefix *p, int family,
		       const uint8_t *addr, size_t len)
{
	uint8_t masked[16];

	if (p->family != family)
		return false;
	mask_bits(masked, addr, len, p->bits);
	return memcmp(masked, p->addr, len) == 0;
}

static bool acl_has(const struct cconf_acl *a, int family,
		    const uint8_t *addr, size_t len)
{
	if (!a->n_prefixes)
		return true;
	for (size_t i = 0; i < a->n_prefixes; i++)
		if (prefix_has(&a->prefixes[i], family, addr, len))
			return true;
	return false;
}

/* The default notify-from: any address of a primary, with that primary's
 * key if it has one. The port does not count: a primary sends NOTIFY from
 * whatever port its system picks. */
static bool from_primary(const struct cconf_zone *z, int family,
			 const uint8_t *addr, size_t len,
			 const struct tsig_key *key)
{
	for (size_t i = 0; i < z->n_primaries; i++) {
		const struct cconf_remote *r = z->primaries[i];

		if (!key_matches(r->key, key))
			continue;
		for (size_t j = 0; j < r->n_addrs; j++) {
			uint8_t b[16];
			size_t blen;

			if (addr_bytes((const struct sockaddr *)&r->addrs[j].ss,
				       b, &blen) == family && blen == len &&
			    memcmp(b, addr, len) == 0)
				return true;
		}
	}
	return false;
}

bool cconf_allowed(const struct cconf_zone *z, enum cconf_action action,
		   const struct sockaddr *from, const struct tsig_key *key)
{
	const struct cconf_acl *const *list;
	uint8_t addr[16];
	size_t n, len;
	int family = addr_bytes(from, addr, &len);

	if (family < 0)
		return false;
	if (action == CCONF_NOTIFY) {
		if (!z->n_notify_from)
			return from_primary(z, family, addr, len, key);
		list = z->notify_from;
		n = z->n_notify_from;
	} else if (action == CCONF_TRANSFER) {
		list = z->allow_transfer;
		n = z->n_allow_transfer;
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cconf_acl *a = list[i];

		if ((a->actions & action) && key_matches(a->key, key) &&
		    acl_has(a, family, addr, len))
			return !a->deny;
	}
	return false;
}
