<?php

namespace RedpackSim;

/**
 * One redpack-sim on 127.0.0.1, port 0, with a temporary database: finding the
 * binary, the fixtures and scripts/gen-certs.sh, making the certificates,
 * starting, waiting for /healthz, stopping.
 *
 *   $sim = Server::create()->start();          // binary from REDPACK_SIM or PATH
 *   $sim->baseUrl(), $sim->ca(), $sim->cert($mchId), $sim->key($mchId), $sim->p12($mchId),
 *   $sim->apiKey($mchId), $sim->control, $sim->send(...), $sim->log(), $sim->stop()
 */
class Server
{
    public const HOST = '127.0.0.1';
    private const LISTEN_RE = '~^listening api=https://([^ ]+):(\d+) admin=http://([^ ]+):(\d+)\s*$~';
    private const IMAGE_HOME = '/opt/redpack-sim';  // the container image's layout (docker/Dockerfile)

    /** @var float */
    public static $startTimeout = 15.0;
    /** @var float */
    public static $stopTimeout = 15.0;

    /** @var string */
    public $binary;
    /** @var string */
    public $fixturesPath;
    /** @var string */
    public $certsDir;
    /** @var string[] */
    public $args;
    /** @var array the fixtures file, decoded */
    public $fixtures;
    /** @var string the first merchant of the fixtures: the default of every $mchId = null */
    public $mchId;
    /** @var Control|null */
    public $control;
    /** @var int|null */
    public $apiPort;
    /** @var int|null */
    public $adminPort;
    /** @var int|null the exit status, once stopped */
    public $returncode;
    /** @var string[] */
    public $cmd = [];

    /** @var array<string, array> */
    private $merchants = [];
    /** @var resource|null */
    private $proc;
    /** @var string|null */
    private $tmp;
    /** @var int|null */
    private $exitcode;

    /** @var array<int, Server> */
    private static $live = [];
    /** @var array<string, string> certificates made in this process, by fixtures file */
    private static $madeCerts = [];

    /** @param string[] $args extra server arguments, e.g. ['--journal-size', '10000'] */
    public function __construct(string $binary, string $fixturesPath, string $certsDir, array $args = [])
    {
        $this->binary = $binary;
        $this->fixturesPath = $fixturesPath;
        $this->certsDir = $certsDir;
        $this->args = array_values($args);
        $doc = json_decode((string) @file_get_contents($fixturesPath), true);
        if (!is_array($doc) || !isset($doc['merchants'][0]['mch_id'])) {
            throw new ServerError('cannot read the merchants of fixtures file ' . $fixturesPath);
        }
        $this->fixtures = $doc;
        foreach ($doc['merchants'] as $m) {
            $this->merchants[(string) $m['mch_id']] = $m;
        }
        $this->mchId = (string) $doc['merchants'][0]['mch_id'];
    }

    /**
     * A server with everything found as the Python helper finds it: the binary
     * ($binary, else $REDPACK_SIM, else redpack-sim on PATH), the fixtures
     * ($fixtures, else $REDPACK_FIXTURES, else fixtures/default.json of the
     * server's source tree), the certificates ($certs, else $REDPACK_CERTS, else
     * made once per process with the source tree's scripts/gen-certs.sh).
     */
    public static function create(?string $binary = null, ?string $fixtures = null, ?string $certs = null, array $args = []): self
    {
        $binary = self::findBinary($binary);
        $tree = self::findSourceTree($binary);
        $fixtures = self::findFixtures($fixtures, $tree);
        $certs = $certs ?: (getenv('REDPACK_CERTS') ?: null);
        if ($certs === null) {
            if (!isset(self::$madeCerts[$fixtures])) {
                if ($tree === null) {
                    throw new ServerError('no certificates: set REDPACK_CERTS to a directory made by scripts/gen-certs.sh '
                        . '(no redpack-sim source tree found beside ' . $binary . ')');
                }
                $dir = self::tempDir('redpack-certs-');
                register_shutdown_function([self::class, 'removeTree'], $dir);
                self::makeCerts($dir, $fixtures, $tree . '/scripts/gen-certs.sh');
                self::$madeCerts[$fixtures] = $dir;
            }
            $certs = self::$madeCerts[$fixtures];
        }
        return new self($binary, $fixtures, $certs, $args);
    }

