package org.redpacksim.junit;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An answer of the merchant API: its fields, the HTTP status, the body, and the
 * fields that were sent.
 */
public final class Answer {
    private final String endpoint;
    private final int status;
    private final String body;
    private final Map<String, Object> fields;
    private final Map<String, String> request;

    Answer(String endpoint, int status, String body, Map<String, Object> fields, Map<String, String> request) {
        this.endpoint = endpoint;
        this.status = status;
        this.body = body;
        this.fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        this.request = Collections.unmodifiableMap(new LinkedHashMap<>(request));
    }

    /** The endpoint called. */
    public String endpoint() {
        return endpoint;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** The answer's body as received. */
    public String body() {
        return body;
    }

    /** The answer's fields (text, or a list of maps for gethbinfo's hblist). */
    public Map<String, Object> fields() {
        return fields;
    }

    /** One field of the answer as text, or null. */
    public String get(String name) {
        Object v = fields.get(name);
        return v == null ? null : v.toString();
    }

    /** The fields sent, sign included. */
    public Map<String, String> request() {
        return request;
    }

    /** True when return_code and result_code are both SUCCESS. */
    public boolean ok() {
        return "SUCCESS".equals(get("return_code")) && "SUCCESS".equals(get("result_code"));
    }

    @Override
    public String toString() {
        return endpoint + " HTTP " + status + " " + fields;
    }
}
