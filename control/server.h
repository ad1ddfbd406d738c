/* ditto-control's running state: the zones and their timers, the worker
 * pool that refreshes them, and the sockets of the event loop. Zone state
 * is the main thread's; a worker gets a job with what it needs and hands
 * back a result (events/sched.c).
 */
#ifndef DITTO_SERVER_H
#define DITTO_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "cconf.h"
#include "contents.h"
#include "xfr.h"

/* At most 10 lines a second of one kind, and a line saying how many were
 * held back when the next second's first one goes out: a flood of bad
 * input must not flood the log. */
struct log_limit {
	time_t second;
	unsigned count;
	unsigned long held;
};


enum zone_state {
	ZS_BOOTSTRAP,		/* no data yet */
	ZS_OK,			/* serving, within expiry */
	ZS_EXPIRED,		/* withdrawn from the dataplane */
};

/* One job at a time per zone: a refresh (SOA check, transfer if newer). */
struct job;

struct czone {
	const struct cconf_zone *conf;
	char name[256];			/* presentation, lowercase, with dot */
	struct contents *contents;	/* what is served; NULL: nothing */
	struct journal *journal;	/* differences up to serial (never NULL
					 * once loaded) */
	uint32_t snap_serial;		/* of the contents file saved: serial,
					 * or older with the journal leading
					 * on from it */
	uint32_t serial;
	enum zone_state state;

	struct job *job;		/* running, or NULL */
	bool removed;			/* gone from the configuration while its
					 * job ran: freed when the job ends */
	bool refresh_wanted;		/* a refresh is due (timer, NOTIFY, ctl) */
	bool force_axfr;		/* the next refresh transfers by AXFR */
	int source;			/* primary the contents came from, -1 */
	int next_primary;		/* the one the next job asks (index) */
	char attempt_errors[1024];	/* of the primaries asked before it */

	time_t last_refresh;		/* last time a primary confirmed or gave data */
	time_t next_refresh;
	time_t expire_at;		/* 0: nothing to expire */
	unsigned retries;		/* failed refreshes in a row */
	uint32_t refresh, retry, expire;	/* the SOA's, clamped */
	int64_t primary_serial;		/* last seen on a primary, -1 */
	int primary_used;		/* index of the primary last used, -1 */
	time_t last_attempt;
	char last_result[512];		/* "ok: IXFR 10 -> 11 from ..." or the error */
	char last_error[512];
	time_t last_error_time;

	/* publication to the dataplane */
	char image[4200];		/* the image file of serial */
	bool dp_current;		/* the dataplane said it serves serial */

	/* counters */
	uint64_t refreshes, transfers_ok, transfers_failed, axfr, ixfr;
	uint64_t notifies, notifies_refused;
	uint64_t notifies_out, notifies_out_failed;	/* to downstreams */
};

struct server;

/* Something the event loop watches: fn runs when fd is readable. */
struct watch {
	int fd;
	void (*fn)(struct server *s, struct watch *w);
};

struct server {
	struct cconf *conf;
	struct cconf **old_confs;	/* replaced by reloads; jobs and NOTIFYs
					 * may still point into them */
	size_t n_old_confs;
	struct czone **zones;		/* in the configuration's order */
	size_t n_zones;
	char added_path[4200];		/* zones added at run time */
	char **withdraw;		/* removed zones the dataplane still has */
	size_t n_withdraw;
	char dir[4096];			/* state-dir/control */
	time_t started;
	volatile int stop;

	/* worker pool */
	pthread_t *threads;
	unsigned n_threads;
	pthread_mutex_t lock;		/* the job queues */
	pthread_cond_t cond;
	struct job *todo, *done;
	unsigned *per_remote;		/* running jobs by first primary */
	unsigned running;

	/* sockets */
	int epfd;
	struct watch *udp_watch;	/* NOTIFY over UDP */
	size_t n_udp;
	struct watch *tcp_watch;	/* listeners on the same addresses */
	size_t n_tcp;
	struct watch ctl_watch;
	struct watch tick_watch;	/* timerfd */
	struct watch done_watch;	/* eventfd of finished jobs */
	time_t last_reconcile;

	/* limits reached (refusals counted, logged through a limit) */
	uint64_t tcp_refused, ctl_refused, zones_refused;
	struct log_limit tcp_refused_log, ctl_refused_log;

	/* NOTIFY to downstreams (notifyout.c) */
	struct nout *nouts;		/* waiting for an answer */
	struct nsock *nsocks;
};

/* events/sched.c */
int sched_start(struct server *s);
void sched_stop(struct server *s);
/* Timers due, jobs to start: call on every tick and after events. */
void sched_run(struct server *s, time_t now);
/* Collect finished jobs (on done_fd readable). */
void sched_collect(struct server *s, struct watch *w);
/* Ask for a refresh now (NOTIFY, control socket). */
void zone_refresh_now(struct czone *z, bool axfr);
void zone_timers_from_soa(struct server *s, struct czone *z,
			  const struct soa_fields *soa);

/* events/refresh.c: the job, in a worker thread */
struct job {
	struct job *next;
	struct czone *z;		/* read-only in the worker but for the
					 * fields below */
	const struct cconf *conf;
	const struct cconf_zone *zc;	/* z->conf when it started */
	const char *dir;
	struct contents *cur;		/* borrowed: the zone's contents */
	const struct journal *cur_journal;	/* borrowed: its journal */
	uint32_t cur_serial;
	uint32_t snap_serial;		/* the zone's, in; the new one, out */
	uint32_t serial_new;		/* of the transfer being committed */
	enum xfr_kind kind_new;
	int source;			/* primary the contents came from */
	bool force_axfr;
	int try_primary;		/* the one primary (index) it asks */
	const char *remote_id;		/* that primary's id, for the limits */

