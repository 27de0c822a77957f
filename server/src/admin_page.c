/*
 * admin_page.c - the status page at GET /: plain HTML and CSS for a
 * person with a browser (no script): the simulated clock, the merchants
 * and their balances, the latest packets with their shares and openers,
 * a chart of how they were split, the fault rules with their hits and
 * the latest journal entries with the SIGN_ERROR diagnosis.
 *
 * Bounded: a fixed number of items of each kind, each read by key or
 * from the newest end (store_packets_each, journal_each), so the page
 * costs the same whatever the database or the journal holds. Every
 * string shown is HTML-escaped: most came from a client.
 */
#include "admin_handlers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "faults.h"
#include "store.h"

#define PAGE_MERCHANTS 20  /* the first merchants of the fixtures file */
#define PAGE_PACKETS 20	   /* the newest packets */
#define PAGE_CHARTED 12	   /* of which the chart draws the newest issued */
#define PAGE_RULES 50	   /* fault rules, in the order they apply */
#define PAGE_ENTRIES 20	   /* the newest journal entries */
#define PAGE_TEXT_MAX 2048 /* bytes of one client string (a string to sign) */

/* ---- text -------------------------------------------------------------- */

/* s, HTML-escaped, cut at max bytes on a character boundary ("…" then). */
static void put_cut(struct buf *o, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			buf_puts(o, "&amp;");
			break;
		case '<':
			buf_puts(o, "&lt;");
			break;
		case '>':
			buf_puts(o, "&gt;");
			break;
		case '"':
			buf_puts(o, "&quot;");
			break;
		case '\'':
			buf_puts(o, "&#39;");
			break;
		default:
			buf_append(o, &s[i], 1);
		}
	}
	if (n < strlen(s))
		buf_puts(o, "\xE2\x80\xA6");
}

static void put_text(struct buf *o, const char *s)
{
	put_cut(o, s, PAGE_TEXT_MAX);
}

/* s, or a dash for "". */
static void put_or_dash(struct buf *o, const char *s)
{
	if (s && *s)
		put_text(o, s);
	else
		buf_puts(o, "<span class=\"none\">\xE2\x80\x94</span>");
}

/* fen as yuan: 123456 -> 1,234.56 */
static void put_fen(struct buf *o, int64_t fen)
{
	uint64_t u = fen < 0 ? 0 - (uint64_t)fen : (uint64_t)fen;
	uint64_t yuan = u / 100;
	char digits[24];
	int n = 0;

	if (fen < 0)
		buf_puts(o, "-");
	do {
		digits[n++] = (char)('0' + yuan % 10);
		yuan /= 10;
	} while (yuan);
	while (n > 0) {
		buf_append(o, &digits[--n], 1);
		if (n > 0 && n % 3 == 0)
			buf_puts(o, ",");
	}
	buf_printf(o, ".%02u", (unsigned)(u % 100));
}

/* A business time, Beijing, or a dash for 0. */
static void put_time(struct buf *o, int64_t t)
{
	char iso[26];

	if (!t) {
		put_or_dash(o, "");
		return;
	}
	clock_format_iso8601(t, iso);
	buf_printf(o, "<time>%.10s %.8s</time>", iso, iso + 11);
}

/* The time of day alone (the whole time on hover), for a share's opening. */
static void put_clock_time(struct buf *o, int64_t t)
{
	char iso[26];

	clock_format_iso8601(t, iso);
	buf_printf(o, "<time title=\"%s\">%.8s</time>", iso, iso + 11);
}

