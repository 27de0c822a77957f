<?php
// What a merchant's own test looks like: send through the red packet API with the
// merchant certificate, then ask redpack-sim what was sent (docs/test-helpers.md).

use PHPUnit\Framework\TestCase;
use RedpackSim\RedpackSimTrait;

final class RedpackExampleTest extends TestCase
{
    use RedpackSimTrait;

    public function testOneGroupPacketOfTenYuan(): void
    {
        $sim = self::redpackSim();
        // The merchant code under test would be configured with these:
        //   base URL $sim->baseUrl(), CA $sim->ca(),
        //   certificate $sim->cert('10000098') and $sim->key('10000098'),
        //   API v2 key $sim->apiKey('10000098') (wechatpay-php: examples/wechatpay-php.php).
        $answer = $sim->sendgroupredpack(['mch_id' => '10000098', 're_openid' => 'oUser1',
                                          'total_amount' => 1000, 'total_num' => 5]);
        $this->assertSame('SUCCESS', $answer['result_code'], (string) $answer);

        // "My code sent exactly one group packet of 10 yuan to this openid."
        $this->assertRedpackRequests(1, ['endpoint' => 'sendgroupredpack', 're_openid' => 'oUser1',
                                         'err_code' => 'SUCCESS']);
        [$sent] = $sim->control->requests(['re_openid' => 'oUser1']);
        $this->assertSame('1000', $sent['fields']['total_amount']);

        // The packet's life: the receiver opens the first share, a day passes, the rest
        // is refunded.
        $sim->control->claim($answer['mch_billno'], 'oUser1');
        $sim->control->clock->advance(86400);
        $record = $sim->gethbinfo($answer['mch_billno']);
        $this->assertSame('REFUND', $record['status']);
    }
}