	/* results */
	int rc;				/* 0: contacted a primary */
	bool up_to_date;
	struct contents *newc;		/* a new serial, compiled, saved */
	struct journal *newj;		/* its journal, saved */
	uint32_t serial;
	int primary;			/* index in the zone's primaries */
	int64_t primary_serial;
	int64_t expire_opt;		/* EDNS EXPIRE, -1 */
	enum xfr_kind kind;
	char image[4200];
	char result[512];
	char error[512];
	bool published;
};
void refresh_job_run(struct job *j);

/* publish.c: the dataplane's socket */
int dp_publish(const char *sock, const char *zone, const char *image,
	       uint32_t *serial, char *err, size_t errlen);
int dp_expire(const char *sock, const char *zone, char *err, size_t errlen);
int dp_remove(const char *sock, const char *zone, char *err, size_t errlen);
/* Bring the dataplane in line with every zone: serve the image of the
 * current serial, or nothing when expired. */
void dp_reconcile(struct server *s);

/* persist.c: a zone's timers and history, across restarts */
int zone_state_save(const struct server *s, const struct czone *z);
int zone_state_load(struct server *s, struct czone *z);
void zone_paths(const char *dir, const char *zone, char *contents,
		char *image, char *state, size_t cap);
/* The journal's file beside the contents file. */
void zone_journal_path(const char *contents_path, char *out, size_t cap);

/* main.c */
int server_watch(struct server *s, struct watch *w);

/* notify.c: NOTIFY received on the management addresses */
size_t notify_answer(struct server *s, uint8_t *req, size_t len,
		     const struct sockaddr_storage *from, uint8_t *resp,
		     size_t cap);
void notify_handle(struct server *s, struct watch *w);

/* notifyout.c: NOTIFY to the zone's downstream secondaries; how many
 * addresses were notified. notify_tick() sends again what is due. */
unsigned notify_zone(struct server *s, struct czone *z);
void notify_tick(struct server *s);
void notify_out_close(struct server *s);
/* Drop what waits for z (a zone being removed). */
void notify_forget(struct server *s, const struct czone *z);

/* xfrout.c: AXFR/IXFR to downstream secondaries. XFROUT_NOT: req is not
 * a transfer request (nothing was sent); XFROUT_ANSWERED: refused, the
 * answer sent; XFROUT_DETACHED: a thread streams the transfer and owns fd
 * now (the caller forgets the connection without closing it). */
enum xfrout_rc { XFROUT_NOT, XFROUT_ANSWERED, XFROUT_DETACHED };
enum xfrout_rc xfrout_handle(struct server *s, int fd, uint8_t *req,
			     size_t len, const struct sockaddr_storage *from);
/* Transfers being streamed now. */
unsigned xfrout_streaming(void);

/* tcp.c: the same over TCP */
int tcp_listen(struct server *s);
/* One DNS message with its 2-byte length; 0 or -1. */
int tcp_send_frame(int fd, const uint8_t *msg, size_t len);
void tcp_expire(struct server *s, time_t now);
void tcp_close_all(struct server *s);

/* edns.c: OPT and EXPIRE (RFC 7314) in answers to downstreams */
struct req_edns {
	bool present;			/* the request has an OPT record */
	bool expire;			/* with the EXPIRE option */
};
void edns_of_request(const uint8_t *req, size_t len, size_t qend,
		     struct req_edns *e);
/* Append an OPT record, with EXPIRE of expire seconds when expire >= 0;
 * ARCOUNT + 1. 0, or -1 when it does not fit. */
int edns_append(uint8_t *msg, size_t *len, size_t cap, int64_t expire);
/* Seconds until z expires, as a downstream is told. */
int64_t zone_expire_left(const struct czone *z);

/* metrics.c: the HTTP endpoint of node: metrics: (none when absent) */
int metrics_start(struct server *s);
void metrics_stop(void);

/* ctl.c: control.sock */
int ctl_open(struct server *s);
void ctl_accept(struct server *s, struct watch *w);

/* log.c */
void clog_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
extern int clog_level;
bool log_ok(struct log_limit *l);

/* The running zone of a name in the configuration, or NULL. */
static inline struct czone *zone_by_name(struct server *s, const char *name)
{
	const struct cconf_zone *zc = cconf_zone_find(s->conf, name);

	for (size_t i = 0; zc && i < s->n_zones; i++)
		if (s->zones[i]->conf == zc)
			return s->zones[i];
	return NULL;
}

/* A zone of the configuration, its saved state loaded; NULL when out of
 * memory. zone_free() of one that is in no list and has no job. */
struct czone *zone_new(struct server *s, const struct cconf_zone *zc);
void zone_free(struct czone *z);

/* reload.c: the configuration again, and zones added or removed at run
 * time (persisted in added_path). 0, or -1 with the reason in err and
 * nothing changed. */
int server_reload(struct server *s, char *err, size_t errlen);
int zone_add(struct server *s, json_object *spec, char *err, size_t errlen);
int zone_remove(struct server *s, const char *name, char *err, size_t errlen);
/* The counters of transfers per remote, index of a remote id (or -1). */
int remote_slot(const struct server *s, const char *id);
static inline const char *zone_state_name(enum zone_state st)
{
	switch (st) {
	case ZS_BOOTSTRAP: return "bootstrap";
	case ZS_OK: return "ok";
	case ZS_EXPIRED: return "expired";
	}
	return "?";
}

#endif
