/*
 * Log targets and the log calls; see log.h.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"

enum log_kind { TARGET_SYSLOG, TARGET_FILE, TARGET_STDOUT, TARGET_STDERR };

struct log_target {
	enum log_kind	 kind;
	int		 level;
	int		 fd;		/* file, stdout, stderr */
	char		*path;		/* file */
	char		*ident;		/* syslog */
	int		 facility;	/* syslog */
};

#define LOG_TARGETS_MAX	16

static struct log_target	 targets[LOG_TARGETS_MAX];
static size_t			 ntargets;
static char			 procname[32] = "master";
static log_sink_fn		 sink;
static int			 startup_echo;	/* errors also to stderr */

int	log_maxlevel = LOG_LVL_NONE;

static const char *level_names[] = {
	"NONE", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"
};

static const struct {
	const char	*name;
	int		 value;
} facilities[] = {
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
	{ "cron", LOG_CRON }, { "daemon", LOG_DAEMON },
	{ "ftp", LOG_FTP }, { "kern", LOG_KERN }, { "lpr", LOG_LPR },
	{ "mail", LOG_MAIL }, { "news", LOG_NEWS },
	{ "security", LOG_AUTH }, { "syslog", LOG_SYSLOG },
	{ "user", LOG_USER }, { "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static struct log_target *
target_find(enum log_kind kind)
{
	size_t	i;

	for (i = 0; i < ntargets; i++)
		if (targets[i].kind == kind)
			return (&targets[i]);
	return (NULL);
}

static void
update_maxlevel(void)
{
	size_t	i;

	log_maxlevel = LOG_LVL_NONE;
	for (i = 0; i < ntargets; i++)
		if (targets[i].level > log_maxlevel)
			log_maxlevel = targets[i].level;
}

/*
 * Cut "target:level[,param[,param]]" (copy, modified) into its parts;
 * *p1 and *p2 are NULL when not given.
 */
static int
split_spec(const char *spec, char *copy, char **lvl, char **p1, char **p2,
    char *err, size_t errlen)
{
	*p1 = *p2 = NULL;
	if ((*lvl = strchr(copy, ':')) == NULL) {
		snprintf(err, errlen, "'%s': expected <target>:<level>", spec);
		return (-1);
	}
	*(*lvl)++ = '\0';
	if ((*p1 = strchr(*lvl, ',')) == NULL)
		return (0);
	*(*p1)++ = '\0';
	if ((*p2 = strchr(*p1, ',')) == NULL)
		return (0);
	*(*p2)++ = '\0';
	if (strchr(*p2, ',') != NULL) {
		snprintf(err, errlen, "'%s': too many parameters", spec);
		return (-1);
	}
	return (0);
}

/* syslog[,ident[,facility]]: tcpproxy and daemon unless given. */
static int
target_syslog(struct log_target *t, const char *spec, const char *ident,
    const char *facility, char *err, size_t errlen)
{
	size_t	i;

	t->kind = TARGET_SYSLOG;
	t->facility = LOG_DAEMON;
	if ((t->ident = strdup(ident != NULL ? ident : "tcpproxy")) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (facility == NULL)
		return (0);
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(facility, facilities[i].name) == 0) {
			t->facility = facilities[i].value;
			return (0);
		}
	snprintf(err, errlen, "'%s': unknown syslog facility '%s'", spec,
	    facility);
	free(t->ident);
	return (-1);
}

/* file[,path]: absolute, since the daemon runs in "/". */
static int
target_file(struct log_target *t, const char *spec, const char *path,
    const char *extra, char *err, size_t errlen)
{
	t->kind = TARGET_FILE;
	if (extra != NULL) {
		snprintf(err, errlen, "'%s': file takes one parameter, the "
		    "path", spec);
		return (-1);
	}
	if ((t->path = path_absolute(path != NULL ? path : "tcpproxy.log"))
	    == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	return (0);
}

/* stdout or stderr, without parameters. */
static int
target_stdio(struct log_target *t, const char *spec, const char *name,
    const char *param, char *err, size_t errlen)
{
	t->kind = name[3] == 'o' ? TARGET_STDOUT : TARGET_STDERR;
	if (param != NULL) {
		snprintf(err, errlen, "'%s': %s takes no parameters", spec,
		    name);
		return (-1);
	}
	return (0);
}

/* The target of that name, set up from its parameters. */
static int
target_setup(struct log_target *t, const char *spec, const char *name,
    const char *p1, const char *p2, char *err, size_t errlen)
{
	if (strcmp(name, "syslog") == 0)
		return (target_syslog(t, spec, p1, p2, err, errlen));
	if (strcmp(name, "file") == 0)
		return (target_file(t, spec, p1, p2, err, errlen));
	if (strcmp(name, "stdout") == 0 || strcmp(name, "stderr") == 0)
		return (target_stdio(t, spec, name, p1, err, errlen));
	snprintf(err, errlen, "'%s': unknown log target '%s'", spec, name);
	return (-1);
}

/* Add a set-up target, unless it is a second syslog, stdout or stderr. */
static int
target_append(struct log_target *t, const char *spec, const char *name,
    char *err, size_t errlen)
{
	if (t->kind != TARGET_FILE && target_find(t->kind) != NULL) {
		snprintf(err, errlen, "'%s': target %s given more than once",
		    spec, name);
		free(t->ident);
		return (-1);
	}
	if (ntargets == LOG_TARGETS_MAX) {
		snprintf(err, errlen, "'%s': too many log targets", spec);
		free(t->ident);
		free(t->path);
		return (-1);
	}
	targets[ntargets++] = *t;
	update_maxlevel();
	return (0);
}

/*
 * Parse "target:level[,param[,param]]" as -L takes it.  Nothing is opened
 * yet: that waits until every option has been checked.
 */
int
log_target_add(const char *spec, char *err, size_t errlen)
{
	struct log_target	 t;
	char			*copy, *lvl, *p1, *p2;
	int			 rc = -1;

	memset(&t, 0, sizeof(t));
	t.fd = -1;
	if ((copy = strdup(spec)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (split_spec(spec, copy, &lvl, &p1, &p2, err, errlen) == -1)
		goto done;
	if (strlen(lvl) != 1 || lvl[0] < '0' || lvl[0] > '5') {
		snprintf(err, errlen, "'%s': level must be a digit from 0 "
		    "to 5", spec);
		goto done;
	}
	t.level = lvl[0] - '0';
	if ((p1 != NULL && *p1 == '\0') || (p2 != NULL && *p2 == '\0')) {
		snprintf(err, errlen, "'%s': empty parameter", spec);
		goto done;
	}
	if (target_setup(&t, spec, copy, p1, p2, err, errlen) == 0 &&
	    target_append(&t, spec, copy, err, errlen) == 0)
		rc = 0;
done:
	free(copy);
	return (rc);
}

/* -U: stdout at the debug level, next to whatever -L asked for. */
void
log_debug_mode(void)
{
	struct log_target	*t;

	if ((t = target_find(TARGET_STDOUT)) != NULL)
		t->level = LOG_LVL_DEBUG;
	else if (ntargets < LOG_TARGETS_MAX) {
		t = &targets[ntargets++];
		memset(t, 0, sizeof(*t));
		t->kind = TARGET_STDOUT;
		t->level = LOG_LVL_DEBUG;
		t->fd = -1;
	}
	update_maxlevel();
}

static int
open_file(struct log_target *t)
{
	return (open(t->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640));
}

/*
 * Open every target.  With none given, syslog at level 3 as the original
 * did.  A file that cannot be opened is a start-up error.
 */
int
log_targets_open(char *err, size_t errlen)
{
	size_t	i;
	char	e[256];

	if (ntargets == 0 && log_target_add("syslog:3,tcpproxy,daemon", e,
	    sizeof(e)) == -1) {
		snprintf(err, errlen, "%s", e);
		return (-1);
	}
	for (i = 0; i < ntargets; i++) {
		struct log_target	*t = &targets[i];

		switch (t->kind) {
		case TARGET_SYSLOG:
			openlog(t->ident, LOG_PID | LOG_NDELAY, t->facility);
			break;
		case TARGET_FILE:
			if ((t->fd = open_file(t)) == -1) {
				snprintf(err, errlen, "cannot open log file "
				    "'%s': %s", t->path, strerror(errno));
				return (-1);
			}
			break;
		case TARGET_STDOUT:
			t->fd = STDOUT_FILENO;
			break;
		case TARGET_STDERR:
			t->fd = STDERR_FILENO;
			break;
		}
	}
	return (0);
}

/* SIGHUP: reopen files so that a rotated log starts afresh. */
void
log_targets_reopen(void)
{
	size_t	i;
	int	fd;

	for (i = 0; i < ntargets; i++) {
		struct log_target	*t = &targets[i];

		if (t->kind != TARGET_FILE)
			continue;
		if ((fd = open_file(t)) == -1) {
			log_warn("cannot reopen log file '%s'", t->path);
			continue;
		}
		if (t->fd != -1)
			close(t->fd);
		t->fd = fd;
	}
}

void
log_targets_close(void)
{
	size_t	i;

	for (i = 0; i < ntargets; i++) {
		if (targets[i].kind == TARGET_FILE && targets[i].fd != -1)
			close(targets[i].fd);
		targets[i].fd = -1;
		free(targets[i].path);
		free(targets[i].ident);
		targets[i].path = targets[i].ident = NULL;
	}
	ntargets = 0;
	closelog();
}

void
log_set_procname(const char *name)
{
	strlcpy(procname, name, sizeof(procname));
}

void
log_set_sink(log_sink_fn fn)
{
	sink = fn;
}

/*
 * Until the daemon has detached, errors and warnings also go to stderr
 * (unless stderr is a target already) so that a failed start is never
 * silent.
 */
void
log_set_startup(int on)
{
	startup_echo = on;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* One record is one line of text, whatever a peer sent us. */
void
log_sanitize(char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
}

/*
 * Deliver one record from process 'who' to every target that wants its
 * level.  Each line is one write(2), so lines are never buffered, lost or
 * doubled across fork.
 */
void
log_write(int level, const char *who, const char *msg)
{
	char		 line[LOG_LINE_MAX + 128], stamp[32];
	size_t		 i;
	int		 len, on_stderr = 0;
	time_t		 now;
	struct tm	 tm;

	if (level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG)
		level = LOG_LVL_ERROR;
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm);
	len = snprintf(line, sizeof(line), "%s %s: %s: %s\n", stamp,
	    level_names[level], who, msg);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line)) {
		len = sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	for (i = 0; i < ntargets; i++) {
		struct log_target	*t = &targets[i];

		if (level > t->level)
			continue;
		if (t->kind == TARGET_SYSLOG)
			syslog(LOG_ERR + level - 1, "%s: %s", who, msg);
		else if (t->fd != -1)
			write_all(t->fd, line, (size_t)len);
		if (t->kind == TARGET_STDERR)
			on_stderr = 1;
	}
	if (startup_echo && !on_stderr && level <= LOG_LVL_WARNING) {
		len = snprintf(line, sizeof(line), "tcpproxy: %s\n", msg);
		if (len > 0 && (size_t)len < sizeof(line))
			write_all(STDERR_FILENO, line, (size_t)len);
	}
}

/* last: fatal() is about to exit, so the sink must deliver it now. */
static void
vlog(int level, int with_errno, int last, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX];
	int	saved = errno;
	size_t	off;

	if (level > log_maxlevel && !(startup_echo &&
	    level <= LOG_LVL_WARNING))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		off = strlen(msg);
		snprintf(msg + off, sizeof(msg) - off, ": %s",
		    strerror(saved));
	}
	log_sanitize(msg, strlen(msg));
	if (sink != NULL)
		sink(level, msg, last);
	else
		log_write(level, procname, msg);
	errno = saved;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(level, 0, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, 0, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, 0, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_NOTICE, 0, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, 0, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, 0, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, 1, fmt, ap);
	va_end(ap);
	exit(1);
}
