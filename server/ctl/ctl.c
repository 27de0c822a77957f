/*
 * ctl.c - redpack-ctl: the command-line client of redpack-sim's control
 * API. One table row per subcommand; exit status 0 only on success, 1
 * when the answer says no (violations, not found), 2 on usage or
 * connection errors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_http.h"

#include "ctl.h"

struct command {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(const struct options *o, int argc, char **argv);
};

static int cmd_check(const struct options *o, int argc, char **argv);
static int cmd_health(const struct options *o, int argc, char **argv);
static int cmd_errors(const struct options *o, int argc, char **argv);
static int cmd_packets(const struct options *o, int argc, char **argv);
static int cmd_packet(const struct options *o, int argc, char **argv);
static int cmd_claim(const struct options *o, int argc, char **argv);
static int cmd_settle(const struct options *o, int argc, char **argv);
static int cmd_clock(const struct options *o, int argc, char **argv);
static int cmd_merchant(const struct options *o, int argc, char **argv);
static int cmd_reset(const struct options *o, int argc, char **argv);
static int cmd_journal(const struct options *o, int argc, char **argv);
static int cmd_faults(const struct options *o, int argc, char **argv);
static int cmd_requests(const struct options *o, int argc, char **argv);
static int cmd_verify(const struct options *o, int argc, char **argv);
static int cmd_fixtures(const struct options *o, int argc, char **argv);

static const struct command commands[] = {
	{"check", "check",
	 "verify every invariant of the database; exit 1 and list them if any fails", cmd_check},
	{"health", "health", "exit 0 when the server is up and its world loaded", cmd_health},
	{"send", ctl_send_usage,
	 "build, sign and send sendgroupredpack, sendredpack or gethbinfo over mutual TLS; print "
	 "the XML answer (exit 0 only for result_code SUCCESS)",
	 ctl_send},
	{"fixtures", "fixtures [FILE]",
	 "check a fixtures file (no server needed) and print its merchants, a line "
	 "\"MCH_ID<TAB>NAME\" "
	 "each, as scripts/gen-certs.sh reads them (FILE: $REDPACK_FIXTURES, else "
	 "fixtures/default.json); exit 1 saying what is wrong",
	 cmd_fixtures},
	{"packets", "packets [--mch-id ID] [--status S] [--limit N] [--cursor C | --all]",
	 "red packets, newest first, a page at a time (--all: every page)", cmd_packets},
	{"packet", "packet BILLNO [--mch-id ID]", "one packet with its shares and ledger rows",
	 cmd_packet},
	{"claim", "claim BILLNO OPENID [--mch-id ID]", "a user opens the next share", cmd_claim},
	{"settle", "settle BILLNO SENT|FAILED [--mch-id ID]", "settle an order answered PROCESSING",
	 cmd_settle},
	{"clock", "clock [--advance SECONDS | --now 2026-02-01T10:00:00+08:00]",
	 "show or move the business clock (forwards only)", cmd_clock},
	{"merchant",
	 "merchant MCH_ID [--balance FEN | --topup FEN] [--limit NAME=N]... [--api on|off] "
	 "[--ip-allowlist IP,IP|none]",
	 "show or change a merchant", cmd_merchant},
	{"reset", "reset [--mch-id ID] [--journal] [--clock]",
	 "back to the fixtures: everything, or one merchant; --journal also empties the request "
	 "journal, --clock sets the business clock back to real time (everything only)",
	 cmd_reset},
	{"journal", "journal [--mch-billno B] [--err-code CODE] [--limit N] [--cursor C | --all]",
	 "the last requests and answers, newest first, a page at a time (--all: every page); "
	 "SIGN_ERRORs with what the server signed",
	 cmd_journal},
	{"requests",
	 "requests [FILTERS] [--limit N] [--cursor C | --all]   FILTERS: [--endpoint E] [--mch-id "
	 "ID] "
	 "[--mch-billno B] [--re-openid O] [--err-code CODE] [--since TIME] [--until TIME]",
	 "the requests merchant code sent that match the filters, with their parsed fields, "
	 "newest first (TIME: 2026-02-01T10:00:00+08:00 or epoch seconds, business clock)",
	 cmd_requests},
	{"verify", "verify --count N [FILTERS]",
	 "exit 0 when exactly N requests match the filters; else exit 1 showing what was sent",
	 cmd_verify},
	{"faults",
	 "faults [list] [--limit N] [--cursor C | --all] | faults add [--api API] [--match "
	 "NAME=VALUE]... [--err-code CODE] "
	 "[--transport delay|hang|reset|empty|truncate|http_503|html_502] [--delay-ms N] "
	 "[--delay-max-ms N] [--times N] [--probability P] | faults delete ID|all",
	 "fault rules: answers and transport faults injected into matching requests", cmd_faults},
	{"errors", "errors [--markdown]",
	 "the error catalogue: every err_code, its endpoints, texts, level, what it leaves, retry "
	 "advice",
	 cmd_errors},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: redpack-ctl [--admin URL] [--admin-token T] [--json] COMMAND [ARGS]\n\n"
		"  --admin URL        control API of redpack-sim [$REDPACK_ADMIN or "
		"http://127.0.0.1:8444]\n"
		"  --admin-token T    bearer token [$REDPACK_ADMIN_TOKEN]\n"
		"  --json             print the JSON answer as is\n"
		"  --timeout S        seconds to wait for an answer [10]\n"
		"  --version          print the version and exit\n\n"
		"commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].usage, commands[i].help);
	fprintf(out, "\nredpack-ctl COMMAND --help shows one command.\n");
}

/* Sends the request and parses a JSON answer; on failure prints why and
 * returns NULL. *status receives the HTTP status. */
