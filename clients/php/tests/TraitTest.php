<?php

namespace RedpackSim\Tests;

use PHPUnit\Framework\AssertionFailedError;
use PHPUnit\Framework\TestCase;
use RedpackSim\ControlError;
use RedpackSim\RedpackSimTrait;
use RedpackSim\VerificationError;

/** The trait: the server, its paths, the reset before each test, the control client, verification. */
final class TraitTest extends TestCase
{
    use RedpackSimTrait;

    /** @var int set by the class's own setUp, which the trait leaves alone */
    private $ownSetUp = 0;

    protected function setUp(): void
    {
        $this->ownSetUp++;
    }

    public function testPathsAndUrls(): void
    {
        $sim = self::redpackSim();
        $this->assertSame(1, $this->ownSetUp);
        $this->assertMatchesRegularExpression('~^https://127\.0\.0\.1:\d+/$~', $sim->baseUrl());
        $this->assertMatchesRegularExpression('~^http://127\.0\.0\.1:\d+$~', $sim->adminUrl());
        $this->assertNotSame($sim->apiPort, $sim->adminPort);
        foreach ([$sim->ca(), $sim->cert('10000099'), $sim->key('10000099'), $sim->p12('10000099')] as $f) {
            $this->assertFileExists($f);
        }
        $this->assertSame(['10000098', '10000099', '10000100'], $sim->merchants());
        $this->assertSame('192006250b4c09247ec02edce69f6a2d', $sim->apiKey());
        $this->assertSame('8a4f0e6b2c9d41e7a35b7c0d9e1f2a3b', $sim->apiKey('10000099'));
        $this->assertStringContainsString('/10000098/apiclient_cert.pem', $sim->cert());
        $this->expectException(\InvalidArgumentException::class);
        $sim->cert('12345678');
    }

    public function testSendAndVerify(): void
    {
        $sim = self::redpackSim();
        $a = $sim->sendgroupredpack(['re_openid' => 'oOrder1']);
        $this->assertTrue($a->ok(), (string) $a);
        $this->assertSame(200, $a->status);
        $b = $sim->sendredpack(['mch_id' => '10000099']);
        $this->assertTrue($b->ok(), (string) $b);
        $bad = $sim->send('sendredpack', ['re_openid' => 'oOrder1'], 'not-the-key');
        $this->assertSame('SIGN_ERROR', $bad['err_code'], (string) $bad);
        $this->assertRedpackRequests(3);
        $this->assertRedpackRequests(1, ['endpoint' => 'sendgroupredpack', 're_openid' => 'oOrder1', 'err_code' => 'SUCCESS']);
        $this->assertRedpackRequests(1, ['mch_id' => '10000099']);
        $this->assertRedpackRequests(1, ['err_code' => 'SIGN_ERROR']);
        $this->assertRedpackRequests(0, ['endpoint' => 'gethbinfo']);
        $this->assertSame(2, $sim->control->count(['re_openid' => 'oOrder1']));
        $reqs = $sim->control->requests(['re_openid' => 'oOrder1']);
        $this->assertCount(2, $reqs);
        $this->assertSame('sendredpack', $reqs[0]['endpoint']);  // newest first
        $this->assertSame($a->request['mch_billno'], $reqs[1]['mch_billno']);
        $this->assertSame($a->request['sign'], $reqs[1]['fields']['sign']);
        $info = $sim->gethbinfo($a['mch_billno']);
        $this->assertSame('SENT', $info['status'], (string) $info);
        $this->assertCount(0, $info['hblist'] ?? []);
    }

    /** @depends testSendAndVerify */
    public function testEachTestStartsClean(): void
    {
        $this->assertRedpackRequests(0);
        $this->assertSame([], self::redpackControl()->faults->list());
    }

