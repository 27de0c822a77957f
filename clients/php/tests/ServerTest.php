<?php

namespace RedpackSim\Tests;

use PHPUnit\Framework\TestCase;
use RedpackSim\Server;
use RedpackSim\ServerError;

/** The Server class on its own: finding the binary, starting, stopping, cleaning up. */
final class ServerTest extends TestCase
{
    public function testAMissingBinaryIsNamed(): void
    {
        $this->expectException(ServerError::class);
        $this->expectExceptionMessage('redpack-sim binary not found or not executable: /nonexistent/redpack-sim');
        Server::findBinary('/nonexistent/redpack-sim');
    }

    public function testTheSourceTreeAndFixturesAreFound(): void
    {
        $tree = Server::findSourceTree(Server::findBinary());
        $this->assertNotNull($tree, 'the binary of the ctest run sits in a build directory of the source tree');
        $this->assertFileExists($tree . '/scripts/gen-certs.sh');
        $this->assertSame($tree . '/fixtures/default.json', Server::findFixtures(null, $tree));
    }

    public function testTwoServersStartAndStopCleanly(): void
    {
        $a = Server::create()->start();
        $b = Server::create(null, null, null, ['--journal-size=5'])->start();
        try {
            $this->assertTrue($a->running() && $b->running());
            $this->assertNotSame($a->apiPort, $b->apiPort);
            $this->assertSame($a->certsDir, $b->certsDir, 'certificates are made once per process');
            $this->assertTrue($a->sendgroupredpack()->ok());
            $this->assertSame(1, $a->control->count());
            $this->assertSame(0, $b->control->count());
            $this->assertStringContainsString('api.request', $a->log());
            $db = $a->cmd[array_search('--db', $a->cmd, true) + 1];
            $this->assertFileExists($db);
        } finally {
            $this->assertSame(0, $a->stop());
            $this->assertSame(0, $b->stop());
        }
        $this->assertFalse($a->running());
        $this->assertDirectoryDoesNotExist(dirname($db));
        $this->assertSame(0, $a->stop(), 'a second stop is harmless');
    }
}