static json_t *call(const struct options *o, const char *method, const char *path, const char *body,
		    int *status)
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

/* Flags of a subcommand: "--name value" or "--name=value" pairs among
 * the positionals ("--name" alone for a switch, stored with the value
 * "1"). */
struct flags {
	const char *names[8];
	const char *values[8];
	int count;
	const char *pos[4];
	int npos;
	const char *repeat[16]; /* values of a repeatable flag */
	int nrepeat;
};

static const char *flag(const struct flags *f, const char *name);

/* Set once a command's arguments were refused with a message that says
 * why: usage_of then adds nothing. */
static int refused;

/* Refuses the arguments of command cmd: "redpack-ctl: WHY for CMD (see
 * redpack-ctl CMD --help)" on stderr; returns -1. */
static int refuse(const char *cmd, const char *fmt, const char *what)
{
	fprintf(stderr, "redpack-ctl: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, " for %s (see redpack-ctl %s --help)\n", cmd, cmd);
	refused = 1;
	return -1;
}

/* Parses argv[1..] of command cmd into f; allowed is a NULL-terminated
 * list of flag names (one may end in "*": repeatable; in "!": a switch
 * without a value). Returns 0, or -1 having said what is wrong: the
 * unknown option by name, a missing value, a switch twice, one argument
 * too many. */
static int parse_flags(const char *cmd, int argc, char **argv, const char *const *allowed,
		       struct flags *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *value;
		size_t len;

		if (arg[0] != '-' || arg[1] == '\0') {
			if (f->npos == 4)
				return refuse(cmd, "unexpected argument '%s'", arg);
			f->pos[f->npos++] = arg;
			continue;
		}
		if (arg[1] != '-')
			return refuse(cmd, "unknown option '%s'", arg);
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcspn(*a, "*!") == len && strncmp(*a, arg + 2, len) == 0)
				break;
		if (!*a) {
			char shown[64];
			snprintf(shown, sizeof(shown), "%.*s", (int)(len + 2 < 60 ? len + 2 : 60),
				 arg);
			return refuse(cmd, "unknown option '%s'", shown);
		}
		if (strchr(*a, '!')) {
			if (eq)
				return refuse(cmd, "option '%s' takes no value", arg);
			if (flag(f, *a))
				return refuse(cmd, "option '%s' given twice", arg);
			if (f->count == 8)
				return refuse(cmd, "too many options ('%s')", arg);
			f->names[f->count] = *a;
			f->values[f->count++] = "1";
			continue;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 == argc) {
			return refuse(cmd, "option '%s' needs a value", arg);
		} else {
			value = argv[++i];
		}
		if (strchr(*a, '*')) {
			if (f->nrepeat == 16)
				return refuse(cmd, "option '%s' given too often", arg);
			f->repeat[f->nrepeat++] = value;
		} else {
			if (f->count == 8)
				return refuse(cmd, "too many options ('%s')", arg);
			f->names[f->count] = *a;
			f->values[f->count++] = value;
		}
	}
	return 0;
}

