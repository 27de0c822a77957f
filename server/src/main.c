/*
 * main.c - start-up, the event loop, orderly shutdown.
 */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "admin.h"
#include "api.h"
#include "clock.h"
#include "config.h"
#include "fixtures.h"
#include "faults.h"
#include "handoff.h"
#include "http.h"
#include "journal.h"
#include "lifecycle.h"
#include "log.h"
#include "redpack.h"
#include "sqlite_mem.h"
#include "store.h"
#include "tls.h"
#include "util.h"
#include "xmlcodec.h"

/* The store's thread, as it ends (handoff_start): the last batch
 * committed and handed over, then its own buffers. */
static void on_store_thread_end(void *http)
{
	http_flush(http);
	log_thread_release();
	xmlcodec_thread_release();
	sqlite_mem_thread_release();
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
	struct log_event e;
	(void)events;
	log_begin(&e, LOG_INFO, "server.stop");
	log_str(&e, "signal", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "other");
	log_end(&e);
	event_base_loopexit(arg, NULL);
}

/* Idle clients cost one descriptor each: take all the kernel allows, then
 * fit the connection caps under it, so a flood of connections meets a cap
 * (refused, served later) and never a failing open() of the database.
 * Returns -1 when the limit is too small to serve at all. */
static int plan_descriptors(struct config *cfg)
{
	struct rlimit rl;
	char why[256];
	int64_t nofile;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	nofile = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT32_MAX ? INT32_MAX
									 : (int64_t)rl.rlim_cur;
	switch (config_fit_descriptors(nofile, HTTP_LINGER_MAX + HTTP_REFUSE_MAX,
				       &cfg->max_connections, &cfg->admin_max_connections, why,
				       sizeof(why))) {
	case -1:
		log_error("descriptors: %s", why);
		return -1;
	case 1:
		log_warn("descriptors: %s", why);
		break;
	default:
		break;
	}
	log_info("descriptors: limit %lld; up to %lld API and %lld control connections",
		 (long long)nofile, (long long)cfg->max_connections,
		 (long long)cfg->admin_max_connections);
	return 0;
}

static uint64_t pick_seed(const char *text, int *ok)
{
	int64_t v;
	uint64_t seed = 0;

	*ok = 1;
	if (text[0]) {
		if (parse_digits(text, &v) != 0) {
			*ok = 0;
			return 0;
		}
		return (uint64_t)v;
	}
	if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
		seed = (uint64_t)clock_now();
	return seed & 0x7FFFFFFFFFFFFFFFULL; /* printable back as --seed */
}

/* Creates the parent directory of a database path if it is missing, so
 * the default var/redpack.db works in a fresh checkout. */
static void ensure_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path || strncmp(path, "file:", 5) == 0 || store_is_postgresql(path))
		return;
	char *dir = xstrndup(path, (size_t)(slash - path));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", dir, strerror(errno));
	free(dir);
}

/* epoll with libevent's changelist: a connection that stops reading while
 * its answer waits for the commit and starts again once it is written
 * changes its interest several times a turn; the changelist sends epoll
 * only the net change (strace: epoll_ctl calls per answer 4 -> 2). The
 * flag is safe because no descriptor of ours is ever dup()ed. */
