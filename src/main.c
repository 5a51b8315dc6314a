/*
 * tcpproxy: command line, start-up and daemonizing.  See tcpproxy(8).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "addr.h"
#include "conf.h"
#include "control.h"
#include "counts.h"
#include "flow.h"
#include "health.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "path.h"
#include "pidfile.h"
#include "pollset.h"
#include "proc.h"
#include "proto.h"
#include "sockmap_load.h"
#include "upgrade.h"
#include "worker.h"

#ifndef TCPPROXY_VERSION
#define TCPPROXY_VERSION	"2.0.0"
#endif
#ifndef TCPPROXY_CONFFILE
#define TCPPROXY_CONFFILE	"/etc/tcpproxy.conf"
#endif
#define WORKERS_MAX		LISTENER_SOCKETS_MAX
/* Long options only. */
#define OPT_NO_SPLICE		1000
#define OPT_POLICY		1001	/* a conf_policy default */
#define OPT_NO_SANDBOX		1002
#define OPT_NO_EPOLL		1003
#define OPT_CONTROL_GROUP	1004
#define OPT_SHUTDOWN_TIMEOUT	1005
#define OPT_WATCHDOG_TIMEOUT	1006
#define OPT_NO_SOCKMAP		1007

extern char	**environ;

struct options {
	int		 daemonize;
	int		 debug;
	int		 configtest;
	int		 nworkers;
	const char	*user;
	const char	*group;
	const char	*chroot;
	const char	*pidfile;
	const char	*local_addr;
	const char	*local_resolv;
	const char	*local_port;
	const char	*remote_addr;
	const char	*remote_resolv;
	const char	*remote_port;
	const char	*source_addr;
	const char	*config;
	size_t		 bufsize;
	const char	*control;	/* -S; NULL: the default */
	const char	*control_group;
	uint32_t	 shutdown_timeout_ms;
	uint32_t	 watchdog_ms;
};

/* --idle-timeout and friends: defaults for every listener, on reload too. */
static struct conf_policy	defaults;

static const char usage_text[] =
"usage: tcpproxy [options]\n"
"  -h, --help                          print this help and exit\n"
"  -v, --version                       print version information and exit\n"
"  -D, --nodaemonize                   stay in the foreground\n"
"  -u, --username <username>           workers run as this user\n"
"  -g, --groupname <groupname>         workers run as this group\n"
"  -C, --chroot <path>                 workers chroot to this directory\n"
"  -P, --write-pid <path>              write the master's pid to this file\n"
"  -L, --log <target>:<level>[,<param1>[,<param2>]]\n"
"                                      add a log target (syslog, file,\n"
"                                      stdout, stderr); may be repeated\n"
"  -U, --debug                         -D and log to stdout at level 5\n"
"  -l, --local-addr <host>             local address to listen on\n"
"  -t, --local-resolv (ipv4|4|ipv6|6)  resolve the local address to one family\n"
"  -p, --local-port <service>          local port to listen on\n"
"  -r, --remote-addr <host>            remote address to connect to\n"
"  -R, --remote-resolv (ipv4|4|ipv6|6) resolve remote and source to one family\n"
"  -o, --remote-port <service>         remote port to connect to\n"
"  -s, --source-addr <host>            source address to connect from\n"
"  -b, --buffer-size <size>            transmit buffer size (10k; k, m suffixes)\n"
"  -c, --config <file>                 configuration file (" TCPPROXY_CONFFILE ")\n"
"  -w, --workers <n>                   number of worker processes (online CPUs)\n"
"  -n, --configtest                    check the configuration and exit\n"
"  -S, --control-socket <path|none>    the control socket (" CONTROL_SOCKET_DEFAULT ")\n"
"      --control-group <group>         group allowed to use the control socket\n"
"      --shutdown-timeout <time>       on SIGTERM, let connections finish\n"
"                                      for this long (0: close them at once)\n"
"      --watchdog-timeout <time>       replace a worker whose loop is stuck\n"
"                                      this long (3s; 0: never)\n"
"      --no-splice                     copy through user space, never splice(2)\n"
"      --no-epoll                      wait with poll(2), never epoll(7)\n"
"      --no-sockmap                    keep every connection in user space,\n"
"                                      never the in-kernel data path\n"
"      --no-sandbox                    no seccomp/pledge for workers (debugging)\n"
"      --connect-timeout <time>        defaults for every listener (see\n"
"      --idle-timeout <time>           tcpproxy.conf(5)); times in seconds or\n"
"      --fin-timeout <time>            with ms, s, m or h; 0 is off\n"
"      --keepalive (on|off)\n"
"      --max-connections <n>\n"
"      --max-per-source <n>[/<ipv6 prefix>]\n"
"      --proxy-protocol (v1|v2|off)\n"
"      --accept-proxy-protocol (v1|v2|any|off)\n"
"      --proxy-trusted <address/prefix>    (may be repeated)\n"
"      --proxy-header-timeout <time>\n";