static const char *flag(const struct flags *f, const char *name)
{
	for (int i = 0; i < f->count; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->values[i];
	return NULL;
}

static int cmd_check(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {NULL};
	struct flags f;
	int status = 0, rc;
	json_t *j;

	if (parse_flags("check", argc, argv, allowed, &f) != 0)
		return EXIT_USAGE;
	if (f.npos) {
		refuse("check", "unexpected argument '%s'", f.pos[0]);
		return EXIT_USAGE;
	}
	j = call(o, "GET", "/admin/v1/check", NULL, &status);
	if (!j)
		return EXIT_USAGE;
	if (o->json) {
		print_json(j);
	} else if (status == 200) {
		printf("ok: all %d invariants hold\n",
		       (int)json_integer_value(json_object_get(j, "checked")));
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
	static const char *const allowed[] = {NULL};
	struct ctl_response resp;
	struct flags f;
	int rc;

	if (parse_flags("health", argc, argv, allowed, &f) != 0)
		return EXIT_USAGE;
	if (f.npos) {
		refuse("health", "unexpected argument '%s'", f.pos[0]);
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

	json_object_foreach(texts, key, v)
	{
		if (!first)
			first = json_string_value(v);
		else if (strcmp(first, json_string_value(v)) != 0)
			same = 0;
	}
	if (same) {
		buf_puts(out, first ? first : "");
		return;
	}
	json_object_foreach(texts, key, v)
	{
		if (out->len)
			buf_puts(out, "; ");
		buf_printf(out, "%s: %s", key, json_string_value(v));
	}
}

static int cmd_errors(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {"markdown!", NULL};
	struct flags f;
	int status = 0, markdown;
	size_t i;
	json_t *j, *v;

	if (parse_flags("errors", argc, argv, allowed, &f) != 0)
		return EXIT_USAGE;
	if (f.npos) {
		refuse("errors", "unexpected argument '%s'", f.pos[0]);
		return EXIT_USAGE;
	}
	markdown = flag(&f, "markdown!") != NULL;
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
	json_array_foreach(json_object_get(j, "errors"), i, v)
	{
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
			       json_string_value(json_object_get(v, "err_code")), eps.data,
			       texts.data, json_string_value(json_object_get(v, "level")),
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

/* ---- admin wrappers ---------------------------------------------------- */

/* Path and query values are ids and codes: refuse anything else rather
 * than encode it. */
static int safe(const char *v)
{
	return v && *v &&
	       strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_-") == strlen(v);
}

/* A filter's value: an id or a code; a time (--since, --until) may also
 * have the characters of 2026-02-01T10:00:00+08:00. */
static int filter_value_ok(const char *name, const char *v)
{
	if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0)
		return *v && strspn(v, "0123456789-+:TZ") == strlen(v);
	return safe(v);
}

/* Refuses value v of flag --name of command cmd; returns EXIT_USAGE. */
static int bad_value(const char *cmd, const char *name, const char *v)
{
	char shown[128];
	snprintf(shown, sizeof(shown), "--%s '%.60s'", name, v);
	refuse(cmd, "bad value %s", shown);
	return EXIT_USAGE;
}

/* Appends v to a query, percent-encoded (all but letters, digits, -_.~). */
static void query_escape(struct buf *out, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (isalnum(*p) || strchr("-_.~", *p)) {
			buf_append(out, p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_append(out, e, 3);
		}
	}
}

static int usage_of(const char *name)
{
	if (refused)
		return EXIT_USAGE;
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			fprintf(stderr, "usage: redpack-ctl %s\n", commands[i].usage);
	return EXIT_USAGE;
}

/* A 4xx/5xx answer: the JSON (--json) and the error on stderr; 1 for a
 * 4xx, 2 for anything worse. */
static int answer_error(const struct options *o, int status, json_t *j)
{
	const char *e = json_string_value(json_object_get(j, "error"));
	if (o->json)
		print_json(j);
	fprintf(stderr, "redpack-ctl: HTTP %d: %s\n", status, e ? e : "unexpected answer");
	return status >= 500 ? EXIT_USAGE : EXIT_NO;
}

/* Sends, prints the JSON (--json) or hands it to print; 2xx -> 0,
 * 4xx with an error body -> 1 and the error on stderr. */
static int run_admin(const struct options *o, const char *method, const char *path,
		     const char *body, void (*print)(json_t *j))
{
	int status = 0, rc;
	json_t *j = call(o, method, path, body, &status);

	if (!j)
		return EXIT_USAGE;
	if (status >= 200 && status < 300) {
		if (o->json || !print)
			print_json(j);
		else
			print(j);
		rc = 0;
	} else {
		rc = answer_error(o, status, j);
	}
	json_decref(j);
	return rc;
}

/* GETs a list (path already carries its filters and limit) one page at a
 * time: with all, follows each page's "next" to the end and shows every
 * item as one page ({key: [...], "next": null}); otherwise the page
 * starting at cursor (NULL: the first), and, for people, the flag that
 * shows the next one. Same exit statuses as run_admin. */
static int run_list(const struct options *o, const char *path, const char *key, int all,
		    const char *cursor, void (*print)(json_t *j))
{
	json_t *whole = NULL;
	char *next = cursor ? strdup(cursor) : NULL;
	int rc = 0;

	for (;;) {
		struct buf url;
		int status = 0;
		json_t *j, *n;

		buf_init(&url);
		buf_puts(&url, path);
		if (next)
			buf_printf(&url, "%ccursor=%s", strchr(path, '?') ? '&' : '?', next);
		j = call(o, "GET", url.data, NULL, &status);
		buf_release(&url);
		if (!j) {
			rc = EXIT_USAGE;
			break;
		}
		if (status < 200 || status >= 300) {
			rc = answer_error(o, status, j);
			json_decref(j);
			break;
		}
		n = json_object_get(j, "next");
		if (n && !json_is_null(n) &&
		    (!json_is_string(n) || !safe(json_string_value(n)) ||
		     (next && strcmp(next, json_string_value(n)) == 0))) {
			fprintf(stderr, "redpack-ctl: the server's \"next\" does not move on\n");
			json_decref(j);
			rc = EXIT_USAGE;
			break;
		}
		free(next);
		next = json_is_string(n) ? strdup(json_string_value(n)) : NULL;
		if (!whole) {
			whole = j;
		} else {
			const char *k;
			json_t *v;
			json_array_extend(json_object_get(whole, key), json_object_get(j, key));
			json_object_foreach(j, k, v) /* kept, bytes: the latest */
				if (strcmp(k, key) != 0) json_object_set(whole, k, v);
			json_decref(j);
		}
		if (!all || !next)
			break;
	}
	if (whole && rc == 0) {
		if (o->json)
			print_json(whole);
		else
			print(whole);
		if (!o->json && next)
			printf("more: add --cursor %s (or --all)\n", next);
	}
	json_decref(whole);
	free(next);
	return rc;
}

static const char *str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "-";
}

static long long num(json_t *j, const char *key)
{
	return (long long)json_integer_value(json_object_get(j, key));
}

static void print_packet_line(json_t *p)
{
	printf("%-28s %-9s %-6s %8lld fen / %2lld  %s  %s\n", str(p, "mch_billno"),
	       str(p, "status"), str(p, "hb_type"), num(p, "total_amount"), num(p, "total_num"),
	       str(p, "send_listid"), str(p, "re_openid"));
}

static void print_packets(json_t *j)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(j, "packets"), i, p) print_packet_line(p);
	if (json_array_size(json_object_get(j, "packets")) == 0)
		printf("no packets\n");
}

static void print_packet(json_t *j)
{
	size_t i;
	json_t *v;
	print_packet_line(j);
	printf("  merchant %s, sent %s", str(j, "mch_id"), str(j, "send_time"));
	if (json_is_string(json_object_get(j, "reason")))
		printf(", held: %s", str(j, "reason"));
	if (json_is_integer(json_object_get(j, "refund_amount")))
		printf(", refunded %lld fen at %s", num(j, "refund_amount"), str(j, "refund_time"));
	printf("\n  shares:\n");
	json_array_foreach(json_object_get(j, "shares"), i, v) printf(
		"    #%lld %6lld fen  %s %s\n", num(v, "seq"), num(v, "amount"),
		json_is_string(json_object_get(v, "openid")) ? str(v, "openid") : "(unopened)",
		json_is_string(json_object_get(v, "rcv_time")) ? str(v, "rcv_time") : "");
	printf("  ledger:\n");
	json_array_foreach(json_object_get(j, "ledger"), i, v) printf(
		"    %-7s %+lld fen at %s\n", str(v, "kind"), num(v, "amount"), str(v, "at"));
}

static void print_claim(json_t *j)
{
	printf("%s opened share #%lld of %s: %lld fen (packet now %s)\n", str(j, "openid"),
	       num(j, "seq"), str(j, "mch_billno"), num(j, "amount"), str(j, "status"));
}

static void print_clock(json_t *j)
{
	printf("%s (offset %+lld s from real time)\n", str(j, "now"), num(j, "offset_seconds"));
}

static void print_merchant(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	printf("%s %s\n  balance %lld fen, API sending %s\n  limits:", str(j, "mch_id"),
	       str(j, "name"), num(j, "balance"),
	       json_is_true(json_object_get(j, "api_enabled")) ? "on" : "off");
	json_object_foreach(json_object_get(j, "limits"), key, v)
		printf(" %s=%lld", key, (long long)json_integer_value(v));
	printf("\n  ip allow-list:");
	json_array_foreach(json_object_get(j, "ip_allowlist"), i, v)
		printf(" %s", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(j, "ip_allowlist")) ? "" : " (any)");
}

