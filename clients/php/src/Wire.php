<?php

namespace RedpackSim;

/**
 * The merchant API side: the v2 MD5 sign, request bodies, and a signed send over
 * mutual TLS with curl, as merchant SDKs do it (PHP's curl extension only).
 */
final class Wire
{
    public const ENDPOINTS = ['sendgroupredpack', 'sendredpack', 'gethbinfo'];
    private const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

    /** The path of an endpoint: /mmpaymkttransfers/NAME. */
    public static function path(string $endpoint): string
    {
        if (!in_array($endpoint, self::ENDPOINTS, true)) {
            throw new \InvalidArgumentException(sprintf('unknown endpoint %s (one of %s)', $endpoint, implode(', ', self::ENDPOINTS)));
        }
        return '/mmpaymkttransfers/' . $endpoint;
    }

    /**
     * The string the v2 sign is over: the non-empty fields but `sign`, sorted by
     * name, as `k=v&...`, then `&key=KEY`.
     */
    public static function signString(array $fields, string $key): string
    {
        $pairs = [];
        foreach ($fields as $k => $v) {
            if ($k === 'sign' || $v === null || (string) $v === '') {
                continue;
            }
            $pairs[(string) $k] = (string) $v;
        }
        ksort($pairs, SORT_STRING);
        $out = [];
        foreach ($pairs as $k => $v) {
            $out[] = $k . '=' . $v;
        }
        return implode('&', $out) . '&key=' . $key;
    }

    /** The v2 MD5 sign of the fields with the API key: upper-case hex. */
    public static function sign(array $fields, string $key): string
    {
        return strtoupper(md5(self::signString($fields, $key)));
    }

    private static function random(string $alphabet, int $n): string
    {
        $out = '';
        for ($i = 0; $i < $n; $i++) {
            $out .= $alphabet[random_int(0, strlen($alphabet) - 1)];
        }
        return $out;
    }

    /** The first $n characters of a UTF-8 string (no mbstring needed). */
    private static function prefix(string $s, int $n): string
    {
        return preg_match('/^.{0,' . $n . '}/us', $s, $m) ? $m[0] : substr($s, 0, $n);
    }

    /** A 32-character nonce_str. */
    public static function nonce(): string
    {
        return self::random(self::ALNUM, 32);
    }

    /** A fresh mch_billno as the real service suggests: mch_id, the date, 10 digits. */
    public static function newBillno(string $mchId): string
    {
        $day = (new \DateTimeImmutable('now', new \DateTimeZone('+08:00')))->format('Ymd');
        return substr($mchId . $day . self::random('0123456789', 10), 0, 28);
    }

    /** A 28-character openid listed nowhere (accepted for any app of a merchant). */
    public static function newOpenid(): string
    {
        return 'oTest' . self::random(self::ALNUM, 23);
    }

    /**
     * A valid request of the endpoint for a fixtures merchant (an array with
     * mch_id, name, apps), with $overrides applied (a null value removes the
     * field). The sends go to a fresh openid unless re_openid is given; gethbinfo
     * needs mch_billno.
     *
     * @return array<string, string>
     */
    public static function defaultFields(string $endpoint, array $merchant, array $overrides = []): array
    {
        $mchId = (string) $merchant['mch_id'];
        $appid = (string) (($merchant['apps'] ?? [''])[0] ?? '');
        if ($endpoint === 'sendgroupredpack' || $endpoint === 'sendredpack') {
            $group = $endpoint === 'sendgroupredpack';
            $fields = [
                'mch_billno' => self::newBillno($mchId),
                'mch_id' => $mchId,
                'wxappid' => $appid,
                'send_name' => self::prefix((string) ($merchant['name'] ?? 'redpack-sim'), 30),
                're_openid' => self::newOpenid(),
                'total_amount' => $group ? '300' : '100',
                'total_num' => $group ? '3' : '1',
            ];
            if ($group) {
                $fields['amt_type'] = 'ALL_RAND';
            }
            $fields['wishing'] = '恭喜发财';
            if (!$group) {
                $fields['client_ip'] = '127.0.0.1';
            }
            $fields['act_name'] = '测试红包';
            $fields['remark'] = 'redpack-sim test';
        } elseif ($endpoint === 'gethbinfo') {
            $fields = ['mch_billno' => null, 'mch_id' => $mchId, 'appid' => $appid, 'bill_type' => 'MCHT'];
        } else {
            self::path($endpoint);  // throws
            $fields = [];
        }
        $fields['nonce_str'] = self::nonce();
        foreach ($overrides as $k => $v) {
            $fields[$k] = $v;
        }
        $out = [];
        foreach ($fields as $k => $v) {
            if ($v !== null) {
                $out[$k] = is_bool($v) ? ($v ? 'true' : 'false') : (string) $v;
            }
        }
        if ($endpoint === 'gethbinfo' && !isset($out['mch_billno'])) {
            throw new \InvalidArgumentException('gethbinfo needs mch_billno');
        }
        return $out;
    }

