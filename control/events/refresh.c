/* The refresh of one zone at one of its primaries, run by a worker
 * thread: ask each address of the primary for its serial, transfer when
 * it is newer (IXFR from the primary
 * our data came from, AXFR otherwise or when IXFR fails), compile, save
 * and publish. Nothing the zone serves changes here: the result goes back
 * to the main thread (sched.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ditto/error.h"
#include "server.h"

static void peer_of(const struct cconf_remote *r, size_t a,
		    struct xfr_peer *p, char *text, size_t cap)
{
	snprintf(text, cap, "%s %s", r->id, r->addrs[a].text);
	p->addr = (const struct sockaddr *)&r->addrs[a].ss;
	p->addr_len = r->addrs[a].len;
	p->src = r->have_via ? (const struct sockaddr *)&r->via.ss : NULL;
	p->src_len = r->have_via ? r->via.len : 0;
	p->key = r->key;
	p->text = text;
}

/* Remember an error of one primary, keeping the earlier ones. */
static void note_error(struct job *j, const char *peer, const char *what)
{
	size_t n = strlen(j->error);

	snprintf(j->error + n, sizeof(j->error) - n, "%s%s: %s",
		 n ? "; " : "", peer, what);
}

/* The journal after this transfer: the zone's, with the IXFR's sequences
 * or, after an AXFR of a zone we had, the difference computed between the
 * two (none when larger than the journal may be). NULL when out of
 * memory. */
static struct journal *journal_after(struct job *j, struct xfr_result *res)
{
	size_t max = (size_t)j->conf->journal_max_bytes;
	struct journal *jn = NULL;
	const struct journal *prev = j->cur_journal;

	/* The same serial again (a forced AXFR): the history is unknown. */
	if (!j->cur || !serial_gt(res->serial, j->cur_serial))
		return journal_new();
	if (res->kind == XFR_IXFR && res->seqs) {
		for (unsigned i = 0; i < res->diffs; i++) {
			struct journal *n = journal_with(prev, res->seqs[i], max);

			res->seqs[i] = NULL;
			journal_free(jn);
			if (!n) {
				for (unsigned k = i + 1; k < res->diffs; k++) {
					jdiff_put(res->seqs[k]);
					res->seqs[k] = NULL;
				}
				return NULL;
			}
			prev = jn = n;
		}
		return jn ? jn : journal_new();
	}
	if (max) {
		bool too_big;
		struct jdiff *d = jdiff_between(j->cur, res->zone, max,
						&too_big);

		if (d)
			return journal_with(j->cur_journal, d, max);
		if (!too_big)
			return NULL;
		clog_msg(LOG_INFO, "zone %s: the difference of the AXFR is "
			 "larger than journal-max-bytes; the journal starts "
			 "again", j->z->name);
	}
	return journal_new();
}

/* Compile the new contents and write the image and the contents files.
 * 0, or -1 with the reason in why. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int commit(struct job *j, struct contents *c, char *why, size_t cap,
		  double *t_compile, double *t_files)
{
	struct ditto_compile_opts opts = { 0 };
	struct ditto_compiled out;
	char cpath[4200], state[4200];
	double t = now_s();
	int rc;

	opts.limits.max_records = j->conf->max_zone_records;
	rc = contents_compile(c, &opts, &out);
	*t_compile = now_s() - t;
	t = now_s();
	if (rc < 0) {
		snprintf(why, cap, "the zone does not compile: %.450s",
			 out.first_error[0] ? out.first_error :
					      ditto_strerror(rc));
		ditto_compiled_free(&out);
		return -1;
	}
	zone_paths(j->dir, j->z->name, cpath, j->image, state, sizeof(cpath));
	/* After an IXFR the journal alone is written when it still leads
	 * on from the contents saved last (loading replays it); otherwise a
	 * new snapshot of the contents. */
	bool snapshot = !j->cur || !serial_gt(j->serial_new, j->cur_serial) ||
			j->kind_new != XFR_IXFR ||
			journal_find(j->newj, j->snap_serial) < 0;
	char jpath[4200];

	zone_journal_path(cpath, jpath, sizeof(jpath));
	rc = snapshot ? contents_save(c, cpath) : 0;
	if (rc == 0) {
		rc = journal_save(j->newj, j->zc->wire, j->zc->wire_len, jpath);
		if (rc < 0) {
			clog_msg(LOG_WARNING, "zone %s: cannot write its journal "
				 "%s: %s", j->z->name, jpath, ditto_strerror(rc));
			journal_free(j->newj);
			j->newj = journal_new();
			unlink(jpath);
			/* without it the snapshot must be the new serial */
			rc = !j->newj ? DITTO_ENOMEM :
			     snapshot ? 0 : contents_save(c, cpath);
			snapshot = true;
		}
	}
	if (rc == 0)
		rc = ditto_image_write(j->image, out.image, out.size);
	ditto_compiled_free(&out);
	if (rc < 0) {
		snprintf(why, cap, "cannot write the zone's files in %s: %s",
			 j->dir, ditto_strerror(rc));
		return -1;
	}
	if (snapshot)
		j->snap_serial = j->serial_new;
	*t_files = now_s() - t;
	return 0;
}

