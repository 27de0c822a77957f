/* Settings: defaults, flags, REDPACK_* environment, the config file, the
 * priority between them, and every kind of error. */
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static char dir[] = "/tmp/test_config.XXXXXX";

static const char *const env_names[] = {"REDPACK_CONFIG",
					"REDPACK_LISTEN",
					"REDPACK_ADMIN_LISTEN",
					"REDPACK_ADMIN_TOKEN",
					"REDPACK_DB",
					"REDPACK_FIXTURES",
					"REDPACK_TLS_CERT",
					"REDPACK_TLS_KEY",
					"REDPACK_CLIENT_CA",
					"REDPACK_CLIENT_AUTH",
					"REDPACK_SIGN_FIELDS",
					"REDPACK_LOG_FORMAT",
					"REDPACK_SEED",
					"REDPACK_MAX_BODY",
					"REDPACK_MAX_HEADERS",
					"REDPACK_TIMEOUT",
					"REDPACK_MAX_CONNECTIONS",
					"REDPACK_ADMIN_MAX_CONNECTIONS",
					"REDPACK_LOG_LEVEL",
					NULL};

static void clear_env(void)
{
	for (const char *const *n = env_names; *n; n++)
		unsetenv(*n);
}

/* Runs config_load on a NULL-terminated argument list (argv[0] added). */
static enum config_result load(struct config *cfg, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "redpack-sim";
	va_start(ap, errlen);
	for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return config_load(cfg, argc, argv, err, errlen);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return path;
	fputs(text, f);
	fclose(f);
	return path;
}

static void defaults(void)
{
	struct config c;
	char err[512];

	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_OK);
	CHECK_STR(c.listen, "127.0.0.1:8443");
	CHECK_STR(c.admin_listen, "127.0.0.1:8444");
	CHECK_STR(c.admin_token, "");
	CHECK_STR(c.db, "var/redpack.db");
	CHECK_STR(c.fixtures, "fixtures/default.json");
	CHECK_STR(c.tls_cert, "var/certs/server.pem");
	CHECK_STR(c.tls_key, "var/certs/server.key");
	CHECK_STR(c.client_ca, "var/certs/ca.pem");
	CHECK_STR(c.client_auth, "http");
	CHECK_STR(c.sign_fields, "endpoint");
	CHECK_STR(c.log_format, "text");
	CHECK_STR(c.seed, "");
	CHECK_STR(c.durability, "normal");
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--durability", "full", NULL) == CONFIG_OK);
	CHECK_STR(c.durability, "full");
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--durability", "fsync", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "durability") != NULL);
	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_OK);
	CHECK(c.max_body == 1048576); /* nginx's client_max_body_size */
	CHECK(c.max_headers == 8192);
	CHECK(c.max_connections == 1024);
	CHECK(c.admin_max_connections == 64);
	CHECK(c.timeout == 8);
	config_release(&c);
	CHECK(c.listen == NULL); /* released and zeroed */
	config_release(&c);	 /* twice is harmless */
}

static void flags(void)
{
	struct config c;
	char err[512];

	CHECK(load(&c, err, sizeof(err), "--listen", "0.0.0.0:1", "--timeout=30",
		   "--client-auth=handshake", "--sign-fields", "received", "--seed", "42",
		   "--max-body", "1024", "--db=:memory:", NULL) == CONFIG_OK);
	CHECK_STR(c.listen, "0.0.0.0:1");
	CHECK(c.timeout == 30);
	CHECK_STR(c.client_auth, "handshake");
	CHECK_STR(c.sign_fields, "received");
	CHECK_STR(c.seed, "42");
	CHECK(c.max_body == 1024);
	CHECK_STR(c.db, ":memory:");
	CHECK_STR(c.admin_listen, "127.0.0.1:8444"); /* untouched */
	config_release(&c);

	/* --name=value with an '=' inside the value; an empty value. */
	CHECK(load(&c, err, sizeof(err), "--listen=127.0.0.1:0", "--admin-token=a=b",
		   "--seed=", NULL) == CONFIG_OK);
	CHECK_STR(c.listen, "127.0.0.1:0");
	CHECK_STR(c.admin_token, "a=b");
	CHECK_STR(c.seed, "");
	config_release(&c);

	/* The last of two flags wins. */
	CHECK(load(&c, err, sizeof(err), "--listen", "a:1", "--listen", "b:2", NULL) == CONFIG_OK);
	CHECK_STR(c.listen, "b:2");
	config_release(&c);

	/* Bounds are inclusive. */
	CHECK(load(&c, err, sizeof(err), "--timeout", "1", "--max-headers", "256", NULL) ==
	      CONFIG_OK);
	CHECK(c.timeout == 1 && c.max_headers == 256);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--timeout", "3600", NULL) == CONFIG_OK);
	CHECK(c.timeout == 3600);
	config_release(&c);
}

