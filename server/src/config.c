/*
 * config.c - the settings table and its three sources.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifndef REDPACK_VERSION
#define REDPACK_VERSION "0.1.0"
#endif

enum kind { KIND_STRING, KIND_INT };

struct setting {
	const char *name; /* flag --name, env REDPACK_NAME, file "name" */
	enum kind kind;
	size_t offset;
	const char *dflt;
	int64_t min, max;	    /* KIND_INT */
	const char *const *choices; /* KIND_STRING, NULL: free text */
	const char *help;
};

static const char *const client_auth_choices[] = {"http", "handshake", NULL};
static const char *const sign_fields_choices[] = {"endpoint", "received", NULL};
static const char *const log_format_choices[] = {"text", "json", NULL};
static const char *const log_level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const durability_choices[] = {"normal", "full", NULL};
static const char *const on_off_choices[] = {"on", "off", NULL};

#define STR(field) KIND_STRING, offsetof(struct config, field)
#define INT(field) KIND_INT, offsetof(struct config, field)

/* clang-format off */
static const struct setting settings[] = {
	{"listen", STR(listen), "127.0.0.1:8443", 0, 0, NULL,
	 "HOST:PORT of the HTTPS merchant API (port 0: pick a free one)"},
	{"admin-listen", STR(admin_listen), "127.0.0.1:8444", 0, 0, NULL,
	 "HOST:PORT of the plain-HTTP control API (loopback only unless --admin-token)"},
	{"admin-token", STR(admin_token), "", 0, 0, NULL,
	 "bearer token the control API then requires (Authorization: Bearer ...), except on"
	 " /healthz; needed for a non-loopback --admin-listen"},
	{"db", STR(db), "var/redpack.db", 0, 0, NULL,
	 "SQLite database file (created mode 0600; \":memory:\" allowed), or a postgresql:// URL"
	 " that several processes may share (docs/postgresql.md)"},
	{"fixtures", STR(fixtures), "fixtures/default.json", 0, 0, NULL,
	 "JSON world loaded into an empty database"},
	{"durability", STR(durability), "normal", 0, 0, durability_choices,
	 "normal: a SUCCESS survives a crash of the process (WAL, synchronous=NORMAL); full: a"
	 " power loss too (synchronous=FULL, affordable with group commit)"},
	{"store-thread", STR(store_thread), "off", 0, 0, on_off_choices,
	 "on: TLS and HTTP on the main thread, each request's pipeline and the SQLite store on a"
	 " second (more sends a second at many connections, about 4 us more CPU a request);"
	 " off: one thread for both. PostgreSQL's store always has its thread"},
	{"db-max-pages", INT(db_max_pages), "0", 0, 1073741823, NULL,
	 "cap the database at this many SQLite pages (0: none); past it every write fails as on a"
	 " full disk (for testing SYSTEMERROR)"},
	{"tls-cert", STR(tls_cert), "var/certs/server.pem", 0, 0, NULL, "server certificate (PEM)"},
	{"tls-key", STR(tls_key), "var/certs/server.key", 0, 0, NULL, "server private key (PEM)"},
	{"client-ca", STR(client_ca), "var/certs/ca.pem", 0, 0, NULL,
	 "CA that issued the merchant certificates (PEM)"},
	{"client-auth", STR(client_auth), "http", 0, 0, client_auth_choices,
	 "http: a missing or bad certificate gets nginx's 400 page (as the real front end);"
	 " handshake: refused in the TLS handshake"},
	{"sign-fields", STR(sign_fields), "endpoint", 0, 0, sign_fields_choices,
	 "endpoint: sign over the endpoint's own fields (as the real host); received: over every"
	 " received field but sign and sign_type"},
	{"seed", STR(seed), "", 0, 0, NULL, "split seed (decimal); empty: random; logged at start-up, so any run can be repeated"},
	{"refund-delay", INT(refund_delay), "0", 0, 30 * 86400, NULL,
	 "seconds an expired packet stays RFUND_ING before the REFUND lands"},
	{"journal-size", INT(journal_size), "1000", 0, 1000000, NULL,
	 "requests the journal keeps (GET /admin/v1/journal); 0: no journal"},
	{"journal-bytes", INT(journal_bytes), "4194304", 65536, 1073741824, NULL,
	 "memory the journal may use, in bytes; the oldest entries go first"},
	{"log-format", STR(log_format), "text", 0, 0, log_format_choices,
	 "log lines on stderr: text (key=value fields) or json (one object per line);"
	 " docs/settings.md (Logs) lists the fields"},
	{"log-level", STR(log_level), "info", 0, 0, log_level_choices,
	 "lowest level logged; debug adds every control API read (GET), warn keeps only"
	 " warnings and errors"},
	{"max-body", INT(max_body), "1048576", 1, 16777216, NULL,
	 "largest request body in bytes (nginx's client_max_body_size); larger gets nginx's 413 page"},
	{"max-headers", INT(max_headers), "8192", 256, 1048576, NULL,
	 "largest request header block in bytes; larger gets nginx's 400 page"},
	{"timeout", INT(timeout), "8", 1, 3600, NULL,
	 "seconds a connection may stay silent (matches Keep-Alive: timeout=8)"},
	{"request-timeout", INT(request_timeout), "10", 1, 3600, NULL,
	 "seconds a connection has to deliver each whole request (from accept, then from each"
	 " answer); slower senders are cut"},
	{"max-connections", INT(max_connections), "1024", 1, 1000000, NULL,
	 "concurrent API connections; beyond, new ones are refused in the TLS handshake until"
	 " others close"},
	{"admin-max-connections", INT(admin_max_connections), "64", 1, 100000, NULL,
	 "concurrent control connections; beyond, new ones are closed at once"},
};
/* clang-format on */

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strlen(settings[i].name) == len && strncmp(settings[i].name, name, len) == 0)
			return &settings[i];
	return NULL;
}

