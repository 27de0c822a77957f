package org.redpacksim.junit;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.opentest4j.AssertionFailedError;

/**
 * The control API of one server (plain HTTP, JSON): claims, the clock, fault
 * rules, settling, merchants, reset and the verification API.
 *
 * <pre>
 * control.claim(billno, openid)            control.clock().get() / .advance(s) / .set(now)
 * control.faults().add(rule) / .list() / .clear()    control.settle(billno, "SENT")
 * control.merchant().get(id) / .update(id, changes)  control.reset()
 * control.requests(filters)  control.count(filters)  control.verify(count, filters)
 * </pre>
 * Every 4xx/5xx throws {@link ControlException}.
 */
public final class Control {
    /** The filters of the verification routes, in the order a failure message shows them. */
    public static final List<String> FILTERS =
        List.of("endpoint", "mch_id", "mch_billno", "re_openid", "err_code", "since", "until");

    private static final List<String> SHOWN_FIELDS =
        List.of("mch_billno", "re_openid", "total_amount", "total_num", "scene_id");

    private final String url;
    private final String token;
    private final HttpClient http;
    private final Clock clock = new Clock();
    private final Faults faults = new Faults();
    private final Merchant merchant = new Merchant();

    /** A client of the control API at url ({@code http://HOST:PORT}), with an optional bearer token. */
    public Control(String url, String token) {
        this.url = url;
        this.token = token;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    }

    public Control(String url) {
        this(url, null);
    }

    /** The control API's URL, {@code http://HOST:PORT}. */
    public String url() {
        return url;
    }

    // -- plumbing ---------------------------------------------------------------

