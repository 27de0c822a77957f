/*
 * status.c - the statuses of status.def as texts and attributes.
 */
#include "status.h"

#include <string.h>

static const struct {
	const char *name;
	int issued;
} statuses[STATUS__COUNT] = {
#define STATUS(name, issued, meaning) [STATUS_##name] = {#name, issued},
#include "status.def"
#undef STATUS
};

const char *status_name(enum packet_status st)
{
	return statuses[st].name;
}

int status_parse(const char *text)
{
	for (int i = 0; text && i < STATUS__COUNT; i++)
		if (strcmp(text, statuses[i].name) == 0)
			return i;
	return -1;
}

int status_issued(int st)
{
	return st >= 0 && st < STATUS__COUNT && statuses[st].issued;
}

int status_is(const char *text, enum packet_status st)
{
	return text && strcmp(text, statuses[st].name) == 0;
}
