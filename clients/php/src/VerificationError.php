<?php

namespace RedpackSim;

/** Control::verify(): the requests sent are not what was expected (the message shows both). */
class VerificationError extends \RuntimeException
{
}
