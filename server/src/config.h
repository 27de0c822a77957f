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
	char *log_level;    /* "debug", "info", "warn" or "error" */
	char *seed;	    /* decimal, or empty: random */
	char *durability;   /* "normal" or "full" */
	char *store_thread; /* "on" or "off" */
	int64_t max_body;
	int64_t max_headers;
	int64_t timeout;
	int64_t request_timeout;
	int64_t max_connections;
	int64_t admin_max_connections;
	int64_t db_max_pages;
	int64_t refund_delay;
	int64_t journal_size;
	int64_t journal_bytes;
};

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

/* Fills cfg from all sources. CONFIG_EXIT_OK: --help, --help-markdown,
 * --version or --print-config (every effective setting and where it came
 * from: default, file, environment or flag; the admin token hidden) was
 * printed on stdout; CONFIG_ERROR: err says what and where (an unknown
 * flag is named: "unknown option '--foo'"). On either, cfg holds nothing
 * to release (config_release on it is still harmless). */
enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_release(struct config *cfg);

/* The version --version prints ("0.1.0"; static). */
const char *config_version(void);

/* Fits the two connection caps under a descriptor limit of nofile,
 * keeping a fixed reserve (database files, listeners, logs) and
 * linger_max descriptors for lingering closes. Returns 0 when both caps
 * fit as they are, 1 when they were lowered (why says from what to what
 * and why), -1 when nofile is too small to serve at all (why says so). */
int config_fit_descriptors(int64_t nofile, int64_t linger_max, int64_t *max_connections,
			   int64_t *admin_max_connections, char *why, size_t whylen);

#endif