    // -- finding things -----------------------------------------------------------------

    /** The server binary: $path, else $REDPACK_SIM, else redpack-sim on PATH. */
    public static function findBinary(?string $path = null): string
    {
        $path = $path ?: (getenv('REDPACK_SIM') ?: null);
        if ($path !== null) {
            $found = strpos($path, '/') !== false ? $path : self::which($path);
            if ($found === null || !is_file($found) || !is_executable($found)) {
                throw new ServerError('redpack-sim binary not found or not executable: ' . $path);
            }
            return (string) realpath($found);
        }
        $found = self::which('redpack-sim');
        if ($found === null) {
            throw new ServerError('redpack-sim not found: set REDPACK_SIM to the binary or put it on PATH');
        }
        return (string) realpath($found);
    }

    private static function which(string $name): ?string
    {
        foreach (explode(PATH_SEPARATOR, (string) getenv('PATH')) as $dir) {
            $p = ($dir === '' ? '.' : $dir) . '/' . $name;
            if (is_file($p) && is_executable($p)) {
                return $p;
            }
        }
        return null;
    }

    /**
     * The redpack-sim source tree the binary was built from, or null: the
     * CMAKE_HOME_DIRECTORY of a CMakeCache.txt beside it, else the first parent
     * directory holding scripts/gen-certs.sh, else the container image's /opt/redpack-sim.
     */
    public static function findSourceTree(string $binary): ?string
    {
        $bindir = dirname((string) realpath($binary));
        $candidates = [];
        $cache = $bindir . '/CMakeCache.txt';
        if (is_file($cache)) {
            foreach (file($cache, FILE_IGNORE_NEW_LINES) ?: [] as $line) {
                if (strncmp($line, 'CMAKE_HOME_DIRECTORY:', 21) === 0) {
                    $candidates[] = trim(explode('=', $line, 2)[1] ?? '');
                }
            }
        }
        $d = $bindir;
        for ($i = 0; $i < 4; $i++) {
            $candidates[] = $d;
            $d = dirname($d);
        }
        $candidates[] = self::IMAGE_HOME;
        foreach ($candidates as $c) {
            if ($c !== '' && is_file($c . '/scripts/gen-certs.sh')) {
                return $c;
            }
        }
        return null;
    }

    /**
     * The fixtures file: $path, else $REDPACK_FIXTURES, else the server's default
     * (fixtures/default.json of its source tree).
     */
    public static function findFixtures(?string $path = null, ?string $sourceTree = null): string
    {
        $path = $path ?: (getenv('REDPACK_FIXTURES') ?: null);
        if ($path !== null) {
            if (!is_file($path)) {
                throw new ServerError('fixtures file not found: ' . $path);
            }
            return (string) realpath($path);
        }
        if ($sourceTree !== null && is_file($sourceTree . '/fixtures/default.json')) {
            return $sourceTree . '/fixtures/default.json';
        }
        throw new ServerError('no fixtures file: set REDPACK_FIXTURES (the server\'s default, '
            . 'fixtures/default.json, is in its source tree)');
    }

    /**
     * Makes the certificates in $dest with the project's scripts/gen-certs.sh:
     * ca.pem, server.pem, server.key and, per merchant of the fixtures,
     * MCH_ID/apiclient_cert.pem, apiclient_key.pem, apiclient_cert.p12 (password:
     * the mch_id). Returns $dest.
     */
    public static function makeCerts(string $dest, string $fixturesPath, string $genCerts): string
    {
        if (!is_dir($dest) && !mkdir($dest, 0700, true)) {
            throw new ServerError('cannot create ' . $dest);
        }
        [$rc, $out] = self::run(['bash', $genCerts, $dest, $fixturesPath]);
        if ($rc !== 0) {
            throw new ServerError(sprintf("%s failed (exit %d):\n%s", $genCerts, $rc, $out));
        }
        return $dest;
    }

