<?php

namespace RedpackSim;

/** Fault rules (docs/control-api.md, Fault rules): $control->faults. */
class ControlFaults
{
    /** @var Control */
    private $c;

    public function __construct(Control $control)
    {
        $this->c = $control;
    }

    /**
     * Adds a fault rule: the rule as the control API takes it (err_code, api,
     * match, transport, times, probability, delay_ms, delay_max_ms,
     * settle_result). mch_id, re_openid and mch_billno given at the top level go
     * into `match`. Returns the rule with its id.
     */
    public function add(array $rule): array
    {
        $match = $rule['match'] ?? [];
        foreach (['mch_id', 're_openid', 'mch_billno'] as $name) {
            if (array_key_exists($name, $rule)) {
                $match[$name] = $rule[$name];
                unset($rule[$name]);
            }
        }
        unset($rule['match']);
        if ($match) {
            $rule['match'] = $match;
        }
        return $this->c->call('POST', '/admin/v1/faults', $rule);
    }

    /** Every fault rule with its hit count. */
    public function list(): array
    {
        $out = [];
        $cursor = null;
        do {
            $doc = $this->c->call('GET', '/admin/v1/faults' . Control::query(['limit' => 1000, 'cursor' => $cursor]));
            $out = array_merge($out, $doc['faults']);
            $cursor = $doc['next'] ?? null;
        } while ($cursor !== null);
        return $out;
    }

    /** @param int|string $id */
    public function delete($id): void
    {
        $this->c->call('DELETE', '/admin/v1/faults/' . rawurlencode((string) $id));
    }

    public function clear(): void
    {
        $this->c->call('DELETE', '/admin/v1/faults');
    }
}