static void print_reset(json_t *j)
{
	printf("reset %s to the fixtures in %.1f ms\n",
	       json_is_string(json_object_get(j, "mch_id")) ? str(j, "mch_id") : "everything",
	       json_real_value(json_object_get(j, "milliseconds")));
	if (json_object_get(j, "journal_cleared"))
		printf("journal emptied (%lld requests)\n", num(j, "journal_cleared"));
	if (json_object_get(j, "clock_offset_seconds"))
		printf("business clock back to real time\n");
}

static void print_journal(json_t *j)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "entries"), i, e)
	{
		json_t *sc = json_object_get(e, "sign_check");
		printf("#%lld %s %-16s %-10s %-28s %s\n", num(e, "seq"), str(e, "at"),
		       str(e, "endpoint"), str(e, "mch_id"), str(e, "mch_billno"),
		       str(e, "err_code"));
		if (sc)
			printf("    signed: %s\n    cause:  %s\n", str(sc, "string_to_sign"),
			       str(sc, "likely_cause"));
	}
	printf("(%lld kept, %lld bytes)\n", num(j, "kept"), num(j, "bytes"));
}

/* A listing command: filters (flag names[i] -> query keys[i], n of them)
 * and --limit, --cursor, --all; --all without --limit asks for the
 * largest pages. */
static int list_command(const struct options *o, int argc, char **argv, const char *name,
			const char *path, const char *const *names, const char *const *keys,
			size_t n, const char *item_key, void (*print)(json_t *j))
{
	const char *allowed[16];
	const char *cursor, *limit;
	struct flags f;
	struct buf url;
	int all, rc;

	for (size_t i = 0; i < n; i++)
		allowed[i] = names[i];
	allowed[n] = "limit";
	allowed[n + 1] = "cursor";
	allowed[n + 2] = "all!";
	allowed[n + 3] = NULL;
	if (parse_flags(name, argc, argv, allowed, &f) != 0 || f.npos)
		return usage_of(name);
	all = flag(&f, "all!") != NULL;
	cursor = flag(&f, "cursor");
	limit = flag(&f, "limit");
	if ((all && cursor) || (cursor && !safe(cursor)) || (limit && !safe(limit)))
		return usage_of(name);
	buf_init(&url);
	buf_puts(&url, path);
	for (size_t i = 0; i < n; i++) {
		const char *v = flag(&f, names[i]);
		if (!v)
			continue;
		if (!filter_value_ok(names[i], v)) {
			buf_release(&url);
			return bad_value(name, names[i], v);
		}
		buf_printf(&url, "%c%s=", strchr(url.data, '?') ? '&' : '?', keys[i]);
		query_escape(&url, v);
	}
	if (limit || all)
		buf_printf(&url, "%climit=%s", strchr(url.data, '?') ? '&' : '?',
			   limit ? limit : "1000");
	rc = run_list(o, url.data, item_key, all, cursor, print);
	buf_release(&url);
	return rc;
}

static int cmd_packets(const struct options *o, int argc, char **argv)
{
	static const char *const names[] = {"mch-id", "status"};
	static const char *const keys[] = {"mch_id", "status"};

	return list_command(o, argc, argv, "packets", "/admin/v1/packets", names, keys, 2,
			    "packets", print_packets);
}

static int cmd_packet(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {"mch-id", NULL};
	struct flags f;
	char path[256];
	const char *mch;

	if (parse_flags("packet", argc, argv, allowed, &f) != 0 || f.npos != 1 || !safe(f.pos[0]) ||
	    ((mch = flag(&f, "mch-id")) && !safe(mch)))
		return usage_of("packet");
	snprintf(path, sizeof(path), "/admin/v1/packets/%s%s%s", f.pos[0], mch ? "?mch_id=" : "",
		 mch ? mch : "");
	return run_admin(o, "GET", path, NULL, print_packet);
}