    /** The status and answer (parsed JSON, or text) of one call, never throwing on a status. */
    public Result raw(String method, String path, Object body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30));
        if (body != null) {
            b.header("Content-Type", "application/json");
            b.method(method, HttpRequest.BodyPublishers.ofString(Json.write(body), StandardCharsets.UTF_8));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ServerException(method + " " + url + path + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServerException(method + " " + url + path + ": interrupted", e);
        }
        Object doc;
        try {
            doc = Json.parse(r.body());
        } catch (IllegalArgumentException e) {
            doc = r.body();
        }
        return new Result(r.statusCode(), doc);
    }

    /** The JSON answer of one call; ControlException on a 4xx/5xx. */
    public Object call(String method, String path, Object body) {
        Result r = raw(method, path, body);
        if (r.status >= 400) {
            throw new ControlException(method, path, r.status, r.doc);
        }
        return r.doc;
    }

    /** The JSON object answer of one call; ControlException on a 4xx/5xx. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> callObject(String method, String path, Object body) {
        Object doc = call(method, path, body);
        if (!(doc instanceof Map)) {
            throw new ControlException(method, path, 200, doc);
        }
        return (Map<String, Object>) doc;
    }

    /** A status and a parsed answer. */
    public static final class Result {
        public final int status;
        public final Object doc;

        Result(int status, Object doc) {
            this.status = status;
            this.doc = doc;
        }

        @SuppressWarnings("unchecked")
        public Map<String, Object> map() {
            return doc instanceof Map ? (Map<String, Object>) doc : Map.of();
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String query(Map<String, ?> params) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, ?> e : params.entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            b.append(b.length() == 0 ? '?' : '&').append(enc(e.getKey())).append('=').append(enc(String.valueOf(e.getValue())));
        }
        return b.toString();
    }

    private static Map<String, Object> params(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int k = 0; k < kv.length; k += 2) {
            m.put((String) kv[k], kv[k + 1]);
        }
        return m;
    }

    // -- state ------------------------------------------------------------------

    /** That user opens the packet's next share: the share, or ControlException 404/409. */
    public Map<String, Object> claim(String mchBillno, String openid) {
        return claim(mchBillno, openid, null);
    }

    public Map<String, Object> claim(String mchBillno, String openid, String mchId) {
        Map<String, Object> body = params("openid", openid);
        if (mchId != null) {
            body.put("mch_id", mchId);
        }
        return callObject("POST", "/admin/v1/packets/" + enc(mchBillno) + "/claims", body);
    }

    /** Settles an order answered PROCESSING: result SENT or FAILED. */
    public Map<String, Object> settle(String mchBillno, String result) {
        return settle(mchBillno, result, null);
    }

    public Map<String, Object> settle(String mchBillno, String result, String mchId) {
        Map<String, Object> body = params("result", result);
        if (mchId != null) {
            body.put("mch_id", mchId);
        }
        return callObject("POST", "/admin/v1/packets/" + enc(mchBillno) + "/settle", body);
    }

    /** One packet with its shares and ledger rows. */
    public Map<String, Object> packet(String mchBillno) {
        return callObject("GET", "/admin/v1/packets/" + enc(mchBillno), null);
    }

    /** Every invariant of the database; ControlException 409 with the violations. */
    public Map<String, Object> check() {
        return callObject("GET", "/admin/v1/check", null);
    }

    /** The business clock. */
    public Clock clock() {
        return clock;
    }

    /** The fault rules. */
    public Faults faults() {
        return faults;
    }

    /** The merchants' balance, limits and switches. */
    public Merchant merchant() {
        return merchant;
    }

    /**
     * Back to the fixtures, no fault rules, an empty request journal. The business
     * clock is kept (see {@link #reset(String, boolean, boolean, boolean)}).
     */
    public Map<String, Object> reset() {
        return reset(null, true, true, false);
    }

    /**
     * Back to the fixtures: one merchant (mchId) or all (null); journal also empties
     * the request journal, faults clears every fault rule, clock (everything only)
     * sets the business clock back to real time.
     */
    public Map<String, Object> reset(String mchId, boolean journal, boolean faults, boolean clock) {
        Map<String, Object> q = params("mch_id", mchId, "journal", journal ? "true" : null, "clock", clock ? "true" : null);
        Map<String, Object> doc = callObject("POST", "/admin/v1/reset" + query(q), null);
        if (faults) {
            this.faults.clear();
        }
        return doc;
    }

    // -- verification -----------------------------------------------------------

    /**
     * The requests merchant code sent that match every filter (endpoint, mch_id,
     * mch_billno, re_openid, err_code, since, until), newest first: maps with seq,
     * at, endpoint, mch_id, mch_billno, err_code, fields, request_cut.
     */
    public List<Map<String, Object>> requests(Map<String, String> filters) {
        return requests(filters, Integer.MAX_VALUE);
    }

    /** At most limit of the requests matching the filters, newest first. */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> requests(Map<String, String> filters, int limit) {
        List<Map<String, Object>> out = new ArrayList<>();
        Object cursor = null;
        while (out.size() < limit) {
            Map<String, Object> q = new LinkedHashMap<>(filters == null ? Map.of() : filters);
            q.put("limit", Math.min(1000, limit - out.size()));
            q.put("cursor", cursor);
            Map<String, Object> doc = callObject("GET", "/admin/v1/requests" + query(q), null);
            for (Object r : (List<Object>) doc.get("requests")) {
                out.add((Map<String, Object>) r);
            }
            cursor = doc.get("next");
            if (cursor == null) {
                break;
            }
        }
        return out;
    }

    /** How many requests match; ControlException 409 when the journal's bounds could make it wrong. */
    public int count(Map<String, String> filters) {
        Object n = callObject("GET", "/admin/v1/requests/count" + query(filters == null ? Map.of() : filters), null).get("count");
        return ((Number) n).intValue();
    }

    /** Empties the request journal (a test's clean start). */
    public Map<String, Object> clearRequests() {
        return callObject("DELETE", "/admin/v1/requests", null);
    }

    /**
     * Asserts that exactly count requests match the filters. Otherwise throws an
     * {@link AssertionFailedError} (expected and actual: the counts) whose message
     * shows what was expected and every request sent, newest first, those that
     * matched marked {@code *}.
     */
    public int verify(int count, Map<String, String> filters) {
        Map<String, String> f = filters == null ? Map.of() : filters;
        Result r = raw("GET", "/admin/v1/requests/count" + query(f), null);
        if (r.status == 409) {
            throw new AssertionFailedError(String.format(
                "redpack-sim verify: cannot count requests matching %s: the journal's bounds dropped %s request(s) "
                + "(at least %s match); raise --journal-size or clear the journal at the test's start",
                describeFilters(f), r.map().get("dropped"), r.map().get("count_at_least")));
        }
        if (r.status >= 400) {
            throw new ControlException("GET", "/admin/v1/requests/count", r.status, r.doc);
        }
        int got = ((Number) r.map().get("count")).intValue();
        if (got == count) {
            return got;
        }
        Set<Object> matching = new HashSet<>();
        for (Map<String, Object> m : requests(f, 1000)) {
            matching.add(m.get("seq"));
        }
        List<Map<String, Object>> sent = requests(Map.of(), 50);
        int total = sent.size() == 50 ? count(Map.of()) : sent.size();
        StringBuilder b = new StringBuilder(String.format("redpack-sim verify: expected %d request%s matching %s, but %d matched",
            count, count == 1 ? "" : "s", describeFilters(f), got));
        if (sent.isEmpty()) {
            b.append("\nRequests sent: none");
        } else {
            b.append("\nRequests sent (newest first")
                .append(total == sent.size() ? "" : ", " + sent.size() + " of " + total)
                .append("; * matched):");
            for (Map<String, Object> m : sent) {
                b.append("\n  ").append(matching.contains(m.get("seq")) ? "* " : "  ").append(formatRequest(m, f.keySet()));
            }
        }
        throw new AssertionFailedError(b.toString(), count, got);
    }

    /** The filters as {@code name=value} words, in the order of {@link #FILTERS}, then the others. */
    public static String describeFilters(Map<String, String> filters) {
        List<String> words = new ArrayList<>();
        for (String name : FILTERS) {
            if (filters.get(name) != null) {
                words.add(name + "=" + filters.get(name));
            }
        }
        filters.keySet().stream().filter(k -> !FILTERS.contains(k) && filters.get(k) != null).sorted()
            .forEach(k -> words.add(k + "=" + filters.get(k)));
        return words.isEmpty() ? "(no filter)" : String.join(" ", words);
    }

    /** One line for a journal request: seq, time, endpoint, key fields, answer. */
    @SuppressWarnings("unchecked")
    public static String formatRequest(Map<String, Object> r, Set<String> extra) {
        Map<String, Object> fields = r.get("fields") instanceof Map ? (Map<String, Object>) r.get("fields") : Map.of();
        List<String> parts = new ArrayList<>();
        parts.add("#" + r.get("seq"));
        parts.add(String.valueOf(r.get("at")));
        parts.add(String.valueOf(r.get("endpoint")));
        parts.add("mch_id=" + r.get("mch_id"));
        List<String> names = new ArrayList<>(SHOWN_FIELDS);
        extra.stream().filter(n -> !SHOWN_FIELDS.contains(n)).sorted().forEach(names::add);
        for (String name : names) {
            if (List.of("endpoint", "mch_id", "err_code", "since", "until").contains(name)) {
                continue;
            }
            Object v = fields.containsKey(name) ? fields.get(name) : r.get(name);
            if (v != null) {
                parts.add(name + "=" + v);
            }
        }
        parts.add("-> " + r.get("err_code"));
        if (Boolean.TRUE.equals(r.get("request_cut"))) {
            parts.add("(body cut)");
        }
        return String.join(" ", parts);
    }

    // -- parts ------------------------------------------------------------------

    /** The business clock (forwards only). */
    public final class Clock {
        /** {@code {"now": "...+08:00", "epoch": N, "offset_seconds": N}} */
        public Map<String, Object> get() {
            return callObject("GET", "/admin/v1/clock", null);
        }

        /** Moves the business clock forwards; due expiries and refunds run first. */
        public Map<String, Object> advance(long seconds) {
            return callObject("POST", "/admin/v1/clock", params("advance_seconds", seconds));
        }

        /** Sets the business clock to now (ISO 8601 with offset); backwards is a ControlException 409. */
        public Map<String, Object> set(String now) {
            return callObject("POST", "/admin/v1/clock", params("now", now));
        }
    }

    /** The fault rules. */
    public final class Faults {
        /**
         * Adds a rule as the control API takes it, e.g.
         * {@code Map.of("err_code", "NOTENOUGH", "times", 1, "match", Map.of("re_openid", "oUser1"))}.
         */
        public Map<String, Object> add(Map<String, ?> rule) {
            return callObject("POST", "/admin/v1/faults", rule);
        }

        /** Every fault rule with its hit count. */
        @SuppressWarnings("unchecked")
        public List<Map<String, Object>> list() {
            List<Map<String, Object>> out = new ArrayList<>();
            Object cursor = null;
            while (true) {
                Map<String, Object> doc = callObject("GET", "/admin/v1/faults" + query(params("limit", 1000, "cursor", cursor)), null);
                for (Object f : (List<Object>) doc.get("faults")) {
                    out.add((Map<String, Object>) f);
                }
                cursor = doc.get("next");
                if (cursor == null) {
                    return out;
                }
            }
        }

        public Object delete(long id) {
            return call("DELETE", "/admin/v1/faults/" + id, null);
        }

        public Object clear() {
            return call("DELETE", "/admin/v1/faults", null);
        }
    }

    /** A merchant's balance, limits and switches. */
    public final class Merchant {
        /** Balance, limits, api_enabled, ip_allowlist. */
        public Map<String, Object> get(String mchId) {
            return callObject("GET", "/admin/v1/merchants/" + enc(mchId), null);
        }

        /** Any of balance, topup, limits, api_enabled, ip_allowlist. */
        public Map<String, Object> update(String mchId, Map<String, ?> changes) {
            return callObject("PUT", "/admin/v1/merchants/" + enc(mchId), changes);
        }
    }
}