static struct event_base *new_event_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b;

	if (!ec)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512];
	struct store *store = NULL;
	SSL_CTX *ssl_ctx = NULL;
	struct event_base *base = NULL;
	struct handoff *handoff = NULL; /* the store's side: its loop, its thread */
	struct event *ev_int = NULL, *ev_term = NULL;
	struct lifecycle_sweeper *sweeper = NULL; /* expiry and refunds, in slices */
	struct http_server *http = NULL;
	struct redpack rp = {0};
	struct api_ctx api = {0};
	struct admin_ctx admin = {0};
	int status = 1, seed_ok;

	switch (config_load(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_EXIT_OK:
		config_release(&cfg);
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "redpack-sim: %s\n", err);
		config_release(&cfg);
		return 2;
	case CONFIG_OK:
		break;
	}
	log_set_format(strcmp(cfg.log_format, "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
	log_set_level((enum log_level)log_level_find(cfg.log_level)); /* one of the choices */
	signal(SIGPIPE, SIG_IGN);
	xmlcodec_global_init();
	if (plan_descriptors(&cfg) != 0)
		goto out;

	rp.seed = pick_seed(cfg.seed, &seed_ok);
	if (!seed_ok) {
		fprintf(stderr, "redpack-sim: --seed must be a decimal integer, not \"%s\"\n",
			cfg.seed);
		status = 2;
		goto out;
	}
	if (http_is_loopback(cfg.admin_listen) == 0 && cfg.admin_token[0] == '\0') {
		fprintf(stderr,
			"redpack-sim: --admin-listen %s is not a loopback address; the control API "
			"can reset and rewrite everything, so set --admin-token to expose it\n",
			cfg.admin_listen);
		status = 2;
		goto out;
	}
	ensure_parent(cfg.db);
	store = store_open(cfg.db, err, sizeof(err));
	if (!store) {
		log_error("database: %s", err);
		goto out;
	}
	if (store_set_max_pages(store, cfg.db_max_pages) != 0) {
		log_error("database: cannot apply --db-max-pages");
		goto out;
	}
	if (store_set_durability(store, strcmp(cfg.durability, "full") == 0) != 0) {
		log_error("database: cannot apply --durability %s", cfg.durability);
		goto out;
	}
	char db_shown[1024]; /* cfg.db without a password, for the log */
	redact_password(cfg.db, db_shown, sizeof(db_shown));
	switch (fixtures_load(store, cfg.fixtures, clock_now(), 0, err, sizeof(err))) {
	case -1:
		log_error("fixtures: %s", err);
		goto out;
	case 1:
		log_info("fixtures: %s loaded into %s", cfg.fixtures, db_shown);
		break;
	default:
		log_info("fixtures: %s already holds a world; fixtures %s checked, not reloaded",
			 db_shown, cfg.fixtures);
	}
	rp.store = store;
	rp.refund_delay = cfg.refund_delay;
	if (lifecycle_load_clock(&rp) != 0) {
		log_error("database %s: cannot use its business clock (see above)", db_shown);
		goto out;
	}
	/* Whatever fell due while the server was down, before any request. */
	lifecycle_sweep(&rp, clock_now());
	ssl_ctx = tls_server_ctx_new(cfg.tls_cert, cfg.tls_key, cfg.client_ca,
				     strcmp(cfg.client_auth, "handshake") == 0
					     ? CLIENT_AUTH_HANDSHAKE
					     : CLIENT_AUTH_HTTP,
				     err, sizeof(err));
	if (!ssl_ctx) {
		log_error("tls: %s", err);
		goto out;
	}
	base = new_event_base();
	if (!base) {
		log_error("event_base_new failed");
		goto out;
	}
	/* PostgreSQL's calls wait on the network: its store gets a thread and
	 * a loop of its own, and this one keeps serving TLS meanwhile. SQLite's
	 * does with --store-thread on (a second core at work, for a cost in
	 * wakes between the threads). */
	handoff = handoff_new(base,
			      store_is_postgresql(cfg.db) || strcmp(cfg.store_thread, "on") == 0,
			      err, sizeof(err));
	if (!handoff) {
		log_error("%s", err);
		goto out;
	}
	api.redpack = &rp;
	api.journal = cfg.journal_size
			      ? journal_new((size_t)cfg.journal_size, (size_t)cfg.journal_bytes)
			      : NULL;
	api_journal_attach(&api);
	api.sign_received = strcmp(cfg.sign_fields, "received") == 0;
	struct http_config hc = {
		.api_listen = cfg.listen,
		.admin_listen = cfg.admin_listen,
		.admin_token = cfg.admin_token,
		.max_body = (size_t)cfg.max_body,
		.max_headers = (size_t)cfg.max_headers,
		.timeout = (int)cfg.timeout,
		.request_timeout = (int)cfg.request_timeout,
		.max_connections = (int)cfg.max_connections,
		.admin_max_connections = (int)cfg.admin_max_connections,
	};
	admin.redpack = &rp;
	admin.fixtures = cfg.fixtures;
	admin.journal = api.journal;
	api.faults = faults_new(rp.seed);
	admin.faults = api.faults;
	http = http_start(handoff, ssl_ctx, &api, &admin, &hc, err, sizeof(err));
	if (!http) {
		log_error("listen: %s", err);
		goto out;
	}
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(ev_int, NULL);
	event_add(ev_term, NULL);
	sweeper = lifecycle_sweeper_new(handoff_base(handoff, HANDOFF_STORE), &rp);
	if (!sweeper) {
		log_error("lifecycle: cannot start the sweeper");
		goto out;
	}
	if (admin_background_start(&admin, handoff_base(handoff, HANDOFF_STORE)) != 0)
		log_warn("control API: the check and a merchant's reset will hold the event loop");
	/* From here the store's base is its thread's (when it has one). */
	if (handoff_start(handoff, on_store_thread_end, http) != 0)
		goto out;
	http_set_ready(http);
	struct log_event e;
	log_begin(&e, LOG_INFO, "server.start");
	log_str(&e, "version", config_version());
	log_str(&e, "api", http_api_url(http));
	log_str(&e, "admin", http_admin_url(http));
	log_str(&e, "db", db_shown);
	log_str(&e, "fixtures", cfg.fixtures);
	log_str(&e, "client_auth", cfg.client_auth);
	log_int(&e, "seed", (long long)rp.seed); /* pass --seed N to repeat these splits */
	log_end(&e);
	printf("listening api=%s admin=%s\n", http_api_url(http), http_admin_url(http));
	fflush(stdout);
	event_base_dispatch(base);
	status = 0;
out:
	if (ev_int)
		event_free(ev_int);
	if (ev_term)
		event_free(ev_term);
	handoff_stop(handoff); /* one thread from here on */
	lifecycle_sweeper_free(sweeper);
	admin_background_stop(&admin); /* before the transport its requests are on */
	http_stop(http);
	if (base) {
		/* Run the deferred frees of the closed connections while their
		 * events can still be freed on a live base. */
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	handoff_free(handoff);
	if (base)
		event_base_free(base);
	SSL_CTX_free(ssl_ctx);
	store_close(store);
	sqlite_mem_thread_release();
	journal_free(api.journal);
	faults_free(api.faults);
	xmlcodec_global_release();
	config_release(&cfg);
	return status;
}
