/*
 * ctl.c - redpack-ctl: the command-line client of redpack-sim's control
 * API. One table row per subcommand; exit status 0 only on success, 1
 * when the answer says no (violations, not found), 2 on usage or
 * connection errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_http.h"

#define EXIT_NO 1
#define EXIT_USAGE 2

struct options {
	const char *admin; /* base URL of the control API */
	const char *token;
	int json;          /* print the raw JSON answer */
	int timeout;
};

struct command {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(const struct options *o, int argc, char **argv);
};

static int cmd_check(const struct options *o, int argc, char **argv);
static int cmd_health(const struct options *o, int argc, char **argv);
static int cmd_errors(const struct options *o, int argc, char **argv);

static const struct command commands[] = {
	{"check", "check", "verify every invariant of the database; exit 1 and list them if any fails",
	 cmd_check},
	{"health", "health", "exit 0 when the server is up and its world loaded", cmd_health},
	{"errors", "errors [--markdown]",
	 "the error catalogue: every err_code, its endpoints, texts, level, what it leaves, retry advice",
	 cmd_errors},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: redpack-ctl [--admin URL] [--admin-token T] [--json] COMMAND [ARGS]\n\n"
		     "  --admin URL        control API of redpack-sim [$REDPACK_ADMIN or "
		     "http://127.0.0.1:8444]\n"
		     "  --admin-token T    bearer token [$REDPACK_ADMIN_TOKEN]\n"
		     "  --json             print the JSON answer as is\n"
		     "  --timeout S        seconds to wait for an answer [10]\n\n"
		     "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].usage, commands[i].help);
	fprintf(out, "\nredpack-ctl COMMAND --help shows one command.\n");
}

/* Sends the request and parses a JSON answer; on failure prints why and
 * returns NULL. *status receives the HTTP status. */
static json_t *call(const struct options *o, const char *method, const char *path,
		    const char *body, int *status)
{
	struct ctl_response resp;
	json_error_t jerr;
	json_t *json = NULL;

	if (ctl_http_request(o->admin, method, path, body, o->token, o->timeout, &resp) != 0) {
		fprintf(stderr, "redpack-ctl: %s: %s\n", o->admin, resp.error);
		goto out;
	}
	*status = resp.status;
	json = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &jerr);
	if (!json)
		fprintf(stderr, "redpack-ctl: HTTP %d, not JSON: %.200s\n", resp.status,
			resp.body.data ? resp.body.data : "");
out:
	buf_release(&resp.body);
	return json;
}

static void print_json(const json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(text ? text : "null");
	free(text);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static int cmd_check(const struct options *o, int argc, char **argv)
{
	int status = 0, rc;
	json_t *j;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: redpack-ctl check\n");
		return EXIT_USAGE;
	}
	j = call(o, "GET", "/admin/v1/check", NULL, &status);
	if (!j)
		return EXIT_USAGE;
	if (o->json) {
		print_json(j);
	} else if (status == 200) {
		printf("ok: all %d invariants hold\n", (int)json_integer_value(json_object_get(j, "checked")));
	} else if (status == 409) {
		size_t i;
		json_t *v;
		json_t *list = json_object_get(j, "violations");
		printf("FAILED: %zu violation(s)\n", json_array_size(list));
		json_array_foreach(list, i, v)
			printf("  %s: %s\n", json_string_value(json_object_get(v, "invariant")),
			       json_string_value(json_object_get(v, "detail")));
	} else {
		const char *e = json_string_value(json_object_get(j, "error"));
		fprintf(stderr, "redpack-ctl: HTTP %d: %s\n", status, e ? e : "unexpected answer");
	}
	rc = status == 200 ? 0 : status == 409 ? EXIT_NO : EXIT_USAGE;
	json_decref(j);
	return rc;
}

static int cmd_health(const struct options *o, int argc, char **argv)
{
	struct ctl_response resp;
	int rc;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: redpack-ctl health\n");
		return EXIT_USAGE;
	}
	if (ctl_http_request(o->admin, "GET", "/healthz", NULL, o->token, o->timeout, &resp) != 0) {
		fprintf(stderr, "redpack-ctl: %s: %s\n", o->admin, resp.error);
		buf_release(&resp.body);
		return EXIT_USAGE;
	}
	if (o->json)
		printf("{\"status\": %d}\n", resp.status);
	else
		printf("%s", resp.body.data ? resp.body.data : "");
	rc = resp.status == 200 ? 0 : EXIT_NO;
	buf_release(&resp.body);
	return rc;
}