static const struct option longopts[] = {
	{ "help",		no_argument,		NULL,	'h' },
	{ "version",		no_argument,		NULL,	'v' },
	{ "nodaemonize",	no_argument,		NULL,	'D' },
	{ "username",		required_argument,	NULL,	'u' },
	{ "groupname",		required_argument,	NULL,	'g' },
	{ "chroot",		required_argument,	NULL,	'C' },
	{ "write-pid",		required_argument,	NULL,	'P' },
	{ "log",		required_argument,	NULL,	'L' },
	{ "debug",		no_argument,		NULL,	'U' },
	{ "local-addr",		required_argument,	NULL,	'l' },
	{ "local-resolv",	required_argument,	NULL,	't' },
	{ "local-port",		required_argument,	NULL,	'p' },
	{ "remote-addr",	required_argument,	NULL,	'r' },
	{ "remote-resolv",	required_argument,	NULL,	'R' },
	{ "remote-port",	required_argument,	NULL,	'o' },
	{ "source-addr",	required_argument,	NULL,	's' },
	{ "buffer-size",	required_argument,	NULL,	'b' },
	{ "config",		required_argument,	NULL,	'c' },
	{ "workers",		required_argument,	NULL,	'w' },
	{ "configtest",		no_argument,		NULL,	'n' },
	{ "control-socket",	required_argument,	NULL,	'S' },
	{ "control-group",	required_argument,	NULL,	OPT_CONTROL_GROUP },
	{ "shutdown-timeout",	required_argument,	NULL,	OPT_SHUTDOWN_TIMEOUT },
	{ "watchdog-timeout",	required_argument,	NULL,	OPT_WATCHDOG_TIMEOUT },
	{ "no-splice",		no_argument,		NULL,	OPT_NO_SPLICE },
	{ "no-epoll",		no_argument,		NULL,	OPT_NO_EPOLL },
	{ "no-sockmap",		no_argument,		NULL,	OPT_NO_SOCKMAP },
	{ "no-sandbox",		no_argument,		NULL,	OPT_NO_SANDBOX },
	{ "connect-timeout",	required_argument,	NULL,	OPT_POLICY },
	{ "idle-timeout",	required_argument,	NULL,	OPT_POLICY },
	{ "fin-timeout",	required_argument,	NULL,	OPT_POLICY },
	{ "keepalive",		required_argument,	NULL,	OPT_POLICY },
	{ "max-connections",	required_argument,	NULL,	OPT_POLICY },
	{ "max-per-source",	required_argument,	NULL,	OPT_POLICY },
	{ "proxy-protocol",	required_argument,	NULL,	OPT_POLICY },
	{ "accept-proxy-protocol", required_argument,	NULL,	OPT_POLICY },
	{ "proxy-trusted",	required_argument,	NULL,	OPT_POLICY },
	{ "proxy-header-timeout", required_argument,	NULL,	OPT_POLICY },
	{ NULL,			0,			NULL,	0 }
};

/* "--idle-timeout", kept for the life of the process. */
static const char *
longopt_where(const char *name)
{
	static char	names[16][32];
	static size_t	n;
	size_t		i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i] + 2, name) == 0)
			return (names[i]);
	if (n == sizeof(names) / sizeof(names[0]))
		return ("--option");
	snprintf(names[n], sizeof(names[n]), "--%s", name);
	return (names[n++]);
}

