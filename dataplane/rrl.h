/* Response rate limiting (the algorithm of BIND and Knot DNS): each
 * worker keeps, for every (client prefix, response class, name) it
 * answers, an account credited `rate` responses a second and debited one
 * per response, allowed to go `window` seconds of rate into debt. While it
 * is in debt the response is limited: dropped, or every `slip`th one sent
 * as an empty TC=1 answer so that a real client behind a spoofed prefix
 * retries over TCP (which is not limited).
 *
 * The table is the worker's own (no shared writes): a fixed array of
 * accounts indexed by a keyed hash, a different key in each worker; a
 * collision takes the slot over with a fresh account. Plain C, no DPDK:
 * unit tests drive it with their own clock.
 */
#ifndef DITTO_RRL_H
#define DITTO_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRL_MAX_EXEMPT 32

enum rrl_class {
	RRL_ANSWER,		/* NOERROR with answers: keyed by the name */
	RRL_NODATA,		/* NOERROR, none */
	RRL_NXDOMAIN,
	RRL_REFERRAL,
	RRL_ERROR,		/* REFUSED, SERVFAIL, FORMERR, ... */
	RRL_CLASSES,
};

enum rrl_verdict { RRL_PASS, RRL_DROP, RRL_SLIP };

struct rrl_prefix {
	bool v6;
	uint8_t addr[16];
	uint8_t bits;
};

struct rrl_cfg {
	bool enabled;
	unsigned rate;			/* responses per second per account */
	unsigned slip;			/* every slip-th limited one as TC; 0 never */
	unsigned window;		/* seconds of debt */
	unsigned v4_bits, v6_bits;	/* client prefix lengths: 24, 56 */
	struct rrl_prefix exempt[RRL_MAX_EXEMPT];
	unsigned n_exempt;
	unsigned table_size;		/* accounts per worker, a power of 2 */
};

struct rrl_table;

/* A table of cfg->table_size accounts; NULL when out of memory. */
struct rrl_table *rrl_new(unsigned size);
void rrl_free(struct rrl_table *t);

/* The verdict on one response to addr (4 or 16 bytes) of class cls for
 * qname (wire, any case; only RRL_ANSWER uses it), now in seconds. */
enum rrl_verdict rrl_check(struct rrl_table *t, const struct rrl_cfg *cfg,
			   const uint8_t *addr, bool v6, enum rrl_class cls,
			   const uint8_t *qname, size_t qname_len,
			   uint32_t now);

/* The same in two steps, so that a burst can prefetch the accounts of
 * all its responses before it uses any: the key's hash (0 when addr is
 * exempt), the prefetch, and the account's verdict. */
uint64_t rrl_key(const struct rrl_table *t, const struct rrl_cfg *cfg,
		 const uint8_t *addr, bool v6, enum rrl_class cls,
		 const uint8_t *qname, size_t qname_len);
void rrl_prefetch(const struct rrl_table *t, uint64_t key);
enum rrl_verdict rrl_account(struct rrl_table *t, const struct rrl_cfg *cfg,
			     uint64_t key, uint32_t now);

/* "192.0.2.0/24", "2001:db8::/32", or a host; 0 or -1. */
int rrl_prefix_parse(const char *text, struct rrl_prefix *p);

#endif
