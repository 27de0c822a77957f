/*
 * status.h - a red packet's statuses as an enum, from status.def (the one
 * list of them), with their texts and attributes. The store gives SQL the
 * same tests as functions (store.h: packet_issued, packet_status_known).
 */
#ifndef REDPACK_STATUS_H
#define REDPACK_STATUS_H

enum packet_status {
#define STATUS(name, issued, meaning) STATUS_##name,
#include "status.def"
#undef STATUS
	STATUS__COUNT
};

/* The status's text ("SENT"): a static string. */
const char *status_name(enum packet_status st);

/* The status text names, or -1 when it names none (NULL allowed). */
int status_parse(const char *text);

/* 1 when a packet in status st (an enum packet_status, or status_parse's
 * -1) was issued: debited, with shares. 0 otherwise. */
int status_issued(int st);

/* 1 when text is the status st. */
int status_is(const char *text, enum packet_status st);

#endif