/* POST /admin/v1/packets/BILLNO/ACTION with {key: value[, "mch_id": ...]}. */
static int packet_action(const struct options *o, int argc, char **argv, const char *name,
			 const char *action, const char *key, void (*print)(json_t *j))
{
	static const char *const allowed[] = {"mch-id", NULL};
	struct flags f;
	char path[256];
	json_t *body;
	char *text;
	int rc;

	if (parse_flags(name, argc, argv, allowed, &f) != 0 || f.npos != 2 || !safe(f.pos[0]))
		return usage_of(name);
	snprintf(path, sizeof(path), "/admin/v1/packets/%s/%s", f.pos[0], action);
	body = json_pack("{s:s}", key, f.pos[1]);
	if (flag(&f, "mch-id"))
		json_object_set_new(body, "mch_id", json_string(flag(&f, "mch-id")));
	text = json_dumps(body, JSON_COMPACT);
	rc = run_admin(o, "POST", path, text, print);
	free(text);
	json_decref(body);
	return rc;
}

static int cmd_claim(const struct options *o, int argc, char **argv)
{
	return packet_action(o, argc, argv, "claim", "claims", "openid", print_claim);
}

static int cmd_settle(const struct options *o, int argc, char **argv)
{
	return packet_action(o, argc, argv, "settle", "settle", "result", print_packet);
}

static int cmd_clock(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {"advance", "now", NULL};
	struct flags f;
	char body[128];
	const char *adv, *now;

	if (parse_flags("clock", argc, argv, allowed, &f) != 0 || f.npos)
		return usage_of("clock");
	adv = flag(&f, "advance");
	now = flag(&f, "now");
	if (adv && now)
		return usage_of("clock");
	if (!adv && !now)
		return run_admin(o, "GET", "/admin/v1/clock", NULL, print_clock);
	if (adv) {
		if (strspn(adv, "0123456789") != strlen(adv) || !*adv || strlen(adv) > 12)
			return usage_of("clock");
		snprintf(body, sizeof(body), "{\"advance_seconds\": %s}", adv);
	} else {
		if (!safe(now) && strspn(now, "0123456789-+:TZ") != strlen(now))
			return usage_of("clock");
		snprintf(body, sizeof(body), "{\"now\": \"%.40s\"}", now);
	}
	return run_admin(o, "POST", "/admin/v1/clock", body, print_clock);
}

static int cmd_merchant(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {"balance",      "topup",	"api",
					      "ip-allowlist", "limit*", NULL};
	struct flags f;
	char path[128];
	json_t *body;
	char *text;
	int rc;

	if (parse_flags("merchant", argc, argv, allowed, &f) != 0 || f.npos != 1 || !safe(f.pos[0]))
		return usage_of("merchant");
	snprintf(path, sizeof(path), "/admin/v1/merchants/%s", f.pos[0]);
	if (f.count == 0 && f.nrepeat == 0)
		return run_admin(o, "GET", path, NULL, print_merchant);
	body = json_object();
	for (int i = 0; i < f.count; i++) {
		const char *n = f.names[i], *v = f.values[i];
		if (strcmp(n, "balance") == 0 || strcmp(n, "topup") == 0) {
			if (strspn(v, "0123456789") != strlen(v) || !*v || strlen(v) > 15)
				goto bad;
			json_object_set_new(body, n, json_integer(atoll(v)));
		} else if (strcmp(n, "api") == 0) {
			if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
				goto bad;
			json_object_set_new(body, "api_enabled",
					    json_boolean(strcmp(v, "on") == 0));
		} else {
			json_t *ips = json_array();
			char *list = strdup(v), *save = NULL;
			for (char *ip = strtok_r(list, ",", &save); ip && strcmp(v, "none") != 0;
			     ip = strtok_r(NULL, ",", &save))
				json_array_append_new(ips, json_string(ip));
			free(list);
			json_object_set_new(body, "ip_allowlist", ips);
		}
	}
	if (f.nrepeat) {
		json_t *limits = json_object();
		for (int i = 0; i < f.nrepeat; i++) {
			const char *eq = strchr(f.repeat[i], '=');
			if (!eq || strspn(eq + 1, "0123456789") != strlen(eq + 1) || !eq[1]) {
				json_decref(limits);
				goto bad;
			}
			char *name = strndup(f.repeat[i], (size_t)(eq - f.repeat[i]));
			json_object_set_new(limits, name, json_integer(atoll(eq + 1)));
			free(name);
		}
		json_object_set_new(body, "limits", limits);
	}
	text = json_dumps(body, JSON_COMPACT);
	rc = run_admin(o, "PUT", path, text, print_merchant);
	free(text);
	json_decref(body);
	return rc;
bad:
	json_decref(body);
	return usage_of("merchant");
}

static int cmd_reset(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {"mch-id", "journal!", "clock!", NULL};
	struct flags f;
	char path[160];
	const char *mch;
	int journal, clock;

	if (parse_flags("reset", argc, argv, allowed, &f) != 0 || f.npos ||
	    ((mch = flag(&f, "mch-id")) && !safe(mch)))
		return usage_of("reset");
	journal = flag(&f, "journal!") != NULL;
	clock = flag(&f, "clock!") != NULL;
	snprintf(path, sizeof(path), "/admin/v1/reset%s%s%s%s", mch ? "?mch_id=" : "",
		 mch ? mch : "", journal ? (mch ? "&journal=true" : "?journal=true") : "",
		 clock ? (mch || journal ? "&clock=true" : "?clock=true") : "");
	return run_admin(o, "POST", path, NULL, print_reset);
}