    /** @return array{0: int, 1: string} exit status and output (stdout and stderr) */
    private static function run(array $cmd): array
    {
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes);
        if (!is_resource($proc)) {
            throw new ServerError('cannot run ' . implode(' ', $cmd));
        }
        $out = stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        return [proc_close($proc), (string) $out];
    }

    public static function tempDir(string $prefix): string
    {
        for ($i = 0; $i < 100; $i++) {
            $d = sys_get_temp_dir() . '/' . $prefix . bin2hex(random_bytes(6));
            if (@mkdir($d, 0700)) {
                return $d;
            }
        }
        throw new ServerError('cannot create a temporary directory in ' . sys_get_temp_dir());
    }

    /** @internal removes a directory tree (the temporary database, certificates) */
    public static function removeTree(string $dir): void
    {
        if (!is_dir($dir) || is_link($dir)) {
            @unlink($dir);
            return;
        }
        foreach (scandir($dir) ?: [] as $e) {
            if ($e !== '.' && $e !== '..') {
                self::removeTree($dir . '/' . $e);
            }
        }
        @rmdir($dir);
    }

    // -- paths and fixture data ---------------------------------------------------------------

    private function merchantEntry(?string $mchId): array
    {
        $mchId = $mchId ?? $this->mchId;
        if (!isset($this->merchants[$mchId])) {
            throw new \InvalidArgumentException(sprintf('no merchant %s in %s (merchants: %s)',
                $mchId, $this->fixturesPath, implode(', ', array_keys($this->merchants))));
        }
        return $this->merchants[$mchId];
    }

    /** The mch_ids of the fixtures, in order; the first is the default. */
    public function merchants(): array
    {
        return array_map('strval', array_keys($this->merchants));
    }

    /** The merchant's entry in the fixtures (mch_id, name, api_key, apps, ...). */
    public function merchant(?string $mchId = null): array
    {
        return $this->merchantEntry($mchId);
    }

    /** The CA that signed the server certificate (and the merchant certificates). */
    public function ca(): string
    {
        return $this->certsDir . '/ca.pem';
    }

    /** The merchant's apiclient_cert.pem (default: the first merchant). */
    public function cert(?string $mchId = null): string
    {
        return $this->certsDir . '/' . $this->merchantEntry($mchId)['mch_id'] . '/apiclient_cert.pem';
    }

    /** The merchant's apiclient_key.pem. */
    public function key(?string $mchId = null): string
    {
        return $this->certsDir . '/' . $this->merchantEntry($mchId)['mch_id'] . '/apiclient_key.pem';
    }

    /** The merchant's apiclient_cert.p12 (password: the mch_id). */
    public function p12(?string $mchId = null): string
    {
        return $this->certsDir . '/' . $this->merchantEntry($mchId)['mch_id'] . '/apiclient_cert.p12';
    }

    /** The merchant's API v2 key, from the fixtures. */
    public function apiKey(?string $mchId = null): string
    {
        return (string) $this->merchantEntry($mchId)['api_key'];
    }

    /** https://127.0.0.1:PORT/ : what SDKs take as their base URI (trailing slash, no prefix). */
    public function baseUrl(): string
    {
        return $this->apiUrl() . '/';
    }

    /** https://127.0.0.1:PORT */
    public function apiUrl(): string
    {
        $this->requireStarted();
        return sprintf('https://%s:%d', self::HOST, $this->apiPort);
    }

    /** http://127.0.0.1:PORT, the control API. */
    public function adminUrl(): string
    {
        $this->requireStarted();
        return sprintf('http://%s:%d', self::HOST, $this->adminPort);
    }

    private function requireStarted(): void
    {
        if ($this->apiPort === null) {
            throw new ServerError('redpack-sim is not started');
        }
    }

    // -- the merchant API ---------------------------------------------------------------------

    /**
     * A valid, unsigned request of the endpoint for the merchant ($fields['mch_id'],
     * else the first), with $fields over the defaults (null removes one).
     */
    public function requestFields(string $endpoint, array $fields = []): array
    {
        $mchId = isset($fields['mch_id']) ? (string) $fields['mch_id'] : null;
        return Wire::defaultFields($endpoint, $this->merchantEntry($mchId), $fields);
    }

    /**
     * Builds, signs (MD5 with the merchant's key, or $key) and sends a request of
     * the endpoint with the merchant's certificate; returns the Answer. The
     * merchant is $fields['mch_id'] (default: the first of the fixtures). A `sign`
     * field given is sent as is; $signed = false sends none.
     */
    public function send(string $endpoint, array $fields = [], ?string $key = null, bool $signed = true, array $headers = []): Answer
    {
        $req = $this->requestFields($endpoint, $fields);
        $mchId = $req['mch_id'] ?? $this->mchId;
        if ($signed && !isset($req['sign'])) {
            $req['sign'] = Wire::sign($req, $key ?? $this->apiKey(isset($this->merchants[$mchId]) ? $mchId : null));
        }
        $certOf = isset($this->merchants[$mchId]) ? $mchId : null;
        [$status, $body] = Wire::post($this->apiUrl() . Wire::path($endpoint), Wire::buildXml($req),
            $this->ca(), $this->cert($certOf), $this->key($certOf), $headers);
        return new Answer(Wire::parseXml($body), $status, $body, $req, $endpoint);
    }

    /** A group packet (default 3.00 yuan in 3 shares to a fresh openid). */
    public function sendgroupredpack(array $fields = []): Answer
    {
        return $this->send('sendgroupredpack', $fields);
    }

    /** A normal packet (default 1.00 yuan to a fresh openid). */
    public function sendredpack(array $fields = []): Answer
    {
        return $this->send('sendredpack', $fields);
    }

    /** The packet's record. */
    public function gethbinfo(string $mchBillno, array $fields = []): Answer
    {
        return $this->send('gethbinfo', array_merge($fields, ['mch_billno' => $mchBillno]));
    }

    // -- lifecycle -------------------------------------------------------------------------------

    /** Starts the server and waits until /healthz answers. */
    public function start(): self
    {
        foreach (['ca.pem', 'server.pem', 'server.key'] as $f) {
            if (!is_file($this->certsDir . '/' . $f)) {
                throw new ServerError(sprintf('certificate %s missing in %s', $f, $this->certsDir));
            }
        }
        if ($this->proc !== null) {
            throw new ServerError('redpack-sim is already started');
        }
        $this->tmp = self::tempDir('redpack-sim-');
        $this->returncode = $this->exitcode = null;
        $this->apiPort = $this->adminPort = null;
        $this->cmd = array_merge([$this->binary,
            '--listen', self::HOST . ':0', '--admin-listen', self::HOST . ':0',
            '--db', $this->tmp . '/redpack.db', '--fixtures', $this->fixturesPath,
            '--tls-cert', $this->certsDir . '/server.pem', '--tls-key', $this->certsDir . '/server.key',
            '--client-ca', $this->ca()], $this->args);
        // The server reads REDPACK_<NAME> as settings: only the flags above count.
        $env = [];
        foreach (getenv() as $k => $v) {
            if (strncmp($k, 'REDPACK_', 8) !== 0) {
                $env[$k] = $v;
            }
        }
        // stdout and stderr go to files: nothing to drain, and the log stays readable.
        $this->proc = proc_open($this->cmd, [
            0 => ['file', '/dev/null', 'r'],
            1 => ['file', $this->tmp . '/stdout', 'w'],
            2 => ['file', $this->tmp . '/stderr', 'w'],
        ], $pipes, $this->tmp, $env);
        if (!is_resource($this->proc)) {
            $this->proc = null;
            throw new ServerError('cannot start ' . $this->binary);
        }
        self::$live[spl_object_id($this)] = $this;
        try {
            $this->awaitStart();
        } catch (\Throwable $e) {
            $this->stop(false);
            throw $e;
        }
        return $this;
    }

    private function awaitStart(): void
    {
        $deadline = microtime(true) + self::$startTimeout;
        $line = null;
        while ($line === null) {
            $out = (string) @file_get_contents($this->tmp . '/stdout');
            $nl = strpos($out, "\n");
            if ($nl !== false) {
                $line = substr($out, 0, $nl + 1);
                break;
            }
            if (!$this->running()) {
                throw new ServerError($this->describe('redpack-sim exited at start-up'));
            }
            if (microtime(true) > $deadline) {
                throw new ServerError($this->describe(sprintf("no 'listening' line within %.0f s", self::$startTimeout)));
            }
            usleep(10000);
        }
        if (!preg_match(self::LISTEN_RE, $line, $m)) {
            throw new ServerError($this->describe('unexpected first line ' . json_encode($line)));
        }
        $this->apiPort = (int) $m[2];
        $this->adminPort = (int) $m[4];
        $this->control = new Control($this->adminUrl());
        $last = null;
        while (microtime(true) < $deadline) {
            if (!$this->running()) {
                throw new ServerError($this->describe('redpack-sim exited while starting'));
            }
            try {
                [$status] = (new Control($this->adminUrl(), null, 2.0))->raw('GET', '/healthz');
                if ($status === 200) {
                    return;
                }
                $last = 'HTTP ' . $status;
            } catch (TransportError $e) {
                $last = $e->getMessage();
            }
            usleep(20000);
        }
        throw new ServerError($this->describe(sprintf('/healthz not 200 within %.0f s (last: %s)', self::$startTimeout, $last)));
    }

    private function describe(string $what): string
    {
        return sprintf("%s\ncommand: %s\nlog:\n%s", $what, implode(' ', $this->cmd), $this->log() ?: '(empty)');
    }

    /** Whether the process is running. */
    public function running(): bool
    {
        if ($this->proc === null) {
            return false;
        }
        $st = proc_get_status($this->proc);
        if (!$st['running'] && $this->exitcode === null) {
            // proc_get_status gives the exit status once only
            $this->exitcode = $st['signaled'] ? 128 + $st['termsig'] : $st['exitcode'];
        }
        return $st['running'];
    }

    /** A position in the log, for log($since). */
    public function logMark(): int
    {
        clearstatcache(true, $this->tmp . '/stderr');
        return $this->tmp !== null ? (int) @filesize($this->tmp . '/stderr') : 0;
    }

    /** What the server wrote to stderr (its log), from a logMark() on. */
    public function log(int $since = 0): string
    {
        if ($this->tmp === null) {
            return '';
        }
        return (string) @file_get_contents($this->tmp . '/stderr', false, null, $since);
    }

    /** Back to the fixtures, no fault rules, an empty journal (the clock is kept). */
    public function reset(?string $mchId = null): array
    {
        if ($this->control === null) {
            throw new ServerError('redpack-sim is not started');
        }
        return $this->control->reset($mchId);
    }

    /**
     * SIGTERM, then SIGKILL after $stopTimeout; removes the temporary database. With
     * $check, throws ServerError when the server had died before, or exits with a
     * status other than 0. Returns the exit status.
     */
    public function stop(bool $check = true): ?int
    {
        if ($this->proc === null) {
            return $this->returncode;
        }
        $diedBefore = !$this->running();
        if (!$diedBefore) {
            proc_terminate($this->proc, 15);
            $deadline = microtime(true) + self::$stopTimeout;
            while ($this->running() && microtime(true) < $deadline) {
                usleep(10000);
            }
            if ($this->running()) {
                proc_terminate($this->proc, 9);
                while ($this->running()) {
                    usleep(10000);
                }
            }
        }
        $rc = proc_close($this->proc);
        $this->returncode = $this->exitcode ?? $rc;
        $this->proc = null;
        unset(self::$live[spl_object_id($this)]);
        $log = $check && ($diedBefore || $this->returncode !== 0) ? $this->log() : '';
        if ($this->tmp !== null) {
            self::removeTree($this->tmp);
            $this->tmp = null;
        }
        $this->apiPort = $this->adminPort = null;
        if ($check && $diedBefore) {
            throw new ServerError(sprintf("redpack-sim had exited (status %s)\nlog:\n%s", $this->returncode, $log));
        }
        if ($check && $this->returncode !== 0) {
            throw new ServerError(sprintf("redpack-sim exited with status %s\nlog:\n%s", $this->returncode, $log));
        }
        return $this->returncode;
    }

    /** @internal stops every server still running when PHP exits */
    public static function stopAll(): void
    {
        foreach (self::$live as $srv) {
            $srv->stop(false);
        }
    }
}

register_shutdown_function([Server::class, 'stopAll']);