/* ---- the frame --------------------------------------------------------- */

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>redpack-sim status</title>\n<style>\n"
	":root{--red:#c8102e;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}\n"
	"body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",\"Noto Sans\",\"Noto Sans CJK "
	"SC\","
	"sans-serif;color:var(--ink);margin:0;background:#fff}\n"
	"header{background:var(--red);color:#fff;padding:14px 24px;display:flex;flex-wrap:wrap;"
	"gap:8px 32px;align-items:baseline}\n"
	"header h1{font-size:20px;margin:0}header .clock{font-size:15px}\n"
	"main{padding:8px 24px 32px;max-width:1400px}\n"
	"section{margin-top:22px}h2{font-size:16px;margin:0 0 8px;border-bottom:2px solid "
	"var(--red);"
	"padding-bottom:3px}\n"
	"table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;"
	"border-bottom:1px solid var(--line);vertical-align:top}\n"
	"th{background:var(--bg);font-weight:600}td.num,th.num{text-align:right;"
	"font-variant-numeric:tabular-nums}\n"
	"code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:"
	"12px}\n"
	"pre{white-space:pre-wrap;word-break:break-all;background:var(--bg);padding:6px;margin:4px "
	"0;"
	"border:1px solid var(--line)}\n"
	".none{color:var(--muted)}.note{color:var(--muted);margin:4px 0}\n"
	".tag{display:inline-block;padding:0 6px;border-radius:8px;background:var(--bg);"
	"border:1px solid var(--line);font-size:12px}\n"
	".ok{background:#dafbe1;border-color:#4ac26b}.bad{background:#ffebe9;border-color:#ff8182}"
	"\n"
	".shares{margin:0;padding:0;list-style:none}time{white-space:nowrap}\n"
	".cause{font-weight:600;color:#9a1b1b}\n"
	".chart svg{max-width:100%;height:auto}.chart text{font:12px sans-serif}\n"
	".legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;"
	"margin:0 4px 0 12px}\n"
	"</style>\n</head>\n<body>\n";

static void put_clock(struct buf *o)
{
	char iso[26];
	int64_t now = clock_now();

	clock_format_iso8601(now, iso);
	buf_puts(o, "<header><h1>redpack-sim status</h1><div class=\"clock\" id=\"clock\">"
		    "Simulated clock: <strong>");
	put_text(o, iso);
	buf_printf(o, "</strong> (offset %lld s from real time)</div></header>\n<main>\n",
		   (long long)clock_offset());
}

/* ---- merchants --------------------------------------------------------- */

/* The merchants are the fixtures file's (the only place they come from);
 * each is read from the store by key. */
static void put_merchants(struct admin_ctx *ctx, struct buf *o)
{
	json_t *root = NULL, *list, *v;
	struct merchant *m = xmalloc(sizeof(*m));
	size_t i, shown = 0;

	buf_puts(o, "<section id=\"merchants\"><h2>Merchants</h2>\n");
	if (ctx->fixtures)
		root = json_load_file(ctx->fixtures, 0, NULL);
	list = json_object_get(root, "merchants");
	if (!json_is_array(list)) {
		buf_puts(o, "<p class=\"note\">The fixtures file cannot be read: no merchants to "
			    "list.</p>");
		goto out;
	}
	buf_puts(o, "<table><thead><tr><th>mch_id</th><th>name</th><th class=\"num\">balance (yuan)"
		    "</th><th>API</th><th>IP allow-list</th></tr></thead><tbody>\n");
	json_array_foreach(list, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "mch_id"));
		int rc;
		if (shown == PAGE_MERCHANTS)
			break;
		if (!id)
			continue;
		shown++;
		rc = store_merchant_lookup(ctx->redpack->store, id, m);
		buf_puts(o, "<tr><td class=\"mono\">");
		put_text(o, id);
		if (rc != 1) {
			buf_puts(o, rc == 0 ? "</td><td colspan=\"4\" class=\"none\">not in the "
					      "database</td>"
					      "</tr>\n"
					    : "</td><td colspan=\"4\" class=\"bad\">the database "
					      "could not be "
					      "read</td></tr>\n");
			continue;
		}
		buf_puts(o, "</td><td>");
		put_text(o, m->name);
		buf_printf(o, "</td><td class=\"num\" title=\"%lld fen\">", (long long)m->balance);
		put_fen(o, m->balance);
		buf_puts(o, m->api_closed
				    ? "</td><td><span class=\"tag bad\">closed</span></td><td>"
				    : "</td><td><span class=\"tag ok\">enabled</span></td><td>");
		put_or_dash(o, m->ip_allowlist);
		buf_puts(o, "</td></tr>\n");
	}
	buf_puts(o, "</tbody></table>\n");
	if (json_array_size(list) > shown)
		buf_printf(o, "<p class=\"note\">The first %zu of %zu merchants.</p>\n", shown,
			   json_array_size(list));
out:
	buf_puts(o, "</section>\n");
	json_decref(root);
	free(m);
}

/* ---- packets ----------------------------------------------------------- */

struct page_packet {
	struct packet_row row;
	struct share_row shares[REDPACK_MAX_SHARES];
	int n_shares;
};