/* The texts of one catalogue row: one text, or "endpoint: text" pairs
 * when the endpoints differ. */
static void row_texts(json_t *texts, struct buf *out)
{
	const char *key, *first = NULL;
	json_t *v;
	int same = 1;

	json_object_foreach(texts, key, v) {
		if (!first)
			first = json_string_value(v);
		else if (strcmp(first, json_string_value(v)) != 0)
			same = 0;
	}
	if (same) {
		buf_puts(out, first ? first : "");
		return;
	}
	json_object_foreach(texts, key, v) {
		if (out->len)
			buf_puts(out, "; ");
		buf_printf(out, "%s: %s", key, json_string_value(v));
	}
}

static int cmd_errors(const struct options *o, int argc, char **argv)
{
	int status = 0, markdown = argc > 1 && strcmp(argv[1], "--markdown") == 0;
	size_t i;
	json_t *j, *v;

	if (argc > 2 || (argc == 2 && !markdown)) {
		fprintf(stderr, "usage: redpack-ctl errors [--markdown]\n");
		return EXIT_USAGE;
	}
	j = call(o, "GET", "/admin/v1/errors", NULL, &status);
	if (!j)
		return EXIT_USAGE;
	if (status != 200) {
		fprintf(stderr, "redpack-ctl: HTTP %d\n", status);
		json_decref(j);
		return EXIT_USAGE;
	}
	if (o->json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	if (markdown)
		printf("| err_code | endpoints | err_code_des | level | leaves | retry |\n"
		       "| --- | --- | --- | --- | --- | --- |\n");
	json_array_foreach(json_object_get(j, "errors"), i, v) {
		struct buf eps, texts;
		size_t k;
		json_t *e;
		buf_init(&eps);
		buf_init(&texts);
		json_array_foreach(json_object_get(v, "endpoints"), k, e)
			buf_printf(&eps, "%s%s", k ? ", " : "", json_string_value(e));
		row_texts(json_object_get(v, "err_code_des"), &texts);
		if (markdown)
			printf("| `%s` | %s | %s | %s | %s | %s |\n",
			       json_string_value(json_object_get(v, "err_code")), eps.data, texts.data,
			       json_string_value(json_object_get(v, "level")),
			       json_string_value(json_object_get(v, "order")),
			       json_string_value(json_object_get(v, "retry")));
		else
			printf("%-22s %-12s leaves: %s\n    %s\n    endpoints: %s; retry: %s\n",
			       json_string_value(json_object_get(v, "err_code")),
			       json_string_value(json_object_get(v, "level")),
			       json_string_value(json_object_get(v, "order")), texts.data, eps.data,
			       json_string_value(json_object_get(v, "retry")));
		buf_release(&eps);
		buf_release(&texts);
	}
	json_decref(j);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {getenv("REDPACK_ADMIN"), getenv("REDPACK_ADMIN_TOKEN"), 0, 10};
	int i;

	if (!o.admin || !*o.admin)
		o.admin = "http://127.0.0.1:8444";
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			o.json = 1;
		} else if (strcmp(a, "--admin") == 0 && i + 1 < argc) {
			o.admin = argv[++i];
		} else if (strcmp(a, "--admin-token") == 0 && i + 1 < argc) {
			o.token = argv[++i];
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			o.timeout = atoi(argv[++i]);
			if (o.timeout <= 0) {
				fprintf(stderr, "redpack-ctl: --timeout needs a positive number of seconds\n");
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "redpack-ctl: unknown option %s\n\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t c = 0; c < N_COMMANDS; c++) {
		if (strcmp(commands[c].name, argv[i]) != 0)
			continue;
		if (wants_help(argc - i, argv + i)) {
			printf("usage: redpack-ctl %s\n\n%s\n", commands[c].usage, commands[c].help);
			return 0;
		}
		/* Options may also follow the command. */
		int n = 0;
		char **rest = argv + i;
		for (int k = 0; k < argc - i; k++) {
			if (strcmp(rest[k], "--json") == 0)
				o.json = 1;
			else if (strcmp(rest[k], "--admin") == 0 && k + 1 < argc - i)
				o.admin = rest[++k];
			else if (strcmp(rest[k], "--admin-token") == 0 && k + 1 < argc - i)
				o.token = rest[++k];
			else
				rest[n++] = rest[k];
		}
		return commands[c].run(&o, n, rest);
	}
	fprintf(stderr, "redpack-ctl: unknown command \"%s\"\n\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
