/* Log lines on stderr with a UTC timestamp (never from a worker). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "dp.h"

void dp_log(const char *fmt, ...)
{
	char ts[32], msg[2048];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ ditto-dataplane: %s\n", ts,
		now.tv_nsec / 1000000, msg);
}