__attribute__((__noreturn__, __format__(__printf__, 1, 2)))
static void
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "tcpproxy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
check_family(const char *opt, const char *value)
{
	int	family;

	if (addr_parse_family(value, &family) == -1)
		usage_error("%s: invalid address family '%s': expected ipv4, "
		    "4, ipv6 or 6", opt, value);
}

/* --max-per-source 10/64 is max-per-source 10 with an IPv6 /64. */
static void
policy_option(const char *name, const char *value)
{
	struct conf	 c;
	struct conf_pos	 pos;
	char		*copy, *slash;

	/* Positions must outlive this call: name them by a static string. */
	pos.where = longopt_where(name);
	pos.line = pos.col = 0;
	conf_init(&c, CONF_BUFSIZE_DEFAULT);
	if ((copy = strdup(value)) == NULL)
		usage_error("out of memory");
	slash = strcmp(name, "max-per-source") == 0 ? strchr(copy, '/') :
	    NULL;
	if (slash != NULL)
		*slash++ = '\0';
	if (conf_policy_set(&c, &defaults, name, copy, &pos) != 1 ||
	    (slash != NULL && conf_policy_set(&c, &defaults,
	    "source-prefix", slash, &pos) != 1))
		exit(1);
	free(copy);
}

static int
default_workers(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	return (n > WORKERS_MAX ? WORKERS_MAX : (int)n);
}

/* -l -t -p -r -R -o -s (the one listener of -p mode), -b and -c. */
static int
listener_option(struct options *o, int ch, const char *arg)
{
	switch (ch) {
	case 'l':
		o->local_addr = arg;
		break;
	case 't':
		check_family("-t", arg);
		o->local_resolv = arg;
		break;
	case 'p':
		o->local_port = arg;
		break;
	case 'r':
		o->remote_addr = arg;
		break;
	case 'R':
		check_family("-R", arg);
		o->remote_resolv = arg;
		break;
	case 'o':
		o->remote_port = arg;
		break;
	case 's':
		o->source_addr = arg;
		break;
	case 'b':
		if (conf_parse_size(arg, &o->bufsize) == -1)
			usage_error("-b: invalid buffer size '%s': expected 1 "
			    "to 64m bytes, with an optional k or m", arg);
		break;
	case 'c':
		o->config = arg;
		break;
	default:
		return (0);
	}
	return (1);
}

/* How the daemon runs: its processes, identities, pid file and log. */
static int
process_option(struct options *o, int ch, const char *arg)
{
	const char	*errstr;
	char		 err[256];

	switch (ch) {
	case 'h':
		fputs(usage_text, stdout);
		exit(0);
	case 'v':
		printf("tcpproxy %s\n", TCPPROXY_VERSION);
		printf("privilege-separated IPv4/IPv6 TCP proxy, "
		    "protocol %d\n", PROTO_VERSION);
		printf("in-kernel data path (BPF sockmap): %s\n",
		    sockmap_built() ? "built in" : "not built in");
		exit(0);
	case 'D':
		o->daemonize = 0;
		break;
	case 'U':
		o->debug = 1;
		o->daemonize = 0;
		break;
	case 'u':
		o->user = arg;
		break;
	case 'g':
		o->group = arg;
		break;
	case 'C':
		o->chroot = arg;
		break;
	case 'P':
		o->pidfile = arg;
		break;
	case 'L':
		if (log_target_add(arg, err, sizeof(err)) == -1)
			usage_error("-L: %s", err);
		break;
	case 'w':
		o->nworkers = (int)strtonum(arg, 1, WORKERS_MAX, &errstr);
		if (errstr != NULL)
			usage_error("-w: invalid number of workers '%s': must "
			    "be 1 to %d", arg, WORKERS_MAX);
		break;
	case 'n':
		o->configtest = 1;
		break;
	default:
		return (0);
	}
	return (1);
}

/*
 * The control socket, the stop and watchdog times, and --no-splice,
 * --no-epoll, --no-sockmap, --no-sandbox.
 */
