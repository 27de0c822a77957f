<?php
// Pointing wechatpay-php (on Guzzle) at a test's redpack-sim: documentation code,
// syntax-checked by the helper's suite (wechatpay-php is not one of its dependencies).
// With `composer require --dev wechatpay/wechatpay`, in a test that uses RedpackSimTrait:
//
//   $instance = redpackSimWechatpay(self::redpackSim(), '10000098');
//   $answer = $instance->v2->mmpaymkttransfers->sendgroupredpack->postAsync([
//       'xml' => ['mch_billno' => ..., 'mch_id' => '10000098', 'wxappid' => 'wx8888888888888888', ...],
//       'security' => true,   // present the merchant certificate
//   ])->wait();
//   $this->assertRedpackRequests(1, ['endpoint' => 'sendgroupredpack', 'err_code' => 'SUCCESS']);

use RedpackSim\Server;
use WeChatPay\Builder;
use WeChatPay\BuilderChainable;
use WeChatPay\Crypto\Rsa;

function redpackSimWechatpay(Server $sim, string $mchId): BuilderChainable
{
    return Builder::factory([
        'mchid'      => $mchId,
        'secret'     => $sim->apiKey($mchId),                  // API v2 key
        'merchant'   => ['cert' => $sim->cert($mchId), 'key' => $sim->key($mchId)],
        // the factory insists on API v3 settings; any well-formed values do
        'serial'     => 'placeholder',
        'privateKey' => Rsa::from('file://' . $sim->key($mchId)),
        'certs'      => ['placeholder' => Rsa::from('file://' . $sim->cert($mchId), Rsa::KEY_TYPE_PUBLIC)],
        // every other key goes to Guzzle:
        'base_uri'   => $sim->baseUrl(),   // https://127.0.0.1:PORT/ (trailing slash, no path prefix)
        'verify'     => $sim->ca(),        // the CA of the server certificate
    ]);
}
