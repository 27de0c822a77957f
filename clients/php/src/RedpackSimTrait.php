<?php

namespace RedpackSim;

use PHPUnit\Framework\Assert;

/**
 * PHPUnit (9.6 or later): a redpack-sim per test class, reset before each test.
 *
 *   final class MyTest extends \PHPUnit\Framework\TestCase
 *   {
 *       use \RedpackSim\RedpackSimTrait;
 *
 *       public function testSend(): void
 *       {
 *           $sim = self::redpackSim();
 *           // ... merchant code with $sim->baseUrl(), $sim->ca(), $sim->cert(), $sim->key(), $sim->apiKey()
 *           $this->assertRedpackRequests(1, ['endpoint' => 'sendgroupredpack', 're_openid' => 'oUser1']);
 *       }
 *   }
 *
 * The server starts before the class's first test (beforeClass), is reset before
 * each test (before: back to the fixtures, no fault rules, an empty journal) and
 * stops after its last (afterClass). The hooks are annotated methods, so the
 * class keeps its own setUp() and tearDownAfterClass(). To change what the
 * server gets, the class overrides redpackSimOptions().
 */
trait RedpackSimTrait
{
    /** @var Server|null */
    private static $redpackSimServer;
    /** @var int */
    private $redpackSimLogMark = 0;

    /**
     * What the class's server gets (the class may override this):
     *  - args: extra server arguments, e.g. ['--journal-size', '10000'];
     *  - reset: 'test' (default, before each test) or 'none' (keep state);
     *  - binary, fixtures, certs: paths (default: REDPACK_SIM or PATH,
     *    REDPACK_FIXTURES or the source tree's fixtures/default.json,
     *    REDPACK_CERTS or made once per process with scripts/gen-certs.sh).
     */
    protected static function redpackSimOptions(): array
    {
        return [];
    }

    /**
     * Starts the class's server.
     *
     * @beforeClass
     */
    #[\PHPUnit\Framework\Attributes\BeforeClass]
    public static function startRedpackSim(): void
    {
        if (self::$redpackSimServer !== null && self::$redpackSimServer->running()) {
            return;
        }
        $o = static::redpackSimOptions();
        self::$redpackSimServer = Server::create($o['binary'] ?? null, $o['fixtures'] ?? null,
            $o['certs'] ?? null, $o['args'] ?? [])->start();
    }

    /**
     * Stops the class's server and removes its temporary database.
     *
     * @afterClass
     */
    #[\PHPUnit\Framework\Attributes\AfterClass]
    public static function stopRedpackSim(): void
    {
        $srv = self::$redpackSimServer;
        self::$redpackSimServer = null;
        if ($srv !== null) {
            $srv->stop();
        }
    }

    /**
     * Before each test: back to the fixtures, no fault rules, an empty journal
     * (unless redpackSimOptions() says 'reset' => 'none').
     *
     * @before
     */
    #[\PHPUnit\Framework\Attributes\Before]
    public function resetRedpackSim(): void
    {
        $srv = self::redpackSim();
        if (!$srv->running()) {
            throw new ServerError("redpack-sim is no longer running\nlog:\n" . $srv->log());
        }
        if ((static::redpackSimOptions()['reset'] ?? 'test') !== 'none') {
            $srv->reset();
        }
        $this->redpackSimLogMark = $srv->logMark();
    }

    /** The class's server (paths, sends, log; ->control for the control API). */
    public static function redpackSim(): Server
    {
        if (self::$redpackSimServer === null) {
            self::startRedpackSim();
        }
        return self::$redpackSimServer;
    }

    /** The control API client of the class's server. */
    public static function redpackControl(): Control
    {
        return self::redpackSim()->control;
    }

    /** What the server logged since this test began. */
    public function redpackSimLog(): string
    {
        return self::$redpackSimServer !== null ? self::$redpackSimServer->log($this->redpackSimLogMark) : '';
    }

    /**
     * Asserts that exactly $count requests sent to the server match every filter
     * (endpoint, mch_id, mch_billno, re_openid, err_code, since, until). Otherwise
     * the test fails showing what was expected and every request sent, newest
     * first, those that matched marked *, and what the server logged in this test.
     */
    public function assertRedpackRequests(int $count, array $filters = [], string $message = ''): void
    {
        $why = self::redpackSim()->control->mismatch($count, $filters);
        if ($why === null) {
            Assert::assertTrue(true);
            return;
        }
        $log = trim($this->redpackSimLog());
        Assert::fail(($message !== '' ? $message . "\n" : '') . $why
            . "\nredpack-sim log (this test):\n" . ($log !== '' ? $log : '(nothing logged)'));
    }
}