static int set_value(struct config *cfg, const struct setting *s, const char *value,
		     const char *where, char *err, size_t errlen)
{
	if (s->kind == KIND_INT) {
		int64_t v;
		if (parse_digits(value, &v) != 0 || v < s->min || v > s->max) {
			snprintf(err, errlen, "%s: %s must be an integer in %lld..%lld, not \"%s\"",
				 where, s->name, (long long)s->min, (long long)s->max, value);
			return -1;
		}
		*(int64_t *)((char *)cfg + s->offset) = v;
		return 0;
	}
	if (s->choices) {
		const char *const *c;
		for (c = s->choices; *c; c++)
			if (strcmp(*c, value) == 0)
				break;
		if (!*c) {
			snprintf(err, errlen, "%s: %s must be one of", where, s->name);
			for (c = s->choices; *c; c++)
				snprintf(err + strlen(err), errlen - strlen(err), " %s", *c);
			return -1;
		}
	}
	char **slot = (char **)((char *)cfg + s->offset);
	free(*slot);
	*slot = xstrdup(value);
	return 0;
}

/* Where each setting's value came from, for --print-config: "default",
 * "file PATH:LINE", "environment REDPACK_NAME" or "flag --name". */
struct sources {
	char where[N_SETTINGS][160];
};

/* set_value, remembering the source when it took. */
static int assign(struct config *cfg, const struct setting *s, const char *value, const char *kind,
		  const char *where, struct sources *src, char *err, size_t errlen)
{
	if (set_value(cfg, s, value, where, err, errlen) != 0)
		return -1;
	snprintf(src->where[s - settings], sizeof(src->where[0]), "%s%s%s", kind,
		 where[0] ? " " : "", where);
	return 0;
}

/* --print-config: one row per setting, name, value and source. The
 * admin token is a secret: only whether it is set; a database URL's
 * password is not shown. */
