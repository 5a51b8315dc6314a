/*
 * Reload (SIGHUP, the control socket's reload) and a new generation of
 * the same table (resolve-interval).  The merge is listener_table_build;
 * a reload completes once every worker serves the new table (master.c).
 */
#include <sys/types.h>

#include <stdlib.h>

#include "conf.h"
#include "control.h"
#include "listener.h"
#include "log.h"
#include "master_state.h"
#include "sdnotify.h"

/* One line per listener that a new table adds, keeps or removes. */
void
master_log_table_changes(const struct listener_table *old,
    const struct listener_table *nt)
{
	const struct listener	*l;
	char			 buf[LOG_LINE_MAX];

	TAILQ_FOREACH(l, &nt->list, entry) {
		listener_describe(l, buf, sizeof(buf));
		log_notice("%s %s", l->mark == LISTENER_KEEP ? "keeping" :
		    "listening on", buf);
	}
	if (old == NULL)
		return;
	TAILQ_FOREACH(l, &old->list, entry)
		if (l->mark == LISTENER_DELETE) {
			listener_describe(l, buf, sizeof(buf));
			log_notice("closing %s", buf);
		}
}

/*
 * SIGHUP.  Everything that can fail happens before anything changes:
 * parse, resolve, bind.  Then the new table replaces the old one, the
 * sockets of removed listeners are closed, and every worker gets the
 * new table; kept listeners keep their socket throughout.
 */
static uint32_t		 reload_client;	/* asking, through the control socket */
static conf_report_fn	 reload_report_prev;

/* A reload's errors go to the log and to the control client asking. */
static void
reload_report(const char *line)
{
	if (reload_report_prev != NULL)
		reload_report_prev(line);
	else
		log_warnx("%s", line);
	if (reload_client != 0)
		control_info(reload_client, "%s", line);
}

static int
reload_failed(int nerrors)
{
	log_warnx("reload failed with %d error%s; still serving generation "
	    "%u", nerrors, nerrors == 1 ? "" : "s", ms.table->generation);
	sdnotify_ready("reload failed with %d error%s; still serving "
	    "generation %u", nerrors, nerrors == 1 ? "" : "s",
	    ms.table->generation);
	if (reload_client != 0)
		control_finish(reload_client, 0, "reload failed: %d error%s; "
		    "still serving generation %u", nerrors,
		    nerrors == 1 ? "" : "s", ms.table->generation);
	conf_set_report(reload_report_prev);
	return (-1);
}

static int
reload_build(struct listener_table **ntp)
{
	struct listener_table	*nt;
	struct conf		 c;
	int			 nerrors;

	conf_init(&c, ms.setup->bufsize);
	conf_policy_copy(&c.global, ms.setup->defaults);
	if (conf_parse_file(&c, ms.setup->config_path) > 0 ||
	    conf_resolve(&c) > 0) {
		nerrors = c.nerrors;
		conf_free(&c);
		return (nerrors);
	}
	if ((nt = malloc(sizeof(*nt))) == NULL) {
		log_warn("reload");
		conf_free(&c);
		return (1);
	}
	if (listener_table_build(nt, &c, ms.table, &ms.setup->next_id,
	    ms.setup->nworkers) == -1) {
		nerrors = nt->conf.nerrors;
		conf_free(&c);
		free(nt);
		return (nerrors);
	}
	conf_free(&c);
	if (master_metrics_prepare(&nt->conf) == -1) {
		/* ms.table's marks are set, but nothing acts on them. */
		listener_table_free(nt);
		free(nt);
		return (1);
	}
	*ntp = nt;
	return (0);
}

/*
 * SIGHUP, or the control socket's reload (client: who asked, else 0;
 * it is answered once every worker serves the new table, or at once
 * with every error).  -1 if the reload failed.
 */
int
master_reload(uint32_t client)
{
	struct listener_table	*nt = NULL;
	struct listener		*l;
	const char		*path = ms.setup->config_path;
	int			 i, nerrors;

	sdnotify_reloading();
	log_targets_reopen();
	if (path == NULL) {
		log_notice("SIGHUP: no config file to reload (started with "
		    "-p); log files reopened");
		sdnotify_ready("serving %zu listeners with %d workers",
		    ms.table->n, ms.setup->nworkers);
		if (client != 0)
			control_finish(client, 0, "no config file to reload "
			    "(started with -p)");
		return (-1);
	}
	log_notice("reloading %s", path);
	reload_client = client;
	reload_report_prev = conf_set_report(reload_report);
	if ((nerrors = reload_build(&nt)) > 0)
		return (reload_failed(nerrors));
	conf_set_report(reload_report_prev);
	nt->generation = ms.table->generation + 1;

	if (ms.reload_waiting)
		log_notice("generation %u is superseded before every worker "
		    "switched to it", ms.table->generation);
	master_log_table_changes(ms.table, nt);
	TAILQ_FOREACH(l, &nt->list, entry) {
		const struct listener	*prev;

		/* A SIGUSR1 round may be counting. */
		if (l->mark == LISTENER_KEEP &&
		    (prev = master_listener_by_id(ms.table, l->id)) != NULL)
			l->connections = prev->connections;
	}
	listener_table_free(ms.table);
	free(ms.table);
	ms.table = ms.setup->table = nt;
	master_metrics_commit();
	log_notice("generation %u: %zu listeners; sending it to the workers",
	    nt->generation, nt->n);
	for (i = 0; i < ms.setup->nworkers; i++)
		if (master_worker_live(&ms.workers[i]))
			master_send_table(&ms.workers[i]);
		else if (ms.workers[i].pid == -1)	/* to be restarted */
			listener_table_drop_worker(nt, i);
	ms.reload_waiting = 1;
	master_all_acked_check();
	return (0);
}

/*
 * The same listeners and sockets with new settings (resolve-interval):
 * the table again, as a new generation, to every worker that runs; one
 * that starts later gets it anyway.
 */
void
master_send_generation(const char *why)
{
	int	i;

	ms.table->generation++;
	log_notice("generation %u: %s; sending it to the workers",
	    ms.table->generation, why);
	for (i = 0; i < ms.setup->nworkers; i++)
		if (master_worker_live(&ms.workers[i]))
			master_send_table(&ms.workers[i]);
	master_all_acked_check();
}

