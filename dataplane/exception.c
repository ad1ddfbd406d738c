/* The exception path: a TAP interface on which the kernel holds the node's
 * addresses. Workers put what the fast path does not answer on their ring
 * to this thread, which writes it to the TAP; what the kernel writes to the
 * TAP (ARP and ND replies, ICMP, TCP, BGP) this thread puts on a worker's
 * ring for that worker to transmit on the port. The system calls happen
 * here, never in a worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"

#define EXC_BURST 32
#define EXC_POLL_MS 1

static pthread_t exc_thread;
static bool exc_running;

int dp_tap_open(struct dp *dp, char *err, size_t errlen)
{
	struct ifreq ifr;
	struct rte_ether_addr mac;
	int fd, s = -1;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "exception path: /dev/net/tun: %s",
			 strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dp->conf.exception_if);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "exception path: cannot create TAP %s: %s",
			 dp->conf.exception_if, strerror(errno));
		goto fail;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail_errno;
	/* The kernel answers ARP and ND with the port's own address. */
	rte_eth_macaddr_get(dp->port_id, &mac);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dp->conf.exception_if);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac.addr_bytes, 6);
	if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		goto fail_errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dp->conf.exception_if);
	ifr.ifr_mtu = dp->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		goto fail_errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail_errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto fail_errno;
	close(s);
	dp->tap_fd = fd;
	return 0;
fail_errno:
	snprintf(err, errlen, "exception path: cannot set up %s: %s",
		 dp->conf.exception_if, strerror(errno));
fail:
	if (s >= 0)
		close(s);
	close(fd);
	return -1;
}

/* Write frames from the workers to the kernel. */
static unsigned to_kernel(struct dp *dp)
{
	struct rte_mbuf *ms[EXC_BURST];
	unsigned total = 0;

	for (unsigned w = 0; w < dp->n_workers; w++) {
		unsigned n = rte_ring_sc_dequeue_burst(dp->workers[w].to_kernel,
						       (void **)ms, EXC_BURST,
						       NULL);

		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = ms[i];
			struct iovec iov[8];
			unsigned k = 0;
			ssize_t r;

			for (struct rte_mbuf *s = m; s && k < 8; s = s->next) {
				iov[k].iov_base = rte_pktmbuf_mtod(s, void *);
				iov[k++].iov_len = s->data_len;
			}
			if (k == 8 && m->nb_segs > 8) {
				dp->exc.drop_chained++;
			} else {
				r = writev(dp->tap_fd, iov, (int)k);
				if (r < 0)
					dp->exc.drop_write++;
				else
					dp->exc.to_kernel++;
			}
			rte_pktmbuf_free(m);
		}
		total += n;
	}
	return total;
}

/* Read frames the kernel sends and give them to worker 0 to transmit (its
 * TX queue carries them; queues are per worker, never shared). */
static unsigned from_kernel(struct dp *dp)
{
	unsigned n = 0;
	static uint8_t scratch[65536];

	while (n < EXC_BURST) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
		ssize_t r;

		if (!m) {
			/* Take the frame off the TAP anyway, or it blocks
			 * everything behind it. */
			r = read(dp->tap_fd, scratch, sizeof(scratch));
			if (r > 0)
				dp->exc.drop_nombuf++;
			break;
		}
		r = read(dp->tap_fd, rte_pktmbuf_mtod(m, void *),
			 rte_pktmbuf_tailroom(m));
		if (r <= 0) {
			rte_pktmbuf_free(m);
			break;
		}
		m->data_len = (uint16_t)r;
		m->pkt_len = (uint32_t)r;
		dp->exc.from_kernel++;
		if (rte_ring_sp_enqueue(dp->workers[0].from_kernel, m) != 0) {
			dp->exc.drop_ring++;
			rte_pktmbuf_free(m);
		}
		n++;
	}
	return n;
}

static void *exc_main(void *arg)
{
	struct dp *dp = arg;
	struct pollfd pfd = { .fd = dp->tap_fd, .events = POLLIN };

	while (!dp->stop) {
		unsigned busy = to_kernel(dp) + from_kernel(dp);

		/* Idle: wake on a kernel frame at once, on a worker's within
		 * a millisecond. */
		if (!busy)
			(void)poll(&pfd, 1, EXC_POLL_MS);
	}
	return NULL;
}

int dp_exception_start(struct dp *dp, char *err, size_t errlen)
{
	int rc = pthread_create(&exc_thread, NULL, exc_main, dp);

	if (rc) {
		snprintf(err, errlen, "exception path: thread: %s",
			 strerror(rc));
		return -1;
	}
	pthread_setname_np(exc_thread, "ditto-exc");
	exc_running = true;
	return 0;
}

void dp_exception_stop(struct dp *dp)
{
	if (exc_running) {
		pthread_join(exc_thread, NULL);
		exc_running = false;
	}
	if (dp->tap_fd >= 0) {
		close(dp->tap_fd);
		dp->tap_fd = -1;
	}
}
