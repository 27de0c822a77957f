package org.redpacksim.junit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * A JUnit 5 extension that runs redpack-sim for a test class.
 *
 * <pre>
 * &#64;RegisterExtension
 * static RedpackSimExtension redpackSim = new RedpackSimExtension();            // or .withArgs("--journal-size=10000")
 *
 * &#64;Test void sends() {
 *     Answer a = redpackSim.sendgroupredpack(Map.of("re_openid", "oUser1", "total_amount", "1000"));
 *     redpackSim.verifyRequests(1, Map.of("endpoint", "sendgroupredpack", "re_openid", "oUser1"));
 * }
 * </pre>
 *
 * A static field: one server for the class, started before its first test and
 * stopped after its last; an instance field: a server per test. Before each test
 * the server is reset (back to the fixtures, no fault rules, an empty journal;
 * the business clock is kept) unless {@link #withoutReset()}. When a test fails,
 * the server's log of that test is printed to stderr. Test methods may take a
 * {@link RedpackSimServer} or a {@link Control} parameter.
 */
public class RedpackSimExtension implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(RedpackSimExtension.class);

    private final List<String> args = new ArrayList<>();
    private boolean reset = true;
    private boolean configured;
    private RedpackSimServer server;

    /** The extension with the server's default settings. */
    public RedpackSimExtension() {
    }

    /** Adds extra server settings, e.g. {@code "--journal-size=10000"}. */
    public RedpackSimExtension withArgs(String... more) {
        args.addAll(List.of(more));
        configured = true;
        return this;
    }

    /** Keeps state between tests (no reset before each). */
    public RedpackSimExtension withoutReset() {
        reset = false;
        configured = true;
        return this;
    }

    // -- JUnit ---------------------------------------------------------------------

    /** The server's holder in a context's store: stopped when that context closes. */
    private static final class Holder implements ExtensionContext.Store.CloseableResource {
        final RedpackSimServer server;

        Holder(RedpackSimServer server) {
            this.server = server;
        }

        @Override
        public void close() {
            server.stop(true);
        }
    }

    private void configureFrom(ExtensionContext context) {
        if (configured) {
            return;
        }
        configured = true;
        context.getTestClass().flatMap(c -> AnnotationSupport.findAnnotation(c, RedpackSim.class)).ifPresent(a -> {
            args.addAll(List.of(a.args()));
            reset = a.reset();
        });
    }

    private RedpackSimServer startIn(ExtensionContext context) {
        configureFrom(context);
        RedpackSimServer s = new RedpackSimServer(args).start();
        context.getStore(NS).put(key(), new Holder(s));
        return s;
    }

    private String key() {
        return "server@" + System.identityHashCode(this);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        server = startIn(context);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Holder h = context.getStore(NS).get(key(), Holder.class);
        if (h == null || !h.server.running()) {
            server = startIn(context);  // an instance field: a server for this test
        } else {
            server = h.server;
        }
        if (reset) {
            server.reset();
        }
        context.getStore(NS).put(key() + ".mark", server.logMark());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getExecutionException().isPresent() && server != null) {
            Integer mark = context.getStore(NS).get(key() + ".mark", Integer.class);
            String log = server.log(mark == null ? 0 : mark);
            System.err.println("---- redpack-sim log of " + context.getDisplayName() + " ----\n"
                + (log.isEmpty() ? "(empty)\n" : log) + "---- end of redpack-sim log ----");
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext context) {
        Class<?> t = p.getParameter().getType();
        return t == RedpackSimServer.class || t == Control.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext context) {
        RedpackSimServer s = server();
        return p.getParameter().getType() == Control.class ? s.control() : s;
    }

    // -- what a test uses -------------------------------------------------------------

    /** The running server. */
    public RedpackSimServer server() {
        if (server == null) {
            throw new IllegalStateException("redpack-sim is not started (is the extension registered with @RegisterExtension?)");
        }
        return server;
    }

    /** {@code https://127.0.0.1:PORT/}: the base URL merchant code is configured with. */
    public String baseUrl() {
        return server().baseUrl();
    }

    /** {@code http://127.0.0.1:PORT}: the control API. */
    public String adminUrl() {
        return server().adminUrl();
    }

    /** The CA of the server certificate (PEM). */
    public Path ca() {
        return server().ca();
    }

    /** The merchant's apiclient_cert.p12 (password: the mch_id). */
    public Path p12(String mchId) {
        return server().p12(mchId);
    }

    /** The merchant's apiclient_cert.pem. */
    public Path cert(String mchId) {
        return server().cert(mchId);
    }

    /** The merchant's apiclient_key.pem. */
    public Path key(String mchId) {
        return server().key(mchId);
    }

    /** The merchant's API v2 key. */
    public String apiKey(String mchId) {
        return server().apiKey(mchId);
    }

    /** The control API client. */
    public Control control() {
        return server().control();
    }

    /** A signed send of the endpoint for the merchant (null: the first of the fixtures). */
    public Answer send(String endpoint, String mchId, Map<String, String> fields) {
        return server().send(endpoint, mchId, fields);
    }

    /** A signed sendgroupredpack (3.00 yuan in 3 shares to a fresh openid unless fields say otherwise). */
    public Answer sendgroupredpack(Map<String, String> fields) {
        return server().sendgroupredpack(fields);
    }

    /** A signed sendredpack (1.00 yuan to a fresh openid unless fields say otherwise). */
    public Answer sendredpack(Map<String, String> fields) {
        return server().sendredpack(fields);
    }

    /** A signed gethbinfo of the packet. */
    public Answer gethbinfo(String mchBillno) {
        return server().gethbinfo(mchBillno);
    }

    /**
     * Asserts that exactly count requests match the filters (endpoint, mch_id,
     * mch_billno, re_openid, err_code, since, until); otherwise an
     * AssertionFailedError showing what was expected and every request sent.
     */
    public void verifyRequests(int count, Map<String, String> filters) {
        control().verify(count, filters);
    }

    /** The requests sent that match the filters, newest first. */
    public List<Map<String, Object>> requests(Map<String, String> filters) {
        return control().requests(filters);
    }
}