    public function testFailedVerificationShowsExpectedAndSent(): void
    {
        $sim = self::redpackSim();
        $a = $sim->sendgroupredpack(['re_openid' => 'oTwice']);
        $sim->sendgroupredpack(['re_openid' => 'oTwice']);
        $sim->sendredpack(['re_openid' => 'oOther']);
        try {
            $this->assertRedpackRequests(1, ['endpoint' => 'sendgroupredpack', 're_openid' => 'oTwice']);
        } catch (AssertionFailedError $e) {
            $m = $e->getMessage();
            $this->assertStringContainsString('expected 1 request matching endpoint=sendgroupredpack re_openid=oTwice, but 2 matched', $m);
            $this->assertStringContainsString('Requests sent (newest first; * matched):', $m);
            $this->assertMatchesRegularExpression('~^  \* #\d+ \S+ sendgroupredpack mch_id=10000098 mch_billno='
                . $a->request['mch_billno'] . ' re_openid=oTwice total_amount=300 total_num=3 -> SUCCESS$~m', $m);
            $this->assertMatchesRegularExpression('~^    #\d+ \S+ sendredpack mch_id=10000098 .* re_openid=oOther .*-> SUCCESS$~m', $m);
            $this->assertStringContainsString('redpack-sim log (this test):', $m);
            $this->assertStringContainsString('api.request', $m);
            try {
                $sim->control->verify(3, ['re_openid' => 'oTwice']);
                $this->fail('verify did not throw');
            } catch (VerificationError $v) {
                $this->assertStringContainsString('expected 3 requests matching re_openid=oTwice, but 2 matched', $v->getMessage());
            }
            $this->assertSame(2, $sim->control->verify(2, ['re_openid' => 'oTwice']));
            return;
        }
        $this->fail('assertRedpackRequests did not fail');
    }

    public function testNoRequestsSent(): void
    {
        $this->expectException(AssertionFailedError::class);
        $this->expectExceptionMessageMatches('~expected 1 request matching \(no filter\), but 0 matched\nRequests sent: none~');
        $this->assertRedpackRequests(1);
    }

    public function testAnUnknownFilterIsAControlError(): void
    {
        try {
            self::redpackControl()->count(['openid' => 'x']);
            $this->fail('no ControlError');
        } catch (ControlError $e) {
            $this->assertSame(400, $e->status);
            $this->assertStringContainsString('openid', $e->getMessage());
        }
    }

    public function testFaultsMerchantClockClaimSettle(): void
    {
        $sim = self::redpackSim();
        $c = $sim->control;
        $rule = $c->faults->add(['err_code' => 'NOTENOUGH', 're_openid' => 'oPoor', 'times' => 1]);
        $this->assertArrayHasKey('id', $rule);
        $this->assertSame('NOTENOUGH', $sim->sendgroupredpack(['re_openid' => 'oPoor'])['err_code']);
        $this->assertTrue($sim->sendgroupredpack(['re_openid' => 'oPoor'])->ok());
        $this->assertSame(1, $c->faults->list()[0]['hits']);

        $before = $c->merchant->get('10000099')['balance'];
        $c->merchant->update('10000099', ['topup' => 500]);
        $this->assertSame($before + 500, $c->merchant->get('10000099')['balance']);

        $c->faults->add(['err_code' => 'PROCESSING', 'api' => 'sendgroupredpack', 'times' => 1]);
        $pending = $sim->sendgroupredpack(['re_openid' => 'oWait']);
        $this->assertSame('PROCESSING', $pending['err_code'], (string) $pending);
        $c->settle($pending->request['mch_billno'], 'SENT');
        $this->assertSame('SENT', $sim->gethbinfo($pending->request['mch_billno'])['status']);

        $share = $c->claim($pending->request['mch_billno'], 'oWait');
        $this->assertIsArray($share);
        $this->assertSame('oWait', $sim->gethbinfo($pending->request['mch_billno'])['hblist'][0]['openid']);

        $now = $c->clock->get()['epoch'];
        $c->clock->advance(86400);
        $this->assertGreaterThanOrEqual($now + 86400, $c->clock->get()['epoch']);
        $this->assertSame('REFUND', $sim->gethbinfo($pending->request['mch_billno'])['status']);
        $this->assertSame('REFUND', $c->packet($pending->request['mch_billno'])['status']);
        $this->assertTrue($c->check()['ok']);
    }

    /** @depends testFaultsMerchantClockClaimSettle */
    public function testResetKeepsTheClockUnlessAsked(): void
    {
        $c = self::redpackControl();
        $this->assertGreaterThan(80000, $c->clock->get()['offset_seconds']);
        $this->assertSame([], $c->packets());
        $c->reset(null, true, true, true);
        $this->assertLessThan(5, abs($c->clock->get()['offset_seconds']));
    }
}
