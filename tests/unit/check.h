/*
 * check.h - the unit tests' assertions: print where and what, count,
 * and make the program exit non-zero at the end if anything failed.
 */
#ifndef REDPACK_CHECK_H
#define REDPACK_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(cond)) {                                                                     \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		check_count++;                                                                     \
		if (!g_ || strcmp(g_, w_) != 0) {                                                  \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, \
				#got, g_ ? g_ : "(null)", w_);                                     \
		}                                                                                  \
	} while (0)

/* Whether a shared object whose path holds name is mapped into this
 * process (/proc/self/maps). */
static inline int check_mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	if (f)
		fclose(f);
	return found;
}

static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