static void environment(void)
{
	struct config c;
	char err[512];
	const char *file = write_file("env.conf", "db = from-file.db\nlisten = file:1\n");

	setenv("REDPACK_DB", "from-env.db", 1);
	setenv("REDPACK_ADMIN_LISTEN", "127.0.0.1:9", 1);
	setenv("REDPACK_TIMEOUT", "12", 1);
	/* The environment overrides the file. */
	CHECK(load(&c, err, sizeof(err), "--config", file, NULL) == CONFIG_OK);
	CHECK_STR(c.db, "from-env.db");
	CHECK_STR(c.listen, "file:1");
	CHECK_STR(c.admin_listen, "127.0.0.1:9"); /* dash becomes underscore */
	CHECK(c.timeout == 12);
	config_release(&c);
	/* A flag overrides the environment. */
	CHECK(load(&c, err, sizeof(err), "--config", file, "--db", "from-flag.db", NULL) ==
	      CONFIG_OK);
	CHECK_STR(c.db, "from-flag.db");
	config_release(&c);
	/* A bad value in the environment is an error naming the variable. */
	setenv("REDPACK_TIMEOUT", "soon", 1);
	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "REDPACK_TIMEOUT") != NULL);
	config_release(&c);
	setenv("REDPACK_LOG_FORMAT", "xml", 1);
	unsetenv("REDPACK_TIMEOUT");
	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "REDPACK_LOG_FORMAT") != NULL);
	config_release(&c);
	clear_env();

	/* REDPACK_CONFIG names the file. */
	setenv("REDPACK_CONFIG", file, 1);
	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_OK);
	CHECK_STR(c.db, "from-file.db");
	config_release(&c);
	clear_env();
}

static void file(void)
{
	struct config c;
	char err[512];
	const char *path = write_file("good.conf", "# redpack-sim settings\n"
						   "\n"
						   "   # indented comment\n"
						   "listen = 127.0.0.1:7000\n"
						   "admin-listen=127.0.0.1:7001\n"
						   "\tseed   =   42   \n"
						   "timeout = 20\r\n"
						   "log-format = json\n"
						   "admin-token = x # not a comment\n");

	CHECK(load(&c, err, sizeof(err), "--config", path, NULL) == CONFIG_OK);
	if (err[0])
		fprintf(stderr, "err: %s\n", err);
	CHECK_STR(c.listen, "127.0.0.1:7000");
	CHECK_STR(c.admin_listen, "127.0.0.1:7001");
	CHECK_STR(c.seed, "42"); /* trimmed */
	CHECK(c.timeout == 20);	 /* CRLF line */
	CHECK_STR(c.log_format, "json");
	CHECK_STR(c.admin_token, "x # not a comment");
	CHECK_STR(c.db, "var/redpack.db");
	config_release(&c);

	/* --config=FILE, and a flag beats the file whatever the order. */
	static char arg[600];
	snprintf(arg, sizeof(arg), "--config=%s", path);
	CHECK(load(&c, err, sizeof(err), "--listen", "flag:1", arg, NULL) == CONFIG_OK);
	CHECK_STR(c.listen, "flag:1");
	CHECK_STR(c.log_format, "json");
	config_release(&c);
}