struct packet_load {
	struct page_packet *list;
	int n;
};

static void on_packet(void *arg, const struct packet_row *row)
{
	struct packet_load *l = arg;
	if (l->n < PAGE_PACKETS)
		l->list[l->n++].row = *row;
}

static void on_share(void *arg, const struct share_row *s)
{
	struct page_packet *pp = arg;
	if (pp->n_shares < REDPACK_MAX_SHARES)
		pp->shares[pp->n_shares++] = *s;
}

/* The newest packets, then the shares of each: 0, or -1. */
static int load_packets(struct store *st, struct packet_load *l)
{
	if (store_packets_each(st, NULL, NULL, 0, PAGE_PACKETS, on_packet, l) != 0)
		return -1;
	for (int i = 0; i < l->n; i++)
		if (store_shares_each(st, l->list[i].row.id, on_share, &l->list[i]) != 0)
			return -1;
	return 0;
}

static const char *status_class(const char *status)
{
	if (!strcmp(status, "SENT") || !strcmp(status, "RECEIVED"))
		return "tag ok";
	if (!strcmp(status, "FAILED") || !strcmp(status, "REFUND") || !strcmp(status, "RFUND_ING"))
		return "tag bad";
	return "tag";
}

/* Each issued packet as one bar, its shares side by side in proportion
 * to their amounts: opened ones red, the rest grey. */
static void put_chart(struct buf *o, const struct packet_load *l)
{
	const int label_w = 310, bar_w = 700, row_h = 26;
	int rows = 0;

	for (int i = 0; i < l->n && rows < PAGE_CHARTED; i++)
		rows += l->list[i].n_shares > 0 && l->list[i].row.total_amount > 0;
	buf_puts(o,
		 "<section id=\"chart\" class=\"chart\"><h2>How recent packets were split</h2>\n");
	if (!rows) {
		buf_puts(o, "<p class=\"note\">No issued packet yet.</p></section>\n");
		return;
	}
	buf_printf(o,
		   "<p class=\"legend note\">One bar per issued packet (newest first), one "
		   "segment per share, its width its amount.<span style=\"background:#c8102e\">"
		   "</span>opened<span style=\"background:#c9d1d9\"></span>not opened</p>\n"
		   "<svg role=\"img\" aria-label=\"shares of recent packets\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
		   label_w + bar_w + 10, rows * row_h + 4, label_w + bar_w + 10, rows * row_h + 4);
	rows = 0;
	for (int i = 0; i < l->n && rows < PAGE_CHARTED; i++) {
		const struct page_packet *pp = &l->list[i];
		int64_t total = pp->row.total_amount, before = 0;
		int y = rows * row_h + 2;
		if (!pp->n_shares || total <= 0)
			continue;
		rows++;
		buf_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 8, y + 16);
		put_cut(o, pp->row.mch_billno, 40);
		buf_puts(o, " (");
		put_fen(o, total);
		buf_puts(o, ")</text>\n");
		for (int k = 0; k < pp->n_shares; k++) {
			const struct share_row *s = &pp->shares[k];
			int x0 = label_w + (int)(before * bar_w / total);
			int x1 = label_w + (int)((before + s->amount) * bar_w / total);
			before += s->amount;
			buf_printf(o,
				   "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
				   "stroke=\"#fff\"><title>share %d: ",
				   x0, y, x1 - x0 > 1 ? x1 - x0 : 1, row_h - 6,
				   s->openid[0] ? "#c8102e" : "#c9d1d9", s->seq);
			put_fen(o, s->amount);
			if (s->openid[0]) {
				buf_puts(o, " opened by ");
				put_text(o, s->openid);
			}
			buf_puts(o, "</title></rect>\n");
		}
	}
	buf_puts(o, "</svg></section>\n");
}