static int cmd_journal(const struct options *o, int argc, char **argv)
{
	static const char *const names[] = {"mch-billno", "err-code"};
	static const char *const keys[] = {"mch_billno", "err_code"};

	return list_command(o, argc, argv, "journal", "/admin/v1/journal", names, keys, 2,
			    "entries", print_journal);
}

/* ---- the verification API ---------------------------------------------- */

static const char *const filter_flags[] = {"endpoint", "mch-id", "mch-billno", "re-openid",
					   "err-code", "since",	 "until"};
static const char *const filter_keys[] = {"endpoint", "mch_id", "mch_billno", "re_openid",
					  "err_code", "since",	"until"};
#define N_FILTERS (sizeof(filter_flags) / sizeof(filter_flags[0]))

static void print_requests(json_t *j)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "requests"), i, e)
	{
		json_t *fields = json_object_get(e, "fields");
		printf("#%lld %s %-16s %-10s %-28s %-12s %s\n", num(e, "seq"), str(e, "at"),
		       str(e, "endpoint"), str(e, "mch_id"), str(e, "mch_billno"),
		       str(e, "err_code"),
		       json_is_object(fields) ? str(fields, "re_openid") : "(body not kept whole)");
		if (json_is_object(fields) && json_object_get(fields, "total_amount"))
			printf("    total_amount=%s total_num=%s\n", str(fields, "total_amount"),
			       str(fields, "total_num"));
	}
	printf("(%lld matching%s)\n", num(j, "count"),
	       json_is_true(json_object_get(j, "complete"))
		       ? ""
		       : "; the journal dropped requests, some may be missing");
}

static int cmd_requests(const struct options *o, int argc, char **argv)
{
	return list_command(o, argc, argv, "requests", "/admin/v1/requests", filter_flags,
			    filter_keys, N_FILTERS, "requests", print_requests);
}

/* The query of the filters given ("" when none), and the same for people
 * (" name=value..."). */
static int filters_query(const struct flags *f, struct buf *q, struct buf *shown)
{
	for (size_t i = 0; i < N_FILTERS; i++) {
		const char *v = flag(f, filter_flags[i]);
		if (!v)
			continue;
		if (!filter_value_ok(filter_flags[i], v)) {
			bad_value("verify", filter_flags[i], v);
			return -1;
		}
		buf_puts(q, q->len ? "&" : "?");
		buf_printf(q, "%s=", filter_keys[i]);
		query_escape(q, v);
		buf_printf(shown, " %s=%s", filter_keys[i], v);
	}
	return 0;
}

static int cmd_verify(const struct options *o, int argc, char **argv)
{
	const char *allowed[N_FILTERS + 2];
	struct flags f;
	struct buf q, url, shown;
	const char *want_text;
	long long want, got;
	int status = 0, rc = EXIT_NO;
	json_t *j = NULL, *list = NULL;

	for (size_t i = 0; i < N_FILTERS; i++)
		allowed[i] = filter_flags[i];
	allowed[N_FILTERS] = "count";
	allowed[N_FILTERS + 1] = NULL;
	if (parse_flags("verify", argc, argv, allowed, &f) != 0 || f.npos ||
	    !(want_text = flag(&f, "count")) || !*want_text ||
	    strspn(want_text, "0123456789") != strlen(want_text) || strlen(want_text) > 9)
		return usage_of("verify");
	want = atoll(want_text);
	buf_init(&q);
	buf_init(&url);
	buf_init(&shown);
	if (filters_query(&f, &q, &shown) != 0) {
		buf_release(&q);
		buf_release(&shown);
		return usage_of("verify");
	}
	buf_printf(&url, "/admin/v1/requests/count%s", q.data ? q.data : "");
	if (!(j = call(o, "GET", url.data, NULL, &status))) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (status != 200) {
		rc = answer_error(o, status, j);
		if (status == 409)
			fprintf(stderr, "redpack-ctl: cannot verify: at least %lld matching\n",
				num(j, "count_at_least"));
		goto out;
	}
	got = num(j, "count");
	if (got == want) {
		if (o->json)
			print_json(j);
		else
			printf("ok: %lld request(s) matching%s\n", got,
			       shown.len ? shown.data : " (no filter)");
		rc = 0;
		goto out;
	}
	/* The mismatch: what was expected and what was sent. */
	fprintf(stderr, "redpack-ctl: expected %lld request(s) matching%s, found %lld:\n", want,
		shown.len ? shown.data : " (no filter)", got);
	buf_reset(&url);
	buf_printf(&url, "/admin/v1/requests%s%slimit=20", q.data ? q.data : "", q.len ? "&" : "?");
	if ((list = call(o, "GET", url.data, NULL, &status)) && status == 200) {
		if (o->json)
			print_json(list);
		else
			print_requests(list);
	}
out:
	json_decref(j);
	json_decref(list);
	buf_release(&q);
	buf_release(&url);
	buf_release(&shown);
	return rc;
}

