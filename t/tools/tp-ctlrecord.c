/*
 * tp-ctlrecord: src/ctlrecord.c on its own, for what tcpproxyctl cannot
 * show: the escaping the master uses.
 *
 *	tp-ctlrecord escape STRING SIZE
 *		print ctl_escape()'s return, a blank and what it wrote
 *		into a buffer of SIZE bytes (nothing for 0)
 *	tp-ctlrecord roundtrip
 *		escape every byte from 1 to 255, alone and all in one
 *		value, parse each as a record and compare; print "ok N"
 */

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlrecord.h"
#include "tp-common.h"

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-ctlrecord escape string size\n"
	    "       tp-ctlrecord roundtrip\n");
	exit(TP_EXIT_USAGE);
}

/* value escaped, in a reply, parsed: the same bytes back? */
static int
roundtrip(const char *value)
{
	struct ctl_reply	 r;
	char			 esc[1024], line[1200], err[256];
	const char		*got;
	size_t			 n;

	n = ctl_escape(esc, sizeof(esc), value);
	if (n >= sizeof(esc))
		errx(TP_EXIT_FAIL, "escape: %zu bytes do not fit", n);
	snprintf(line, sizeof(line), "record test v=%s\nok\n", esc);
	if (ctl_reply_parse(line, strlen(line), &r, err, sizeof(err)) == -1) {
		warnx("parse of %s: %s", esc, err);
		return (-1);
	}
	got = ctl_line_get(&r.lines[0], "v");
	if (got == NULL || strcmp(got, value) != 0) {
		warnx("%s came back as %s", esc, got ? got : "(none)");
		ctl_reply_free(&r);
		return (-1);
	}
	ctl_reply_free(&r);
	return (0);
}

int
main(int argc, char *argv[])
{
	char	 all[256], one[2], *dst;
	size_t	 size, n;
	int	 c, bad = 0;

	if (argc == 4 && strcmp(argv[1], "escape") == 0) {
		size = (size_t)tp_num(argv[3], 0, 4096, "size");
		/* exactly SIZE bytes, so ASan sees any write past them */
		if ((dst = malloc(size ? size : 1)) == NULL)
			err(TP_EXIT_FAIL, "malloc");
		n = ctl_escape(size ? dst : NULL, size, argv[2]);
		printf("%zu %s\n", n, size ? dst : "");
		free(dst);
		return (TP_EXIT_OK);
	}
	if (argc != 2 || strcmp(argv[1], "roundtrip") != 0)
		usage();
	for (c = 1; c < 256; c++) {
		one[0] = (char)c;
		one[1] = '\0';
		all[c - 1] = (char)c;
		if (roundtrip(one) == -1)
			bad++;
	}
	all[255] = '\0';
	if (roundtrip(all) == -1)
		bad++;
	if (bad)
		errx(TP_EXIT_FAIL, "%d values did not come back", bad);
	printf("ok %d\n", 256);
	return (TP_EXIT_OK);
}
