<?php

namespace RedpackSim;

/**
 * The control API of one server (plain HTTP, JSON), over curl.
 *
 *   $control->claim($billno, $openid)        $control->clock->get() / ->advance($s) / ->set($now)
 *   $control->faults->add([...]) / ->list() / ->clear()   $control->settle($billno, 'SENT')
 *   $control->merchant->get($id) / ->update($id, [...])   $control->reset()
 *   $control->requests($filters)   $control->count($filters)   $control->verify($count, $filters)
 *
 * Every 4xx/5xx throws ControlError.
 */
class Control
{
    public const FILTERS = ['endpoint', 'mch_id', 'mch_billno', 're_openid', 'err_code', 'since', 'until'];
    /** Shown for each request in a failed verification, after endpoint and mch_id. */
    private const SHOWN_FIELDS = ['mch_billno', 're_openid', 'total_amount', 'total_num', 'scene_id'];

    /** @var string */
    public $url;
    /** @var string|null */
    public $token;
    /** @var float */
    public $timeout;
    /** @var ControlClock */
    public $clock;
    /** @var ControlFaults */
    public $faults;
    /** @var ControlMerchant */
    public $merchant;

    /** @param string $url the control API, e.g. http://127.0.0.1:8444 */
    public function __construct(string $url, ?string $token = null, float $timeout = 30.0)
    {
        $this->url = rtrim($url, '/');
        $this->token = $token;
        $this->timeout = $timeout;
        $this->clock = new ControlClock($this);
        $this->faults = new ControlFaults($this);
        $this->merchant = new ControlMerchant($this);
    }

    // -- plumbing ---------------------------------------------------------------