static void print_rule(json_t *r)
{
	const char *key;
	json_t *v;
	printf("#%lld %s", num(r, "id"),
	       json_is_string(json_object_get(r, "api")) ? str(r, "api") : "any endpoint");
	json_object_foreach(json_object_get(r, "match"), key, v)
		printf(" %s=%s", key, json_string_value(v));
	if (json_is_string(json_object_get(r, "err_code")))
		printf(" -> %s", str(r, "err_code"));
	if (strcmp(str(r, "transport"), "none") != 0)
		printf(" -> %s", str(r, "transport"));
	if (strcmp(str(r, "transport"), "delay") == 0)
		printf(" %lld-%lld ms", num(r, "delay_ms"), num(r, "delay_max_ms"));
	if (json_is_integer(json_object_get(r, "times")))
		printf(", %lld left", num(r, "times"));
	else
		printf(", until deleted");
	printf(", p=%.2f, %lld hit(s)\n", json_real_value(json_object_get(r, "probability")),
	       num(r, "hits"));
}

static void print_rules(json_t *j)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "faults"), i, r) print_rule(r);
	if (json_array_size(json_object_get(j, "faults")) == 0)
		printf("no fault rules\n");
}

static void print_deleted(json_t *j)
{
	(void)j;
	printf("deleted\n");
}

static int cmd_faults(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {"api",	     "err-code",     "transport",
					      "delay-ms",    "delay-max-ms", "times",
					      "probability", "match*",	     NULL};
	static const char *const ints[] = {"delay-ms", "delay-max-ms", "times"};
	struct flags f;
	json_t *body, *match;
	char *text;
	int rc;

	if (argc == 1 || argv[1][0] == '-')
		return list_command(o, argc, argv, "faults", "/admin/v1/faults", NULL, NULL, 0,
				    "faults", print_rules);
	if (strcmp(argv[1], "list") == 0)
		return list_command(o, argc - 1, argv + 1, "faults", "/admin/v1/faults", NULL, NULL,
				    0, "faults", print_rules);
	if (strcmp(argv[1], "delete") == 0) {
		char path[64];
		if (argc != 3 || (strcmp(argv[2], "all") != 0 &&
				  strspn(argv[2], "0123456789") != strlen(argv[2])))
			return usage_of("faults");
		snprintf(path, sizeof(path), "/admin/v1/faults%s%.12s",
			 strcmp(argv[2], "all") ? "/" : "", strcmp(argv[2], "all") ? argv[2] : "");
		return run_admin(o, "DELETE", path, NULL, print_deleted);
	}
	if (strcmp(argv[1], "add") != 0) {
		refuse("faults", "unknown subcommand '%s' (list, add, delete)", argv[1]);
		return EXIT_USAGE;
	}
	if (parse_flags("faults add", argc - 1, argv + 1, allowed, &f) != 0 || f.npos)
		return usage_of("faults");
	body = json_object();
	match = json_object();
	for (int i = 0; i < f.count; i++) {
		const char *n = f.names[i], *v = f.values[i];
		int is_int = 0;
		for (size_t k = 0; k < 3; k++)
			is_int |= strcmp(n, ints[k]) == 0;
		char key[32];
		snprintf(key, sizeof(key), "%s", n);
		for (char *p = key; *p; p++)
			*p = *p == '-' ? '_' : *p;
		if (is_int)
			json_object_set_new(body, key, json_integer(atoll(v)));
		else if (strcmp(n, "probability") == 0)
			json_object_set_new(body, key, json_real(atof(v)));
		else
			json_object_set_new(body, key, json_string(v));
	}
	for (int i = 0; i < f.nrepeat; i++) {
		const char *eq = strchr(f.repeat[i], '=');
		if (!eq) {
			json_decref(match);
			json_decref(body);
			return usage_of("faults");
		}
		char *name = strndup(f.repeat[i], (size_t)(eq - f.repeat[i]));
		json_object_set_new(match, name, json_string(eq + 1));
		free(name);
	}
	if (json_object_size(match))
		json_object_set_new(body, "match", match);
	else
		json_decref(match);
	text = json_dumps(body, JSON_COMPACT);
	rc = run_admin(o, "POST", "/admin/v1/faults", text, print_rule);
	free(text);
	json_decref(body);
	return rc;
}

/* Whether the UTF-8 text s (valid: jansson checks it) has a character
 * that is not white space in Python's sense (str.isspace), as the
 * fixtures check of scripts/gen-certs.sh asks of a merchant's name. */
static int has_non_space(const char *s)
{
	static const unsigned spaces[] = {0x85,	  0xa0,	  0x1680, 0x2028,
					  0x2029, 0x202f, 0x205f, 0x3000};
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		int space = 0;
		if (len > 1) {
			c &= 0x3f >> (len - 1);
			for (unsigned k = 1; k < len; k++)
				c = c << 6 | (p[k] & 0x3f);
		}
		space = (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
			(c >= 0x2000 && c <= 0x200a);
		for (size_t k = 0; k < sizeof(spaces) / sizeof(spaces[0]); k++)
			space |= c == spaces[k];
		if (!space)
			return 1;
		p += len;
	}
	return 0;
}

/* redpack-ctl fixtures [FILE]: the file's merchants after the checks
 * scripts/gen-certs.sh makes (mch_id 1 to 32 digits and unique, name
 * not blank, no control characters), "MCH_ID<TAB>NAME" a line; no
 * server. 2 when the file cannot be read, 1 when it is not right. */
