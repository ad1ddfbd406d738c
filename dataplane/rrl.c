/* Response rate limiting (see rrl.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ditto/hash.h"
#include "rrl.h"

struct rrl_account {
	uint32_t tag;		/* the key's high hash bits; 0: empty */
	int32_t balance;	/* responses left; below 0: in debt */
	uint32_t time;		/* second of the last credit */
	uint32_t slip;		/* limited responses since the last slip */
};

struct rrl_table {
	uint64_t key[2];
	uint32_t mask;
	struct rrl_account a[];
};

struct rrl_table *rrl_new(unsigned size)
{
	struct rrl_table *t;

	if (size < 16 || (size & (size - 1)) || size > (1u << 26))
		return NULL;
	t = calloc(1, sizeof(*t) + (size_t)size * sizeof(t->a[0]));
	if (!t)
		return NULL;
	if (getrandom(t->key, sizeof(t->key), 0) != sizeof(t->key)) {
		free(t);
		return NULL;
	}
	t->mask = size - 1;
	return t;
}

void rrl_free(struct rrl_table *t)
{
	free(t);
}

static bool in_prefix(const struct rrl_prefix *p, const uint8_t *addr,
		      bool v6)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (p->v6 != v6)
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return !rest || ((p->addr[full] ^ addr[full]) &
			 (uint8_t)(0xff << (8 - rest))) == 0;
}

uint64_t rrl_key(const struct rrl_table *t, const struct rrl_cfg *cfg,
		 const uint8_t *addr, bool v6, enum rrl_class cls,
		 const uint8_t *qname, size_t qname_len)
{
	uint8_t key[1 + 16 + 255];
	unsigned bits = v6 ? cfg->v6_bits : cfg->v4_bits, n = 0;
	size_t klen;
	uint64_t h;

	for (unsigned i = 0; i < cfg->n_exempt; i++)
		if (in_prefix(&cfg->exempt[i], addr, v6))
			return 0;
	/* The key: class and family, the client's prefix, and for answers
	 * the name (lowercase), so that one busy name does not limit the
	 * others a resolver asks for. */
	key[0] = (uint8_t)(cls << 1 | v6);
	memset(key + 1, 0, 16);
	for (; n < bits / 8; n++)
		key[1 + n] = addr[n];
	if (bits % 8)
		key[1 + n] = addr[n] & (uint8_t)(0xff << (8 - bits % 8));
	klen = 17;
	if (cls == RRL_ANSWER && qname_len <= 255) {
		for (size_t i = 0; i < qname_len; i++) {
			uint8_t c = qname[i];

			key[klen + i] = c >= 'A' && c <= 'Z' ? c + 32 : c;
		}
		klen += qname_len;
	}
	h = ditto_siphash(t->key, key, klen, 1, 3);
	return h ? h : 1;
}

void rrl_prefetch(const struct rrl_table *t, uint64_t key)
{
	__builtin_prefetch(&t->a[key & t->mask], 1);
}

enum rrl_verdict rrl_account(struct rrl_table *t, const struct rrl_cfg *cfg,
			     uint64_t key, uint32_t now)
{
	struct rrl_account *a = &t->a[key & t->mask];
	uint32_t tag = (uint32_t)(key >> 32) | 1;
	int64_t floor = -(int64_t)cfg->rate * cfg->window;

	if (!key)
		return RRL_PASS;	/* exempt */
	if (a->tag != tag) {
		a->tag = tag;
		a->balance = (int32_t)cfg->rate;
		a->time = now;
		a->slip = 0;
	} else if (now != a->time) {
		int64_t credit = (int64_t)(uint32_t)(now - a->time) * cfg->rate;
		int64_t b = a->balance + credit;

		a->balance = (int32_t)(b > (int64_t)cfg->rate ? cfg->rate : b);
		a->time = now;
	}
	if (--a->balance >= 0)
		return RRL_PASS;
	if (a->balance < floor)
		a->balance = (int32_t)floor;
	if (cfg->slip && ++a->slip >= cfg->slip) {
		a->slip = 0;
		return RRL_SLIP;
	}
	return RRL_DROP;
}

enum rrl_verdict rrl_check(struct rrl_table *t, const struct rrl_cfg *cfg,
			   const uint8_t *addr, bool v6, enum rrl_class cls,
			   const uint8_t *qname, size_t qname_len,
			   uint32_t now)
{
	return rrl_account(t, cfg, rrl_key(t, cfg, addr, v6, cls, qname,
					   qname_len), now);
}

int rrl_prefix_parse(const char *text, struct rrl_prefix *p)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long bits;
	char *end;

	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, text, n);
	host[n] = 0;
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, host, p->addr) == 1)
		p->v6 = false;
	else if (inet_pton(AF_INET6, host, p->addr) == 1)
		p->v6 = true;
	else
		return -1;
	bits = p->v6 ? 128 : 32;
	if (slash) {
		bits = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || bits > (p->v6 ? 128u : 32u))
			return -1;
	}
	p->bits = (uint8_t)bits;
	return 0;
}