static int
runtime_option(struct options *o, int ch, const char *arg)
{
	switch (ch) {
	case 'S':
		o->control = arg;
		break;
	case OPT_CONTROL_GROUP:
		o->control_group = arg;
		break;
	case OPT_WATCHDOG_TIMEOUT:
		if (conf_parse_duration(arg, &o->watchdog_ms) == -1)
			usage_error("--watchdog-timeout: invalid time '%s': "
			    "expected seconds, or a number with ms, s, m or h; "
			    "0 turns it off", arg);
		break;
	case OPT_SHUTDOWN_TIMEOUT:
		if (conf_parse_duration(arg, &o->shutdown_timeout_ms) == -1)
			usage_error("--shutdown-timeout: invalid time '%s': "
			    "expected seconds, or a number with ms, s, m or h",
			    arg);
		break;
	case OPT_NO_SPLICE:
		flow_splice_enabled = 0;
		break;
	case OPT_NO_EPOLL:
		pollset_epoll = 0;
		break;
	case OPT_NO_SOCKMAP:
		sockmap_enabled = 0;
		break;
	case OPT_NO_SANDBOX:
		worker_set_sandbox(0);
		break;
	default:
		return (0);
	}
	return (1);
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	int	ch, longindex = 0;

	memset(o, 0, sizeof(*o));
	o->daemonize = 1;
	o->bufsize = CONF_BUFSIZE_DEFAULT;
	o->watchdog_ms = WATCHDOG_DEFAULT_MS;
	o->nworkers = default_workers();
	opterr = 1;
	while ((ch = getopt_long(argc, argv,
	    "+hvDu:g:C:P:L:Ul:t:p:r:R:o:s:b:c:w:nS:", longopts, &longindex))
	    != -1) {
		if (ch == OPT_POLICY)
			policy_option(longopts[longindex].name, optarg);
		else if (!listener_option(o, ch, optarg) &&
		    !process_option(o, ch, optarg) &&
		    !runtime_option(o, ch, optarg))
			exit(1);	/* getopt_long has said what was wrong. */
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->debug)
		log_debug_mode();
	if (o->local_port != NULL) {
		if (o->remote_addr == NULL)
			usage_error("-p: no remote address given (-r)");
		if (o->remote_port == NULL)
			usage_error("-p: no remote port given (-o)");
	}
}

static void
set_value(struct conf_value *v, const char *str, const char *opt)
{
	struct conf_pos	pos = { opt, 0, 0 };

	if (str != NULL && conf_value_set(v, str, &pos) == -1)
		usage_error("out of memory");
}

/* -p mode: the command line is one listen stanza. */
static void
conf_from_options(struct conf *c, const struct options *o)
{
	struct conf_pos		 pos = { "-p", 0, 0 };
	struct conf_stanza	*s;

	if ((s = conf_stanza_new(c, &pos)) == NULL)
		usage_error("out of memory");
	set_value(&s->local_host, o->local_addr, "-l");
	set_value(&s->local_family, o->local_resolv, "-t");
	set_value(&s->local_port, o->local_port, "-p");
	set_value(&s->remote_host, o->remote_addr, "-r");
	set_value(&s->remote_family, o->remote_resolv, "-R");
	set_value(&s->remote_port, o->remote_port, "-o");
	set_value(&s->source_host, o->source_addr, "-s");
}

/*
 * The control socket, before we detach so that a failure is seen.  The
 * default path is only tried: a second instance, or one run by a user
 * who may not write /run, runs without.  One named with -S must work.
 */
static void
open_control(const struct options *o, const struct group *gr,
    struct pidfh *setup_pidfh)
{
	char		 err[256], *path = NULL;
	int		 fd, rc;

	if (o->control != NULL && strcmp(o->control, "none") != 0 &&
	    (path = path_absolute(o->control)) == NULL)
		fatal("control socket");
	if ((fd = upgrade_take_control()) != -1) {
		control_adopt(fd, path != NULL ? path : CONTROL_SOCKET_DEFAULT);
		free(path);
		return;
	}
	if (o->control != NULL && path == NULL)
		return;		/* -S none */
	rc = control_open(path != NULL ? path : CONTROL_SOCKET_DEFAULT,
	    gr != NULL ? gr->gr_gid : (gid_t)-1, err, sizeof(err));
	if (rc == 0) {
		free(path);
		return;
	}
	if (path != NULL) {
		if (setup_pidfh != NULL)
			pidfile_remove(setup_pidfh);
		usage_error("-S: %s", err);
	}
	/* Not root: no /run to write in, as expected. */
	log_msg(errno == EACCES || errno == EROFS ? LOG_LVL_DEBUG :
	    LOG_LVL_WARNING, "%s; running without a control socket", err);
}