static void errors(void)
{
	struct config c;
	char err[512];
	char where[600];

	CHECK(load(&c, err, sizeof(err), "--no-such-flag", "1", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "no-such-flag") != NULL);
	config_release(&c);

	CHECK(load(&c, err, sizeof(err), "--listen", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "--listen") != NULL);
	config_release(&c);

	CHECK(load(&c, err, sizeof(err), "stray", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "stray") != NULL);
	config_release(&c);

	CHECK(load(&c, err, sizeof(err), "--timeout", "abc", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "timeout") != NULL);
	CHECK(strstr(err, "abc") != NULL);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--timeout", "0", NULL) == CONFIG_ERROR);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--timeout", "3601", NULL) == CONFIG_ERROR);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--timeout", "-5", NULL) == CONFIG_ERROR);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--max-body", "99999999999999999999", NULL) ==
	      CONFIG_ERROR);
	config_release(&c);

	CHECK(load(&c, err, sizeof(err), "--client-auth", "maybe", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "client-auth") != NULL);
	CHECK(strstr(err, "http") != NULL && strstr(err, "handshake") != NULL);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--sign-fields=all", NULL) == CONFIG_ERROR);
	config_release(&c);

	/* File errors say file:line. */
	const char *path = write_file("bad.conf", "# first\nlisten = a:1\nbogus = 1\n");
	CHECK(load(&c, err, sizeof(err), "--config", path, NULL) == CONFIG_ERROR);
	snprintf(where, sizeof(where), "%s:3", path);
	CHECK(strstr(err, where) != NULL);
	CHECK(strstr(err, "bogus") != NULL);
	config_release(&c);

	path = write_file("noeq.conf", "listen = a:1\n\njust words\n");
	CHECK(load(&c, err, sizeof(err), "--config", path, NULL) == CONFIG_ERROR);
	snprintf(where, sizeof(where), "%s:3", path);
	CHECK(strstr(err, where) != NULL);
	config_release(&c);

	path = write_file("badint.conf", "timeout = 8\nmax-body = lots\n");
	CHECK(load(&c, err, sizeof(err), "--config", path, NULL) == CONFIG_ERROR);
	snprintf(where, sizeof(where), "%s:2", path);
	CHECK(strstr(err, where) != NULL);
	config_release(&c);

	path = write_file("badchoice.conf", "client-auth = maybe\n");
	CHECK(load(&c, err, sizeof(err), "--config", path, NULL) == CONFIG_ERROR);
	snprintf(where, sizeof(where), "%s:1", path);
	CHECK(strstr(err, where) != NULL);
	config_release(&c);

	/* A missing file is an error naming it. */
	snprintf(where, sizeof(where), "%s/missing.conf", dir);
	CHECK(load(&c, err, sizeof(err), "--config", where, NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "missing.conf") != NULL);
	config_release(&c);
}

static void help(void)
{
	struct config c;
	char err[512];
	int saved = dup(1);

	/* --help and --version print to stdout and ask the caller to exit 0. */
	CHECK(freopen("/dev/null", "w", stdout) != NULL);
	CHECK(load(&c, err, sizeof(err), "--help", NULL) == CONFIG_EXIT_OK);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--listen", "x:1", "-h", NULL) == CONFIG_EXIT_OK);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--version", NULL) == CONFIG_EXIT_OK);
	config_release(&c);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
}

/* An unknown flag is named as given; the log level is a checked choice. */
static void options(void)
{
	struct config c;
	char err[512];

	CHECK(load(&c, err, sizeof(err), "--foo", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "unknown option '--foo'") != NULL && strstr(err, "--help") != NULL);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--listen", "x:1", "--foo=2", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "unknown option '--foo'") != NULL);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "-v", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "unknown option '-v'") != NULL);
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_OK);
	CHECK_STR(c.log_level, "info");
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--log-level", "debug", NULL) == CONFIG_OK);
	CHECK_STR(c.log_level, "debug");
	config_release(&c);
	CHECK(load(&c, err, sizeof(err), "--log-level", "loud", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "warn") != NULL);
	config_release(&c);
}

/* --print-config: each setting with its value and source, the token hidden. */
static void print_config(void)
{
	struct config c;
	char err[512], line[512], path[600];
	int saved = dup(1), seen = 0;
	const char *conf = write_file("print.conf", "timeout = 9\nadmin-token = hush\n");

	snprintf(path, sizeof(path), "%s/print.out", dir);
	setenv("REDPACK_SEED", "77", 1);
	fflush(stdout);
	CHECK(freopen(path, "w", stdout) != NULL);
	CHECK(load(&c, err, sizeof(err), "--config", conf, "--print-config", "--db",
		   "postgresql://team:hush@db.example:5432/redpack", NULL) == CONFIG_EXIT_OK);
	config_release(&c);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	unsetenv("REDPACK_SEED");
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		char name[64], value[256], from[256];
		if (line[0] == '#' || sscanf(line, "%63s %255s %255[^\n]", name, value, from) != 3)
			continue;
		seen++;
		CHECK(strstr(line, "hush") == NULL);
		if (strcmp(name, "db") == 0) {
			CHECK_STR(from, "flag --db");
			CHECK_STR(value, "postgresql://team:***@db.example:5432/redpack");
		} else if (strcmp(name, "seed") == 0)
			CHECK_STR(from, "environment REDPACK_SEED");
		else if (strcmp(name, "timeout") == 0)
			CHECK(strncmp(from, "file ", 5) == 0 &&
			      strstr(from, "print.conf:1") != NULL);
		else if (strcmp(name, "admin-token") == 0)
			CHECK_STR(value, "(hidden)");
		else if (strcmp(name, "listen") == 0)
			CHECK_STR(from, "default");
	}
	if (f)
		fclose(f);
	CHECK(seen > 20);
}

