"""Test helpers for redpack-sim, the WeChat Pay v2 red packet mock server: a pytest
plugin (the `redpack_sim` fixture), the server process, the control API client with
verify(), and signed sends. Standard library plus pytest only."""

from .control import Control, ControlError, format_request
from .server import Server, ServerError, find_binary, find_fixtures, find_source_tree, make_certs
from .wire import Answer, build_xml, parse_xml, sign, sign_string

__version__ = "0.1.0"

__all__ = ["Answer", "Control", "ControlError", "Server", "ServerError", "build_xml",
           "find_binary", "find_fixtures", "find_source_tree", "format_request", "make_certs",
           "parse_xml", "sign", "sign_string"]
