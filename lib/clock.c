// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lab_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t lab_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

void lab_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void lab_timestamp_name(char *buf, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y%m%d%H%M%S", &tm);
}

void lab_timestamp_iso(char *buf, size_t size, int64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / 1000000000);
	long us = (long)((wall_ns % 1000000000) / 1000);
	char date[32], zone[8];
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	/* %z gives +0000; ISO 8601 extended wants +00:00. */
	snprintf(buf, size, "%s.%06ld%.3s:%.2s", date, us, zone, zone + 3);
}

int lab_parse_duration_ms(const char *s, int64_t *ms)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "min", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	char *end;
	double v;
	size_t i;

	if (!s || !*s)
		return lab_err(LAB_EINVAL, "empty duration");
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))	/* also NaN */
		return lab_err(LAB_EINVAL,
			       "invalid duration '%s' (use e.g. 500ms, 30s, 2m, 1h, 2d)",
			       s);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			double r = v * (double)units[i].ms;

			if (r > 9.2e15)
				break;
			*ms = (int64_t)(r + 0.5);
			return 0;
		}
	}
	return lab_err(LAB_EINVAL,
		       "invalid duration '%s' (use e.g. 500ms, 30s, 2m, 1h, 2d)", s);
}
