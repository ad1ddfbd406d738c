/* Zone timers (RFC 1034 §4.3.5, RFC 1996) and the worker pool that runs
 * refreshes: the main thread decides when a zone is due and whether its
 * primary has room for another transfer, a worker does the slow part,
 * and the main thread applies the result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <syslog.h>
#include <unistd.h>

#include "server.h"

#define MAX_THREADS 32
#define BACKOFF_MAX 8		/* retry intervals grow up to 8 times */

static void *worker_main(void *arg)
{
	struct server *s = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct job *j = s->todo;

		if (!j) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		s->todo = j->next;	/* first in, first out */
		pthread_mutex_unlock(&s->lock);
		refresh_job_run(j);
		pthread_mutex_lock(&s->lock);
		j->next = s->done;
		s->done = j;
		if (write(s->done_watch.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			clog_msg(LOG_ERR, "eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sched_start(struct server *s)
{
	unsigned n = s->conf->transfers_total;

	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if (n == 0)
		n = 1;
	s->done_watch.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->done_watch.fn = sched_collect;
	s->per_remote = calloc(s->conf->n_remotes + 1, sizeof(unsigned));
	s->threads = calloc(n, sizeof(*s->threads));
	if (s->done_watch.fd < 0 || !s->per_remote || !s->threads)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0)
			return -1;
		s->n_threads++;
	}
	return 0;
}

/* Stop the workers. A transfer in progress is abandoned, which loses
 * nothing: files are replaced only whole. Idle workers are joined; busy
 * ones go with the process. */
void sched_stop(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	bool busy = s->running > 0;
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->n_threads; i++) {
		if (busy)
			pthread_detach(s->threads[i]);
		else
			pthread_join(s->threads[i], NULL);
	}
	s->n_threads = 0;
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Up to jitter percent earlier, never later than the SOA asks. */
static time_t jittered(const struct server *s, uint32_t interval)
{
	uint32_t r = 0, pct = s->conf->timers.jitter_percent;

	if (!pct || interval < 2)
		return interval;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)time(NULL);
	return (time_t)interval -
	       (time_t)((uint64_t)interval * pct / 100 * (r % 1000) / 1000);
}

void zone_timers_from_soa(struct server *s, struct czone *z,
			  const struct soa_fields *soa)
{
	const struct cconf_timers *t = &s->conf->timers;

	z->refresh = clamp(soa->refresh, t->refresh_min, t->refresh_max);
	z->retry = clamp(soa->retry, t->retry_min, t->retry_max);
	z->expire = clamp(soa->expire, t->expire_min, t->expire_max);
}

static time_t retry_after(const struct server *s, const struct czone *z)
{
	const struct cconf_timers *t = &s->conf->timers;
	uint32_t base = z->contents ? z->retry : t->retry_min;
	unsigned k = z->retries > 0 ? z->retries - 1 : 0;
	uint64_t v = base;

	/* Backoff for a zone nobody answers for: 1, 2, 4, 8 times. */
	for (unsigned i = 0; i < k && v < (uint64_t)base * BACKOFF_MAX; i++)
		v *= 2;
	if (v > t->retry_max)
		v = t->retry_max;
	return jittered(s, (uint32_t)v);
}

void zone_refresh_now(struct czone *z, bool axfr)
{
	z->refresh_wanted = true;
	if (axfr)
		z->force_axfr = true;
}

int remote_slot(const struct server *s, const char *id)
{
	for (size_t i = 0; i < s->conf->n_remotes; i++)
		if (strcasecmp(s->conf->remotes[i].id, id) == 0)
			return (int)i;
	return -1;
}

static bool dispatch(struct server *s, struct czone *z)
{
	const struct cconf_zone *zc = z->conf;
	int at = z->next_primary < (int)zc->n_primaries ? z->next_primary : 0;
	int first = remote_slot(s, zc->primaries[at]->id);
	unsigned total = s->conf->transfers_total;
	struct job *j, **tail;

	/* No more jobs than threads: a queued job would hold its primary's
	 * slot without running. */
	if (total > s->n_threads)
		total = s->n_threads;
	if (first < 0 || s->running >= total ||
	    s->per_remote[first] >= s->conf->transfers_per_primary)
		return false;
	j = calloc(1, sizeof(*j));
	if (!j)
		return false;
	j->z = z;
	j->conf = s->conf;
	j->zc = zc;
	j->dir = s->dir;
	j->cur = z->contents;
	j->cur_journal = z->journal;
	j->cur_serial = z->serial;
	j->snap_serial = z->snap_serial;
	j->source = z->source;
	j->force_axfr = z->force_axfr;
	j->try_primary = at;
	j->remote_id = zc->primaries[at]->id;
	z->job = j;
	z->refresh_wanted = false;
	z->force_axfr = false;
	z->refreshes++;
	s->running++;
	s->per_remote[first]++;
	pthread_mutex_lock(&s->lock);
	for (tail = &s->todo; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

void sched_run(struct server *s, time_t now)
{
	for (size_t i = 0; i < s->n_zones; i++) {
		struct czone *z = s->zones[i];

		if (z->state == ZS_OK && z->expire_at && now >= z->expire_at) {
			z->state = ZS_EXPIRED;
			z->dp_current = false;
			clog_msg(LOG_ERR, "zone %s: expired: no primary has "
				 "confirmed serial %u since %ld s ago; withdrawn "
				 "until one answers", z->name, z->serial,
				 (long)(now - z->last_refresh));
			zone_state_save(s, z);
			dp_reconcile(s);
		}
		if (z->job)
			continue;
		if (now >= z->next_refresh)
			z->refresh_wanted = true;
		if (z->refresh_wanted)
			(void)dispatch(s, z);
	}
}

static void apply(struct server *s, struct job *j, time_t now)
{
	struct czone *z = j->z;
	struct soa_fields soa;

	int slot = remote_slot(s, j->remote_id);

	z->job = NULL;
	s->running--;
	if (slot >= 0 && s->per_remote[slot])
		s->per_remote[slot]--;
	if (z->removed) {
		/* The zone left the configuration while this ran. */
		clog_msg(LOG_INFO, "zone %s: removed; its last refresh is "
			 "dropped", z->name);
		contents_free(j->newc);
		journal_free(j->newj);
		free(j);
		zone_free(z);
		return;
	}
	z->last_attempt = now;
	if (j->rc != 0) {
		size_t n = strlen(z->attempt_errors);

		z->transfers_failed += j->primary >= 0;
		snprintf(z->attempt_errors + n, sizeof(z->attempt_errors) - n,
			 "%s%s", n ? "; " : "", j->error);
		if ((size_t)j->try_primary + 1 < z->conf->n_primaries) {
			/* The next primary, at once, charged to its own
			 * limit. */
			z->next_primary = j->try_primary + 1;
			z->force_axfr = z->force_axfr || j->force_axfr;
			z->refresh_wanted = true;
			free(j);
			return;
		}
		z->next_primary = 0;
		z->retries++;
		snprintf(z->last_error, sizeof(z->last_error), "%.511s",
			 z->attempt_errors);
		snprintf(z->last_result, sizeof(z->last_result), "failed: %.490s",
			 z->attempt_errors);
		z->attempt_errors[0] = 0;
		z->last_error_time = now;
		z->next_refresh = now + retry_after(s, z);
		clog_msg(LOG_WARNING, "zone %s: refresh failed (%s); next try "
			 "in %ld s", z->name, z->last_error,
			 (long)(z->next_refresh - now));
		free(j);
		zone_state_save(s, z);
		return;
	}
	z->retries = 0;
	z->next_primary = 0;
	z->attempt_errors[0] = 0;
	z->last_refresh = now;
	z->primary_serial = j->primary_serial;
	z->primary_used = j->primary;
	snprintf(z->last_result, sizeof(z->last_result), "ok: %.500s", j->result);
	if (j->newc) {
		contents_free(z->contents);
		z->contents = j->newc;
		journal_free(z->journal);
		z->journal = j->newj;
		z->snap_serial = j->snap_serial;
		z->serial = j->serial;
		z->source = j->primary;
		snprintf(z->image, sizeof(z->image), "%s", j->image);
		z->dp_current = j->published;
		z->transfers_ok++;
		if (j->kind == XFR_IXFR)
			z->ixfr++;
		else
			z->axfr++;
		clog_msg(LOG_NOTICE, "zone %s: %s", z->name, j->result);
		notify_zone(s, z);
	} else {
		clog_msg(LOG_INFO, "zone %s: %s", z->name, j->result);
	}
	if (z->state != ZS_OK && z->contents)
		clog_msg(LOG_NOTICE, "zone %s: serving serial %u", z->name,
			 z->serial);
	if (z->contents) {
		z->state = ZS_OK;
		if (contents_soa(z->contents, &soa))
			zone_timers_from_soa(s, z, &soa);
	}
	/* RFC 7314: the primary's EXPIRE stands for the SOA's. */
	if (j->expire_opt >= 0)
		z->expire_at = now + (time_t)clamp((uint32_t)j->expire_opt,
					       s->conf->timers.expire_min,
					       s->conf->timers.expire_max);
	else
		z->expire_at = now + z->expire;
	z->next_refresh = now + jittered(s, z->refresh);
	free(j);
	zone_state_save(s, z);
}

void sched_collect(struct server *s, struct watch *w)
{
	uint64_t v;
	struct job *list;
	time_t now = time(NULL);

	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		clog_msg(LOG_ERR, "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&s->lock);
	list = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->lock);
	while (list) {
		struct job *j = list;

		list = j->next;
		apply(s, j, now);
	}
}
