<?php

namespace RedpackSim\Tests;

use PHPUnit\Framework\TestCase;
use RedpackSim\Wire;

final class WireTest extends TestCase
{
    public function testSignIsWeChatPaysExample(): void
    {
        // The example of the WeChat Pay v2 signing documentation.
        $fields = ['appid' => 'wxd930ea5d5a258f4f', 'mch_id' => '10000100', 'device_info' => '1000',
                   'body' => 'test', 'nonce_str' => 'ibuaiVcKdpRxkhJA'];
        $key = '192006250b4c09247ec02edce69f6a2d';
        $this->assertSame('appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100'
            . '&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d', Wire::signString($fields, $key));
        $this->assertSame('9A0A8659F005D6984697E2CA0A9CF3B7', Wire::sign($fields, $key));
    }

    public function testSignLeavesOutEmptyFieldsAndTheSign(): void
    {
        $a = Wire::sign(['b' => '2', 'a' => '1'], 'K');
        $this->assertSame($a, Wire::sign(['a' => '1', 'b' => '2', 'c' => '', 'd' => null, 'sign' => 'X'], 'K'));
        $this->assertSame(strtoupper(md5('a=1&b=2&key=K')), $a);
    }

    public function testBuildXmlLikeWechatpayPhp(): void
    {
        $this->assertSame('<xml><a>1</a><b><![CDATA[x & y]]></b><c></c><sign>S</sign></xml>',
            Wire::buildXml(['sign' => 'S', 'a' => '1', 'b' => 'x & y', 'c' => '']));
    }

    public function testParseXml(): void
    {
        $doc = Wire::parseXml('<xml><return_code><![CDATA[SUCCESS]]></return_code><n>1 &amp; 2</n>'
            . '<hblist><hbinfo><openid>o1</openid><amount>100</amount></hbinfo><hbinfo><openid>o2</openid>'
            . '<amount>200</amount></hbinfo></hblist><e></e></xml>');
        $this->assertSame(['return_code' => 'SUCCESS', 'n' => '1 & 2',
            'hblist' => [['openid' => 'o1', 'amount' => '100'], ['openid' => 'o2', 'amount' => '200']],
            'e' => ''], $doc);
        $this->assertSame([], Wire::parseXml('<html>502 Bad Gateway</html>'));
    }

    public function testDefaultFields(): void
    {
        $m = ['mch_id' => '10000098', 'name' => '天虹百货', 'apps' => ['wx8888888888888888']];
        $f = Wire::defaultFields('sendgroupredpack', $m, ['total_amount' => 1000, 'remark' => null]);
        $this->assertSame('1000', $f['total_amount']);
        $this->assertArrayNotHasKey('remark', $f);
        $this->assertSame('ALL_RAND', $f['amt_type']);
        $this->assertSame(26, strlen($f['mch_billno']));
        $this->assertSame(32, strlen($f['nonce_str']));
        $this->assertSame('wx8888888888888888', $f['wxappid']);
        $this->expectException(\InvalidArgumentException::class);
        Wire::defaultFields('gethbinfo', $m);
    }
}
