/*
 * faults.h - answers on demand. The magic values: a request header
 * "Wechatpay-Negative-Test: <ERR_CODE>" (as the old official sandbox had)
 * or, on the send endpoints, a re_openid "oMOCK_<ERR_CODE>" optionally
 * followed by "-" and anything (to keep openids apart), up to 32
 * characters. Either makes an otherwise valid request answer that code.
 */
#ifndef REDPACK_FAULTS_H
#define REDPACK_FAULTS_H

#include "errors.h"
#include "kv.h"

#define FAULTS_HEADER "Wechatpay-Negative-Test"
#define FAULTS_OPENID_PREFIX "oMOCK_"

/* The code the request asks for on endpoint ep, or -1 for none. The
 * header wins over the openid; a code the catalogue does not list for
 * ep is ignored (and *ignored set to it, for the log). */
int faults_magic(const char *header, const struct kvlist *params, enum err_endpoint ep,
		 const char **ignored);

#endif
