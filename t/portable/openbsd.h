/*
 * For `make check-portable`: what OpenBSD's <unistd.h> declares and
 * glibc's does not, so that the __OpenBSD__ branches can be compiled
 * (not run) on Linux.
 */
int	pledge(const char *, const char *);
int	unveil(const char *, const char *);