static int cmd_fixtures(const struct options *o, int argc, char **argv)
{
	static const char *const allowed[] = {NULL};
	const char *path;
	struct flags f;
	json_error_t e;
	json_t *root, *list, *m;
	size_t i;
	FILE *in;
	int rc = 0;

	(void)o;
	if (parse_flags("fixtures", argc, argv, allowed, &f) != 0)
		return usage_of("fixtures");
	if (f.npos > 1) {
		refuse("fixtures", "unexpected argument '%s'", f.pos[1]);
		return EXIT_USAGE;
	}
	path = f.npos ? f.pos[0] : getenv("REDPACK_FIXTURES");
	if (!path || !*path)
		path = "fixtures/default.json";
	if (!(in = fopen(path, "rb"))) {
		fprintf(stderr, "redpack-ctl: cannot open %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	root = json_loadf(in, 0, &e);
	fclose(in);
	if (!root) {
		fprintf(stderr, "redpack-ctl: %s:%d:%d: invalid JSON: %s\n", path, e.line, e.column,
			e.text);
		return EXIT_NO;
	}
	list = json_object_get(root, "merchants");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		fprintf(stderr,
			"redpack-ctl: %s: expected {\"merchants\": [ ... ]} with at least one "
			"merchant\n",
			path);
		json_decref(root);
		return EXIT_NO;
	}
	json_array_foreach(list, i, m)
	{
		const char *id = json_string_value(json_object_get(m, "mch_id"));
		const char *name = json_string_value(json_object_get(m, "name"));
		size_t len = id ? strlen(id) : 0, k;
		json_t *before;

		if (!json_is_object(m)) {
			fprintf(stderr, "redpack-ctl: %s: merchants[%zu] is not an object\n", path,
				i);
			rc = EXIT_NO;
			break;
		}
		if (len == 0 || len > 32 || strspn(id, "0123456789") != len) {
			fprintf(stderr,
				"redpack-ctl: %s: merchants[%zu].mch_id must be a string of "
				"digits%s%s%s\n",
				path, i, id ? ", got '" : "", id ? id : "", id ? "'" : "");
			rc = EXIT_NO;
			break;
		}
		json_array_foreach(list, k, before)
		{
			if (k == i)
				break;
			if (strcmp(json_string_value(json_object_get(before, "mch_id")), id) == 0)
				break;
		}
		if (k < i) {
			fprintf(stderr, "redpack-ctl: %s: duplicate mch_id %s\n", path, id);
			rc = EXIT_NO;
			break;
		}
		for (k = 0; name && name[k]; k++)
			if ((unsigned char)name[k] < 0x20 || name[k] == 0x7f)
				break;
		if (!name || name[k] || !has_non_space(name)) {
			fprintf(stderr,
				"redpack-ctl: %s: merchants[%zu].name must be a non-empty string "
				"without control characters\n",
				path, i);
			rc = EXIT_NO;
			break;
		}
	}
	if (rc == 0)
		json_array_foreach(list, i, m)
			printf("%s\t%s\n", json_string_value(json_object_get(m, "mch_id")),
			       json_string_value(json_object_get(m, "name")));
	json_decref(root);
	return rc;
}

/* One option of redpack-ctl itself at argv[*k] (before or after the
 * command): applied to o and 1 (*k moved past its value), 0 when it is
 * not one, -1 having said what is wrong. "--name value" or
 * "--name=value". */
static int global_option(int argc, char **argv, int *k, struct options *o)
{
	static const char *const valued[] = {"--admin", "--admin-token", "--timeout"};
	const char *arg = argv[*k], *value = NULL;
	size_t n;

	if (strcmp(arg, "--json") == 0) {
		o->json = 1;
		return 1;
	}
	for (n = 0; n < 3; n++) {
		size_t len = strlen(valued[n]);
		if (strncmp(arg, valued[n], len) == 0 && (arg[len] == '\0' || arg[len] == '='))
			break;
	}
	if (n == 3)
		return 0;
	if (strchr(arg, '=')) {
		value = strchr(arg, '=') + 1;
	} else if (*k + 1 < argc) {
		value = argv[++*k];
	} else {
		fprintf(stderr, "redpack-ctl: option '%s' needs a value (see redpack-ctl --help)\n",
			arg);
		return -1;
	}
	if (n == 0) {
		o->admin = value;
	} else if (n == 1) {
		o->token = value;
	} else {
		char *end;
		long t = strtol(value, &end, 10);
		if (!*value || *end || t <= 0 || t > 86400) {
			fprintf(stderr,
				"redpack-ctl: --timeout needs a positive number of seconds, not "
				"'%s'\n",
				value);
			return -1;
		}
		o->timeout = (int)t;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct options o = {getenv("REDPACK_ADMIN"), getenv("REDPACK_ADMIN_TOKEN"), 0, 10};
	int i;

	if (!o.admin || !*o.admin)
		o.admin = "http://127.0.0.1:8444";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		int g;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("redpack-ctl %s\n", REDPACK_VERSION);
			return 0;
		}
		if ((g = global_option(argc, argv, &i, &o)) < 0)
			return EXIT_USAGE;
		if (g == 0) {
			fprintf(stderr,
				"redpack-ctl: unknown option '%s' (see redpack-ctl --help)\n", a);
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
			printf("usage: redpack-ctl %s\n\n%s\n", commands[c].usage,
			       commands[c].help);
			return 0;
		}
		/* redpack-ctl's own options may also follow the command. */
		int n = 0;
		char **rest = argv + i;
		for (int k = 0; k < argc - i; k++) {
			int g = k ? global_option(argc - i, rest, &k, &o) : 0;
			if (g < 0)
				return EXIT_USAGE;
			if (g == 0)
				rest[n++] = rest[k];
		}
		return commands[c].run(&o, n, rest);
	}
	fprintf(stderr, "redpack-ctl: unknown command '%s' (see redpack-ctl --help)\n", argv[i]);
	return EXIT_USAGE;
}
