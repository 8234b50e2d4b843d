/* SPDX-License-Identifier: MIT */
/* Logging to stderr with levels; -q lowers, -v raises the threshold. */
#ifndef LAB_LOG_H
#define LAB_LOG_H

enum lab_log_level {
	LAB_LOG_ERROR = 0,
	LAB_LOG_WARN,
	LAB_LOG_INFO,
	LAB_LOG_DEBUG,
	LAB_LOG_TRACE,
};

void lab_log_set_level(int level);
int lab_log_get_level(void);
/* Prefix for every line, normally "labctl". */
void lab_log_set_prog(const char *prog);

void lab_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define lab_error_msg(...) lab_log(LAB_LOG_ERROR, __VA_ARGS__)
#define lab_warn(...) lab_log(LAB_LOG_WARN, __VA_ARGS__)
#define lab_info(...) lab_log(LAB_LOG_INFO, __VA_ARGS__)
#define lab_debug(...) lab_log(LAB_LOG_DEBUG, __VA_ARGS__)

#endif