static void print_config(FILE *out, const struct config *cfg, const struct sources *src)
{
	fprintf(out, "# redpack-sim %s: effective settings\n# %-22s %-32s %s\n", REDPACK_VERSION,
		"setting", "value", "from");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *from = src->where[i];
		char value[1024];
		const char *shown = value;
		if (s->kind == KIND_INT) {
			snprintf(value, sizeof(value), "%lld",
				 (long long)*(const int64_t *)((const char *)cfg + s->offset));
		} else {
			const char *v = *(char *const *)((const char *)cfg + s->offset);
			if (s->offset == offsetof(struct config, admin_token) && v[0])
				shown = "(hidden)";
			else if (s->offset == offsetof(struct config, db))
				redact_password(v, value, sizeof(value));
			else if (!v[0])
				shown = "\"\"";
			else
				shown = v;
		}
		fprintf(out, "%-24s %-32s %s\n", s->name, shown, from);
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: redpack-sim [--config FILE] [--NAME VALUE]...\n\n"
		     "An offline, stateful stand-in for the retired WeChat Pay API v2 red packet\n"
		     "endpoints (sendgroupredpack), over mutual TLS.\n\n"
		     "Settings (flag, or REDPACK_NAME in the environment, or \"name = value\" in\n"
		     "the config file; flags win, then the environment, then the file):\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		fprintf(out, "  --%-14s %s", s->name, s->help);
		if (s->dflt[0])
			fprintf(out, " [%s]", s->dflt);
		fputc('\n', out);
	}
	fprintf(out, "  --%-14s %s\n  --%-14s %s\n  --%-14s %s\n", "config",
		"read settings from FILE", "help", "print this and exit", "version",
		"print the version and exit");
	fprintf(out, "  --%-14s %s\n", "help-markdown",
		"print the settings as a Markdown table and exit");
	fprintf(out, "  --%-14s %s\n", "print-config",
		"print every effective setting and where it came from, and exit");
	fprintf(out, "\nThe first line on stdout is "
		     "\"listening api=https://HOST:PORT admin=http://HOST:PORT\".\n");
}

/* The same table as Markdown, for docs/settings.md (scripts/readme-errors.sh
 * writes it there and checks it): one row per setting with its flag,
 * environment variable, default, accepted values and meaning. */
static void usage_markdown(FILE *out)
{
	fprintf(out, "| setting | environment | default | values | meaning |\n"
		     "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		fprintf(out, "| `--%s` | `REDPACK_", s->name);
		for (const char *p = s->name; *p; p++)
			fputc(*p == '-' ? '_' : toupper((unsigned char)*p), out);
		fputs(s->dflt[0] ? "` | `" : "` | (none", out);
		fprintf(out, "%s%s | ", s->dflt, s->dflt[0] ? "`" : ")");
		if (s->kind == KIND_INT)
			fprintf(out, "%lld..%lld", (long long)s->min, (long long)s->max);
		else if (s->choices)
			for (const char *const *c = s->choices; *c; c++)
				fprintf(out, "%s`%s`", c == s->choices ? "" : ", ", *c);
		else
			fputs("text", out);
		fputs(" | ", out);
		for (const char *p = s->help; *p; p++) {
			if (*p == '|')
				fputc('\\', out);
			fputc(*p, out);
		}
		fputs(" |\n", out);
	}
	fprintf(out,
		"| `--config FILE` | `REDPACK_CONFIG` | (none) | path | read settings from FILE |\n"
		"| `--help` | | | | print the settings and exit |\n"
		"| `--help-markdown` | | | | print this table and exit |\n"
		"| `--print-config` | | | | print every effective setting and where it came from"
		" (default, file, environment, flag; the admin token and a database password "
		"hidden) and exit |\n"
		"| `--version` | | | | print the version and exit |\n");
}

static int load_file(struct config *cfg, const char *path, struct sources *src, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], where[512];
	int lineno = 0, rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *p = line, *eq, *end;
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			snprintf(err, errlen, "%s: expected \"name = value\"", where);
			rc = -1;
			break;
		}
		end = eq;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		const struct setting *s = find(p, (size_t)(end - p));
		if (!s) {
			snprintf(err, errlen, "%s: unknown setting \"%.*s\"", where, (int)(end - p),
				 p);
			rc = -1;
			break;
		}
		char *v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		end = v + strlen(v);
		while (end > v && isspace((unsigned char)end[-1]))
			*--end = '\0';
		rc = assign(cfg, s, v, "file", where, src, err, errlen);
	}
	fclose(f);
	return rc;
}

