/* ditto-control: keeps every zone of the node current from its primaries
 * and publishes each new serial to the dataplane.
 *
 *   ditto-control --config FILE [--check]
 *
 * Start-up: configuration (refused whole on any error), the state
 * directory (each zone's saved contents and timers: a zone with data
 * serves at once, its expiry counting from its real last refresh), the
 * worker pool, the NOTIFY sockets on the management addresses, the
 * control socket; then the event loop: a 100 ms tick for the timers,
 * NOTIFYs, control requests, finished refreshes, and a reconciliation
 * with the dataplane every 2 s. SIGINT/SIGTERM save every zone's state
 * and stop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "server.h"

#define RECONCILE_S 2

int clog_level = LOG_INFO;
static struct server the_server;

void clog_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit",
		"error", "warning", "notice", "info", "debug" };
	char ts[32], msg[2048];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > clog_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ ditto-control: %s: %s\n", ts,
		now.tv_nsec / 1000000, names[level & 7], msg);
}

bool log_ok(struct log_limit *l)
{
	time_t now = time(NULL);

	if (now != l->second) {
		if (l->held)
			clog_msg(LOG_WARNING, "(%lu more like the last held back)",
				 l->held);
		l->second = now;
		l->count = 0;
		l->held = 0;
	}
	if (++l->count <= 10)
		return true;
	l->held++;
	return false;
}

struct czone *zone_new(struct server *s, const struct cconf_zone *zc)
{
	struct czone *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->conf = zc;
	snprintf(z->name, sizeof(z->name), "%s", zc->domain);
	zone_state_load(s, z);
	return z;
}

void zone_free(struct czone *z)
{
	if (!z)
		return;
	contents_free(z->contents);
	journal_free(z->journal);
	free(z);
}

static void on_signal(int sig)
{
	(void)sig;
	the_server.stop = 1;
}

static int mkdirs(const char *path)
{
	char buf[4400];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

static int listen_udp(struct server *s)
{
	s->udp_watch = calloc(s->conf->n_listen + 1, sizeof(*s->udp_watch));
	if (!s->udp_watch)
		return -1;
	for (size_t i = 0; i < s->conf->n_listen; i++) {
		const struct cconf_addr *a = &s->conf->listen[i];
		int one = 1, fd = socket(a->ss.ss_family,
					 SOCK_DGRAM | SOCK_NONBLOCK |
						 SOCK_CLOEXEC, 0);

		if (fd >= 0 && a->ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				   sizeof(one));
		if (fd < 0 || bind(fd, (const struct sockaddr *)&a->ss,
				   a->len) != 0) {
			clog_msg(LOG_ERR, "management address %s: %s", a->text,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		s->udp_watch[s->n_udp].fd = fd;
		s->udp_watch[s->n_udp].fn = notify_handle;
		if (server_watch(s, &s->udp_watch[s->n_udp++]) != 0)
			return -1;
	}
	return 0;
}

int server_watch(struct server *s, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

static void tick(struct server *s, struct watch *w)
{
	uint64_t ticks;

	(void)s;
	(void)!read(w->fd, &ticks, sizeof(ticks));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ditto-control --config FILE [--check]\n"
		   "  --config FILE  the node's YAML configuration\n"
		   "  --check        read the configuration, report, and exit\n"
		   "  --version      print the version\n");
}

int main(int argc, char **argv)
{
	struct server *s = &the_server;
	const char *config = NULL;
	bool check = false;
	char err[1024];
	int opt, status = 1;
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'C': check = true; break;
		case 'V': printf("ditto-control %s\n", DITTO_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config) {
		usage(stderr);
		return 2;
	}
	if (cconf_load(config, &s->conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "ditto-control: configuration refused: %s\n",
			err);
		return 1;
	}
	/* Again with the zones added at run time, kept in the state
	 * directory the configuration names. */
	snprintf(s->added_path, sizeof(s->added_path),
		 "%s/control/zones-added.json", s->conf->state_dir);
	cconf_free(s->conf);
	if (cconf_load_with(config, s->added_path, &s->conf, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "ditto-control: configuration refused: %s\n",
			err);
		return 1;
	}
	if (check) {
		printf("%s: control configuration is valid (%zu zones)\n",
		       config, s->conf->n_zones);
		cconf_free(s->conf);
		return 0;
	}
	clog_level = s->conf->log_level;
	s->started = time(NULL);
	s->ctl_watch.fd = s->tick_watch.fd = s->done_watch.fd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(s->dir, sizeof(s->dir), "%s/control", s->conf->state_dir);
	if (mkdirs(s->dir) < 0) {
		clog_msg(LOG_ERR, "state directory %s: %s", s->dir,
			 strerror(errno));
		goto out;
	}
	s->zones = calloc(s->conf->n_zones + 1, sizeof(*s->zones));
	if (!s->zones)
		goto out;
	for (size_t i = 0; i < s->conf->n_zones; i++) {
		s->zones[i] = zone_new(s, &s->conf->zones[i]);
		if (!s->zones[i])
			goto out;
		s->n_zones++;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (s->epfd < 0 || sched_start(s) < 0 || listen_udp(s) < 0 ||
	    tcp_listen(s) < 0 || ctl_open(s) < 0 || metrics_start(s) < 0)
		goto out;
	s->tick_watch.fd = timerfd_create(CLOCK_MONOTONIC,
					  TFD_NONBLOCK | TFD_CLOEXEC);
	s->tick_watch.fn = tick;
	struct itimerspec period = { .it_interval.tv_nsec = 100000000,
				   .it_value.tv_nsec = 100000000 };

	if (s->tick_watch.fd < 0 ||
	    timerfd_settime(s->tick_watch.fd, 0, &period, NULL) != 0 ||
	    server_watch(s, &s->tick_watch) ||
	    server_watch(s, &s->done_watch) || server_watch(s, &s->ctl_watch))
		goto out;
	clog_msg(LOG_NOTICE, "ready: %zu zones, %zu management addresses, "
		 "%u transfer workers, control socket %s, dataplane %s",
		 s->n_zones, s->n_udp, s->n_threads, s->conf->control_socket,
		 s->conf->dataplane_socket);
	dp_reconcile(s);
	s->last_reconcile = time(NULL);
	sched_run(s, time(NULL));
	while (!s->stop) {
		struct epoll_event evs[16];
		int n = epoll_wait(s->epfd, evs, 16, 1000);
		time_t now;

		if (n < 0 && errno != EINTR) {
			clog_msg(LOG_ERR, "epoll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			w->fn(s, w);
		}
		now = time(NULL);
		sched_run(s, now);
		notify_tick(s);
		tcp_expire(s, now);
		if (now - s->last_reconcile >= RECONCILE_S) {
			dp_reconcile(s);
			s->last_reconcile = now;
		}
	}
	clog_msg(LOG_NOTICE, "stopping");
	/* Transfers to downstreams see stop and end within a message. */
	for (int i = 0; i < 500 && xfrout_streaming(); i++)
		usleep(10000);
	status = 0;
out:
	metrics_stop();
	sched_stop(s);
	for (size_t i = 0; s->zones && i < s->n_zones; i++) {
		zone_state_save(s, s->zones[i]);
		if (!s->zones[i]->job)
			zone_free(s->zones[i]);
	}
	if (s->ctl_watch.fd >= 0) {
		close(s->ctl_watch.fd);
		unlink(s->conf->control_socket);
	}
	tcp_close_all(s);
	notify_out_close(s);
	for (size_t i = 0; i < s->n_udp; i++)
		close(s->udp_watch[i].fd);
	if (s->tick_watch.fd >= 0)
		close(s->tick_watch.fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->running == 0) {
		free(s->udp_watch);
		free(s->per_remote);
		free(s->threads);
		free(s->zones);
		cconf_free(s->conf);
		for (size_t i = 0; i < s->n_old_confs; i++)
			cconf_free(s->old_confs[i]);
		free(s->old_confs);
		for (size_t i = 0; i < s->n_withdraw; i++)
			free(s->withdraw[i]);
		free(s->withdraw);
	}
	return status;
}
