/*
 * Logging.  The master owns the targets given with -L; a worker hands each
 * record to a sink that ships it to the master.  Records above the
 * highest level any target wants are never formatted.
 */
#ifndef TCPPROXY_LOG_H
#define TCPPROXY_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_LVL_NONE	0
#define LOG_LVL_ERROR	1
#define LOG_LVL_WARNING	2
#define LOG_LVL_NOTICE	3
#define LOG_LVL_INFO	4
#define LOG_LVL_DEBUG	5

#define LOG_LINE_MAX	1024

/* A child's sink: level, text, and 1 when the process exits after it. */
typedef void (*log_sink_fn)(int, const char *, int);

extern int	log_maxlevel;

int	log_target_add(const char *, char *, size_t);
void	log_debug_mode(void);
int	log_targets_open(char *, size_t);
void	log_targets_reopen(void);
void	log_targets_close(void);
void	log_set_procname(const char *);
void	log_set_sink(log_sink_fn);
void	log_set_startup(int);
void	log_write(int, const char *, const char *);
void	log_sanitize(char *, size_t);

void	log_msg(int, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	log_warn(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_notice(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2), __noreturn__));
void	fatalx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2), __noreturn__));

#define log_enabled(lvl)	((lvl) <= log_maxlevel)

#endif