void refresh_job_run(struct job *j)
{
	const struct cconf_zone *zc = j->zc;
	const struct cconf *cf = j->conf;
	struct xfr_limits lim = {
		.max_bytes = cf->max_transfer_bytes,
		.max_records = cf->max_zone_records,
		.timeout_ms = cf->transfer_timeout * 1000u,
		.io_timeout_ms = cf->tcp_timeout * 1000u,
	};

	j->rc = -1;
	j->primary = -1;
	j->primary_serial = -1;
	j->expire_opt = -1;
	/* One primary per job, so that the transfers it may start count
	 * against that primary's limit; the main thread moves on to the
	 * next one when this one fails (sched.c). */
	for (size_t i = (size_t)j->try_primary;
	     i < zc->n_primaries && i == (size_t)j->try_primary; i++) {
		const struct cconf_remote *r = zc->primaries[i];

		for (size_t a = 0; a < r->n_addrs; a++) {
			struct xfr_peer peer;
			struct xfr_result res;
			char text[300], err[512];
			uint32_t serial;
			int64_t expire;
			bool ixfr;
			int rc;

			peer_of(r, a, &peer, text, sizeof(text));
			rc = xfr_soa_query(&peer, zc->wire, zc->wire_len,
					   zc->expire_edns, cf->tcp_timeout * 1000u,
					   &serial, &expire, err, sizeof(err));
			if (rc < 0) {
				note_error(j, text, err);
				continue;
			}
			j->primary = (int)i;
			j->primary_serial = serial;
			j->expire_opt = expire;
			if (j->cur && !j->force_axfr &&
			    !serial_gt(serial, j->cur_serial)) {
				j->rc = 0;
				j->up_to_date = true;
				snprintf(j->result, sizeof(j->result),
					 "serial %u is current on %s",
					 j->cur_serial, text);
				return;
			}
			/* IXFR histories are the primary's own: only from the
			 * one our data came from. */
			ixfr = zc->ixfr && j->cur && !j->force_axfr &&
			       j->source == (int)i;
			double t0 = now_s(), t_journal, t_compile = 0, t_files = 0;

			rc = xfr_transfer(&peer, zc->wire, zc->wire_len, j->cur,
					  ixfr, zc->expire_edns, &lim, &res);
			if (rc < 0 && ixfr && res.fallback) {
				clog_msg(LOG_NOTICE, "zone %s: IXFR from %s failed (%s), "
					 "trying AXFR", j->z->name, text,
					 res.error);
				xfr_result_free(&res);
				rc = xfr_transfer(&peer, zc->wire, zc->wire_len,
						  NULL, false, zc->expire_edns,
						  &lim, &res);
			}
			if (rc < 0) {
				snprintf(err, sizeof(err), "%s failed: %.480s",
					 ixfr ? "IXFR" : "AXFR", res.error);
				note_error(j, text, err);
				xfr_result_free(&res);
				continue;
			}
			if (res.up_to_date || !res.zone) {
				j->rc = 0;
				j->up_to_date = true;
				snprintf(j->result, sizeof(j->result),
					 "serial %u is current on %s (IXFR)",
					 j->cur_serial, text);
				xfr_result_free(&res);
				return;
			}
			if (res.expire >= 0)
				j->expire_opt = res.expire;
			double t_xfr = now_s() - t0;
			unsigned long long changes = 0;

			for (unsigned k = 0; res.seqs && k < res.diffs; k++)
				changes += jdiff_records(res.seqs[k]) - 2; /* SOAs */
			t0 = now_s();
			j->newj = journal_after(j, &res);
			t_journal = now_s() - t0;
			j->serial_new = res.serial;
			j->kind_new = res.kind;
			if (!j->newj || commit(j, res.zone, err, sizeof(err),
					       &t_compile, &t_files) < 0) {
				if (!j->newj)
					snprintf(err, sizeof(err), "out of memory");
				note_error(j, text, err);
				journal_free(j->newj);
				j->newj = NULL;
				xfr_result_free(&res);
				continue;
			}
			j->rc = 0;
			j->kind = res.kind;
			j->serial = res.serial;
			j->newc = res.zone;
			res.zone = NULL;
			xfr_result_free(&res);	/* what is left of the sequences */
			char perr[512];
			uint32_t dserial;

			t0 = now_s();
			j->published = dp_publish(cf->dataplane_socket,
						  j->z->name, j->image, &dserial,
						  perr, sizeof(perr)) == 0 &&
				       dserial == res.serial;
			double t_dp = now_s() - t0;
			char how[64], changed[96] = "";

			if (res.kind == XFR_IXFR) {
				snprintf(how, sizeof(how), "IXFR %u -> %u",
					 j->cur_serial, res.serial);
				snprintf(changed, sizeof(changed), "%u sequence%s, "
					 "%llu records changed, ", res.diffs,
					 res.diffs == 1 ? "" : "s", changes);
			} else if (j->cur) {
				snprintf(how, sizeof(how), "AXFR %u -> %u",
					 j->cur_serial, res.serial);
			} else {
				snprintf(how, sizeof(how), "AXFR of serial %u",
					 res.serial);
			}
			snprintf(j->result, sizeof(j->result),
				 "%s from %.200s: %s%llu messages, %llu bytes; "
				 "%llu records in the zone; seconds: transfer "
				 "%.3f, journal %.3f, compile %.3f, files %.3f, "
				 "dataplane %.3f", how, text, changed,
				 (unsigned long long)res.messages,
				 (unsigned long long)res.bytes,
				 (unsigned long long)res.records, t_xfr,
				 t_journal, t_compile, t_files, t_dp);
			if (!j->published)
				clog_msg(LOG_WARNING, "zone %s: serial %u not yet adopted "
					 "by the dataplane: %s", j->z->name,
					 res.serial, perr);
			return;
		}
	}
}
