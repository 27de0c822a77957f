/*
 * config.h - every setting as one typed row with a default; sources in
 * rising priority: defaults, the config file (--config FILE, lines
 * "name = value"), REDPACK_<NAME> environment variables, flags.
 */
#ifndef REDPACK_CONFIG_H
#define REDPACK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	char *listen;
	char *admin_listen;
	char *admin_token;
	char *db;
	char *fixtures;
	char *tls_cert;
	char *tls_key;
	char *client_ca;
	char *client_auth;  /* "http" or "handshake" */
	char *sign_fields;  /* "endpoint" or "received" */
	char *log_format;   /* "text" or "json" */
	char *seed;         /* decimal, or empty: random */
	char *durability;   /* "normal" or "full" */
	int64_t max_body;
	int64_t max_headers;
	int64_t timeout;
	int64_t request_timeout;
	int64_t max_connections;
	int64_t db_max_pages;
	int64_t refund_delay;
	int64_t journal_size;
	int64_t journal_bytes;
};

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

/* Fills cfg from all sources. CONFIG_EXIT_OK: --help or --version was
 * printed; CONFIG_ERROR: err says what and where. */
enum config_result config_load(struct config *cfg, int argc, char **argv, char *err,
			       size_t errlen);
void config_release(struct config *cfg);

#endif
