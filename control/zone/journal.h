/* The journal of a zone: the differences between its recent serials, so
 * that downstream secondaries get IXFR (RFC 1995) instead of the whole
 * zone, bounded in bytes, kept across restarts.
 *
 * A difference (jdiff) is one IXFR sequence: the records deleted from
 * serial `from`, beginning with its SOA, and the records added to reach
 * serial `to`, beginning with the new SOA. Differences are immutable once
 * built and shared, counted, between the journal a zone serves from and
 * the one a refresh builds beside it. A journal's differences always form
 * one chain: each begins where the one before it ends, the last at the
 * zone's serial.
 *
 * The file (state-dir/control/<zone>.journal), written atomically:
 *   "DITTOJ01", u32 apex length, apex, u32 count, then per difference
 *   u32 from, u32 to, u32 deleted, u32 added, u32 bytes, the records
 *   (u8 owner length, owner, u16 type, u16 class, u32 ttl, u16 rdlength,
 *   rdata; deleted then added), and at the end a SipHash-2-4 of it all.
 * Every field is checked on load; a journal that neither ends at the
 * saved contents' serial nor leads on from it is dropped, which costs
 * downstreams one AXFR.
 *
 * The saved contents may be older than the zone: after an IXFR only the
 * journal is written (a few bytes, not the whole zone), and loading
 * replays the differences from the contents' serial on. A new snapshot
 * of the contents is written when an AXFR comes or when the journal no
 * longer reaches back to the last one.
 */
#ifndef DITTO_JOURNAL_H
#define DITTO_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contents.h"

struct jdiff;
struct journal;

/* A difference being built: add the deleted records (the old SOA first),
 * then the added ones (the new SOA first). NULL when out of memory. */
struct jdiff *jdiff_new(uint32_t from, uint32_t to);
/* 0, or DITTO_ENOMEM / DITTO_EINVAL (a deletion after an addition). */
int jdiff_push(struct jdiff *d, bool deleted, const struct ditto_wire_rr *rr);
/* The serial the difference leads to, when it was not known at first. */
void jdiff_set_to(struct jdiff *d, uint32_t to);
void jdiff_put(struct jdiff *d);		/* drop a reference */
uint32_t jdiff_from(const struct jdiff *d);
uint32_t jdiff_to(const struct jdiff *d);
size_t jdiff_bytes(const struct jdiff *d);
/* Records deleted and added, the SOAs included. */
size_t jdiff_records(const struct jdiff *d);
/* Walk: *pos starts at 0; 1 with *rr and *deleted, or 0 at the end. */
int jdiff_next(const struct jdiff *d, size_t *pos, struct ditto_wire_rr *rr,
	       bool *deleted);

/* The difference from old to new (both with an SOA), or NULL with
 * *too_big set when it would pass max_bytes (or NULL alone when out of
 * memory). Records whose TTL changed are deleted and added again. */
struct jdiff *jdiff_between(struct contents *old, struct contents *new,
			    size_t max_bytes, bool *too_big);

struct journal *journal_new(void);
/* Counted like contents: another reference (NULL stays NULL); free drops
 * one. */
struct journal *journal_ref(struct journal *j);
void journal_free(struct journal *j);
/* A journal with j's differences (shared) and d appended, the oldest
 * dropped until it holds at most max_bytes. A d that does not begin where
 * j ends starts the chain again; one larger than max_bytes, or that does
 * not lead to a later serial, leaves it empty. d's reference passes to
 * the result.
 * NULL when out of memory (d is then released). */
struct journal *journal_with(const struct journal *j, struct jdiff *d,
			     size_t max_bytes);
size_t journal_count(const struct journal *j);
size_t journal_bytes(const struct journal *j);
/* The serial the chain begins at; false when empty. */
bool journal_first(const struct journal *j, uint32_t *serial);
/* Index of the difference from serial, which leads on to the end; or -1
 * when the journal cannot bring serial up to date. */
long journal_find(const struct journal *j, uint32_t serial);
const struct jdiff *journal_at(const struct journal *j, size_t i);

/* Apply the differences from serial from to the end to c (a copy nobody
 * else reads): the saved contents brought up to the journal's end. 0 and
 * *serial the serial reached, or DITTO_ECORRUPT with err when a
 * difference does not apply (c is then half changed: drop it). */
int journal_replay(const struct journal *j, uint32_t from,
		   struct contents *c, uint32_t *serial, char *err,
		   size_t errlen);

int journal_save(const struct journal *j, const uint8_t *apex,
		 size_t apex_len, const char *path);
/* 0 and *out (an empty journal when the file does not exist), or a
 * negative ditto_error with the reason in err. serial: that of the saved
 * contents; a journal that neither ends there nor has a difference from
 * there on is refused. */
int journal_load(const char *path, const uint8_t *apex, size_t apex_len,
		 uint32_t serial, struct journal **out, char *err,
		 size_t errlen);

#endif
