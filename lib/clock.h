/* SPDX-License-Identifier: MIT */
/* Monotonic time for durations and timeouts, wall time for names and logs. */
#ifndef LAB_CLOCK_H
#define LAB_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds from CLOCK_MONOTONIC. */
int64_t lab_mono_ns(void);
static inline int64_t lab_mono_ms(void) { return lab_mono_ns() / 1000000; }
/* Nanoseconds since the epoch from CLOCK_REALTIME. */
int64_t lab_wall_ns(void);
/* Sleep for ms milliseconds, restarting after signals. */
void lab_sleep_ms(int64_t ms);
/* "YYYYMMDDHHMMSS" in local time, as the results/ names use; buf >= 15. */
void lab_timestamp_name(char *buf, size_t size, time_t t);
/* ISO 8601 with microseconds and offset, e.g. 2022-08-26T12:59:35.123456+00:00 */
void lab_timestamp_iso(char *buf, size_t size, int64_t wall_ns);
/*
 * Parse a duration: "250ms", "30s", "2m", "1h", "2d" or a bare number of
 * seconds.  Returns 0 and *ms, or -LAB_EINVAL with a message.
 */
int lab_parse_duration_ms(const char *s, int64_t *ms);

#endif