static void cleanup(void)
{
	static const char *const names[] = {"env.conf",	 "good.conf",	"bad.conf",
					    "noeq.conf", "badint.conf", "badchoice.conf"};
	char p[600];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* The control port's cap: flag, environment, bounds. */
static void admin_cap(void)
{
	struct config c;
	char err[512];

	CHECK(load(&c, err, sizeof(err), "--admin-max-connections", "5", NULL) == CONFIG_OK);
	CHECK(c.admin_max_connections == 5);
	config_release(&c);
	setenv("REDPACK_ADMIN_MAX_CONNECTIONS", "7", 1);
	CHECK(load(&c, err, sizeof(err), NULL) == CONFIG_OK);
	CHECK(c.admin_max_connections == 7);
	config_release(&c);
	unsetenv("REDPACK_ADMIN_MAX_CONNECTIONS");
	CHECK(load(&c, err, sizeof(err), "--admin-max-connections", "0", NULL) == CONFIG_ERROR);
	CHECK(strstr(err, "admin-max-connections") != NULL);
}

/* The caps fitted under RLIMIT_NOFILE. */
static void descriptors(void)
{
	char why[256];
	int64_t api = 1024, admin = 64;

	/* Plenty: untouched, nothing to say. */
	CHECK(config_fit_descriptors(65536, 16, &api, &admin, why, sizeof(why)) == 0);
	CHECK(api == 1024 && admin == 64 && why[0] == '\0');
	/* The shell default of 1024: the API cap gives way, the control
	 * port keeps its own, and both fit with the reserve. */
	CHECK(config_fit_descriptors(1024, 16, &api, &admin, why, sizeof(why)) == 1);
	CHECK(api + admin + 16 <= 1024 - 20 && api > 900 && admin == 64);
	CHECK(strstr(why, "--max-connections 1024 ->") != NULL);
	/* ulimit -n 64: the control port gets a quarter of what is left. */
	api = 1024, admin = 64;
	CHECK(config_fit_descriptors(64, 16, &api, &admin, why, sizeof(why)) == 1);
	CHECK(admin >= 1 && api >= 1 && api + admin + 16 <= 64 - 20);
	CHECK(admin <= api);
	CHECK(strstr(why, "RLIMIT_NOFILE is 64") != NULL);
	/* Small caps asked for are kept as asked. */
	api = 3, admin = 2;
	CHECK(config_fit_descriptors(64, 16, &api, &admin, why, sizeof(why)) == 0);
	CHECK(api == 3 && admin == 2);
	/* Too few to serve at all. */
	api = 1024, admin = 64;
	CHECK(config_fit_descriptors(30, 16, &api, &admin, why, sizeof(why)) == -1);
	CHECK(strstr(why, "at least") != NULL);
}

/* A database password never reaches a log line or a listing. */
static void redaction(void)
{
	static const char *const cases[][2] = {
		{"postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"},
		{"postgres://u:p%40ss@h/db?sslmode=require",
		 "postgres://u:***@h/db?sslmode=require"},
		{"postgresql://u@h/db", "postgresql://u@h/db"},
		{"postgresql://h/db?user=u&password=s3cret&x=1",
		 "postgresql://h/db?user=u&password=***&x=1"},
		{"host=h password=s3cret dbname=d", "host=h password=*** dbname=d"},
		{"password=s3cret", "password=***"},
		{"var/redpack.db", "var/redpack.db"},
		{":memory:", ":memory:"},
		{"postgresql://h:5432/db?application_name=a@b",
		 "postgresql://h:5432/db?application_name=a@b"},
	};
	char out[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		redact_password(cases[i][0], out, sizeof(out));
		CHECK_STR(out, cases[i][1]);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	clear_env();
	defaults();
	flags();
	environment();
	file();
	errors();
	help();
	options();
	print_config();
	redaction();
	admin_cap();
	descriptors();
	cleanup();
	return check_done("config");
}