static int load_env(struct config *cfg, struct sources *src, char *err, size_t errlen)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		char name[64] = "REDPACK_";
		size_t n = strlen(name);
		for (const char *p = settings[i].name; *p && n < sizeof(name) - 1; p++)
			name[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
		name[n] = '\0';
		const char *v = getenv(name);
		if (v && assign(cfg, &settings[i], v, "environment", name, src, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static enum config_result load_all(struct config *cfg, int argc, char **argv, char *err,
				   size_t errlen)
{
	const char *file = getenv("REDPACK_CONFIG");
	struct sources src;
	int print = 0;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (assign(cfg, &settings[i], settings[i].dflt, "default", "", &src, err, errlen) !=
		    0)
			return CONFIG_ERROR;
	/* First pass: --help, --version, --config, --print-config. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--help-markdown") == 0) {
			usage_markdown(stdout);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("redpack-sim %s\n", REDPACK_VERSION);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	if (file && *file && load_file(cfg, file, &src, err, errlen) != 0)
		return CONFIG_ERROR;
	if (load_env(cfg, &src, err, errlen) != 0)
		return CONFIG_ERROR;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value;
		if (strcmp(arg, "--print-config") == 0) {
			print = 1;
			continue;
		}
		if (arg[0] == '-' && arg[1] != '-') {
			snprintf(err, errlen, "unknown option '%s' (see redpack-sim --help)", arg);
			return CONFIG_ERROR;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' (see redpack-sim --help)",
				 arg);
			return CONFIG_ERROR;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		int is_config = len == 6 && strncmp(name, "config", 6) == 0;
		const struct setting *s = is_config ? NULL : find(name, len);
		if (!is_config && !s) {
			snprintf(err, errlen, "unknown option '--%.*s' (see redpack-sim --help)",
				 (int)len, name);
			return CONFIG_ERROR;
		}
		if (eq)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			snprintf(err, errlen, "option '%s' needs a value (see redpack-sim --help)",
				 arg);
			return CONFIG_ERROR;
		}
		if (is_config)
			continue;
		char where[80];
		snprintf(where, sizeof(where), "--%s", s->name);
		if (assign(cfg, s, value, "flag", where, &src, err, errlen) != 0)
			return CONFIG_ERROR;
	}
	if (print) {
		print_config(stdout, cfg, &src);
		return CONFIG_EXIT_OK;
	}
	return CONFIG_OK;
}

enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	enum config_result rc = load_all(cfg, argc, argv, err, errlen);

	if (rc != CONFIG_OK)
		config_release(cfg); /* what was set before the error or the exit */
	return rc;
}

/* Descriptors kept out of the connection caps: stdio, the two listeners,
 * the event loop's own (epoll, signal pipe), SQLite's database, WAL, shm
 * and journal, the log, OpenSSL's random source, the /dev/null of the
 * reset fault, and spares. Lingering closes have their own share. */
#define RESERVED_DESCRIPTORS 24

int config_fit_descriptors(int64_t nofile, int64_t linger_max, int64_t *max_connections,
			   int64_t *admin_max_connections, char *why, size_t whylen)
{
	int64_t room = nofile - RESERVED_DESCRIPTORS - linger_max;
	int64_t api = *max_connections, admin = *admin_max_connections;

	if (whylen)
		why[0] = '\0';
	if (room < 2) {
		snprintf(
			why, whylen,
			"RLIMIT_NOFILE is %lld: at least %lld descriptors are needed (%d reserved, "
			"%lld for lingering closes, one per port)",
			(long long)nofile, (long long)(RESERVED_DESCRIPTORS + linger_max + 2),
			RESERVED_DESCRIPTORS, (long long)linger_max);
		return -1;
	}
	if (api + admin <= room)
		return 0;
	/* The control port keeps at most a quarter of the room, the API the rest. */
	if (admin > room / 4)
		admin = room / 4 > 0 ? room / 4 : 1;
	if (api > room - admin)
		api = room - admin;
	snprintf(why, whylen,
		 "RLIMIT_NOFILE is %lld: --max-connections %lld -> %lld and "
		 "--admin-max-connections %lld -> %lld, keeping %d descriptors for the database, "
		 "listeners and logs and %lld for lingering closes",
		 (long long)nofile, (long long)*max_connections, (long long)api,
		 (long long)*admin_max_connections, (long long)admin, RESERVED_DESCRIPTORS,
		 (long long)linger_max);
	*max_connections = api;
	*admin_max_connections = admin;
	return 1;
}

const char *config_version(void)
{
	return REDPACK_VERSION;
}

void config_release(struct config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (settings[i].kind == KIND_STRING)
			free(*(char **)((char *)cfg + settings[i].offset));
	memset(cfg, 0, sizeof(*cfg));
}
