<?php

namespace RedpackSim\Tests;

use PHPUnit\Framework\AssertionFailedError;
use PHPUnit\Framework\TestCase;
use RedpackSim\RedpackSimTrait;

/** redpackSimOptions(): no reset between tests, extra server arguments. */
final class NoResetTest extends TestCase
{
    use RedpackSimTrait;

    protected static function redpackSimOptions(): array
    {
        return ['reset' => 'none', 'args' => ['--journal-size=2']];
    }

    public function testFirst(): void
    {
        $this->assertTrue(self::redpackSim()->sendgroupredpack(['re_openid' => 'oKept'])->ok());
    }

    /** @depends testFirst */
    public function testStateIsKept(): void
    {
        $this->assertRedpackRequests(1, ['re_openid' => 'oKept']);
    }

    /** @depends testStateIsKept */
    public function testACountTheJournalCannotGiveFails(): void
    {
        $sim = self::redpackSim();
        $sim->sendgroupredpack();
        $sim->sendgroupredpack();
        $this->expectException(AssertionFailedError::class);
        $this->expectExceptionMessageMatches("~cannot count requests matching re_openid=oKept: the journal's bounds dropped 1 request~");
        $this->assertRedpackRequests(1, ['re_openid' => 'oKept']);
    }
}
