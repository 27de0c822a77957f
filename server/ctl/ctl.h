/*
 * ctl.h - what redpack-ctl's subcommand files share.
 */
#ifndef REDPACK_CTL_H
#define REDPACK_CTL_H

#define EXIT_NO 1
#define EXIT_USAGE 2

struct options {
	const char *admin; /* base URL of the control API */
	const char *token;
	int json; /* print JSON for scripts */
	int timeout;
};

/* redpack-ctl send: builds, signs and sends one API call (ctl_send.c). */
int ctl_send(const struct options *o, int argc, char **argv);
extern const char ctl_send_usage[];

#endif
