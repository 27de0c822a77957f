package org.redpacksim.junit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One redpack-sim on 127.0.0.1, port 0, with a temporary database: finding the
 * binary, the fixtures and scripts/gen-certs.sh, making the certificates,
 * starting, waiting for /healthz, stopping.
 *
 * <pre>
 * RedpackSimServer srv = new RedpackSimServer(List.of("--journal-size=10000")).start();
 * srv.baseUrl(), srv.ca(), srv.p12("10000098"), srv.apiKey("10000098"), srv.control(),
 * srv.send("sendgroupredpack", "10000098", Map.of("re_openid", "oUser1")), srv.log(), srv.stop()
 * </pre>
 */
public final class RedpackSimServer implements AutoCloseable {
    public static final String HOST = "127.0.0.1";
    static final Duration START_TIMEOUT = Duration.ofSeconds(15);
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
    private static final Pattern LISTEN_RE =
        Pattern.compile("listening api=https://([^ ]+):(\\d+) admin=http://([^ ]+):(\\d+)\\s*");
    private static final String IMAGE_HOME = "/opt/redpack-sim";
    private static final Set<RedpackSimServer> LIVE = ConcurrentHashMap.newKeySet();
    private static Path sharedCerts;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (RedpackSimServer s : List.copyOf(LIVE)) {
                s.stop(false);
            }
        }, "redpack-sim-reaper"));
    }

    private final Path binary;
    private final Path fixturesPath;
    private final Path certsDir;
    private final List<String> args;
    private final Map<String, Map<String, Object>> merchants = new LinkedHashMap<>();
    private final String defaultMchId;
    private final Map<String, HttpClient> clients = new ConcurrentHashMap<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private Process proc;
    private Path tmp;
    private List<String> cmd;
    private int apiPort;
    private int adminPort;
    private Control control;
    private Integer returncode;
    private final List<Thread> threads = new ArrayList<>();

    /** A server found and set up as the extension does: binary, fixtures and certificates from the environment. */
    public RedpackSimServer(List<String> args) {
        this(findBinary(null), null, null, args);
    }

    /**
     * A server of that binary (null: $REDPACK_SIM or PATH), fixtures file (null:
     * $REDPACK_FIXTURES or the source tree's fixtures/default.json) and certificate
     * directory (null: $REDPACK_CERTS, else made once per JVM with scripts/gen-certs.sh).
     */
    @SuppressWarnings("unchecked")
    public RedpackSimServer(Path binary, Path fixtures, Path certs, List<String> args) {
        this.binary = binary == null ? findBinary(null) : binary;
        Path tree = findSourceTree(this.binary);
        this.fixturesPath = fixtures == null ? findFixtures(null, tree) : fixtures;
        this.args = List.copyOf(args == null ? List.of() : args);
        String text;
        try {
            text = Files.readString(fixturesPath, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ServerException("cannot read the fixtures " + fixturesPath + ": " + e, e);
        }
        Map<String, Object> doc = (Map<String, Object>) Json.parse(text);
        for (Object m : (List<Object>) doc.get("merchants")) {
            Map<String, Object> mm = (Map<String, Object>) m;
            merchants.put(String.valueOf(mm.get("mch_id")), mm);
        }
        this.defaultMchId = merchants.keySet().iterator().next();
        this.certsDir = certs != null ? certs : sharedCerts(fixturesPath, tree);
    }

    // -- finding things ---------------------------------------------------------

    /** The server binary: path, else $REDPACK_SIM, else redpack-sim on PATH. */
    public static Path findBinary(String path) {
        if (path == null || path.isEmpty()) {
            path = System.getenv("REDPACK_SIM");
        }
        if (path != null && !path.isEmpty()) {
            Path found = path.contains("/") ? Paths.get(path) : which(path);
            if (found == null || !Files.isRegularFile(found) || !Files.isExecutable(found)) {
                throw new ServerException("redpack-sim binary not found or not executable: " + path);
            }
            return found.toAbsolutePath();
        }
        Path found = which("redpack-sim");
        if (found == null) {
            throw new ServerException("redpack-sim not found: set REDPACK_SIM to the binary or put it on PATH");
        }
        return found.toAbsolutePath();
    }

    private static Path which(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(":")) {
            Path p = Paths.get(dir.isEmpty() ? "." : dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * The source tree the binary was built from, or null: the CMAKE_HOME_DIRECTORY of
     * a CMakeCache.txt beside it, else the first of its parent directories (4 up)
     * holding scripts/gen-certs.sh, else the container image's /opt/redpack-sim.
     */
    public static Path findSourceTree(Path binary) {
        Path bindir;
        try {
            bindir = binary.toRealPath().getParent();
        } catch (IOException e) {
            bindir = binary.toAbsolutePath().getParent();
        }
        List<Path> candidates = new ArrayList<>();
        try (Stream<String> lines = Files.lines(bindir.resolve("CMakeCache.txt"), StandardCharsets.UTF_8)) {
            lines.filter(l -> l.startsWith("CMAKE_HOME_DIRECTORY:"))
                .forEach(l -> candidates.add(Paths.get(l.substring(l.indexOf('=') + 1).trim())));
        } catch (IOException | RuntimeException e) {
            // no cache: the parents
        }
        Path d = bindir;
        for (int k = 0; k < 4 && d != null; k++) {
            candidates.add(d);
            d = d.getParent();
        }
        candidates.add(Paths.get(IMAGE_HOME));
        for (Path c : candidates) {
            if (Files.isRegularFile(c.resolve("scripts/gen-certs.sh"))) {
                return c;
            }
        }
        return null;
    }

    /** The fixtures file: path, else $REDPACK_FIXTURES, else fixtures/default.json of the source tree. */
    public static Path findFixtures(String path, Path sourceTree) {
        if (path == null || path.isEmpty()) {
            path = System.getenv("REDPACK_FIXTURES");
        }
        if (path != null && !path.isEmpty()) {
            if (!Files.isRegularFile(Paths.get(path))) {
                throw new ServerException("fixtures file not found: " + path);
            }
            return Paths.get(path).toAbsolutePath();
        }
        if (sourceTree != null && Files.isRegularFile(sourceTree.resolve("fixtures/default.json"))) {
            return sourceTree.resolve("fixtures/default.json");
        }
        throw new ServerException("no fixtures file: set REDPACK_FIXTURES (the server's default, "
            + "fixtures/default.json, is in its source tree)");
    }

    private static synchronized Path sharedCerts(Path fixtures, Path tree) {
        String env = System.getenv("REDPACK_CERTS");
        if (env != null && !env.isEmpty()) {
            return Paths.get(env).toAbsolutePath();
        }
        if (sharedCerts == null) {
            if (tree == null) {
                throw new ServerException("cannot make certificates: no redpack-sim source tree with scripts/gen-certs.sh "
                    + "beside the binary; set REDPACK_CERTS to a directory that scripts/gen-certs.sh made");
            }
            try {
                Path dir = Files.createTempDirectory("redpack-sim-certs-");
                makeCerts(dir, fixtures, tree.resolve("scripts/gen-certs.sh"));
                sharedCerts = dir;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            } catch (IOException e) {
                throw new ServerException("cannot make certificates: " + e, e);
            }
        }
        return sharedCerts;
    }

    /**
     * Makes the certificates in dest with the project's scripts/gen-certs.sh: ca.pem,
     * server.pem, server.key and, per merchant of the fixtures,
     * {@code <mch_id>/apiclient_cert.pem}, {@code apiclient_key.pem}, {@code apiclient_cert.p12}
     * (password: the mch_id).
     */
    public static Path makeCerts(Path dest, Path fixtures, Path genCerts) {
        try {
            Process p = new ProcessBuilder("bash", genCerts.toString(), dest.toString(), fixtures.toString())
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int rc = p.waitFor();
            if (rc != 0) {
                throw new ServerException(genCerts + " failed (exit " + rc + "):\n" + out);
            }
            return dest;
        } catch (IOException e) {
            throw new ServerException("cannot run " + genCerts + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServerException("interrupted making certificates", e);
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // best effort
        }
    }

    // -- paths and fixture data -------------------------------------------------

    /** The server binary. */
    public Path binary() {
        return binary;
    }

    /** The fixtures file. */
    public Path fixtures() {
        return fixturesPath;
    }

    /** The certificate directory. */
    public Path certs() {
        return certsDir;
    }

    /** The CA that signed the server certificate (and the merchant certificates), PEM. */
    public Path ca() {
        return certsDir.resolve("ca.pem");
    }

    /** The mch_ids of the fixtures, in order; the first is the default. */
    public List<String> merchants() {
        return List.copyOf(merchants.keySet());
    }

    /** The first merchant of the fixtures, the default of every call without an mch_id. */
    public String defaultMchId() {
        return defaultMchId;
    }

    private Map<String, Object> merchantEntry(String mchId) {
        String id = mchId == null ? defaultMchId : mchId;
        Map<String, Object> m = merchants.get(id);
        if (m == null) {
            throw new IllegalArgumentException("no merchant " + id + " in " + fixturesPath + " (merchants: " + merchants.keySet() + ")");
        }
        return m;
    }

    /** The merchant's entry in the fixtures (mch_id, name, api_key, apps, ...). */
    public Map<String, Object> merchant(String mchId) {
        return Collections.unmodifiableMap(merchantEntry(mchId));
    }

    /** The merchant's apiclient_cert.pem. */
    public Path cert(String mchId) {
        return certsDir.resolve(String.valueOf(merchantEntry(mchId).get("mch_id"))).resolve("apiclient_cert.pem");
    }

    /** The merchant's apiclient_key.pem. */
    public Path key(String mchId) {
        return certsDir.resolve(String.valueOf(merchantEntry(mchId).get("mch_id"))).resolve("apiclient_key.pem");
    }

    /** The merchant's apiclient_cert.p12 (password: the mch_id). */
    public Path p12(String mchId) {
        return certsDir.resolve(String.valueOf(merchantEntry(mchId).get("mch_id"))).resolve("apiclient_cert.p12");
    }

    /** The merchant's API v2 key, from the fixtures. */
    public String apiKey(String mchId) {
        return String.valueOf(merchantEntry(mchId).get("api_key"));
    }

    /** {@code https://127.0.0.1:PORT/}: what SDKs take (trailing slash, no prefix). */
    public String baseUrl() {
        return apiUrl() + "/";
    }

    /** {@code https://127.0.0.1:PORT} */
    public String apiUrl() {
        requireStarted();
        return "https://" + HOST + ":" + apiPort;
    }

    /** {@code http://127.0.0.1:PORT}, the control API. */
    public String adminUrl() {
        requireStarted();
        return "http://" + HOST + ":" + adminPort;
    }

    public int apiPort() {
        requireStarted();
        return apiPort;
    }

    public int adminPort() {
        requireStarted();
        return adminPort;
    }

    /** The control API client. */
    public Control control() {
        requireStarted();
        return control;
    }

    private void requireStarted() {
        if (control == null) {
            throw new IllegalStateException("redpack-sim is not started");
        }
    }

    // -- the merchant API -------------------------------------------------------

    /** An HttpClient (HTTP/1.1) trusting the CA and presenting the merchant's certificate from its p12. */
    public HttpClient httpClient(String mchId) {
        String id = String.valueOf(merchantEntry(mchId).get("mch_id"));
        return clients.computeIfAbsent(id, k -> HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(Wire.sslContext(ca(), p12(k), k))
            .connectTimeout(Duration.ofSeconds(10))
            .build());
    }

    /** A valid, unsigned request of the endpoint for the merchant, with the overrides (a null value removes a field). */
    @SuppressWarnings("unchecked")
    public Map<String, String> requestFields(String endpoint, String mchId, Map<String, String> overrides) {
        Map<String, Object> m = merchantEntry(mchId);
        List<Object> apps = (List<Object>) m.getOrDefault("apps", List.of());
        return Wire.defaultFields(endpoint, String.valueOf(m.get("mch_id")), String.valueOf(m.getOrDefault("name", "redpack-sim")),
            apps.isEmpty() ? "" : String.valueOf(apps.get(0)), overrides);
    }

    /**
     * Builds, signs (MD5 with the merchant's key) and sends a request of the endpoint
     * with the merchant's certificate. A {@code sign} field given is sent as is.
     */
    public Answer send(String endpoint, String mchId, Map<String, String> fields) {
        return send(endpoint, mchId, fields, null, Map.of());
    }

    /**
     * As {@link #send(String, String, Map)}; key (null: the merchant's) signs the request,
     * headers are added to the HTTP request.
     */
    public Answer send(String endpoint, String mchId, Map<String, String> fields, String key, Map<String, String> headers) {
        String id = String.valueOf(merchantEntry(mchId).get("mch_id"));
        Map<String, String> req = requestFields(endpoint, id, fields);
        if (!req.containsKey("sign")) {
            req.put("sign", Wire.sign(req, key != null ? key : apiKey(id)));
        }
        return post(endpoint, id, Wire.buildXml(req), req, headers);
    }

    /** POSTs a body as is to the endpoint with the merchant's certificate. */
    public Answer post(String endpoint, String mchId, String xml, Map<String, String> sent, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(apiUrl() + Wire.path(endpoint)))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("Accept", "text/xml, text/plain, application/x-gzip")
            .header("User-Agent", "redpack-sim-junit")
            .POST(HttpRequest.BodyPublishers.ofString(xml, StandardCharsets.UTF_8));
        if (headers != null) {
            headers.forEach(b::header);
        }
        try {
            HttpResponse<String> r = httpClient(mchId).send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Answer(endpoint, r.statusCode(), r.body(), Wire.parseXml(r.body()), sent == null ? Map.of() : sent);
        } catch (IOException e) {
            throw new ServerException("POST " + apiUrl() + Wire.path(endpoint) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServerException("interrupted", e);
        }
    }

    /** A group packet (default 3.00 yuan in 3 shares to a fresh openid) from the default merchant. */
    public Answer sendgroupredpack(Map<String, String> fields) {
        return send("sendgroupredpack", fields.get("mch_id"), fields);
    }

    /** A normal packet (default 1.00 yuan to a fresh openid) from the default merchant. */
    public Answer sendredpack(Map<String, String> fields) {
        return send("sendredpack", fields.get("mch_id"), fields);
    }

    /** The packet's record (gethbinfo) for the default merchant. */
    public Answer gethbinfo(String mchBillno) {
        return send("gethbinfo", null, Map.of("mch_billno", mchBillno));
    }

    // -- lifecycle ----------------------------------------------------------------

    /** Starts the server and waits until /healthz answers. */
    public synchronized RedpackSimServer start() {
        if (proc != null) {
            return this;
        }
        for (String f : List.of("ca.pem", "server.pem", "server.key")) {
            if (!Files.isRegularFile(certsDir.resolve(f))) {
                throw new ServerException("certificate " + f + " missing in " + certsDir);
            }
        }
        try {
            tmp = Files.createTempDirectory("redpack-sim-");
        } catch (IOException e) {
            throw new ServerException("cannot make a temporary directory: " + e, e);
        }
        log.clear();
        returncode = null;
        cmd = new ArrayList<>(List.of(binary.toString(), "--listen", HOST + ":0", "--admin-listen", HOST + ":0",
            "--db", tmp.resolve("redpack.db").toString(), "--fixtures", fixturesPath.toString(),
            "--tls-cert", certsDir.resolve("server.pem").toString(),
            "--tls-key", certsDir.resolve("server.key").toString(),
            "--client-ca", ca().toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // The server reads REDPACK_<NAME> as settings: only the flags above count.
        pb.environment().keySet().removeIf(k -> k.startsWith("REDPACK_"));
        try {
            proc = pb.start();
        } catch (IOException e) {
            deleteTree(tmp);
            throw new ServerException("cannot start " + binary + ": " + e, e);
        }
        LIVE.add(this);
        SynchronousQueue<String> first = new SynchronousQueue<>();
        Thread out = new Thread(() -> drain(proc.getInputStream(), first), "redpack-sim-stdout");
        Thread err = new Thread(() -> drain(proc.getErrorStream(), null), "redpack-sim-stderr");
        for (Thread t : List.of(out, err)) {
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        try {
            awaitStart(first);
        } catch (RuntimeException e) {
            stop(false);
            throw e;
        }
        return this;
    }

    private void drain(InputStream in, SynchronousQueue<String> first) {
        boolean sent = first == null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!sent) {
                    sent = true;
                    first.offer(line, START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } else {
                    log.add(line);
                }
            }
        } catch (IOException | InterruptedException e) {
            // the process is gone
        }
        if (!sent) {
            try {
                first.offer("", 1, TimeUnit.SECONDS);  // exited without a line
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void awaitStart(SynchronousQueue<String> first) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String line;
        try {
            line = first.poll(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServerException("interrupted while starting");
        }
        if (line == null) {
            throw new ServerException(describe("no 'listening' line within " + START_TIMEOUT.toSeconds() + " s"));
        }
        if (line.isEmpty()) {
            waitExit(5);
            throw new ServerException(describe("redpack-sim exited at start-up"));
        }
        Matcher m = LISTEN_RE.matcher(line);
        if (!m.matches()) {
            throw new ServerException(describe("unexpected first line '" + line + "'"));
        }
        apiPort = Integer.parseInt(m.group(2));
        adminPort = Integer.parseInt(m.group(4));
        Control c = new Control("http://" + HOST + ":" + adminPort);
        String last = null;
        while (System.nanoTime() < deadline) {
            if (!proc.isAlive()) {
                waitExit(5);
                throw new ServerException(describe("redpack-sim exited while starting"));
            }
            try {
                Control.Result r = c.raw("GET", "/healthz", null);
                if (r.status == 200) {
                    control = c;
                    return;
                }
                last = "HTTP " + r.status;
            } catch (ServerException e) {
                last = e.getMessage();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ServerException("interrupted while starting");
            }
        }
        throw new ServerException(describe("/healthz not 200 within " + START_TIMEOUT.toSeconds() + " s (last: " + last + ")"));
    }

    private void waitExit(int seconds) {
        try {
            proc.waitFor(seconds, TimeUnit.SECONDS);
            for (Thread t : threads) {
                t.join(2000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String describe(String what) {
        String l = log();
        return what + "\ncommand: " + String.join(" ", cmd) + "\nlog:\n" + (l.isEmpty() ? "(empty)" : l);
    }

    /** True while the process runs. */
    public boolean running() {
        return proc != null && proc.isAlive();
    }

    /** A position in the log, for {@link #log(int)}. */
    public int logMark() {
        return log.size();
    }

    /** What the server wrote (its log, stderr), from a {@link #logMark()} on. */
    public String log(int since) {
        synchronized (log) {
            StringBuilder b = new StringBuilder();
            for (String l : log.subList(Math.min(since, log.size()), log.size())) {
                b.append(l).append('\n');
            }
            return b.toString();
        }
    }

    /** Everything the server wrote. */
    public String log() {
        return log(0);
    }

    /** Back to the fixtures, no fault rules, an empty journal (the clock is kept). */
    public Map<String, Object> reset() {
        return control().reset();
    }

    /** The exit status of the last run, or null while running. */
    public Integer returncode() {
        return returncode;
    }

    /**
     * SIGTERM, then SIGKILL after 15 s; removes the temporary database. With check,
     * throws ServerException when the server had died before or exits with a status other than 0.
     */
    public synchronized Integer stop(boolean check) {
        if (proc == null) {
            return returncode;
        }
        boolean died = !proc.isAlive();
        if (!died) {
            proc.destroy();
            try {
                if (!proc.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    proc.destroyForcibly();
                    proc.waitFor();
                }
            } catch (InterruptedException e) {
                proc.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        waitExit(2);
        returncode = proc.isAlive() ? null : proc.exitValue();
        proc = null;
        control = null;
        LIVE.remove(this);
        deleteTree(tmp);
        tmp = null;
        if (check && died) {
            throw new ServerException(describe("redpack-sim had died before the end (exit " + returncode + ")"));
        }
        if (check && returncode != null && returncode != 0) {
            throw new ServerException(describe("redpack-sim exited with status " + returncode));
        }
        return returncode;
    }

    /** Stops the server, checking its exit. */
    public Integer stop() {
        return stop(true);
    }

    @Override
    public void close() {
        stop(true);
    }
}
