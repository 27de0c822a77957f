package org.redpacksim.junit;

import java.util.Map;

/** A control call answered 4xx/5xx: its status and answer. */
public class ControlException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String method;
    private final String path;
    private final int status;
    private final transient Object doc;

    public ControlException(String method, String path, int status, Object doc) {
        super(method + " " + path + " answered " + status + ": "
            + (doc instanceof Map && ((Map<?, ?>) doc).containsKey("error") ? ((Map<?, ?>) doc).get("error") : doc));
        this.method = method;
        this.path = path;
        this.status = status;
        this.doc = doc;
    }

    public String method() {
        return method;
    }

    public String path() {
        return path;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** The parsed JSON answer (a Map), or its text when it is not JSON. */
    public Object doc() {
        return doc;
    }
}