    /**
     * The request body as wechatpay-php writes it: `<xml>`, the fields in order,
     * `sign` last, CDATA only where a value holds < > & or ".
     */
    public static function buildXml(array $fields): string
    {
        $sign = null;
        $out = '<xml>';
        foreach ($fields as $k => $v) {
            if ($k === 'sign') {
                $sign = (string) $v;
                continue;
            }
            $out .= self::element((string) $k, (string) $v);
        }
        if ($sign !== null) {
            $out .= self::element('sign', $sign);
        }
        return $out . '</xml>';
    }

    private static function element(string $k, string $v): string
    {
        if (strpbrk($v, '<>&"') !== false) {
            $v = '<![CDATA[' . str_replace(']]>', ']]]]><![CDATA[>', $v) . ']]>';
        }
        return '<' . $k . '>' . $v . '</' . $k . '>';
    }

    /**
     * The answer's fields as an array; a list element (gethbinfo's `hblist`) as a
     * list of arrays. A body that is not XML parses to []. No XML extension needed:
     * the answers are flat `<xml>` documents of text and CDATA.
     */
    public static function parseXml(string $body): array
    {
        if (!preg_match('~^\s*(?:<\?xml[^>]*\?>\s*)?<xml>(.*)</xml>\s*$~s', $body, $m)) {
            return [];
        }
        $out = self::elements($m[1]);
        return is_array($out) ? $out : [];
    }

    /** @return array|string */
    private static function elements(string $s, bool $asList = false)
    {
        preg_match_all('~<([A-Za-z_][\w.\-]*)>((?:<!\[CDATA\[.*?\]\]>|.)*?)</\1>|<([A-Za-z_][\w.\-]*)\s*/>~s', $s, $all, PREG_SET_ORDER);
        $out = [];
        foreach ($all as $m) {
            if (isset($m[3]) && $m[3] !== '') {
                $tag = $m[3];
                $value = '';
            } else {
                $tag = $m[1];
                $value = self::value($tag, $m[2]);
            }
            if ($asList) {
                $out[] = $value;
            } else {
                $out[$tag] = $value;
            }
        }
        return $out;
    }

    /** @return array|string */
    private static function value(string $tag, string $content)
    {
        $text = preg_replace_callback('~<!\[CDATA\[(.*?)\]\]>~s', static function (array $c): string {
            return "\0" . base64_encode($c[1]) . "\0";
        }, $content);
        if (strpos($text, '<') === false) {
            // text and CDATA only
            $parts = explode("\0", $text);
            $v = '';
            foreach ($parts as $i => $p) {
                $v .= $i % 2 ? base64_decode($p) : html_entity_decode($p, ENT_QUOTES | ENT_XML1, 'UTF-8');
            }
            return $v;
        }
        $isList = substr($tag, -4) === 'list';
        return self::elements($content, $isList);
    }

    /**
     * POSTs the body over TLS with curl, trusting $ca and presenting the
     * certificate and key (PEM files; null: none). Returns [HTTP status, body];
     * TransportError when there is no HTTP answer.
     *
     * @return array{0: int, 1: string}
     */
    public static function post(string $url, string $body, string $ca, ?string $cert = null, ?string $key = null, array $headers = [], float $timeout = 10.0): array
    {
        $h = [
            'Content-Type' => 'text/xml; charset=utf-8',
            'Accept' => 'text/xml, text/plain, application/x-gzip',
            'User-Agent' => 'redpack-sim-phpunit',
            'Expect' => '',
        ];
        foreach ($headers as $k => $v) {
            $h[$k] = $v;
        }
        $lines = [];
        foreach ($h as $k => $v) {
            $lines[] = $k . ': ' . $v;
        }
        $ch = curl_init($url);
        $opts = [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CAINFO => $ca,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_TIMEOUT_MS => (int) ($timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) ($timeout * 1000),
        ];
        if ($cert !== null) {
            $opts[CURLOPT_SSLCERT] = $cert;
            $opts[CURLOPT_SSLCERTTYPE] = 'PEM';
        }
        if ($key !== null) {
            $opts[CURLOPT_SSLKEY] = $key;
            $opts[CURLOPT_SSLKEYTYPE] = 'PEM';
        }
        curl_setopt_array($ch, $opts);
        $answer = curl_exec($ch);
        if ($answer === false) {
            $errno = curl_errno($ch);
            $error = curl_error($ch);
            curl_close($ch);
            throw new TransportError(sprintf('POST %s: curl error %d: %s', $url, $errno, $error), $errno);
        }
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        return [$status, (string) $answer];
    }
}