static void put_packets(struct buf *o, const struct packet_load *l)
{
	buf_printf(o,
		   "<section id=\"packets\"><h2>Latest packets</h2>\n<p class=\"note\">The %d "
		   "newest, with their shares and who opened them; amounts in yuan.</p>\n",
		   PAGE_PACKETS);
	if (!l->n) {
		buf_puts(o, "<p class=\"note\">No packet yet.</p></section>\n");
		return;
	}
	buf_puts(o,
		 "<table><thead><tr><th>mch_billno</th><th>mch_id</th><th>type</th><th>status</th>"
		 "<th class=\"num\">amount</th><th>receiver</th><th>created</th><th>shares "
		 "(opened by)</th></tr></thead><tbody>\n");
	for (int i = 0; i < l->n; i++) {
		const struct page_packet *pp = &l->list[i];
		const struct packet_row *r = &pp->row;
		buf_puts(o, "<tr><td class=\"mono\">");
		put_text(o, r->mch_billno);
		buf_puts(o, "</td><td class=\"mono\">");
		put_text(o, r->mch_id);
		buf_puts(o, "</td><td>");
		put_text(o, r->hb_type);
		buf_printf(o, "</td><td><span class=\"%s\">", status_class(r->status));
		put_text(o, r->status);
		buf_puts(o, "</span>");
		if (r->err_code[0]) {
			buf_puts(o, " <span class=\"tag bad\">");
			put_text(o, r->err_code);
			buf_puts(o, "</span>");
		}
		buf_puts(o, "</td><td class=\"num\">");
		put_fen(o, r->total_amount);
		buf_printf(o, " / %lld</td><td class=\"mono\">", (long long)r->total_num);
		put_text(o, r->re_openid);
		buf_puts(o, "</td><td>");
		put_time(o, r->created_at);
		buf_puts(o, "</td><td>");
		if (!pp->n_shares)
			put_or_dash(o, "");
		else
			buf_puts(o, "<ol class=\"shares\">");
		for (int k = 0; k < pp->n_shares; k++) {
			const struct share_row *s = &pp->shares[k];
			buf_printf(o, "<li>#%d ", s->seq);
			put_fen(o, s->amount);
			buf_puts(o, " \xE2\x80\x94 ");
			if (s->openid[0]) {
				buf_puts(o, "<span class=\"mono\">");
				put_text(o, s->openid);
				buf_puts(o, "</span> ");
				put_clock_time(o, s->rcv_time);
			} else {
				buf_puts(o, "<span class=\"none\">not opened</span>");
			}
			buf_puts(o, "</li>");
		}
		buf_puts(o, pp->n_shares ? "</ol></td></tr>\n" : "</td></tr>\n");
	}
	buf_puts(o, "</tbody></table></section>\n");
}

/* ---- fault rules ------------------------------------------------------- */

static void put_rules(struct admin_ctx *ctx, struct buf *o)
{
	size_t n;
	const struct fault_rule *all = faults_list(ctx->faults, &n);

	buf_puts(o, "<section id=\"faults\"><h2>Fault rules</h2>\n");
	if (!n) {
		buf_puts(o,
			 "<p class=\"note\">No fault rule: every request is answered by the rules "
			 "of the service (and the magic values).</p></section>\n");
		return;
	}
	buf_puts(o, "<table><thead><tr><th class=\"num\">id</th><th>api</th><th>match</th>"
		    "<th>err_code</th><th>transport</th><th class=\"num\">times left</th>"
		    "<th class=\"num\">probability</th><th "
		    "class=\"num\">hits</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n && i < PAGE_RULES; i++) {
		const struct fault_rule *r = &all[i];
		buf_printf(o, "<tr id=\"rule-%d\"><td class=\"num\">%d</td><td>", r->id, r->id);
		put_or_dash(o, r->api);
		buf_puts(o, "</td><td class=\"mono\">");
		if (!r->mch_id[0] && !r->re_openid[0] && !r->mch_billno[0])
			buf_puts(o, "any request");
		if (r->mch_id[0]) {
			buf_puts(o, "mch_id=");
			put_text(o, r->mch_id);
			buf_puts(o, " ");
		}
		if (r->re_openid[0]) {
			buf_puts(o, "re_openid=");
			put_text(o, r->re_openid);
			buf_puts(o, " ");
		}
		if (r->mch_billno[0]) {
			buf_puts(o, "mch_billno=");
			put_text(o, r->mch_billno);
		}
		buf_puts(o, "</td><td>");
		put_or_dash(o, r->err >= 0 ? errors_info((enum err_id)r->err)->code : "");
		buf_puts(o, "</td><td>");
		put_text(o, faults_transport_name(r->transport));
		if (r->delay_ms || r->delay_max_ms)
			buf_printf(o, " %d\xE2\x80\x93%d ms", r->delay_ms, r->delay_max_ms);
		if (r->times < 0)
			buf_puts(o, "</td><td class=\"num\">until deleted");
		else
			buf_printf(o, "</td><td class=\"num\">%d", r->times);
		buf_printf(o, "</td><td class=\"num\">%g</td><td class=\"num\">%ld</td></tr>\n",
			   r->probability, r->hits);
	}
	buf_puts(o, "</tbody></table>\n");
	if (n > PAGE_RULES)
		buf_printf(o,
			   "<p class=\"note\">The first %d of %zu rules (GET /admin/v1/faults "
			   "lists them all).</p>\n",
			   PAGE_RULES, n);
	buf_puts(o, "</section>\n");
}

