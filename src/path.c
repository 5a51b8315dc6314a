/*
 * Absolute file names; see path.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

/* A malloc'ed absolute form of path, or NULL when out of memory. */
char *
path_absolute(const char *path)
{
	char	cwd[PATH_MAX], *abs;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return (strdup(path));
	if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		return (NULL);
	return (abs);
}