/* Config errors go to the log, which also shows them on stderr now. */
static void
report_to_log(const char *line)
{
	log_warnx("%s", line);
}

/*
 * Every connection costs descriptors: take all the hard limit allows.
 * Workers inherit it and size their connection cap from it.
 */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Detach.  The parent waits until the daemon says it is serving (or
 * exits with the daemon's failure), so the starting command's status
 * tells whether tcpproxy runs.
 */
static int
daemonize(void)
{
	int	p[2];
	char	c;
	pid_t	pid;
	ssize_t	n;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	switch ((pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		close(p[0]);
		if (setsid() == -1)
			fatal("setsid");
		if (chdir("/") == -1)
			fatal("chdir /");
		umask(027);
		return (p[1]);
	default:
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		/* The daemon reported its errors on our shared stderr. */
		_exit(n == 1 && c == '0' ? 0 : 1);
	}
}

/*
 * A reload or a stats request sent during start-up (the ports may
 * already answer) waits for the master's handlers instead of killing
 * the daemon, which is their default action.  SIGTERM and SIGINT still
 * end a start-up stuck resolving names.
 */
static void
block_early_signals(void)
{
	sigset_t	early;

	sigemptyset(&early);
	sigaddset(&early, SIGHUP);
	sigaddset(&early, SIGUSR1);
	sigaddset(&early, SIGUSR2);
	sigprocmask(SIG_BLOCK, &early, NULL);
}

/* Only the test suite sets this: see worker.c. */
static void
take_test_hooks(void)
{
	char	*hooks;

	if ((hooks = getenv("TCPPROXY_TEST_HOOKS")) != NULL &&
	    (hooks = strdup(hooks)) == NULL)
		fatal("strdup");
	worker_set_test_hooks(hooks);
	unsetenv("TCPPROXY_TEST_HOOKS");
}

/*
 * The listeners to serve, from the command line (-p) or the config
 * file, parsed and resolved; any error ends the start.  Returns the
 * path a reload reads again, NULL for -p.
 */
static const char *
read_config(struct conf *c, const struct options *o)
{
	const char	*config;
	char		*abs_config;

	conf_init(c, o->bufsize);
	conf_policy_copy(&c->global, &defaults);
	if (o->local_port != NULL) {
		if (o->config != NULL)
			fprintf(stderr, "tcpproxy: -p and -c both given: "
			    "ignoring the config file\n");
		conf_from_options(c, o);
		config = NULL;
	} else {
		config = o->config != NULL ? o->config : TCPPROXY_CONFFILE;
		/* Reloads happen after chdir("/"): keep an absolute path. */
		if ((abs_config = realpath(config, NULL)) != NULL)
			config = abs_config;
		conf_parse_file(c, config);
	}
	if (c->nerrors == 0)
		conf_resolve(c);
	if (c->nerrors > 0) {
		if (o->configtest)
			fprintf(stderr, "tcpproxy: configuration has %d "
			    "error%s\n", c->nerrors, c->nerrors > 1 ? "s" : "");
		exit(1);
	}
	return (config);
}

/*
 * The workers' user, group and chroot (-u, -g, -C) and the control
 * socket's group must exist, for -n too.  Returns that group, or NULL.
 */
static struct group *
check_identities(const struct options *o, struct proc_identity *ident)
{
	struct group	*gr = NULL;
	char		 err[512];

	ident->role = "workers";
	ident->user = o->user;
	ident->group = o->group;
	ident->chroot = o->chroot;
	if (proc_identity_resolve(ident, err, sizeof(err)) == -1)
		usage_error("%s", err);
	if (o->control_group != NULL && (gr = getgrnam(o->control_group)) ==
	    NULL)
		usage_error("--control-group: unknown group '%s'",
		    o->control_group);
	return (gr);
}

/* From here on errors go to the log targets, and stderr until ready. */
static void
start_logging(void)
{
	char	err[512];

	if (log_targets_open(err, sizeof(err)) == -1)
		usage_error("-L: %s", err);
	log_set_startup(1);
	conf_set_report(report_to_log);
}

/*
 * -P, made absolute (the daemon works in "/", and an upgrade opens it
 * again); refused when another instance holds it.  NULL without -P.
 */
static struct pidfh *
open_pidfile(struct options *o)
{
	struct pidfh	*pidfh;
	pid_t		 otherpid;

	if (o->pidfile == NULL)
		return (NULL);
	if ((o->pidfile = path_absolute(o->pidfile)) == NULL)
		fatal("pid file");
	if ((pidfh = pidfile_open(o->pidfile, 0644, &otherpid)) == NULL) {
		if (errno == EEXIST)
			usage_error("-P: already running as pid %ld (%s)",
			    (long)otherpid, o->pidfile);
		usage_error("-P: cannot open pid file '%s': %s", o->pidfile,
		    strerror(errno));
	}
	return (pidfh);
}

/* A start that fails leaves no pid file behind. */
__attribute__((__noreturn__))
static void
startup_exit(struct pidfh *pidfh)
{
	if (pidfh != NULL)
		pidfile_remove(pidfh);
	exit(1);
}

/*
 * Bind every listener of c (or take it over: socket activation, an
 * upgrade) and the metrics socket; c is freed, its table kept.
 */
static void
bind_listeners(struct conf *c, struct master_setup *setup)
{
	if ((setup->table = malloc(sizeof(*setup->table))) == NULL)
		fatal("table");
	setup->next_id = 1;
	activation_collect();
	if (listener_table_build(setup->table, c, NULL, &setup->next_id,
	    setup->nworkers) == -1)
		startup_exit(setup->pidfh);
	conf_free(c);
	if (master_metrics_setup(&setup->table->conf) == -1)
		startup_exit(setup->pidfh);
}

/* The tables the workers share, mapped before the first fork. */
static void
map_shared_tables(int nworkers)
{
	char	err[512];

	if (counts_init(nworkers, err, sizeof(err)) == -1)
		fatalx("shared connection counts: %s", err);
	if (health_init(err, sizeof(err)) == -1)
		fatalx("shared remote health: %s", err);
}

/* Detach, then write the pid file: the daemon's pid, not its parent's. */
static void
become_daemon(const struct options *o, struct master_setup *setup)
{
	/* A new master of an upgrade is detached already, or stays put. */
	setup->notify_fd = o->daemonize && !upgrade_active() ? daemonize() :
	    -1;
	setup->pidfile_path = o->pidfile;
	setup->detach = o->daemonize;
	if (setup->pidfh != NULL && pidfile_write(setup->pidfh) == -1)
		log_warn("cannot write pid file %s", o->pidfile);
}

int
main(int argc, char *argv[])
{
	struct options		 o;
	struct conf		 c;
	struct master_setup	 setup;
	struct group		*gr;
	char			 err[512];

	block_early_signals();
#ifdef LIBBSD_OVERLAY
	/* libbsd needs argv's room for titles; BSD libcs do not. */
	upgrade_save_argv(argc, argv);
	setproctitle_init(argc, argv, environ);
#endif
	parse_options(argc, argv, &o);
#ifndef LIBBSD_OVERLAY
	upgrade_save_argv(argc, argv);
#endif
	if (upgrade_collect(err, sizeof(err)) == -1)
		usage_error("upgrade: %s", err);
	raise_nofile();
	take_test_hooks();

	memset(&setup, 0, sizeof(setup));
	setup.config_path = read_config(&c, &o);
	gr = check_identities(&o, &setup.ident);
	if (o.configtest) {
		printf("configuration OK\n");
		exit(0);
	}

	start_logging();
	setup.pidfh = open_pidfile(&o);
	setup.nworkers = o.nworkers;
	bind_listeners(&c, &setup);
	open_control(&o, gr, setup.pidfh);
	upgrade_close_unused();
	activation_close_unused();
	setup.bufsize = o.bufsize;
	setup.defaults = &defaults;
	setup.shutdown_timeout_ms = o.shutdown_timeout_ms;
	setup.watchdog_ms = o.watchdog_ms;
	map_shared_tables(o.nworkers);
	become_daemon(&o, &setup);
	log_notice("tcpproxy %s starting: %zu listeners, %d workers",
	    TCPPROXY_VERSION, setup.table->n, o.nworkers);
	master_run(&setup);
}