/* ---- the journal ------------------------------------------------------- */

struct entry_walk {
	struct buf *o;
	int n;
};

static int on_entry(void *arg, const struct journal_entry *e)
{
	struct entry_walk *w = arg;
	struct buf *o = w->o;
	int bad = strcmp(e->err_code, "SUCCESS") != 0;

	if (w->n++ == PAGE_ENTRIES)
		return 1;
	buf_printf(o, "<tr id=\"entry-%llu\"><td class=\"num\">%llu</td><td>",
		   (unsigned long long)e->seq, (unsigned long long)e->seq);
	put_time(o, e->sim_at);
	buf_puts(o, "</td><td>");
	put_text(o, e->endpoint);
	buf_puts(o, "</td><td class=\"mono\">");
	put_or_dash(o, e->mch_id);
	buf_puts(o, "</td><td class=\"mono\">");
	put_or_dash(o, e->mch_billno);
	buf_printf(o, "</td><td><span class=\"tag %s\">", bad ? "bad" : "ok");
	put_text(o, e->err_code);
	buf_puts(o, "</span></td><td>");
	if (e->sign_string) {
		buf_puts(o, "<div class=\"cause\">Likely cause: ");
		put_text(o, e->sign_cause ? e->sign_cause : "");
		buf_puts(o, "</div><div class=\"note\">The string the server signed:</div><pre>");
		put_text(o, e->sign_string);
		buf_puts(o, "</pre>");
	} else {
		put_or_dash(o, "");
	}
	buf_puts(o, "</td></tr>\n");
	return 0;
}

static void put_journal(struct admin_ctx *ctx, struct buf *o)
{
	struct entry_walk w = {o, 0};

	buf_puts(o, "<section id=\"journal\"><h2>Latest requests</h2>\n");
	if (!ctx->journal) {
		buf_puts(
			o,
			"<p class=\"note\">The journal is off (--journal-size 0).</p></section>\n");
		return;
	}
	if (!journal_count(ctx->journal)) {
		buf_puts(o, "<p class=\"note\">No request since the journal was cleared.</p>"
			    "</section>\n");
		return;
	}
	buf_printf(o,
		   "<p class=\"note\">The %d newest of %zu kept, newest first; a SIGN_ERROR "
		   "shows what the server signed (the key as ***) and the likely cause.</p>\n"
		   "<table><thead><tr><th class=\"num\">seq</th><th>business time</th>"
		   "<th>endpoint</th><th>mch_id</th><th>mch_billno</th><th>err_code</th>"
		   "<th>diagnosis</th></tr></thead><tbody>\n",
		   PAGE_ENTRIES, journal_count(ctx->journal));
	journal_each(ctx->journal, on_entry, &w);
	buf_puts(o, "</tbody></table></section>\n");
}

/* ---- the page ---------------------------------------------------------- */

void admin_page(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	struct buf *o = &req->reply;
	struct packet_load l = {xcalloc(PAGE_PACKETS, sizeof(struct page_packet)), 0};

	(void)p;
	buf_puts(o, page_head);
	put_clock(o);
	put_merchants(ctx, o);
	if (load_packets(ctx->redpack->store, &l) != 0) {
		buf_puts(o, "<section id=\"packets\"><h2>Latest packets</h2><p class=\"bad\">The "
			    "database could not be read.</p></section>\n");
	} else {
		put_chart(o, &l);
		put_packets(o, &l);
	}
	put_rules(ctx, o);
	put_journal(ctx, o);
	buf_puts(o,
		 "<p class=\"note\">Reload for the latest. The same as JSON: "
		 "<a href=\"/admin/v1/openapi.json\">the control API</a>.</p>\n</main>\n</body>\n"
		 "</html>\n");
	free(l.list);
	req->status = 200;
	req->content_type = "text/html; charset=utf-8";
}