    /**
     * [status, decoded JSON (an array) or the text] of one call, never throwing on
     * a status.
     *
     * @return array{0: int, 1: mixed}
     */
    public function raw(string $method, string $path, ?array $body = null): array
    {
        $ch = curl_init($this->url . $path);
        $headers = ['Expect:'];
        $opts = [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
        ];
        if ($body !== null) {
            $opts[CURLOPT_POSTFIELDS] = json_encode((object) $body, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
            $headers[] = 'Content-Type: application/json';
        }
        if ($this->token !== null) {
            $headers[] = 'Authorization: Bearer ' . $this->token;
        }
        $opts[CURLOPT_HTTPHEADER] = $headers;
        curl_setopt_array($ch, $opts);
        $answer = curl_exec($ch);
        if ($answer === false) {
            $errno = curl_errno($ch);
            $error = curl_error($ch);
            curl_close($ch);
            throw new TransportError(sprintf('%s %s%s: curl error %d: %s', $method, $this->url, $path, $errno, $error), $errno);
        }
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        $doc = json_decode((string) $answer, true);
        if ($doc === null && trim((string) $answer) !== 'null') {
            $doc = (string) $answer;
        }
        return [$status, $doc];
    }

    /**
     * The decoded JSON answer of one call; ControlError on a 4xx/5xx.
     *
     * @return mixed
     */
    public function call(string $method, string $path, ?array $body = null)
    {
        [$status, $doc] = $this->raw($method, $path, $body);
        if ($status >= 400) {
            throw new ControlError($method, $path, $status, $doc);
        }
        return $doc;
    }

    /** A query string of the parameters that are not null ('' when none). */
    public static function query(array $params): string
    {
        $out = [];
        foreach ($params as $k => $v) {
            if ($v === null) {
                continue;
            }
            if ($v instanceof \DateTimeInterface) {
                $v = (string) $v->getTimestamp();
            } elseif (is_bool($v)) {
                $v = $v ? 'true' : 'false';
            }
            $out[$k] = (string) $v;
        }
        return $out ? '?' . http_build_query($out, '', '&', PHP_QUERY_RFC3986) : '';
    }

    // -- state ----------------------------------------------------------------------

    /** That user opens the packet's next share: the share, or ControlError 404/409. */
    public function claim(string $mchBillno, string $openid, ?string $mchId = null): array
    {
        $body = ['openid' => $openid];
        if ($mchId !== null) {
            $body['mch_id'] = $mchId;
        }
        return $this->call('POST', '/admin/v1/packets/' . rawurlencode($mchBillno) . '/claims', $body);
    }

    /** Settles an order answered PROCESSING: result SENT or FAILED. */
    public function settle(string $mchBillno, string $result = 'SENT', ?string $mchId = null): array
    {
        $body = ['result' => $result];
        if ($mchId !== null) {
            $body['mch_id'] = $mchId;
        }
        return $this->call('POST', '/admin/v1/packets/' . rawurlencode($mchBillno) . '/settle', $body);
    }

    /** One packet with its shares and ledger rows. */
    public function packet(string $mchBillno, ?string $mchId = null): array
    {
        return $this->call('GET', '/admin/v1/packets/' . rawurlencode($mchBillno) . self::query(['mch_id' => $mchId]));
    }

    /** Every packet (newest first), optionally of one merchant and status. */
    public function packets(?string $mchId = null, ?string $status = null): array
    {
        $out = [];
        $cursor = null;
        do {
            $doc = $this->call('GET', '/admin/v1/packets' . self::query(
                ['mch_id' => $mchId, 'status' => $status, 'limit' => 1000, 'cursor' => $cursor]));
            $out = array_merge($out, $doc['packets']);
            $cursor = $doc['next'] ?? null;
        } while ($cursor !== null);
        return $out;
    }

    /** Every invariant of the database; ControlError 409 with the violations. */
    public function check(): array
    {
        return $this->call('GET', '/admin/v1/check');
    }

    /**
     * Back to the fixtures (one merchant or all); then, by default, every fault
     * rule and the request journal are cleared too. With $clock (a reset of
     * everything only) the business clock goes back to real time as well.
     */
    public function reset(?string $mchId = null, bool $journal = true, bool $faults = true, bool $clock = false): array
    {
        $doc = $this->call('POST', '/admin/v1/reset' . self::query([
            'mch_id' => $mchId,
            'journal' => $journal && $mchId === null ? 'true' : null,
            'clock' => $clock ? 'true' : null,
        ]));
        if ($faults) {
            $this->faults->clear();
        }
        if ($journal && $mchId !== null) {
            $this->clearRequests();
        }
        return $doc;
    }

    // -- verification -------------------------------------------------------------------

    /**
     * The requests merchant code sent that match every filter (endpoint, mch_id,
     * mch_billno, re_openid, err_code, since, until), newest first: arrays with
     * seq, at, endpoint, mch_id, mch_billno, err_code, fields, request_cut.
     */
    public function requests(array $filters = [], ?int $limit = null): array
    {
        $out = [];
        $cursor = null;
        while ($limit === null || count($out) < $limit) {
            $page = $limit === null ? 1000 : min(1000, $limit - count($out));
            $doc = $this->call('GET', '/admin/v1/requests' . self::query(
                array_merge($filters, ['limit' => $page, 'cursor' => $cursor])));
            $out = array_merge($out, $doc['requests']);
            $cursor = $doc['next'] ?? null;
            if ($cursor === null) {
                break;
            }
        }
        return $out;
    }

    /**
     * How many requests match; ControlError 409 when the journal's bounds dropped
     * requests and the count could be wrong.
     */
    public function count(array $filters = []): int
    {
        return (int) $this->call('GET', '/admin/v1/requests/count' . self::query($filters))['count'];
    }

    /** Empties the journal (a test's clean start). */
    public function clearRequests(): void
    {
        $this->call('DELETE', '/admin/v1/requests');
    }

    /**
     * null when exactly $count requests match the filters; otherwise what was
     * expected and every request sent (newest first, those that matched marked *).
     */
    public function mismatch(int $count, array $filters = []): ?string
    {
        [$status, $doc] = $this->raw('GET', '/admin/v1/requests/count' . self::query($filters));
        if ($status === 409) {
            return sprintf(
                "redpack-sim verify: cannot count requests matching %s: the journal's bounds dropped %s request(s) "
                . '(at least %s match); raise --journal-size or clear the journal at the test\'s start',
                self::describeFilters($filters),
                json_encode($doc['dropped'] ?? null),
                json_encode($doc['count_at_least'] ?? null)
            );
        }
        if ($status >= 400) {
            throw new ControlError('GET', '/admin/v1/requests/count', $status, $doc);
        }
        $got = (int) $doc['count'];
        if ($got === $count) {
            return null;
        }
        $matching = [];
        foreach ($this->requests($filters, 1000) as $r) {
            $matching[$r['seq']] = true;
        }
        $sent = $this->requests([], 50);
        $total = count($sent) === 50 ? $this->count() : count($sent);
        $lines = [sprintf('redpack-sim verify: expected %d request%s matching %s, but %d matched',
            $count, $count === 1 ? '' : 's', self::describeFilters($filters), $got)];
        if (!$sent) {
            $lines[] = 'Requests sent: none';
        } else {
            $lines[] = sprintf('Requests sent (newest first%s; * matched):',
                $total === count($sent) ? '' : sprintf(', %d of %d', count($sent), $total));
            foreach ($sent as $r) {
                $lines[] = sprintf('  %s %s', isset($matching[$r['seq']]) ? '*' : ' ',
                    self::formatRequest($r, array_keys($filters)));
            }
        }
        return implode("\n", $lines);
    }

    /**
     * Checks that exactly $count requests match the filters; VerificationError
     * showing what was expected and what was sent otherwise. Returns the count.
     * (In a PHPUnit test, RedpackSimTrait::assertRedpackRequests() does the same
     * as an assertion.)
     */
    public function verify(int $count, array $filters = []): int
    {
        $why = $this->mismatch($count, $filters);
        if ($why !== null) {
            throw new VerificationError($why);
        }
        return $count;
    }

    public static function describeFilters(array $filters): string
    {
        $given = [];
        foreach ($filters as $k => $v) {
            if ($v !== null) {
                $given[] = $k . '=' . ($v instanceof \DateTimeInterface ? $v->format(DATE_ATOM) : $v);
            }
        }
        return $given ? implode(' ', $given) : '(no filter)';
    }

    /** One line for a journal request: seq, time, endpoint, key fields, answer. */
    public static function formatRequest(array $r, array $extra = []): string
    {
        $fields = $r['fields'] ?? [];
        $parts = ['#' . ($r['seq'] ?? '?'), (string) ($r['at'] ?? ''), (string) ($r['endpoint'] ?? ''),
            'mch_id=' . ($r['mch_id'] ?? '')];
        $names = array_merge(self::SHOWN_FIELDS, array_diff($extra, self::SHOWN_FIELDS));
        foreach ($names as $name) {
            if (in_array($name, ['endpoint', 'mch_id', 'err_code', 'since', 'until'], true)) {
                continue;
            }
            $value = $fields[$name] ?? ($r[$name] ?? null);
            if ($value !== null) {
                $parts[] = $name . '=' . (is_scalar($value) ? $value : json_encode($value));
            }
        }
        $parts[] = '-> ' . ($r['err_code'] ?? '');
        if (!empty($r['request_cut'])) {
            $parts[] = '(body cut)';
        }
        return implode(' ', $parts);
    }
}
